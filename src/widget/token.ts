import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TOKEN_LENGTH = 2048;
const TOKEN_SHAPE = /^pwt_([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)$/;

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
  readonly #vault: Vault;
  readonly #keys = new Map<string, Buffer>();

  constructor(vault: Vault) {
    this.#vault = vault;
  }

  #key(keyId?: string): { keyId: string; key: Buffer } | undefined {
    if (keyId !== undefined) {
      const cached = this.#keys.get(keyId);
      if (cached !== undefined) return { keyId, key: cached };
    }
    const derived = this.#vault.deriveKey(PURPOSE, ...(keyId === undefined ? [] : [keyId]));
    if (derived !== undefined) this.#keys.set(derived.keyId, derived.key);
    return derived;
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
    const { keyId, key } = this.#key()!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${WIDGET_TOKEN_PREFIX}${keyId}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return `${WIDGET_TOKEN_PREFIX}${keyId}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The claims of a valid, unexpired token; null for anything else (malformed, forged, expired, unknown key). */
  verify(token: string, now: number): WidgetTokenClaims | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const match = TOKEN_SHAPE.exec(token);
    if (match === null) return null;
    const derived = this.#key(match[1]!);
    if (derived === undefined) return null;
    const raw = Buffer.from(match[2]!, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return null;
    let payload: Payload;
    try {
      const decipher = createDecipheriv('aes-256-gcm', derived.key, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(`${WIDGET_TOKEN_PREFIX}${derived.keyId}`));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
      payload = JSON.parse(plain.toString('utf8')) as Payload;
    } catch {
      return null;
    }
    if (payload.v !== 1 || typeof payload.x !== 'number' || payload.x <= now) return null;
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
