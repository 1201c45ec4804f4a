import { PipesError } from '../errors.ts';

/**
 * The one error every decryption failure becomes. The caller (token API, relay) only needs to know that the
 * credential is gone; the non-secret `reason` goes into `cause` so an operator's log can tell a corrupted row from
 * a missing master key without us ever returning garbage or an empty value (R-E5, V1).
 */
export function credentialUnreadable(reason: string, cause?: unknown): PipesError {
  const detail = new Error(`vault: ${reason}`, cause === undefined ? undefined : { cause });
  return new PipesError(
    'credential_unreadable',
    'A stored credential could not be decrypted. It is corrupted, was copied from another record, or was sealed with a master key that is not configured.',
    { status: 500, cause: detail },
  );
}

export const MASTER_KEY_HINT = '32 random bytes, base64-encoded; generate one with: openssl rand -base64 32';
