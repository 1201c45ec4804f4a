import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../../vault/index.ts';

/**
 * The flow's one-time values: the connect link, the OAuth `state` and the browser-binding cookie are each 256
 * random bits (R-O8: far beyond 2^-128), base64url. Only their SHA-256 is stored, so a database read reveals none.
 */
export const newFlowSecret = (): string => randomToken(32);

export const digest = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** Constant-time comparison of two hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** RFC 7636 S256: base64url(SHA-256(verifier)). */
export const s256 = (verifier: string): string =>
  createHash('sha256').update(verifier, 'ascii').digest('base64url');

/** A value we issued (or a PKCE verifier/challenge): base64url text of a sane length. */
export const looksLikeToken = (value: string, min = 43, max = 128): boolean =>
  value.length >= min && value.length <= max && /^[A-Za-z0-9_-]+$/.test(value);
