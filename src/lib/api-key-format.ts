import { createHash, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key format: `sk_test_` or `sk_live_`, 43 random base62 characters (256 bits), then a 6-character base62
 * CRC32 checksum of everything before it. The checksum lets Pipes reject a garbled or truncated key without a
 * database read, and makes keys recognisable to secret scanners (the GitHub token-format idea).
 */
export type KeyMode = 'test' | 'live';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = new RegExp(
  `^sk_(test|live)_([0-9A-Za-z]{${RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

function encodeChecksum(value: number): string {
  let n = value >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function checksumOf(prefixAndBody: string): string {
  return encodeChecksum(crc32(prefixAndBody));
}

export function generateApiKey(mode: KeyMode): string {
  let body = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) body += ALPHABET[randomInt(62)];
  const head = `sk_${mode}_${body}`;
  return head + checksumOf(head);
}

/** Returns the key's mode when it is well formed and its checksum holds, else null. Never touches the database. */
export function parseApiKey(key: string): { mode: KeyMode } | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  const head = key.slice(0, key.length - CHECKSUM_LENGTH);
  if (checksumOf(head) !== match[3]) return null;
  return { mode: match[1] as KeyMode };
}

/**
 * Keys are stored as SHA-256 digests. A slow hash would add nothing for a 256-bit random secret and would slow
 * every request; lookups go through the unique digest index, and the index lookup itself compares full digests.
 */
export function digestApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
