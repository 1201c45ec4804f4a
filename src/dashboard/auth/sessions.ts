import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Environment } from '../../store/environments.ts';
import type { Database, OperatorSessionTable } from '../../store/schema.ts';

/**
 * Server-side dashboard sessions (OWASP Session Management; ASVS V7). The session id is 256 random bits, sent only
 * in the cookie; the database keeps its SHA-256, so a copy of the database does not open sessions. A session ends
 * at sign-out (its row is deleted), after `idleMs` without a request, or `absoluteMs` after sign-in, whichever
 * comes first.
 */
export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 60 * 60_000,
};

/** `last_seen_at` is written at most this often: the idle timeout does not need per-request precision. */
const TOUCH_INTERVAL_MS = 60_000;

export interface ActiveSession {
  idHash: string;
  csrfToken: string;
  operator: { id: string; email: string };
  environment: Environment;
}

export const hashSessionId = (id: string): string =>
  createHash('sha256').update(id, 'utf8').digest('base64url');
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** Starts a session: a fresh id every time (never one the browser brought: session fixation). */
export async function createSession(
  db: Kysely<Database>,
  operatorId: string,
  environmentId: string,
  now: number,
  timeouts: SessionTimeouts,
): Promise<{ id: string; row: OperatorSessionTable }> {
  const id = randomToken();
  const row: OperatorSessionTable = {
    id_hash: hashSessionId(id),
    operator_id: operatorId,
    environment_id: environmentId,
    csrf_token: randomToken(),
    created_at: now,
    last_seen_at: now,
    expires_at: now + timeouts.absoluteMs,
  };
  await db.insertInto('operator_sessions').values(row).execute();
  return { id, row };
}

/** The live session for a cookie value, or null (unknown, signed out, idle or past its absolute timeout). */
export async function findSession(
  db: Kysely<Database>,
  id: string,
  now: number,
  timeouts: SessionTimeouts,
): Promise<ActiveSession | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
  const idHash = hashSessionId(id);
  const row = await db
    .selectFrom('operator_sessions')
    .innerJoin('operators', 'operators.id', 'operator_sessions.operator_id')
    .innerJoin('environments', 'environments.id', 'operator_sessions.environment_id')
    .select([
      'operator_sessions.csrf_token',
      'operator_sessions.last_seen_at',
      'operator_sessions.expires_at',
      'operators.id as operator_id',
      'operators.email',
      'environments.id as env_id',
      'environments.name as env_name',
      'environments.kind as env_kind',
      'environments.client_id as env_client_id',
      'environments.created_at as env_created_at',
      'environments.updated_at as env_updated_at',
    ])
    .where('operator_sessions.id_hash', '=', idHash)
    .executeTakeFirst();
  if (row === undefined) return null;
  if (row.expires_at <= now || row.last_seen_at + timeouts.idleMs <= now) {
    await deleteSessionByHash(db, idHash);
    return null;
  }
  if (row.last_seen_at + TOUCH_INTERVAL_MS <= now) {
    await db
      .updateTable('operator_sessions')
      .set({ last_seen_at: now })
      .where('id_hash', '=', idHash)
      .execute();
  }
  return {
    idHash,
    csrfToken: row.csrf_token,
    operator: { id: row.operator_id, email: row.email },
    environment: {
      id: row.env_id,
      name: row.env_name,
      kind: row.env_kind,
      client_id: row.env_client_id,
      created_at: row.env_created_at,
      updated_at: row.env_updated_at,
    },
  };
}

export async function deleteSessionByHash(db: Kysely<Database>, idHash: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('id_hash', '=', idHash).execute();
}

export async function setSessionEnvironment(
  db: Kysely<Database>,
  idHash: string,
  environmentId: string,
): Promise<void> {
  await db
    .updateTable('operator_sessions')
    .set({ environment_id: environmentId })
    .where('id_hash', '=', idHash)
    .execute();
}

/** Housekeeping: removes sessions past either timeout. */
export async function purgeExpiredSessions(
  db: Kysely<Database>,
  now: number,
  timeouts: SessionTimeouts,
): Promise<void> {
  await db
    .deleteFrom('operator_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - timeouts.idleMs)]))
    .execute();
}
