import { type ColumnDataType, type Expression, type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * Everything that differs between SQLite and PostgreSQL lives here, and only here. The rest of the code writes one
 * Kysely query for both engines.
 *
 * Written by hand because no library smooths these few differences for both engines at once:
 * - 64-bit integers: PostgreSQL's `bigint` (pg is told to parse int8 as a JS number, safe for millisecond times),
 *   SQLite's `integer`.
 * - binary: `bytea` vs `blob` (both come back as a Buffer).
 * - unique-violation detection, for turning a race into a clean 409.
 * - "claim one row": PostgreSQL can skip rows other workers hold with `FOR UPDATE SKIP LOCKED`; SQLite has no row
 *   locks, so there the claim is a compare-and-set `UPDATE … WHERE lease_until < now RETURNING`. The same CAS is
 *   correct on PostgreSQL too; SKIP LOCKED only spares it contention.
 */
export type EngineKind = 'sqlite' | 'postgres';

export interface StoreEngine {
  kind: EngineKind;
  /** Column type for epoch-millisecond timestamps and counters. */
  bigint: ColumnDataType;
  /** Column type for encrypted secrets. */
  blob: ColumnDataType;
  /** True when the error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /** Suffix for a sub-select that picks a row to claim. */
  claimLock(): RawBuilder<unknown> | undefined;
  /** Converts a stored binary value to a Buffer. */
  toBuffer(value: unknown): Buffer;
}

export function createEngine(kind: EngineKind): StoreEngine {
  if (kind === 'postgres') {
    return {
      kind,
      bigint: 'bigint',
      blob: 'bytea',
      isUniqueViolation: (error) => (error as { code?: string } | null)?.code === '23505',
      claimLock: () => sql`for update skip locked`,
      toBuffer: (value) => Buffer.from(value as Uint8Array),
    };
  }
  return {
    kind,
    bigint: 'integer',
    blob: 'blob',
    isUniqueViolation: (error) => {
      const code = (error as { code?: string } | null)?.code;
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    claimLock: () => undefined,
    toBuffer: (value) => Buffer.from(value as Uint8Array),
  };
}

/** `true`/`false` are stored as 1/0 on both engines, so that one query path reads them. */
export const toFlag = (value: boolean): number => (value ? 1 : 0);
export const fromFlag = (value: number | boolean | null | undefined): boolean =>
  value === 1 || value === true;

/** Checks that the database answers. Used by `/ready` and `pipes doctor`. */
export async function ping<DB>(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}

export type { Expression };
