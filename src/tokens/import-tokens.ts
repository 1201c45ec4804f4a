import { PipesError } from '../errors.ts';

export interface ImportedTokens {
  access_token?: string | undefined;
  refresh_token?: string | undefined;
  expires_at?: string | undefined;
  state?: 'connected' | 'needs_reauthorization' | undefined;
}

export interface ImportPlan {
  state: 'connected' | 'needs_reauthorization';
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: number | null;
  expiryKind: 'expires_in' | 'never' | 'unknown';
}

const invalidCombination = (message: string) =>
  new PipesError('invalid_token_combination', message, { status: 422 });

/**
 * The token-combination rules of connected-account imports (§3.6):
 * - no tokens: the account waits for the user, state `needs_reauthorization`;
 * - access token + expiry + refresh token: `connected`, refreshed ahead of expiry;
 * - access token alone: `connected`, treated as non-expiring;
 * - access token + expiry without a refresh token: rejected — it would silently die at expiry;
 * - expiry without an access token: rejected;
 * - refresh token alone (the docs' rule is cut off; this is Pipes' choice): `connected`, and the first use refreshes.
 */
export function planImport(input: ImportedTokens, now: number): ImportPlan {
  const expiresAt = input.expires_at !== undefined ? Date.parse(input.expires_at) : null;
  if (expiresAt !== null && Number.isNaN(expiresAt)) {
    throw new PipesError('invalid_request_parameters', 'expires_at must be an ISO-8601 date-time.', {
      status: 422,
    });
  }
  const access = input.access_token ?? null;
  const refresh = input.refresh_token ?? null;
  if (expiresAt !== null && access === null) {
    throw invalidCombination('expires_at was given without an access_token.');
  }
  if (access !== null && expiresAt !== null && refresh === null) {
    throw invalidCombination(
      'An access_token with expires_at needs a refresh_token; without one the connection would stop working at expiry.',
    );
  }
  if (access === null && refresh === null) {
    return {
      state: 'needs_reauthorization',
      accessToken: null,
      refreshToken: null,
      expiresAt: null,
      expiryKind: 'unknown',
    };
  }
  const state = input.state ?? 'connected';
  if (access === null) {
    // Refresh token only: expired at import, so the first vend refreshes it.
    return { state, accessToken: null, refreshToken: refresh, expiresAt: now, expiryKind: 'expires_in' };
  }
  if (expiresAt === null) {
    return {
      state,
      accessToken: access,
      refreshToken: refresh,
      expiresAt: null,
      expiryKind: refresh ? 'unknown' : 'never',
    };
  }
  return { state, accessToken: access, refreshToken: refresh, expiresAt, expiryKind: 'expires_in' };
}
