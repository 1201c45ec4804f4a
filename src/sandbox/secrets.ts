import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefixes make a leaked sandbox credential recognisable at a glance (and by secret scanners). */
export const TOKEN_PREFIXES = {
  accessToken: 'sbx_at_',
  refreshToken: 'sbx_rt_',
  authorizationCode: 'sbx_ac_',
  consentRequest: 'sbx_cr_',
} as const;

/** 32 random bytes = 256 bits of entropy, base64url without padding (43 characters). */
export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Random, non-secret identifier (grant ids, item ids): 128 bits is plenty to avoid collisions. */
export function generateId(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Compares two strings without leaking, through timing, how long a prefix matched. */
export function equalsConstantTime(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}

/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 challenge is a base64url-encoded sha256: exactly 43 characters. */
const S256_CHALLENGE_PATTERN = /^[A-Za-z0-9\-_]{43}$/;

export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE_PATTERN.test(challenge);
}

export function verifyPkceS256(verifier: string, challenge: string): boolean {
  if (!CODE_VERIFIER_PATTERN.test(verifier)) return false;
  return equalsConstantTime(sha256(verifier), challenge);
}
