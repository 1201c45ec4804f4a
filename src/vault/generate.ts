import { randomBytes } from 'node:crypto';

/** A random token of `bytes` bytes (default 32), base64url without padding: safe in URLs, headers and env files. */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
    throw new RangeError('randomToken: bytes must be an integer between 1 and 1024');
  }
  return randomBytes(bytes).toString('base64url');
}

/** A new master key in the form `PIPES_MASTER_KEY` expects: 32 random bytes, base64 (same as `openssl rand -base64 32`). */
export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}
