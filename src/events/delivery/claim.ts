import { type Kysely, sql } from 'kysely';
import type { StoreEngine } from '../../store/engine.ts';
import type { LeaseTime } from '../../store/lease-time.ts';
import type { Database, WebhookDeliveryTable } from '../../store/schema.ts';

export type ClaimedDelivery = Pick<
  WebhookDeliveryTable,
  'id' | 'environment_id' | 'event_id' | 'endpoint_id' | 'event_name' | 'attempts' | 'lease_until'
>;

/**
 * Claims up to `limit` due deliveries for `owner`, with one compare-and-set statement:
 *
 *   UPDATE webhook_deliveries SET lease_owner = me, lease_until = now + lease, attempts = attempts + 1
 *   WHERE id IN (due rows [FOR UPDATE SKIP LOCKED]) AND still pending AND lease free AND due
 *   RETURNING …
 *
 * The re-checked conditions make it correct on SQLite (one writer at a time) and on PostgreSQL (a row another worker
 * claimed first is re-evaluated and fails them); SKIP LOCKED only spares PostgreSQL workers from queueing on the same
 * rows. The increment hands each attempt number to exactly one claimer, so no attempt is ever sent twice: a claim
 * that outlives a crash is taken over as the NEXT attempt, with the same `webhook-id` (R-W6, W7).
 */
export async function claimDueDeliveries(
  db: Kysely<Database>,
  engine: StoreEngine,
  input: {
    owner: string;
    /** This instance's time, for `next_attempt_at`. */
    now: number;
    /** The time `lease_until` is written and judged in: the database server's clock (lease-time.ts). */
    leaseTime: LeaseTime;
    leaseMs: number;
    limit: number;
  },
): Promise<ClaimedDelivery[]> {
  const { owner, now, leaseTime, leaseMs, limit } = input;
  const enabledEndpoints = db.selectFrom('webhook_endpoints').select('id').where('status', '=', 'enabled');
  let due = db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where('lease_until', '<=', leaseTime.now())
    // A subquery in WHERE, not a join: FOR UPDATE must lock delivery rows only, never the endpoint rows.
    .where('endpoint_id', 'in', enabledEndpoints)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit);
  // A plain read first: an idle worker polls every second, and should not take a write lock to find nothing.
  if ((await due.execute()).length === 0) return [];
  const lock = engine.claimLock();
  if (lock !== undefined) due = due.modifyEnd(lock);
  const rows = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      lease_owner: owner,
      lease_until: leaseTime.after(leaseMs),
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    // On PostgreSQL, `id = ANY(ARRAY(…))` runs the locking sub-select exactly once. Written as `id IN (…)`, the planner
    // may run it again for each row it updates, and each run skips the rows the earlier ones locked: one worker then
    // claimed every due delivery instead of `limit`, and the others none (found by the W7 test).
    .where((eb) =>
      engine.kind === 'postgres' ? eb('id', '=', sql<string>`any(array(${due}))`) : eb('id', 'in', due),
    )
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where('lease_until', '<=', leaseTime.now())
    .returning(['id', 'environment_id', 'event_id', 'endpoint_id', 'event_name', 'attempts', 'lease_until'])
    .execute();
  return rows.map((row) => ({
    ...row,
    attempts: Number(row.attempts),
    lease_until: Number(row.lease_until),
  }));
}
