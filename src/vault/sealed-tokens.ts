import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Vault } from './vault.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TOKEN_LENGTH = 2048;

/** The fields every sealed token payload carries: format version and expiry (epoch ms). */
export interface SealedTokenPayload {
  v: 1;
  x: number;
}

/**
 * Stateless bearer tokens (`<prefix><master key id>.<base64url(iv | ciphertext | tag)>`): a JSON payload sealed with
 * AES-256-GCM under a subkey the vault derives for `purpose` from the master key named in the token. Nothing is
 * stored, so any instance with the same master keys accepts them, and they keep working through a master-key
 * rotation while the old key is configured. The prefix and key id are the AAD, so a token of one kind can never be
 * read as another. Used by relay tokens and widget tokens.
 */
export class SealedTokens<P extends SealedTokenPayload> {
  readonly #vault: Vault;
  readonly #prefix: string;
  readonly #purpose: string;
  readonly #shape: RegExp;
  readonly #keys = new Map<string, Buffer>();

  constructor(vault: Vault, prefix: string, purpose: string) {
    this.#vault = vault;
    this.#prefix = prefix;
    this.#purpose = purpose;
    this.#shape = new RegExp(`^${prefix}([A-Za-z0-9_-]{1,32})\\.([A-Za-z0-9_-]+)$`);
  }

  #key(keyId?: string): { keyId: string; key: Buffer } | undefined {
    if (keyId !== undefined) {
      const cached = this.#keys.get(keyId);
      if (cached !== undefined) return { keyId, key: cached };
    }
    const derived = this.#vault.deriveKey(this.#purpose, ...(keyId === undefined ? [] : [keyId]));
    if (derived !== undefined) this.#keys.set(derived.keyId, derived.key);
    return derived;
  }

  seal(payload: P): string {
    const { keyId, key } = this.#key()!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${this.#prefix}${keyId}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return `${this.#prefix}${keyId}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The payload of a valid, unexpired token; null for anything else (malformed, forged, expired, unknown key). */
  open(token: string, now: number): P | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const match = this.#shape.exec(token);
    if (match === null) return null;
    const derived = this.#key(match[1]!);
    if (derived === undefined) return null;
    const raw = Buffer.from(match[2]!, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return null;
    let payload: P;
    try {
      const decipher = createDecipheriv('aes-256-gcm', derived.key, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(`${this.#prefix}${derived.keyId}`));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
      payload = JSON.parse(plain.toString('utf8')) as P;
    } catch {
      return null;
    }
    if (payload.v !== 1 || typeof payload.x !== 'number' || payload.x <= now) return null;
    return payload;
  }
}
