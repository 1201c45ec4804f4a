import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { AppContext } from '../../src/context.ts';
import type { ConnectedAccountTable } from '../../src/store/schema.ts';
import { type AccountSecretKind, openAccountSecret } from '../../src/tokens/account-secrets.ts';

/** Small helpers shared by the token-service tests: rows, decrypted secrets, events, a database dump. */

type Ctx = Pick<AppContext, 'store' | 'vault'>;
type HasCtx = { server: { ctx: AppContext } };

export async function accountRow(pipes: HasCtx, id: string): Promise<ConnectedAccountTable> {
  return pipes.server.ctx.store.db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

export async function accountRows(pipes: HasCtx): Promise<ConnectedAccountTable[]> {
  return pipes.server.ctx.store.db.selectFrom('connected_accounts').selectAll().orderBy('id').execute();
}

/** The decrypted secret of a row (what the vault would hand out), or null. */
export function storedSecret(ctx: Ctx, row: ConnectedAccountTable, kind: AccountSecretKind): string | null {
  return openAccountSecret(ctx.vault, row, kind, row[kind]);
}

export async function eventsNamed(pipes: HasCtx, name: string) {
  const rows = await pipes.server.ctx.store.db
    .selectFrom('events')
    .selectAll()
    .where('event', '=', name)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}

/** Polls (with short sleeps, a bounded number of times) until `check` holds; never a timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, tries = 3000) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/**
 * Everything the database holds, as text: on SQLite the raw bytes of the database file and its WAL (what an attacker
 * with the disk would read), on PostgreSQL every row of every table cast to text (bytea appears as hex, so callers
 * also search for the hex form of a secret).
 */
export async function dumpDatabase(ctx: AppContext): Promise<string> {
  const database = ctx.config.database;
  if (database.kind === 'sqlite') {
    const dir = path.dirname(database.file);
    const base = path.basename(database.file);
    return readdirSync(dir)
      .filter((name) => name.startsWith(base))
      .map((name) => readFileSync(path.join(dir, name)).toString('latin1'))
      .join('\n');
  }
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public'`.execute(ctx.store.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
      ctx.store.db,
    );
    for (const { row } of rows.rows) parts.push(row);
  }
  return parts.join('\n');
}

/** The secrets of `candidates` that appear in `haystack`, as plain text or as hex (bytea). */
export function leakedIn(haystack: string, candidates: Iterable<string>): string[] {
  const lower = haystack.toLowerCase();
  return [...new Set(candidates)].filter(
    (secret) => haystack.includes(secret) || lower.includes(Buffer.from(secret, 'utf8').toString('hex')),
  );
}
