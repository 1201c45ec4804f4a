import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { KeyCheckRecord } from './key-check.ts';

/** The `settings` row that holds the check value of every master key this database has been opened with. */
const KEY_CHECKS_SETTING = 'vault.key_checks';

/** The check values recorded so far; none before the first start. Read by the server and by the (read-only) doctor. */
export async function readStoredKeyChecks(db: Kysely<Database>): Promise<KeyCheckRecord[]> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', KEY_CHECKS_SETTING)
    .executeTakeFirst();
  return row ? (JSON.parse(row.value) as KeyCheckRecord[]) : [];
}

/** Replaces the recorded check values with `records`. */
export async function writeStoredKeyChecks(
  db: Kysely<Database>,
  records: readonly KeyCheckRecord[],
  now: number,
): Promise<void> {
  const value = JSON.stringify(records);
  await db
    .insertInto('settings')
    .values({ key: KEY_CHECKS_SETTING, value, updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
    .execute();
}
