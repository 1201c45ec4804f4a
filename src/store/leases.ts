import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Named leases with a fencing counter, on SQLite and PostgreSQL alike.
 *
 * Hand-written because no library offers a lock that works on both engines: PostgreSQL has advisory locks, SQLite
 * has nothing between processes but its own write lock. A lease is a row; taking it is one compare-and-set
 * statement (`UPDATE … WHERE expires_at <= now RETURNING fence`), which both engines run atomically.
 *
 * A lease can be outlived by a paused holder (a GC pause, SIGSTOP), so a TTL alone is not mutual exclusion
 * (Kleppmann's argument). Every acquisition increments `fence`; a holder passes its fence to the writes it
 * protects, and those writes check it. A stale holder's write then matches zero rows.
 */
export interface Lease {
  name: string;
  owner: string;
  fence: number;
  expiresAt: number;
}

export async function tryAcquireLease(
  db: Kysely<Database>,
  name: string,
  owner: string,
  ttlMs: number,
  now: number,
): Promise<Lease | null> {
  const expiresAt = now + ttlMs;
  const inserted = await db
    .insertInto('leases')
    .values({ name, owner, fence: 1, expires_at: expiresAt })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('fence')
    .executeTakeFirst();
  if (inserted) return { name, owner, fence: Number(inserted.fence), expiresAt };
  const taken = await db
    .updateTable('leases')
    .set((eb) => ({ owner, fence: eb('fence', '+', 1), expires_at: expiresAt }))
    .where('name', '=', name)
    .where('expires_at', '<=', now)
    .returning('fence')
    .executeTakeFirst();
  return taken ? { name, owner, fence: Number(taken.fence), expiresAt } : null;
}

/** Extends a lease still held by this holder (same owner and fence). False when it was lost. */
export async function renewLease(
  db: Kysely<Database>,
  lease: Lease,
  ttlMs: number,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('leases')
    .set({ expires_at: now + ttlMs })
    .where('name', '=', lease.name)
    .where('owner', '=', lease.owner)
    .where('fence', '=', lease.fence)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  const held = Number(result.numUpdatedRows) === 1;
  if (held) lease.expiresAt = now + ttlMs;
  return held;
}

/** True while this holder still holds the lease: checked right before an action the lease protects. */
export async function holdsLease(db: Kysely<Database>, lease: Lease, now: number): Promise<boolean> {
  const row = await db
    .selectFrom('leases')
    .select('fence')
    .where('name', '=', lease.name)
    .where('owner', '=', lease.owner)
    .where('fence', '=', lease.fence)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

/** Releases the lease if still held; a stale holder's release does nothing to the new holder. */
export async function releaseLease(db: Kysely<Database>, lease: Lease): Promise<void> {
  await db
    .updateTable('leases')
    .set({ expires_at: 0 })
    .where('name', '=', lease.name)
    .where('owner', '=', lease.owner)
    .where('fence', '=', lease.fence)
    .execute();
}
