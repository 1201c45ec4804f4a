import type { ProviderOAuth } from '../providers/catalog-schema.ts';
import { readPath, scalarText, withoutSecrets } from './json-path.ts';
import { type ProviderTokenSet, TokenEndpointError, type TokenFailureKind } from './types.ts';

/**
 * Reads a token-endpoint response, table-driven by the provider's `token_response` block, into a
 * `ProviderTokenSet` — or throws a `TokenEndpointError` whose `kind` tells the caller what to do.
 *
 * Strict where a wrong answer could be stored (R-T1): the body must be a JSON object (or a form-encoded body, which
 * GitHub sends without `Accept: application/json`), `access_token` a non-empty string, `token_type` bearer when
 * present, `expires_in` a sane positive number, `refresh_token` and `scope` strings. Lenient where conformance suites
 * expect it (R-T2): `token_type` in any case, no `expires_in` (unknown lifetime), no `scope` (= as requested).
 * Errors are recognised in the body whatever the HTTP status, since some providers (Slack, GitHub) answer errors
 * with 200.
 */

export interface RawTokenResponse {
  status: number;
  contentType: string;
  text: string;
  retryAfter: string | null;
}

/** Longer than any real lifetime (10 years); `1e20` is a provider bug, not a token that never expires. */
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;
const MAX_DESCRIPTION = 300;

/** Provider error codes meaning "this grant is dead" (standard plus Slack's and GitHub's spellings). */
const GRANT_ERRORS = new Set([
  'invalid_grant',
  'bad_verification_code',
  'invalid_code',
  'code_already_used',
  'code_expired',
  'invalid_refresh_token',
  'expired_token',
  'token_revoked',
]);
/** Provider error codes meaning "our client credentials are wrong". */
const CLIENT_ERRORS = new Set([
  'invalid_client',
  'incorrect_client_credentials',
  'invalid_client_id',
  'bad_client_secret',
  'invalid_client_secret',
]);
/** Provider error codes meaning "try again later". */
const TRANSIENT_ERRORS = new Set([
  'temporarily_unavailable',
  'server_error',
  'slow_down',
  'ratelimited',
  'rate_limited',
  'internal_error',
  'service_unavailable',
]);

type Body =
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; value: Record<string, string> }
  | { kind: 'none' };

export function parseTokenResponse(
  raw: RawTokenResponse,
  oauth: Pick<ProviderOAuth, 'token_response' | 'scope_separator'>,
): ProviderTokenSet {
  const body = decodeBody(raw);
  const object = body.kind === 'none' ? null : asObject(body.value);
  const error = object === null ? null : findError(object);
  const success = raw.status >= 200 && raw.status < 300;

  if (!success || error !== null) throw errorFor(raw, error);
  if (body.kind === 'none') throw malformed('the response is not JSON');
  if (object === null) throw malformed('the response is not a JSON object');
  return readTokens(object, body.kind === 'form', oauth);
}

