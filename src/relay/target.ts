import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { listTemplateFields, resolveTemplate } from '../providers/templates.ts';
import { assertOriginAllowed, assertUrlAllowed, type EgressPolicy, joinProviderUrl } from './egress/index.ts';

/** Where one relayed call goes. `path` includes the query and is what undici sends on the request line. */
export interface RelayTarget {
  origin: string;
  path: string;
  /** The base URL the path went under: the provider's (interpolated), or the `Pipes-Target-Origin`. */
  base: string;
}

/**
 * The provider's base URL with the connection's config interpolated. `resolveTemplate` checks every value against its
 * field's strict pattern first, so a hostile value such as `evil.test#` fails with `invalid_config` instead of moving
 * the host.
 */
export function resolveBaseUrl(provider: ProviderEntry, config: Record<string, string>): string {
  return resolveTemplate(provider.api.base_url, config, provider.connect_config);
}

/** The origins a provider's calls may reach: the origin of `api.base_url` plus `api.allowed_origins`, interpolated. */
export function resolveAllowedOrigins(
  provider: ProviderEntry,
  config: Record<string, string>,
  baseUrl: string,
): string[] {
  const origins = [new URL(baseUrl).origin];
  for (const template of provider.api.allowed_origins) {
    origins.push(new URL(resolveTemplate(template, config, provider.connect_config)).origin);
  }
  return origins;
}

export interface BuildTargetInput {
  provider: ProviderEntry;
  config: Record<string, string>;
  /** The caller's path below the provider, raw (still percent-encoded), starting with `/` or empty. */
  path: string;
  /** The caller's raw query without `?`, or undefined. */
  query: string | undefined;
  /** An alternative allow-listed origin (`Pipes-Target-Origin`), e.g. Dropbox's content host. */
  targetOrigin: string | undefined;
  /** For `query`-style credentials: the parameter to add (and to strip from the caller's query). */
  queryCredential: readonly [name: string, value: string] | undefined;
}

interface ResolvedBase {
  base: string;
  /** The base URL's origin: a `Pipes-Target-Origin` equal to it keeps the base path. */
  baseOrigin: string;
  allowed: string[] | null;
}

interface ProviderBases {
  /** The config fields the provider's URL templates use; null for template-free providers. */
  fields: string[] | null;
  byConfig: Map<string, ResolvedBase>;
}

/** Past this many entries a cache is simply cleared: it only ever saves work, never decides anything. */
const CACHE_LIMIT = 1000;

/**
 * Builds provider URLs. The caller only supplies a path and a query; `joinProviderUrl` keeps them under the base path
 * (dot segments, `//host`, `@`, encoded tricks → 400 `invalid_relay_path`) and the result's origin is checked against
 * the egress policy (scheme, literal IPs; DNS names are checked at connect time by the pinned dispatcher).
 *
 * The parts that depend only on the provider and the config values (template interpolation, the allowed origins, the
 * policy verdict for an origin) are memoised: they showed up in hot-path profiles, and their inputs are few.
 */
export class TargetBuilder {
  readonly #policy: EgressPolicy;
  readonly #bases = new WeakMap<ProviderEntry, ProviderBases>();
  readonly #checkedOrigins = new Set<string>();
  /** Validated joins, by base, path and query: the same endpoints are called again and again. */
  readonly #joined = new Map<string, RelayTarget>();

  constructor(policy: EgressPolicy) {
    this.#policy = policy;
  }

