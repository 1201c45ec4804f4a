import { timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two tokens (a CSRF token, the sign-in form token). */
export function tokensEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
