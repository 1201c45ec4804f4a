import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Refuse absurd inputs before any crypto. */
const MAX_TOKEN_LENGTH = 2048;
const TOKEN_SHAPE = /^prt_([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)$/;

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

  mint(claims: RelayTokenClaims): string {
    const payload: Payload = { v: 1, e: claims.environmentId, p: claims.provider, x: claims.expiresAt };
    const s = claims.selection;
    if (s.userId !== undefined) payload.u = s.userId;
    if (s.organizationId !== undefined) payload.o = s.organizationId;
    if (s.connectedAccountId !== undefined) payload.a = s.connectedAccountId;
    if (s.connectionOwner !== undefined) payload.w = s.connectionOwner;
    if (claims.apiKeyId !== undefined) payload.k = claims.apiKeyId;
    if (claims.targetOrigin !== undefined) payload.g = claims.targetOrigin;
    const { keyId, key } = this.#key()!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${RELAY_TOKEN_PREFIX}${keyId}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    return `${RELAY_TOKEN_PREFIX}${keyId}.${sealed}`;
  }

  /** The claims of a valid, unexpired token; null for anything else (malformed, forged, expired, unknown key). */
  verify(token: string, now: number): RelayTokenClaims | null {
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
      decipher.setAAD(Buffer.from(`${RELAY_TOKEN_PREFIX}${derived.keyId}`));
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
