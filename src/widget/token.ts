import { SealedTokens } from '../vault/sealed-tokens.ts';
import type { Vault } from '../vault/vault.ts';

/**
 * Widget tokens: short-lived, stateless bearer credentials that let one end user's browser list, connect, reauthorize
 * and disconnect that user's own connections in one environment, and nothing else.
 *
 * Format: `pwt_<master key id>.<base64url(iv ‖ AES-256-GCM(payload) ‖ tag)>`. The key is an HKDF subkey of a master
 * key (`Vault.deriveKey('widget-token')`), so every instance that shares the master keys verifies every token with no
 * table. GCM is authenticated encryption: the tag signs the payload (changing one bit fails verification), and the
 * payload is also hidden, so user and organization ids do not show in the hosted page's URL or in logs. The prefix
 * is bound in as AAD.
 *
 * A token names the API key that minted it: it stops working at once when that key is revoked, and otherwise at its
 * expiry (15 minutes). It can never be used as an API key: it does not have the `sk_` shape, and the API-key check
 * rejects anything else before a database read.
 */
export const WIDGET_TOKEN_PREFIX = 'pwt_';
export const WIDGET_TOKEN_TTL_MS = 15 * 60_000;
const PURPOSE = 'widget-token';

export interface WidgetTokenClaims {
  environmentId: string;
  userId: string;
  organizationId: string | null;
  /** The API key that minted the token: its revocation kills the token. */
  apiKeyId: string;
  issuedAt: number;
  expiresAt: number;
}

interface Payload {
  v: 1;
  e: string;
  u: string;
  o: string | null;
  k: string;
  i: number;
  x: number;
}

export class WidgetTokens {
  readonly #sealed: SealedTokens<Payload>;

  constructor(vault: Vault) {
    this.#sealed = new SealedTokens(vault, WIDGET_TOKEN_PREFIX, PURPOSE);
  }

  mint(claims: WidgetTokenClaims): string {
    const payload: Payload = {
      v: 1,
      e: claims.environmentId,
      u: claims.userId,
      o: claims.organizationId,
      k: claims.apiKeyId,
      i: claims.issuedAt,
      x: claims.expiresAt,
    };
    return this.#sealed.seal(payload);
  }

  /** The claims of a valid, unexpired token; null for anything else (malformed, forged, expired, unknown key). */
  verify(token: string, now: number): WidgetTokenClaims | null {
    const payload = this.#sealed.open(token, now);
    if (payload === null) return null;
    if (typeof payload.e !== 'string' || typeof payload.u !== 'string' || typeof payload.k !== 'string')
      return null;
    return {
      environmentId: payload.e,
      userId: payload.u,
      organizationId: typeof payload.o === 'string' ? payload.o : null,
      apiKeyId: payload.k,
      issuedAt: payload.i,
      expiresAt: payload.x,
    };
  }
}
