import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import type { Database, EnvironmentTable } from './schema.ts';

export type Environment = EnvironmentTable;
export type EnvironmentKind = EnvironmentTable['kind'];

export const DEFAULT_ENVIRONMENTS: ReadonlyArray<{ name: string; kind: EnvironmentKind }> = [
  { name: 'sandbox', kind: 'sandbox' },
  { name: 'production', kind: 'production' },
];

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** Creates the default environments if missing. Safe to run on every start and from several instances at once. */
export async function ensureDefaultEnvironments(db: Kysely<Database>, now: number): Promise<void> {
  for (const env of DEFAULT_ENVIRONMENTS) {
    await db
      .insertInto('environments')
      .values({
        id: newId('environment', now),
        name: env.name,
        kind: env.kind,
        client_id: newId('client', now),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}

export async function createEnvironment(
  db: Kysely<Database>,
  input: { name: string; kind: EnvironmentKind },
  now: number,
): Promise<Environment> {
  if (!NAME_PATTERN.test(input.name)) {
    throw new PipesError(
      'invalid_environment_name',
      'Environment names are 1–40 lowercase letters, digits or hyphens, starting with a letter.',
      { status: 422 },
    );
  }
  const existing = await findEnvironmentByName(db, input.name);
  if (existing) {
    throw new PipesError('environment_exists', `An environment named "${input.name}" already exists.`, {
      status: 409,
    });
  }
  const row: Environment = {
    id: newId('environment', now),
    name: input.name,
    kind: input.kind,
    client_id: newId('client', now),
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('environments').values(row).execute();
  return row;
}

export async function findEnvironmentByName(
  db: Kysely<Database>,
  name: string,
): Promise<Environment | undefined> {
  return db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findEnvironmentById(
  db: Kysely<Database>,
  id: string,
): Promise<Environment | undefined> {
  return db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listEnvironments(db: Kysely<Database>): Promise<Environment[]> {
  return db.selectFrom('environments').selectAll().orderBy('id').execute();
}

/** Looks an environment up by name, with an error that lists the ones that exist. */
export async function requireEnvironment(db: Kysely<Database>, name: string): Promise<Environment> {
  const env = await findEnvironmentByName(db, name);
  if (env) return env;
  const names = (await listEnvironments(db)).map((e) => e.name).join(', ');
  throw new PipesError('environment_not_found', `No environment named "${name}". Environments: ${names}.`, {
    status: 404,
  });
}
