import { type Kysely, sql } from 'kysely';
import type { Clock } from '../lib/clock.ts';
import type { SandboxStateStore } from '../sandbox/state.ts';
import type { Database } from './schema.ts';

/** How many writes between two purges of expired rows, so the table does not grow forever. */
const PURGE_EVERY_WRITES = 500;

/**
 * The sandbox provider's state in the `sandbox_state` table, so that every Pipes instance sharing the database
 * serves the same sandbox. Expired rows are treated as absent by every read. The two atomic operations are single
 * statements: `takeOnce` is `DELETE … RETURNING` (of two concurrent callers only one deletes the row), `increment`
 * an upsert `… ON CONFLICT DO UPDATE … RETURNING`. Both forms work on SQLite (3.35+) and PostgreSQL.
 */
export function createDatabaseSandboxState(db: Kysely<Database>, clock: Clock): SandboxStateStore {
  let writes = 0;
  const live = (now: number) => sql<boolean>`(expires_at is null or expires_at > ${now})`;
  const expiryFor = (ttlMs: number | undefined, now: number): number | null => {
    if (ttlMs === undefined) return null;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive number');
    return now + Math.ceil(ttlMs);
  };
  const noteWrite = async (now: number): Promise<void> => {
    writes += 1;
    if (writes % PURGE_EVERY_WRITES !== 0) return;
    await db.deleteFrom('sandbox_state').where('expires_at', '<=', now).execute();
  };

  return {
    async get(key) {
      const row = await db
        .selectFrom('sandbox_state')
        .select('value')
        .where('key', '=', key)
        .where(live(clock.now()))
        .executeTakeFirst();
      return row?.value;
    },
    async put(key, value, ttlMs) {
      const now = clock.now();
      const expires = expiryFor(ttlMs, now);
      await db
        .insertInto('sandbox_state')
        .values({ key, value, expires_at: expires })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, expires_at: expires }))
        .execute();
      await noteWrite(now);
    },
    async delete(key) {
      await db.deleteFrom('sandbox_state').where('key', '=', key).execute();
    },
    async takeOnce(key) {
      const row = await db
        .deleteFrom('sandbox_state')
        .where('key', '=', key)
        .where(live(clock.now()))
        .returning('value')
        .executeTakeFirst();
      if (row !== undefined) return row.value;
      // An expired row was not taken; remove it so it cannot linger.
      await db.deleteFrom('sandbox_state').where('key', '=', key).execute();
      return undefined;
    },
    async increment(key, ttlMs) {
      const now = clock.now();
      const expires = expiryFor(ttlMs, now);
      // An expired counter restarts at 1 with a new expiry; a live one keeps its original expiry.
      const expired = sql<boolean>`(sandbox_state.expires_at is not null and sandbox_state.expires_at <= ${now})`;
      const row = await db
        .insertInto('sandbox_state')
        .values({ key, value: '1', expires_at: expires })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            value: sql<string>`case when ${expired} then '1' else cast(cast(sandbox_state.value as integer) + 1 as text) end`,
            expires_at: sql<
              number | null
            >`case when ${expired} then excluded.expires_at else sandbox_state.expires_at end`,
          }),
        )
        .returning('value')
        .executeTakeFirstOrThrow();
      await noteWrite(now);
      return Number(row.value);
    },
  };
}