  #resolved(provider: ProviderEntry, config: Record<string, string>): ResolvedBase {
    let bases = this.#bases.get(provider);
    if (bases === undefined) {
      bases = { fields: templateFields(provider), byConfig: new Map() };
      this.#bases.set(provider, bases);
    }
    const { byConfig } = bases;
    const key = configKey(bases.fields, config);
    let entry = byConfig.get(key);
    if (entry === undefined) {
      const base = resolveBaseUrl(provider, config);
      entry = { base, baseOrigin: new URL(base).origin, allowed: null };
      if (byConfig.size >= CACHE_LIMIT) byConfig.clear();
      byConfig.set(key, entry);
    }
    return entry;
  }

  /**
   * Whether a target origin moves the call off the base URL (to another of the provider's hosts), rather than naming
   * the base URL's own origin, which changes nothing. Off the hot path: only for links in a response.
   */
  leavesBase(provider: ProviderEntry, config: Record<string, string>, targetOrigin: string): boolean {
    const resolved = this.#resolved(provider, config);
    return this.#allowedOrigin(resolved, provider, config, targetOrigin) !== resolved.baseOrigin;
  }

  /** The target origin, normalised, once it is known to be one of the provider's (400 `blocked_destination` if not). */
  #allowedOrigin(
    resolved: ResolvedBase,
    provider: ProviderEntry,
    config: Record<string, string>,
    targetOrigin: string,
  ): string {
    resolved.allowed ??= resolveAllowedOrigins(provider, config, resolved.base);
    return assertOriginAllowed(targetOrigin, resolved.allowed).origin;
  }

  build(input: BuildTargetInput): RelayTarget {
    const { provider, config } = input;
    const resolved = this.#resolved(provider, config);
    let base = resolved.base;
    if (input.targetOrigin !== undefined) {
      const origin = this.#allowedOrigin(resolved, provider, config, input.targetOrigin);
      // A target origin is for the provider's other hosts (Dropbox's content host). Naming the base URL's own origin
      // must not lift its path: `/v3/company/{realm}` would otherwise reach every other company's path.
      if (origin !== resolved.baseOrigin) base = origin;
    }
    // Credential-bearing queries are never memoised: the cache must not hold secrets.
    const memoKey =
      input.queryCredential === undefined ? `${base}\u0000${input.path}\u0000${input.query ?? ''}` : null;
    if (memoKey !== null) {
      const known = this.#joined.get(memoKey);
      if (known !== undefined) return known;
    }
    let query = input.query;
    if (input.queryCredential !== undefined) query = withQueryCredential(query, input.queryCredential);
    const url = joinProviderUrl(base, input.path === '' ? '/' : input.path, query ?? '');
    const origin = url.origin;
    if (!this.#checkedOrigins.has(origin)) {
      // The path and query were validated by joinProviderUrl; only the origin decides where the socket goes.
      assertUrlAllowed(`${origin}/`, this.#policy, { status: 502 });
      if (this.#checkedOrigins.size >= CACHE_LIMIT) this.#checkedOrigins.clear();
      this.#checkedOrigins.add(origin);
    }
    const target = { origin, path: url.pathname + url.search, base };
    if (memoKey !== null && memoKey.length <= 2048) {
      if (this.#joined.size >= CACHE_LIMIT) this.#joined.clear();
      this.#joined.set(memoKey, target);
    }
    return target;
  }
}

/** The config fields a provider's URL templates use, or null when they use none. */
function templateFields(provider: ProviderEntry): string[] | null {
  const { base_url, allowed_origins } = provider.api;
  if (!base_url.includes('{') && !allowed_origins.some((o) => o.includes('{'))) return null;
  const fields = new Set(listTemplateFields(base_url));
  for (const origin of allowed_origins) for (const field of listTemplateFields(origin)) fields.add(field);
  return [...fields];
}

/** The values of those fields in this config, as one string (empty for template-free providers). */
function configKey(fields: readonly string[] | null, config: Record<string, string>): string {
  if (fields === null) return '';
  return JSON.stringify(fields.map((field) => (Object.hasOwn(config, field) ? config[field] : null)));
}

/**
 * Appends the credential parameter without re-serialising the caller's query (URLSearchParams would re-encode it),
 * after removing any parameter of the same name the caller sent.
 */
function withQueryCredential(query: string | undefined, [name, value]: readonly [string, string]): string {
  const kept =
    query === undefined || query === ''
      ? []
      : query.split('&').filter((part) => {
          const key = part.split('=')[0] ?? '';
          let decoded = key;
          try {
            decoded = decodeURIComponent(key.replace(/\+/g, ' '));
          } catch {
            // A malformed escape is refused later by joinProviderUrl.
          }
          return decoded !== name;
        });
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  return kept.join('&');
}
