import type { Kysely } from 'kysely';
import type { Config } from '../config/load.ts';
import type { Clock } from '../lib/clock.ts';
import type { InProcessRoute } from '../oauth/http.ts';
import type { OAuthClient } from '../oauth/types.ts';
import { createDatabaseSandboxState } from '../store/sandbox-state.ts';
import type { Database } from '../store/schema.ts';
import { randomToken } from '../vault/index.ts';
import type { Vault } from '../vault/vault.ts';
import { createSandboxProvider, type SandboxProvider } from './provider.ts';

/** The built-in shared OAuth client of the sandbox provider (`credentials: { type: 'shared' }`). */
export const SANDBOX_SHARED_CLIENT_ID = 'pipes_sandbox_shared';
const SECRET_SETTING = 'sandbox.shared_client_secret';
const SECRET_BINDING = {
  table: 'settings',
  rowId: SECRET_SETTING,
  environmentId: 'global',
  kind: 'client_secret',
} as const;

/** The sandbox provider as Pipes hosts it: mounted at `/sandbox`, its state in the database. */
export interface SandboxHost {
  provider: SandboxProvider;
  issuer: string;
  /** Pipes' own client registered in the sandbox; sandbox environments use it as shared credentials. */
  sharedClient: OAuthClient;
  /** Answers provider calls to the issuer in process (see `createProviderHttp`). */
  route: InProcessRoute;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function createSandboxHost(
  config: Pick<Config, 'publicUrl' | 'production'>,
  db: Kysely<Database>,
  vault: Vault,
  clock: Clock,
): Promise<SandboxHost> {
  const issuer = `${config.publicUrl}/sandbox`;
  const sharedClient: OAuthClient = {
    clientId: SANDBOX_SHARED_CLIENT_ID,
    clientSecret: await loadSharedSecret(db, vault, clock.now()),
  };
  const provider = createSandboxProvider({
    issuer,
    clock,
    state: createDatabaseSandboxState(db, clock),
    clients: [
      {
        client_id: sharedClient.clientId,
        client_secret: sharedClient.clientSecret,
        redirect_uris: [],
        redirect_uri_pattern: new RegExp(
          `^${escapeRegExp(config.publicUrl)}/data-integrations/sandbox/dik_[0-9A-HJKMNP-TV-Z]{26}/callback$`,
        ),
      },
    ],
    // Any client id with any redirect URI (secret pinned on first use) is a newcomer convenience: never in production.
    acceptAnyClient: !config.production,
    admin: !config.production,
  });
  return {
    provider,
    issuer: provider.issuer,
    sharedClient,
    route: { prefix: provider.issuer, handle: (request) => provider.app.fetch(request) },
  };
}

/**
 * The shared client's secret: random per installation, created by the first instance to start and sealed in the
 * settings table, so every instance sharing the database agrees on it and no secret lives in the source. It is
 * re-wrapped under the active master key at start; if it cannot be opened any more (its master key was retired),
 * it is replaced: it only guards fake sandbox data, and a new secret simply takes over for every integration.
 */
async function loadSharedSecret(db: Kysely<Database>, vault: Vault, now: number): Promise<string> {
  const seal = (secret: string) => vault.seal(secret, SECRET_BINDING).toString('base64');
  await db
    .insertInto('settings')
    .values({ key: SECRET_SETTING, value: seal(randomToken(32)), updated_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', SECRET_SETTING)
    .executeTakeFirstOrThrow();
  const blob = Buffer.from(row.value, 'base64');
  try {
    const secret = vault.open(blob, SECRET_BINDING);
    if (vault.needsRewrap(blob)) {
      const value = vault.rewrap(blob, SECRET_BINDING).toString('base64');
      await db
        .updateTable('settings')
        .set({ value, updated_at: now })
        .where('key', '=', SECRET_SETTING)
        .execute();
    }
    return secret;
  } catch {
    const secret = randomToken(32);
    await db
      .updateTable('settings')
      .set({ value: seal(secret), updated_at: now })
      .where('key', '=', SECRET_SETTING)
      .execute();
    return secret;
  }
}
