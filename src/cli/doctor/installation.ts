import { existsSync } from 'node:fs';
import type { Config } from '../../config/load.ts';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import { digestApiKey, parseApiKey } from '../../lib/api-key-format.ts';
import { toIso } from '../../lib/time.ts';
import { describeIntegrationStatus } from '../../providers/integration-status.ts';
import { loadRuntimeCatalog } from '../../providers/runtime-catalog.ts';
import { SANDBOX_SHARED_CLIENT_ID, type SandboxHost } from '../../sandbox/host.ts';
import { findKeyWithEnvironment } from '../../store/api-keys.ts';
import { ping } from '../../store/engine.ts';
import { type Environment, listEnvironments } from '../../store/environments.ts';
import { pendingMigrations } from '../../store/migrate.ts';
import { openStore, type Store } from '../../store/open.ts';
import { verifyKeyCheck } from '../../vault/key-check.ts';
import { loadMasterKeyRing } from '../../vault/load-master-keys.ts';
import { devKeyFile } from '../../vault/open-vault.ts';
import { readStoredKeyChecks } from '../../vault/stored-key-checks.ts';
import { Vault } from '../../vault/vault.ts';
import { type CheckResult, type CheckStatus, check } from './report.ts';

/**
 * The checks of the installation itself, read-only: the doctor never migrates, never generates a master key and never
 * records a key check (the server does those at start), so running it cannot change what it is diagnosing.
 */

export function describeDatabase(config: Config): string {
  return config.database.kind === 'sqlite' ? `SQLite ${config.database.file}` : 'PostgreSQL (DATABASE_URL)';
}

/** The database check's answer when there is no store to go on with. */
function databaseFailure(message: string, fix: string): { result: CheckResult[]; store: Store | null } {
  return { store: null, result: [check('database', 'Database', 'fail', message, fix)] };
}

/** Opens the store when the database exists and answers; otherwise says why not. */
export async function checkDatabase(config: Config): Promise<{ result: CheckResult[]; store: Store | null }> {
  if (config.database.kind === 'sqlite' && !existsSync(config.database.file)) {
    return databaseFailure(
      `No database at ${config.database.file}.`,
      'Start Pipes once (`npm start`) or run `pipes init`: either creates it. Check PIPES_DATA_DIR if it should exist.',
    );
  }
  const store = openStore(config.database);
  try {
    await ping(store.db);
  } catch (error) {
    await store.close().catch(() => {});
    const code = (error as { code?: string }).code;
    return databaseFailure(
      `${store.location} does not answer${code ? ` (${code})` : ''}.`,
      'Check DATABASE_URL (host, port, database, credentials) and that the database server is running.',
    );
  }
  const result = [check('database', 'Database', 'pass', `${store.location} answers.`)];
  const pending = await pendingMigrations(store.db, store.engine);
  result.push(
    pending.length === 0
      ? check('migrations', 'Migrations', 'pass', 'The schema is current.')
      : check(
          'migrations',
          'Migrations',
          'fail',
          `${pending.length} pending: ${pending.join(', ')}.`,
          'Run `pipes migrate` (Pipes also migrates at every start).',
        ),
  );
  return { result, store };
}

/** Every outcome of the master key check is one line under the same id and title. */
const masterKeyCheck = (status: CheckStatus, message: string, fix?: string): CheckResult =>
  check('master_key', 'Master key', status, message, fix);

/** Loads the master keys (never generating one) and checks them against the database's check values. */
export async function checkMasterKey(
  config: Config,
  store: Store,
): Promise<{ result: CheckResult; vault: Vault | null }> {
  const stored = await readStoredKeyChecks(store.db);
  const devFile = devKeyFile(config);
  const fromEnv = config.masterKey !== undefined && config.masterKey.trim() !== '';
  if (!fromEnv && !config.production && !existsSync(devFile)) {
    return {
      vault: null,
      result:
        stored.length === 0
          ? masterKeyCheck(
              'warn',
              `None yet: development mode generates ${devFile} at the first start.`,
              'Start Pipes once; back the key file up, and set PIPES_MASTER_KEY in production.',
            )
          : masterKeyCheck(
              'fail',
              `The database was encrypted with a master key, but PIPES_MASTER_KEY is not set and ${devFile} is missing.`,
              'Set PIPES_MASTER_KEY to the original key, or restore the key file into PIPES_DATA_DIR.',
            ),
    };
  }
  try {
    const { ring, source } = loadMasterKeyRing({
      devMode: !config.production,
      devKeyFile: devFile,
      ...(config.masterKey ? { masterKey: config.masterKey } : {}),
      ...(config.olderMasterKeys ? { olderKeys: config.olderMasterKeys } : {}),
    });
    verifyKeyCheck(ring, stored);
    const where = source === 'env' ? 'PIPES_MASTER_KEY' : devFile;
    const vault = new Vault(ring);
    if (stored.length === 0) {
      return {
        vault,
        result: masterKeyCheck(
          'warn',
          `Loaded from ${where}; the database has no check value yet (the next start records it).`,
          'Start Pipes once with this key.',
        ),
      };
    }
    const known = stored.some((r) => r.keyId === ring.activeId);
    return {
      vault,
      result: known
        ? masterKeyCheck('pass', `Loaded from ${where}; it matches the database (key ${ring.activeId}).`)
        : masterKeyCheck(
            'warn',
            `The active key ${ring.activeId} is new to this database; an older key in PIPES_MASTER_KEYS matches (a rotation).`,
            'Finish the rotation: `pipes keys rotate-master`, then drop the old key from PIPES_MASTER_KEYS.',
          ),
    };
  } catch (error) {
    if (!(error instanceof PipesError)) throw error;
    return {
      vault: null,
      result: masterKeyCheck(
        'fail',
        error.message,
        'Use the key this database was created with (see the message above).',
      ),
    };
  }
}

