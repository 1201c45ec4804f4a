import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { relayErrors } from './errors.ts';
import { MIN_NEEDLE } from './secret-scanner.ts';
import type { RelayCredential } from './types.ts';

/** How a credential is attached to one relayed request. */
export interface CredentialPlacement {
  /** Lower-cased header name and value, or undefined for `query` style. */
  header: readonly [name: string, value: string] | undefined;
  /** Query parameter name and value for `query` style. */
  query: readonly [name: string, value: string] | undefined;
  /**
   * Byte strings that must never reach the caller: the secret, and the header value or URL-encoded form built from it.
   */
  needles: Buffer[];
  /** The same, as strings, for checking response headers. */
  secrets: string[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f]/;

const fill = (format: string, placeholder: string, value: string) => format.split(placeholder).join(value);

function inHeader(name: string, value: string, secret: string): CredentialPlacement {
  const needles = [Buffer.from(secret)];
  const secrets = [secret];
  // A value that contains a scannable secret (`Bearer <token>`) is found by looking for the secret alone: one scan
  // per response instead of two. Basic's base64, or a secret too short to scan, needs the value itself.
  if (value !== secret && !(secret.length >= MIN_NEEDLE && value.includes(secret))) {
    needles.push(Buffer.from(value));
    secrets.push(value);
  }
  return { header: [name.toLowerCase(), value], query: undefined, needles, secrets };
}

function inQuery(name: string, secret: string): CredentialPlacement {
  const needles = [Buffer.from(secret)];
  const secrets = [secret];
  // The URL carries `encodeURIComponent(secret)` (target.ts), and that is the form a provider quoting the request URL
  // sends back (`?key=AbCd%2BEf…` in a 404 body). A secret with nothing to encode adds no needle: one scan, not two.
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) {
    needles.push(Buffer.from(encoded));
    secrets.push(encoded);
  }
  return { header: undefined, query: [name, secret], needles, secrets };
}

/**
 * Attaches the credential the way the provider wants it. API keys use the provider's `api_key.header`/`format`; OAuth
 * and client-credentials tokens use `api.auth_style`: `bearer` → `Authorization: Bearer`, `header` → `auth_header` with
 * `auth_format`, `basic` → `Authorization: Basic base64(auth_format)`, `query` → `auth_query_param`.
 */
export function placeCredential(provider: ProviderEntry, credential: RelayCredential): CredentialPlacement {
  const secret = credential.value;
  // A stored secret with CR/LF would otherwise become header injection; undici would throw anyway.
  if (typeof secret !== 'string' || secret === '' || UNSAFE.test(secret))
    throw relayErrors.credentialUnusable();
  if (credential.authMethod === 'api_key' && provider.api_key !== undefined) {
    return inHeader(provider.api_key.header, fill(provider.api_key.format, '{api_key}', secret), secret);
  }
  const api = provider.api;
  switch (api.auth_style) {
    case 'header':
      return inHeader(
        api.auth_header ?? 'authorization',
        fill(api.auth_format ?? '{access_token}', '{access_token}', secret),
        secret,
      );
    case 'basic': {
      const raw = fill(api.auth_format ?? '{access_token}', '{access_token}', secret);
      return inHeader('authorization', `Basic ${Buffer.from(raw, 'utf8').toString('base64')}`, secret);
    }
    case 'query':
      return inQuery(api.auth_query_param ?? 'access_token', secret);
    default:
      return inHeader('authorization', `Bearer ${secret}`, secret);
  }
}

interface Memo {
  authMethod: RelayCredential['authMethod'];
  placement: CredentialPlacement;
}

/** Past this many credentials per provider the memo is simply cleared. */
const MEMO_LIMIT = 1000;

/**
 * Memoises placements per provider and credential: the same token is attached thousands of times between two
 * refreshes, and building the header value and the scan needles each time showed up in profiles. Held in this
 * process's memory only, where the token service keeps the same secrets anyway.
 */
export class CredentialPlacer {
  readonly #memo = new WeakMap<ProviderEntry, Map<string, Memo>>();

  place(provider: ProviderEntry, credential: RelayCredential): CredentialPlacement {
    let bySecret = this.#memo.get(provider);
    if (bySecret === undefined) {
      bySecret = new Map();
      this.#memo.set(provider, bySecret);
    }
    // Keyed by the secret alone (no key string to build per call); the auth method is checked on the entry.
    const known = bySecret.get(credential.value);
    if (known !== undefined && known.authMethod === credential.authMethod) return known.placement;
    const placement = placeCredential(provider, credential);
    if (bySecret.size >= MEMO_LIMIT) bySecret.clear();
    bySecret.set(credential.value, { authMethod: credential.authMethod, placement });
    return placement;
  }
}
