import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/**
 * `connected_accounts.token_issued_at`: when Pipes obtained the stored access token (a grant or a refresh), null when
 * it does not know (an imported token). The refresh margin and the "just obtained" rule for a 401 were measured from
 * `last_refresh_at`, which a failed refresh also moves (it is the last attempt), so a failure shrank the margin.
 * Existing rows are backfilled from `last_refresh_at` where the last refresh succeeded (a connect or a refresh); the
 * others (a failed last attempt, an import) have no known issue time, like imports from now on.
 */
export function tokenIssuedAtMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('connected_accounts').addColumn('token_issued_at', engine.bigint).execute();
      // Only where the last refresh obtained a token: after a failed one, `last_refresh_at` is the failure's time.
      await sql`update connected_accounts set token_issued_at = last_refresh_at
        where last_refresh_outcome in ('granted', 'refreshed')`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('connected_accounts').dropColumn('token_issued_at').execute();
    },
  };
}