export interface KeyLookup {
  result: CheckResult;
  environment: Environment | null;
}

/** An API key: well-formed (checksum), known to this installation, not revoked. The key itself is never printed. */
export async function checkApiKey(
  store: Store,
  key: string,
  id: string,
  title: string,
  source: string,
): Promise<KeyLookup> {
  const shown = `${key.slice(0, 8)}…${key.slice(-4)}`;
  const refused = (message: string, fix: string): KeyLookup => ({
    environment: null,
    result: check(id, title, 'fail', message, fix),
  });
  if (parseApiKey(key) === null) {
    return refused(
      `The key in ${source} is not a Pipes API key (expected sk_test_… or sk_live_… with a valid checksum; a copy-paste may have cut it).`,
      'Copy the whole key again, or create one: `pipes keys create --env sandbox`.',
    );
  }
  const found = await findKeyWithEnvironment(store.db, 'digest', digestApiKey(key));
  if (found === undefined) {
    return refused(
      `${shown} (${source}) is not a key of this installation: it was created on another Pipes, or against another database.`,
      'Create a key on this Pipes: `pipes keys create --env <name>`, and use it.',
    );
  }
  const { keyId, revokedAt, environment } = found;
  if (revokedAt !== null) {
    return refused(
      `${shown} (${source}, ${keyId}) was revoked at ${toIso(revokedAt)}.`,
      `Create a new key: \`pipes keys create --env ${environment.name}\`, and replace it.`,
    );
  }
  return {
    environment,
    result: check(
      id,
      title,
      'pass',
      `${shown} (${source}) is a live key of the ${environment.name} environment.`,
    ),
  };
}

/**
 * Every enabled integration of every environment: Active, or why not and what to do (the same words as the API's
 * `status_reason`). A provider enabled without credentials is the classic "the connect button does nothing".
 */
export async function checkProviders(config: Config, store: Store): Promise<CheckResult[]> {
  const catalog = loadRuntimeCatalog({
    sandboxIssuer: config.sandboxProvider ? `${config.publicUrl}/sandbox` : null,
  });
  // The status only asks whether the sandbox's shared client exists, never for its secret.
  const sandbox = config.sandboxProvider
    ? ({ sharedClient: { clientId: SANDBOX_SHARED_CLIENT_ID, clientSecret: '' } } as unknown as SandboxHost)
    : null;
  const ctx = { catalog, sandbox, config } as Pick<AppContext, 'catalog' | 'sandbox' | 'config'>;
  const results: CheckResult[] = [];
  for (const env of await listEnvironments(store.db)) {
    const rows = await store.db
      .selectFrom('data_integrations')
      .selectAll()
      .where('environment_id', '=', env.id)
      .where('enabled', '=', 1)
      .orderBy('slug')
      .execute();
    for (const row of rows) {
      const status = describeIntegrationStatus(ctx, row, env);
      const owner = row.ownership === 'organization' ? ', organization' : '';
      const id = `provider:${env.name}:${row.slug}${row.ownership === 'organization' ? ':organization' : ''}`;
      const title = `Provider ${row.slug} (${env.name}${owner})`;
      results.push(
        status.status === 'active'
          ? check(id, title, 'pass', 'Active.')
          : check(id, title, 'fail', `Inactive (${status.code ?? 'inactive'}).`, status.reason ?? undefined),
      );
    }
  }
  if (results.length === 0) {
    results.push(
      check(
        'providers',
        'Providers',
        'warn',
        'No provider is enabled in any environment: nothing can be connected yet.',
        'Add one: POST /data-integrations {"provider": "sandbox", "enabled": true, "credentials": {"type": "shared"}} ' +
          'with a sandbox key, or the dashboard.',
      ),
    );
  }
  return results;
}
