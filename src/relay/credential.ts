import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { relayErrors } from './errors.ts';
import { MIN_NEEDLE, scannable } from './secret-scanner.ts';
import type { RelayCredential } from './types.ts';

/** How a credential is attached to one relayed request. */
export interface CredentialPlacement {
  /** Lower-cased header name and value, or undefined for `query` style. */
  header: readonly [name: string, value: string] | undefined;
  /** Query parameter name and value for `query` style. */
  query: readonly [name: string, value: string] | undefined;
  /**
   * Byte strings that must never reach the caller: the secret, the header value or URL-encoded form built from it, and
   * the escaped forms a provider may echo them in (`echoForms`).
   */
  needles: Buffer[];
  /** The same, as strings, for checking response headers. */
  secrets: string[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f]/;

const fill = (format: string, placeholder: string, value: string) => format.split(placeholder).join(value);

/** What .NET's default JSON encoder writes as `\u00XX` (`+` is `\u002B`): HTML-sensitive characters. */
const JSON_UNICODE_ESCAPED = /[+&<>'"]/g;

/**
 * The forms in which a provider may send a secret back: as it is; with `/` escaped as `\/` (PHP's `json_encode` and
 * others escape slashes in JSON strings); with `+`, `&`, `<`, `>` and quotes as `\u002B`… (.NET's `System.Text.Json`;
 * base64 keys hold `+`). A secret sent in the URL also as `encodeURIComponent` gives it (target.ts), with lower-case
 * hex (a server that re-encodes the URL it quotes), and either of those encoded once more (a request URL quoted in
 * another URL's query). Forms equal to one already listed are left out: each form is one more scan of every response.
 */
function echoForms(secret: string, inUrl: boolean): string[] {
  const forms = new Set([
    secret,
    secret.replaceAll('/', '\\/'),
    secret.replace(
      JSON_UNICODE_ESCAPED,
      (char) => `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    ),
  ]);
  if (inUrl) {
    const encoded = encodeURIComponent(secret);
    const lowerHex = encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    for (const form of [encoded, lowerHex, encodeURIComponent(encoded), encodeURIComponent(lowerHex)])
      forms.add(form);
  }
  return [...forms];
}

function placement(
  header: CredentialPlacement['header'],
  query: CredentialPlacement['query'],
  secrets: string[],
): CredentialPlacement {
  // Only the forms long enough to scan for (secret-scanner.ts): no needle means no response is held or decoded to scan.
  return { header, query, needles: scannable(secrets.map((form) => Buffer.from(form))), secrets };
}

function inHeader(name: string, value: string, secret: string): CredentialPlacement {
  const secrets = echoForms(secret, false);
  // A value that contains a scannable secret (`Bearer <token>`) is found by looking for the secret alone: one scan
  // per response instead of two. Basic's base64, or a secret too short to scan, needs the value itself.
  if (value !== secret && !(secret.length >= MIN_NEEDLE && value.includes(secret))) {
    for (const form of echoForms(value, false)) if (!secrets.includes(form)) secrets.push(form);
  }
  return placement([name.toLowerCase(), value], undefined, secrets);
}

function inQuery(name: string, secret: string): CredentialPlacement {
  // A provider quoting the request URL (`?key=AbCd%2BEf…` in a 404 body) sends back one of the URL forms.
  return placement(undefined, [name, secret], echoForms(secret, true));
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
