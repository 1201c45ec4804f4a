import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';

/**
 * Sign-in throttling (OWASP Authentication cheat sheet: account lockout with a growing window, plus a per-address
 * limit against password spraying). An attempt is *reserved* before the password is checked, with a
 * compare-and-set, so that a burst of parallel guesses cannot slip past the limit; a successful sign-in clears the
 * account's counter. Once `threshold` attempts have been reserved, the key is locked for `baseLockMs`, doubling with
 * every further attempt up to `maxLockMs`; while it is locked even the right password is refused. Unknown emails get
 * the same treatment as known ones, so the lock reveals nothing about which accounts exist.
 */
export interface ThrottlePolicy {
  threshold: number;
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no attempt for this long (and not locked) starts again from zero. */
  quietResetMs: number;
}

export const ACCOUNT_THROTTLE: ThrottlePolicy = {
  threshold: 5,
  baseLockMs: 60_000,
  maxLockMs: 60 * 60_000,
  quietResetMs: 60 * 60_000,
};

export const ADDRESS_THROTTLE: ThrottlePolicy = {
  threshold: 30,
  baseLockMs: 60_000,
  maxLockMs: 60 * 60_000,
  quietResetMs: 60 * 60_000,
};

/** Keys never hold an email in clear: the table is not a list of who tried to sign in. */
export const accountThrottleKey = (email: string) =>
  `account:${createHash('sha256').update(email, 'utf8').digest('base64url')}`;
export const addressThrottleKey = (address: string) => `ip:${address}`;

export function lockDuration(policy: ThrottlePolicy, attempts: number): number {
  if (attempts < policy.threshold) return 0;
  const doublings = Math.min(attempts - policy.threshold, 20);
  return Math.min(policy.baseLockMs * 2 ** doublings, policy.maxLockMs);
}

/** True when the key is locked at `now` (no attempt is reserved). */
export async function isLocked(db: Kysely<Database>, key: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom('login_throttle')
    .select('locked_until')
    .where('key', '=', key)
    .executeTakeFirst();
  return row !== undefined && row.locked_until > now;
}

/**
 * Reserves one attempt for `key`. False when the key is locked (or stays contended): the caller must refuse the
 * attempt without checking the password.
 */
export async function reserveAttempt(
  db: Kysely<Database>,
  key: string,
  policy: ThrottlePolicy,
  now: number,
): Promise<boolean> {
  for (let round = 0; round < 5; round++) {
    const row = await db.selectFrom('login_throttle').selectAll().where('key', '=', key).executeTakeFirst();
    if (row === undefined) {
      const inserted = await db
        .insertInto('login_throttle')
        .values({ key, failures: 1, last_attempt_at: now, locked_until: now + lockDuration(policy, 1) })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return true;
      continue;
    }
    if (row.locked_until > now) return false;
    const stale = row.last_attempt_at < now - policy.quietResetMs;
    const next = (stale ? 0 : Number(row.failures)) + 1;
    const updated = await db
      .updateTable('login_throttle')
      .set({ failures: next, last_attempt_at: now, locked_until: now + lockDuration(policy, next) })
      .where('key', '=', key)
      .where('failures', '=', row.failures)
      .where('locked_until', '=', row.locked_until)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 1) return true;
  }
  return false;
}

/** After a successful sign-in: the account starts again from zero. */
export async function clearAttempts(db: Kysely<Database>, key: string): Promise<void> {
  await db.deleteFrom('login_throttle').where('key', '=', key).execute();
}

/** Housekeeping: forgets keys that are not locked and saw no attempt for a quiet period. */
export async function purgeStaleAttempts(db: Kysely<Database>, now: number, quietMs: number): Promise<void> {
  await db
    .deleteFrom('login_throttle')
    .where('locked_until', '<=', now)
    .where('last_attempt_at', '<', now - quietMs)
    .execute();
}
