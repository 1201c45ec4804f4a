import { sql } from 'kysely';
import type { AppContext } from '../context.ts';
import { SEALED_COLUMNS, type SealedColumn } from './sealed-columns.ts';

export interface RotationReport {
  rewrapped: number;
  /** Blobs still under another key than the active one, by key id (should be empty after a full run). */
  remaining: Record<string, number>;
}

const BATCH = 200;

/**
 * Re-wraps every data key under the active master key. Only the small wrapped data keys change; the secrets'
 * ciphertexts stay as they are. Safe while Pipes runs: each row is updated with a compare-and-set on the blob it
 * read, so a secret written meanwhile (a refresh) is never overwritten with an older one. Interruptible and
 * resumable: rows already under the active key are skipped, so a second run continues where the first stopped.
 *
 * Hand-written SQL over the list of sealed columns because the tables are many and the operation is one.
 */
export async function rotateMasterKey(
  ctx: Pick<AppContext, 'store' | 'vault' | 'failpoints' | 'log'>,
  onProgress: (table: string, column: string, count: number) => void = () => {},
): Promise<RotationReport> {
  let rewrapped = 0;
  for (const target of SEALED_COLUMNS) {
    let after = '';
    for (;;) {
      const rows = await selectBatch(ctx, target, after);
      if (rows.length === 0) break;
      let changed = 0;
      for (const row of rows) {
        const blob = ctx.store.engine.toBuffer(row.blob);
        if (!ctx.vault.needsRewrap(blob)) continue;
        const binding = {
          table: target.table,
          rowId: row.id,
          environmentId: row.environment_id,
          kind: target.kind,
        };
        const next = ctx.vault.rewrap(blob, binding);
        const result = await sql`update ${sql.table(target.table)} set ${sql.ref(target.column)} = ${next}
          where id = ${row.id} and ${sql.ref(target.column)} = ${blob}`.execute(ctx.store.db);
        if (Number(result.numAffectedRows ?? 0) === 1) changed++;
      }
      rewrapped += changed;
      if (changed > 0) onProgress(target.table, target.column, changed);
      await ctx.failpoints.hit('rotate_master_after_batch');
      after = rows[rows.length - 1]!.id;
    }
  }
  const counts = await countByKey(ctx);
  delete counts[ctx.vault.activeKeyId];
  return { rewrapped, remaining: counts };
}

async function selectBatch(ctx: Pick<AppContext, 'store'>, target: SealedColumn, after: string) {
  const result = await sql<{ id: string; environment_id: string; blob: unknown }>`
    select id, environment_id, ${sql.ref(target.column)} as blob from ${sql.table(target.table)}
    where ${sql.ref(target.column)} is not null and id > ${after} order by id limit ${BATCH}`.execute(
    ctx.store.db,
  );
  return result.rows;
}

/** How many blobs each master key id wraps: the report an operator checks before retiring an old key. */
export async function countByKey(ctx: Pick<AppContext, 'store' | 'vault'>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const target of SEALED_COLUMNS) {
    let after = '';
    for (;;) {
      const rows = await selectBatch(ctx, target, after);
      if (rows.length === 0) break;
      for (const row of rows) {
        const keyId = ctx.vault.keyIdOf(ctx.store.engine.toBuffer(row.blob));
        counts[keyId] = (counts[keyId] ?? 0) + 1;
      }
      after = rows[rows.length - 1]!.id;
    }
  }
  return counts;
}
