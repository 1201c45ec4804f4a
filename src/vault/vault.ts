import { createCipheriv, createDecipheriv, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { PipesError } from '../errors.ts';
import { assertBinding, type SecretBinding } from './binding.ts';
import {
  buildAad,
  DEK_BYTES,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  FORMAT_VERSION,
  type GcmParts,
  IV_BYTES,
  TAG_BYTES,
} from './envelope.ts';
import { credentialUnreadable } from './errors.ts';
import type { MasterKeyRing } from './master-keys.ts';

const ALGORITHM = 'aes-256-gcm';

// Every call gets a fresh random 96-bit IV. A data key encrypts exactly one message, so its IV can never repeat;
// a master key wraps one DEK per seal or rewrap, far below the ~2^32 random-IV limit per key (R-E1, V6).
function encrypt(key: KeyObject | Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): GcmParts {
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

function decrypt(key: KeyObject | Buffer, parts: GcmParts, aad: Buffer, what: string): Buffer {
  try {
    const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch (error) {
    throw credentialUnreadable(`${what} failed authentication`, error);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Envelope encryption of stored secrets (R-E1..R-E4). Every secret gets its own random 256-bit data key (DEK);
 * the DEK is wrapped under the ring's active master key. Both layers are AES-256-GCM with the secret's binding in
 * the AAD. Pure: no I/O, no state besides the ring.
 */
export class Vault {
  readonly #ring: MasterKeyRing;

  constructor(ring: MasterKeyRing) {
    this.#ring = ring;
  }

  /** The id of the master key new secrets are sealed under. */
  get activeKeyId(): string {
    return this.#ring.activeId;
  }

  seal(plaintext: string, binding: SecretBinding): Buffer {
    assertBinding(binding);
    if (typeof plaintext !== 'string' || plaintext.length === 0) {
      // An empty secret is a bug upstream; storing it would make "" a value open() could legitimately return.
      throw new PipesError('invalid_secret', 'Refusing to seal an empty secret.', { status: 500 });
    }
    const { id: keyId, key } = this.#ring.active;
    // One call to the CSPRNG for the DEK and both IVs: it is the largest fixed cost of a seal.
    const random = randomBytes(DEK_BYTES + 2 * IV_BYTES);
    const dek = random.subarray(0, DEK_BYTES);
    const dataIv = random.subarray(DEK_BYTES, DEK_BYTES + IV_BYTES);
    const dekIv = random.subarray(DEK_BYTES + IV_BYTES);
    const data = Buffer.from(plaintext, 'utf8');
    try {
      return encodeEnvelope({
        version: FORMAT_VERSION,
        keyId,
        data: encrypt(dek, dataIv, data, buildAad('data', FORMAT_VERSION, binding)),
        dek: encrypt(key, dekIv, dek, buildAad('dek', FORMAT_VERSION, binding, keyId)),
      });
    } finally {
      dek.fill(0);
      data.fill(0);
    }
  }

  open(blob: Uint8Array, binding: SecretBinding): string {
    assertBinding(binding);
    const envelope = decodeEnvelope(blob);
    const dek = this.#unwrap(envelope, binding);
    let data: Buffer | undefined;
    try {
      data = decrypt(dek, envelope.data, buildAad('data', envelope.version, binding), 'data');
      if (data.length === 0) throw credentialUnreadable('empty plaintext');
      return utf8.decode(data);
    } catch (error) {
      if (error instanceof PipesError) throw error;
      throw credentialUnreadable('plaintext is not UTF-8', error);
    } finally {
      dek.fill(0);
      data?.fill(0);
    }
  }

  /**
   * A 256-bit subkey of a master key for one purpose (HKDF-SHA256, the purpose as `info`), for short-lived stateless
   * tokens that every instance must verify (relay tokens). Defaults to the active key; pass the id recorded in a
   * token to verify it after a rotation. Undefined when no configured key has that id.
   */
  deriveKey(
    purpose: string,
    keyId: string = this.#ring.activeId,
  ): { keyId: string; key: Buffer } | undefined {
    const master = this.#ring.keyFor(keyId);
    if (master === undefined) return undefined;
    const key = Buffer.from(hkdfSync('sha256', master, 'pipes subkey v1', `pipes:${purpose}`, 32));
    return { keyId, key };
  }

  /** The id of the master key that wraps this blob's DEK. Throws `credential_unreadable` if the blob is malformed. */
  keyIdOf(blob: Uint8Array): string {
    return decodeEnvelope(blob).keyId;
  }

  /** True when the blob is wrapped under a key other than the active one and a rewrap job should touch it. */
  needsRewrap(blob: Uint8Array): boolean {
    return this.keyIdOf(blob) !== this.#ring.activeId;
  }

  /**
   * Re-wraps the DEK under the active master key; the data part is copied byte for byte. Idempotent: a blob already
   * under the active key comes back unchanged, so an interrupted rewrap job can simply run again (R-E4, V5).
   * The whole blob is authenticated first (DEK and data), so the job reports a corrupt row instead of turning it
   * into a freshly wrapped corrupt row.
   */
  rewrap(blob: Uint8Array, binding: SecretBinding): Buffer {
    assertBinding(binding);
    const envelope = decodeEnvelope(blob);
    const dek = this.#unwrap(envelope, binding);
    try {
      decrypt(dek, envelope.data, buildAad('data', envelope.version, binding), 'data').fill(0);
      const { id: keyId, key } = this.#ring.active;
      if (envelope.keyId === keyId) return Buffer.from(blob);
      return encodeEnvelope({
        version: envelope.version,
        keyId,
        dek: encrypt(key, randomBytes(IV_BYTES), dek, buildAad('dek', envelope.version, binding, keyId)),
        data: envelope.data,
      });
    } finally {
      dek.fill(0);
    }
  }

  #unwrap(envelope: Envelope, binding: SecretBinding): Buffer {
    const key = this.#ring.keyFor(envelope.keyId);
    if (key === undefined) throw credentialUnreadable(`master key "${envelope.keyId}" is not configured`);
    const aad = buildAad('dek', envelope.version, binding, envelope.keyId);
    const dek = decrypt(key, envelope.dek, aad, 'DEK unwrap');
    if (dek.length !== DEK_BYTES) {
      dek.fill(0);
      throw credentialUnreadable('wrapped DEK has the wrong length');
    }
    return dek;
  }
}
