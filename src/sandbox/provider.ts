import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PipesError } from '../errors.ts';
import type { Clock } from '../lib/clock.ts';
import { createAdminRoutes } from './admin.ts';
import { createApiRoutes } from './api.ts';
import { createAuthorizeRoutes } from './authorize.tsx';
import { type SandboxCatalogEntry, sandboxCatalogEntry } from './catalog.ts';
import { ClientRegistry, type SandboxClientRegistration } from './clients.ts';
import { createEmptyStats, type SandboxContext, type SandboxStats } from './context.ts';
import {
  buildMetadata,
  normalizeIssuer,
  rfc8414WellKnownPath,
  type SandboxServerMetadata,
} from './metadata.ts';
import { SandboxRecords } from './records.ts';
import { createRevokeRoutes } from './revoke.ts';
import {
  DEFAULT_SANDBOX_SETTINGS,
  mergeSettings,
  type SandboxSettings,
  type SandboxSettingsPatch,
  settingsPatchSchema,
} from './settings.ts';
import type { SandboxStateStore } from './state.ts';
import { createTokenRoutes } from './token.ts';

export interface SandboxProviderOptions {
  /** Absolute URL where `app` is mounted, e.g. `http://127.0.0.1:8080/sandbox`. Appears as `iss` everywhere. */
  issuer: string;
  clock: Clock;
  state: SandboxStateStore;
  settings?: SandboxSettingsPatch;
  /** Clients with a fixed secret and exact redirect URIs. */
  clients?: SandboxClientRegistration[];
  /** Also accept unregistered client ids (any http(s) redirect URI, secret pinned on first use). Dev only. */
  acceptAnyClient?: boolean;
  /** Mount the unauthenticated `/admin/*` switches. The host enables this only outside production. */
  admin?: boolean;
}

export interface SandboxProvider {
  /** Mount it at the issuer's path: `root.route('/sandbox', provider.app)`. */
  app: Hono;
  issuer: string;
  /** RFC 8414 metadata; served at `<issuer>/.well-known/oauth-authorization-server` by `app`. */
  metadata(): SandboxServerMetadata;
  /** The RFC 8414 location at the origin root, which the host should also route to `metadata()`. */
  wellKnownPath: string;
  getSettings(): SandboxSettings;
  updateSettings(patch: SandboxSettingsPatch): SandboxSettings;
  getStats(): SandboxStats;
  catalogEntry(): SandboxCatalogEntry;
}

const MAX_BODY_BYTES = 64 * 1024;

export function createSandboxProvider(options: SandboxProviderOptions): SandboxProvider {
  const issuer = normalizeIssuer(options.issuer);
  const initial = settingsPatchSchema.safeParse(options.settings ?? {});
  if (!initial.success) {
    throw new PipesError('sandbox_invalid_settings', 'The sandbox settings are invalid.', { status: 500 });
  }
  let settings = mergeSettings(DEFAULT_SANDBOX_SETTINGS, initial.data);
  let stats = createEmptyStats();
  const records = new SandboxRecords(options.state, options.clock);
  const ctx: SandboxContext = {
    issuer,
    clock: options.clock,
    records,
    clients: new ClientRegistry(options.clients ?? [], options.acceptAnyClient ?? false, records),
    settings: () => settings,
    // Route modules mutate counters through this getter-backed object, so a reset swaps it everywhere at once.
    get stats() {
      return stats;
    },
  };
  const metadata = buildMetadata(issuer);
  const updateSettings = (patch: SandboxSettingsPatch): SandboxSettings => {
    settings = mergeSettings(settings, settingsPatchSchema.parse(patch));
    return settings;
  };
  const snapshotStats = (): SandboxStats => structuredClone(stats);

  const app = new Hono();
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json({ error: 'invalid_request', error_description: 'The request body is too large.' }, 413),
    }),
  );
  app.get('/.well-known/oauth-authorization-server', (c) => c.json(metadata));
  app.route('/', createAuthorizeRoutes(ctx));
  app.route('/', createTokenRoutes(ctx));
  app.route('/', createRevokeRoutes(ctx));
  app.route('/api', createApiRoutes(ctx));
  if (options.admin === true) {
    app.route(
      '/admin',
      createAdminRoutes(ctx, {
        updateSettings,
        snapshotStats,
        resetStats: () => {
          stats = createEmptyStats();
        },
      }),
    );
  }
  app.notFound((c) => c.json({ error: 'not_found', error_description: 'No such sandbox endpoint.' }, 404));
  // Never echo internals (or anything secret-bearing) from an unexpected failure.
  app.onError((_error, c) =>
    c.json({ error: 'server_error', error_description: 'Internal sandbox error.' }, 500),
  );

  return {
    app,
    issuer,
    metadata: () => structuredClone(metadata),
    wellKnownPath: rfc8414WellKnownPath(issuer),
    getSettings: () => ({ ...settings }),
    updateSettings,
    getStats: snapshotStats,
    catalogEntry: () => sandboxCatalogEntry(issuer),
  };
}
