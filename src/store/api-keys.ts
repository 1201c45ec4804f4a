import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import { digestApiKey, generateApiKey, type KeyMode, parseApiKey } from '../lib/api-key-format.ts';
import { newId } from '../lib/ids.ts';
import type { Environment } from './environments.ts';
import type { ApiKeyTable, Database } from './schema.ts';

export type ApiKeyRecord = ApiKeyTable;

export const modeForEnvironment = (env: Pick<Environment, 'kind'>): KeyMode =>
  env.kind === 'production' ? 'live' : 'test';

/** Creates a key and returns it in full. This is the only time the full key exists outside the caller's hands. */
export async function createApiKey(
  db: Kysely<Database>,
  env: Environment,
  name: string,
  now: number,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = generateApiKey(modeForEnvironment(env));
  const record = await insertApiKey(db, env, key, name, now);
  return { key, record };
}

async function insertApiKey(
  db: Kysely<Database>,
  env: Environment,
  key: string,
  name: string,
  now: number,
): Promise<ApiKeyRecord> {
  const record: ApiKeyRecord = {
    id: newId('apiKey', now),
    environment_id: env.id,
    name,
    digest: digestApiKey(key),
    last4: key.slice(-4),
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  await db.insertInto('api_keys').values(record).execute();
  return record;
}

/**
 * Seeds `PIPES_BOOTSTRAP_API_KEY` as a key of the given environment. Idempotent: a key already present is left as
 * it is (even if it was revoked: revocation is an operator's decision that a restart must not undo).
 */
export async function seedBootstrapKey(db: Kysely<Database>, env: Environment, key: string, now: number) {
  const parsed = parseApiKey(key);
  if (!parsed) {
    throw new PipesError(
      'invalid_bootstrap_key',
      'PIPES_BOOTSTRAP_API_KEY is not a well-formed Pipes key (sk_test_ + 49 characters with a checksum). ' +
        'Generate one with `npx pipes keys generate --env sandbox`.',
      { status: 500 },
    );
  }
  if (parsed.mode !== modeForEnvironment(env)) {
    throw new PipesError(
      'invalid_bootstrap_key',
      `PIPES_BOOTSTRAP_API_KEY must be an sk_${modeForEnvironment(env)}_ key for the ${env.name} environment.`,
      { status: 500 },
    );
  }
  const existing = await db
    .selectFrom('api_keys')
    .select('id')
    .where('digest', '=', digestApiKey(key))
    .executeTakeFirst();
  if (existing) return;
  try {
    await insertApiKey(db, env, key, 'bootstrap', now);
  } catch (error) {
    // Another instance seeded it at the same moment: that is the idempotent outcome we want.
    const again = await db
      .selectFrom('api_keys')
      .select('id')
      .where('digest', '=', digestApiKey(key))
      .executeTakeFirst();
    if (!again) throw error;
  }
}

export async function listApiKeys(db: Kysely<Database>, environmentId: string): Promise<ApiKeyRecord[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .orderBy('id', 'desc')
    .execute();
}

/** Revokes a key of this environment, by id or by its last 4 characters (when those are unambiguous). */
export async function revokeApiKey(
  db: Kysely<Database>,
  environmentId: string,
  idOrLast4: string,
  now: number,
): Promise<ApiKeyRecord> {
  const candidates = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where((eb) => eb.or([eb('id', '=', idOrLast4), eb('last4', '=', idOrLast4)]))
    .execute();
  if (candidates.length === 0) {
    throw new PipesError('api_key_not_found', `No API key "${idOrLast4}" in this environment.`, {
      status: 404,
    });
  }
  if (candidates.length > 1) {
    throw new PipesError(
      'api_key_ambiguous',
      `Several keys end in "${idOrLast4}"; revoke by id instead (see \`pipes keys list\`).`,
      { status: 409 },
    );
  }
  const record = candidates[0]!;
  if (record.revoked_at === null) {
    await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', record.id).execute();
  }
  return { ...record, revoked_at: record.revoked_at ?? now };
}

export interface AuthenticatedKey {
  keyId: string;
  environment: Environment;
}

export interface KeyWithEnvironment extends AuthenticatedKey {
  revokedAt: number | null;
}

/**
 * A key, live or revoked, with its environment: by digest for a presented key, by id for a key a widget token names.
 * Revoked keys are returned too, because the doctor tells a revoked key from an unknown one.
 */
export async function findKeyWithEnvironment(
  db: Kysely<Database>,
  by: 'digest' | 'id',
  value: string,
): Promise<KeyWithEnvironment | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('environments', 'environments.id', 'api_keys.environment_id')
    .select([
      'api_keys.id as key_id',
      'api_keys.revoked_at',
      'environments.id',
      'environments.name',
      'environments.kind',
      'environments.client_id',
      'environments.created_at',
      'environments.updated_at',
    ])
    .where(`api_keys.${by}` as const, '=', value)
    .executeTakeFirst();
  if (!row) return undefined;
  const { key_id, revoked_at, ...environment } = row;
  return { keyId: key_id, revokedAt: revoked_at, environment };
}

/** Finds the live key with this digest and its environment. */
export async function findActiveKeyByDigest(
  db: Kysely<Database>,
  digest: string,
): Promise<AuthenticatedKey | undefined> {
  const found = await findKeyWithEnvironment(db, 'digest', digest);
  if (!found || found.revokedAt !== null) return undefined;
  return { keyId: found.keyId, environment: found.environment };
}

export async function touchApiKey(db: Kysely<Database>, keyId: string, now: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', keyId).execute();
}
