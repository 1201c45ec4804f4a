import type { SecretBinding } from './binding.ts';
import { credentialUnreadable } from './errors.ts';

/**
 * The serialized form of a sealed secret (format version 1). All integers are big-endian.
 *
 *   offset  size  field
 *   0       4     magic "PVE\0" (0x50 0x56 0x45 0x00)
 *   4       1     format version (0x01)
 *   5       1     key id length L (1..32)
 *   6       L     master key id, ASCII [A-Za-z0-9_-]
 *   6+L     12    DEK wrap IV
 *   18+L    16    DEK wrap GCM tag
 *   34+L    32    wrapped DEK (AES-256-GCM ciphertext of the 32-byte DEK under the master key)
 *   66+L    12    data IV
 *   78+L    16    data GCM tag
 *   94+L    n     data ciphertext (AES-256-GCM of the UTF-8 plaintext under the DEK), n >= 1
 *
 * Everything up to the data IV is the "wrap" part; rewrap replaces only that and keeps the data part byte for byte.
 */
export const ENVELOPE_MAGIC: Buffer = Buffer.from([0x50, 0x56, 0x45, 0x00]);
export const FORMAT_VERSION = 1;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const DEK_BYTES = 32;
const MAX_KEY_ID_BYTES = 32;
const KEY_ID_PATTERN = /^[a-zA-Z0-9_-]{1,32}$/;

export interface GcmParts {
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

export interface Envelope {
  readonly version: number;
  readonly keyId: string;
  readonly dek: GcmParts;
  readonly data: GcmParts;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  const keyId = Buffer.from(envelope.keyId, 'ascii');
  if (!KEY_ID_PATTERN.test(envelope.keyId)) throw new RangeError('envelope: invalid key id');
  const { dek, data } = envelope;
  if (dek.iv.length !== IV_BYTES || dek.tag.length !== TAG_BYTES || dek.ciphertext.length !== DEK_BYTES) {
    throw new RangeError('envelope: malformed wrapped DEK');
  }
  if (data.iv.length !== IV_BYTES || data.tag.length !== TAG_BYTES || data.ciphertext.length === 0) {
    throw new RangeError('envelope: malformed data part');
  }
  return Buffer.concat([
    ENVELOPE_MAGIC,
    Buffer.from([envelope.version, keyId.length]),
    keyId,
    dek.iv,
    dek.tag,
    dek.ciphertext,
    data.iv,
    data.tag,
    data.ciphertext,
  ]);
}

function asBuffer(blob: unknown): Buffer {
  if (Buffer.isBuffer(blob)) return blob;
  if (blob instanceof Uint8Array) return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  throw credentialUnreadable('not a byte array');
}

/** Parses a blob; every structural problem becomes `credential_unreadable`. Authenticity is checked by the caller. */
export function decodeEnvelope(input: Uint8Array): Envelope {
  const blob = asBuffer(input);
  const headerEnd = ENVELOPE_MAGIC.length + 2;
  if (blob.length < headerEnd) throw credentialUnreadable('truncated header');
  if (!blob.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC))
    throw credentialUnreadable('bad magic');
  const version = blob[ENVELOPE_MAGIC.length]!;
  if (version !== FORMAT_VERSION) throw credentialUnreadable(`unsupported format version ${version}`);
  const keyIdLength = blob[ENVELOPE_MAGIC.length + 1]!;
  if (keyIdLength === 0 || keyIdLength > MAX_KEY_ID_BYTES) throw credentialUnreadable('bad key id length');
  const fixed = IV_BYTES + TAG_BYTES + DEK_BYTES + IV_BYTES + TAG_BYTES;
  // At least one byte of data ciphertext: sealing refuses empty secrets.
  if (blob.length < headerEnd + keyIdLength + fixed + 1) throw credentialUnreadable('truncated');
  let offset = headerEnd;
  const take = (size: number): Buffer => {
    const part = blob.subarray(offset, offset + size);
    offset += size;
    return part;
  };
  const keyId = take(keyIdLength).toString('latin1');
  if (!KEY_ID_PATTERN.test(keyId)) throw credentialUnreadable('bad key id');
  const dek = { iv: take(IV_BYTES), tag: take(TAG_BYTES), ciphertext: take(DEK_BYTES) };
  const data = { iv: take(IV_BYTES), tag: take(TAG_BYTES), ciphertext: blob.subarray(offset) };
  return { version, keyId, dek, data };
}

/** Reads only the key id, for `needsRewrap` and rewrap progress reports. */
export function envelopeKeyId(blob: Uint8Array): string {
  return decodeEnvelope(blob).keyId;
}

function field(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * Additional authenticated data. Every variable field is length-prefixed (u32 + UTF-8), so no two different
 * bindings encode to the same bytes (`("a:b","c")` vs `("a","b:c")`). The purpose label separates the DEK wrap from
 * the data encryption; the DEK wrap also binds the master key id, the data part does not, which is what lets a
 * rewrap change the key id without touching the data ciphertext.
 */
export function buildAad(
  purpose: 'dek' | 'data',
  version: number,
  binding: SecretBinding,
  keyId?: string,
): Buffer {
  const parts = [
    field('pipes-vault-aad'),
    Buffer.from([version]),
    field(purpose),
    field(binding.table),
    field(binding.rowId),
    field(binding.environmentId),
    field(binding.kind),
  ];
  if (purpose === 'dek') {
    if (keyId === undefined) throw new RangeError('buildAad: the DEK wrap needs a key id');
    parts.push(field(keyId));
  }
  return Buffer.concat(parts);
}