function decodeBody(raw: RawTokenResponse): Body {
  const type = raw.contentType.toLowerCase();
  const text = raw.text.trim();
  if (type.includes('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(text);
    const value: Record<string, string> = {};
    for (const key of new Set(params.keys())) {
      // A repeated field is ambiguous: which access_token is the real one?
      if (params.getAll(key).length !== 1) return { kind: 'none' };
      value[key] = params.get(key) ?? '';
    }
    return { kind: 'form', value };
  }
  if (text === '') return { kind: 'none' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'none' };
  }
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

interface OAuthErrorBody {
  error: string;
  description: string | null;
}

/** `{ error, error_description }`, or Slack's `{ ok: false, error }`. */
function findError(object: Record<string, unknown>): OAuthErrorBody | null {
  const error = object.error;
  const description = typeof object.error_description === 'string' ? object.error_description : null;
  if (typeof error === 'string' && error !== '') return { error, description };
  if (object.ok === false) return { error: 'unknown_error', description };
  return null;
}

function errorFor(raw: RawTokenResponse, error: OAuthErrorBody | null): TokenEndpointError {
  const retryAfterMs = parseRetryAfter(raw.retryAfter);
  const details = {
    providerError: error?.error ?? null,
    providerErrorDescription: error?.description?.slice(0, MAX_DESCRIPTION) ?? null,
    retryAfterMs,
  };
  const kind = classify(raw.status, error?.error ?? null);
  const said = error === null ? `HTTP ${raw.status}` : `${error.error}${describe(error.description)}`;
  const message =
    kind === 'invalid_grant'
      ? `The provider refused the grant (${said}).`
      : kind === 'invalid_client'
        ? `The provider refused the integration's client credentials (${said}). Check the client id and secret.`
        : kind === 'transient'
          ? `The provider's token endpoint is unavailable (${said}). Try again.`
          : kind === 'malformed'
            ? `The provider's token endpoint answered something that is not a token response (${said}).`
            : `The provider rejected the token request (${said}).`;
  return new TokenEndpointError(kind, message, details);
}

const describe = (description: string | null): string =>
  description === null ? '' : `: ${description.slice(0, MAX_DESCRIPTION)}`;

function classify(status: number, error: string | null): TokenFailureKind {
  if (status === 429 || status === 408 || status >= 500) return 'transient';
  if (error !== null) {
    if (GRANT_ERRORS.has(error)) return 'invalid_grant';
    if (CLIENT_ERRORS.has(error)) return 'invalid_client';
    if (TRANSIENT_ERRORS.has(error)) return 'transient';
    return 'rejected';
  }
  if (status >= 300 && status < 400) return 'malformed';
  if (status === 401) return 'invalid_client';
  return 'rejected';
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()), 3600) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.min(date - now, 3600_000));
}

const malformed = (problem: string): TokenEndpointError =>
  new TokenEndpointError('malformed', `The provider's token response is malformed: ${problem}.`);

function readTokens(
  object: Record<string, unknown>,
  formEncoded: boolean,
  oauth: Pick<ProviderOAuth, 'token_response' | 'scope_separator'>,
): ProviderTokenSet {
  const spec = oauth.token_response;
  const accessPath = spec.access_token_path ?? 'access_token';
  const accessToken = readPath(object, accessPath);
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw malformed(`${accessPath} is missing or not a string`);
  }
  // token_type sits next to a top-level access_token; nested tokens (Slack's authed_user) carry their own kind.
  if (spec.access_token_path === undefined && object.token_type !== undefined) {
    if (typeof object.token_type !== 'string' || object.token_type.toLowerCase() !== 'bearer') {
      throw malformed('token_type is not bearer');
    }
  }
  return {
    accessToken,
    refreshToken: readRefreshToken(readPath(object, spec.refresh_token_path ?? 'refresh_token')),
    expiresIn: readExpiresIn(readPath(object, spec.expires_in_path ?? 'expires_in'), formEncoded),
    scopes: readScopes(readPath(object, spec.scope_path ?? 'scope'), oauth.scope_separator),
    metadata: readMetadata(object, spec.metadata_fields),
    identity: withoutSecrets(object) as Record<string, unknown>,
  };
}

function readRefreshToken(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw malformed('refresh_token is not a string');
  return value;
}

function readExpiresIn(value: unknown, formEncoded: boolean): number | null {
  if (value === undefined || value === null) return null;
  // Form-encoded bodies can only carry text; JSON must carry a number.
  const number = typeof value === 'string' && formEncoded && /^\d{1,12}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) throw malformed('expires_in is not a number');
  if (number <= 0 || number > MAX_EXPIRES_IN) throw malformed('expires_in is out of range');
  return Math.floor(number);
}

function readScopes(value: unknown, separator: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    if (!value.every((s) => typeof s === 'string')) throw malformed('scope is not a list of strings');
    return [...new Set(value as string[])];
  }
  if (typeof value !== 'string') throw malformed('scope is not a string');
  // Providers do not always answer with the separator they expect in requests (Google: spaces either way).
  const parts = value
    .split(/\s+/)
    .flatMap((part) => (separator.trim() === '' ? [part] : part.split(separator)));
  return [...new Set(parts.filter((part) => part !== ''))];
}

function readMetadata(object: Record<string, unknown>, fields: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const path of fields) {
    const text = scalarText(readPath(object, path));
    if (text !== undefined) metadata[path] = text;
  }
  return metadata;
}
