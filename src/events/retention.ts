import type { Kysely } from 'kysely';
import { releaseLease, tryAcquireLease } from '../store/leases.ts';
import type { Database } from '../store/schema.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH = 500;
const LEASE = 'events:retention';

/**
 * Deletes events older than the retention window (`PIPES_EVENT_RETENTION_DAYS`) with their deliveries and attempt
 * logs, in batches. An event with a delivery still pending is kept until that delivery finishes. A lease makes one
 * instance do the work when several share the database. Returns how many events were deleted.
 */
export async function purgeExpiredEvents(
  db: Kysely<Database>,
  input: { now: number; retentionDays: number; owner: string },
): Promise<number> {
  const cutoff = input.now - input.retentionDays * DAY_MS;
  // Most runs find nothing: check before taking the lease, which is a write.
  if ((await selectExpired(db, cutoff, 1)).length === 0) return 0;
  const lease = await tryAcquireLease(db, LEASE, input.owner, 10 * 60_000, input.now);
  if (!lease) return 0;
  try {
    let total = 0;
    for (;;) {
      const ids = await selectExpired(db, cutoff, BATCH);
      if (ids.length === 0) break;
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_attempts').where('event_id', 'in', ids).execute();
        await trx.deleteFrom('webhook_deliveries').where('event_id', 'in', ids).execute();
        await trx.deleteFrom('events').where('id', 'in', ids).execute();
      });
      total += ids.length;
      if (ids.length < BATCH) break;
    }
    return total;
  } finally {
    await releaseLease(db, lease);
  }
}

/** Ids of events created before `cutoff` with no delivery still pending, oldest first. */
async function selectExpired(db: Kysely<Database>, cutoff: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('events')
    .select('id')
    .where('created_at', '<', cutoff)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('webhook_deliveries')
            .select('webhook_deliveries.id')
            .whereRef('webhook_deliveries.event_id', '=', 'events.id')
            .where('webhook_deliveries.status', '=', 'pending'),
        ),
      ),
    )
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}
