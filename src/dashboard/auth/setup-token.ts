import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import { countOperators } from './operators.ts';

/**
 * The one-time set-up link that development mode prints at start while no operator exists
 * (`/dashboard/setup/<token>`): it lets the first operator choose their email and password in the browser. Only a
 * SHA-256 of the token is stored (in `settings`); it expires, works once, and only while there is no operator. There
 * is never a default password.
 */
const SETTING = 'dashboard.setup_token';
export const SETUP_TOKEN_TTL_MS = 60 * 60_000;

interface StoredSetupToken {
  hash: string;
  expires_at: number;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url');

/** Issues a new set-up token (replacing any earlier one), or returns null when an operator already exists. */
export async function issueSetupToken(
  db: Kysely<Database>,
  now: number,
  ttlMs: number = SETUP_TOKEN_TTL_MS,
): Promise<string | null> {
  if ((await countOperators(db)) > 0) return null;
  const token = randomBytes(32).toString('base64url');
  const value = JSON.stringify({ hash: digest(token), expires_at: now + ttlMs } satisfies StoredSetupToken);
  await db
    .insertInto('settings')
    .values({ key: SETTING, value, updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
    .execute();
  return token;
}

/** True when `token` is the live set-up token and no operator exists yet. */
export async function isSetupTokenValid(db: Kysely<Database>, token: string, now: number): Promise<boolean> {
  return (await readMatching(db, token, now)) !== null;
}

/**
 * Consumes the token inside the caller's transaction (with the operator's creation): deleted with a
 * compare-and-set on its stored value, so two concurrent uses cannot both succeed.
 */
export async function consumeSetupToken(db: Kysely<Database>, token: string, now: number): Promise<boolean> {
  const stored = await readMatching(db, token, now);
  if (stored === null) return false;
  const result = await db
    .deleteFrom('settings')
    .where('key', '=', SETTING)
    .where('value', '=', stored)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

async function readMatching(db: Kysely<Database>, token: string, now: number): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
  if (row === undefined) return null;
  const stored = JSON.parse(row.value) as StoredSetupToken;
  if (stored.expires_at <= now) return null;
  const expected = Buffer.from(stored.hash);
  const actual = Buffer.from(digest(token));
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if ((await countOperators(db)) > 0) return null;
  return row.value;
}
