import { SealedTokens } from '../vault/sealed-tokens.ts';
import type { Vault } from '../vault/vault.ts';
import type { RelaySelection } from './types.ts';

/**
 * Relay tokens: short-lived, stateless bearer credentials for one (environment, provider, selection), so that an SDK
 * that only takes a base URL can call through the relay (`<public>/relay/t/<token>/<slug>`).
 *
 * Format: `prt_<master key id>.<base64url(iv ‖ AES-256-GCM(payload) ‖ tag)>`. The key is an HKDF subkey of a master
 * key (`Vault.deriveKey('relay-token')`), so every instance that shares the master keys verifies every token, with no
 * table and no shared cache; after a rotation, tokens keep working while their key id is still configured. The
 * payload is encrypted, not just signed, so user and organization ids do not show in URLs and logs.
 *
 * A token cannot be revoked on its own: it dies at its expiry (at most an hour), or at once with the API key that
 * minted it when the deps offer `isApiKeyActive`.
 */
export const RELAY_TOKEN_PREFIX = 'prt_';
const PURPOSE = 'relay-token';
/** Refuse absurd inputs before any crypto. */

export interface RelayTokenClaims {
  environmentId: string;
  provider: string;
  selection: RelaySelection;
  /** Epoch ms. */
  expiresAt: number;
  apiKeyId?: string;
  /** An allow-listed alternative origin for every call made with this token. */
  targetOrigin?: string;
}

interface Payload {
  v: 1;
  e: string;
  p: string;
  x: number;
  u?: string;
  o?: string;
  a?: string;
  w?: 'user' | 'organization';
  k?: string;
  g?: string;
}

export class RelayTokens {
  readonly #sealed: SealedTokens<Payload>;

  constructor(vault: Vault) {
    this.#sealed = new SealedTokens(vault, RELAY_TOKEN_PREFIX, PURPOSE);
  }

  mint(claims: RelayTokenClaims): string {
    const payload: Payload = { v: 1, e: claims.environmentId, p: claims.provider, x: claims.expiresAt };
    const s = claims.selection;
    if (s.userId !== undefined) payload.u = s.userId;
    if (s.organizationId !== undefined) payload.o = s.organizationId;
    if (s.connectedAccountId !== undefined) payload.a = s.connectedAccountId;
    if (s.connectionOwner !== undefined) payload.w = s.connectionOwner;
    if (claims.apiKeyId !== undefined) payload.k = claims.apiKeyId;
    if (claims.targetOrigin !== undefined) payload.g = claims.targetOrigin;
    return this.#sealed.seal(payload);
  }

  /** The claims of a valid, unexpired token; null for anything else (malformed, forged, expired, unknown key). */
  verify(token: string, now: number): RelayTokenClaims | null {
    const payload = this.#sealed.open(token, now);
    if (payload === null) return null;
    const selection: RelaySelection = {};
    if (payload.u !== undefined) selection.userId = payload.u;
    if (payload.o !== undefined) selection.organizationId = payload.o;
    if (payload.a !== undefined) selection.connectedAccountId = payload.a;
    if (payload.w !== undefined) selection.connectionOwner = payload.w;
    const claims: RelayTokenClaims = {
      environmentId: payload.e,
      provider: payload.p,
      selection,
      expiresAt: payload.x,
    };
    if (payload.k !== undefined) claims.apiKeyId = payload.k;
    if (payload.g !== undefined) claims.targetOrigin = payload.g;
    return claims;
  }
}
