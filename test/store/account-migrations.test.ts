import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Migrator } from 'kysely';
import { ensureDefaultEnvironments, requireEnvironment } from '../../src/store/environments.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { allMigrations } from '../../src/store/migrations/index.ts';
import { openStore, type Store } from '../../src/store/open.ts';
import type { ConnectedAccountTable } from '../../src/store/schema.ts';
import { newAccountRow } from '../../src/tokens/new-account-row.ts';
import { type AccountOwner, ownerKeyOf } from '../../src/tokens/owner.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';

const NOW = Date.UTC(2030, 0, 1);
/** More rows than the owner-key migration reads at once, so that its paging is exercised. */
const MANY = 1_050;

/** The `owner_key` format before migration 006: the parts joined with `|`. */
const oldOwnerKey = (owner: AccountOwner) =>
  `${owner.ownerType}|${owner.userId ?? ''}|${owner.organizationId ?? ''}`;

/**
 * Migrations 006 and 007 on a database that already holds connections: a database migrated up to 005 (as the
 * previous release left it) is filled with rows in the old format, then brought to the latest schema.
 */
describe(`connected_accounts migrations on existing rows (${testEngine()})`, () => {
  let database: TestDatabase;
  let store: Store;
  const owners: AccountOwner[] = [
    { ownerType: 'user', userId: 'alice', organizationId: 'team|blue' },
    { ownerType: 'user', userId: 'auth0|42', organizationId: null },
    { ownerType: 'organization', userId: null, organizationId: 'org|1' },
  ];

  before(async () => {
    database = await createTestDatabase();
    store = openStore(database.database);
    const migrator = new Migrator({
      db: store.db,
      provider: { getMigrations: async () => allMigrations(store.engine) },
      migrationTableName: 'pipes_migrations',
      migrationLockTableName: 'pipes_migrations_lock',
    });
    const upTo005 = await migrator.migrateTo('005-dashboard');
    assert.equal(upTo005.error, undefined);
    await ensureDefaultEnvironments(store.db, NOW);
    const environment = await requireEnvironment(store.db, 'sandbox');
    await store.db
      .insertInto('data_integrations')
      .values({
        id: 'data_integration_1',
        environment_id: environment.id,
        slug: 'acme',
        ownership: 'user',
        integration_key: 'dik_1',
        description: null,
        enabled: 1,
        scopes: null,
        auth_methods: '["oauth"]',
        credentials_type: null,
        client_id: null,
        client_secret: null,
        client_secret_last4: null,
        config: '{}',
        custom_provider: null,
        created_at: NOW,
        updated_at: NOW,
      })
      .execute();
    const rows = [
      ...owners.map((owner, i) =>
        // The first was connected, the second imported; the third's last refresh failed.
        oldRow(
          environment.id,
          `data_installation_${i}`,
          owner,
          i <= 2 && i !== 1 ? NOW - i : null,
          ['granted', 'imported', 'transient'][i] ?? null,
        ),
      ),
      ...Array.from({ length: MANY }, (_, i) =>
        oldRow(
          environment.id,
          `data_installation_m${String(i).padStart(5, '0')}`,
          { ownerType: 'user', userId: `user|${i}`, organizationId: null },
          NOW - i,
          'refreshed',
        ),
      ),
    ];
    // In chunks: SQLite limits the bound parameters of one statement.
    for (let i = 0; i < rows.length; i += 100) {
      await store.db
        .insertInto('connected_accounts')
        .values(rows.slice(i, i + 100) as ConnectedAccountTable[])
        .execute();
    }
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  /** A row as the previous release wrote it: the old owner key, no `token_issued_at` column. */
  function oldRow(
    environmentId: string,
    id: string,
    owner: AccountOwner,
    lastRefreshAt: number | null,
    lastRefreshOutcome: string | null,
  ) {
    const { token_issued_at: _absent, ...row } = newAccountRow(
      {
        id,
        environment_id: environmentId,
        data_integration_id: 'data_integration_1',
        provider_slug: 'acme',
        owner_type: owner.ownerType,
        user_id: owner.userId,
        organization_id: owner.organizationId,
        connection_role: 'compatibility',
        auth_method: 'oauth',
        state: 'connected',
        last_refresh_at: lastRefreshAt,
        last_refresh_outcome: lastRefreshOutcome,
      },
      NOW,
    );
    return { ...row, owner_key: oldOwnerKey(owner) };
  }

  test('006 rewrites every owner_key with ownerKeyOf, and 007 backfills token_issued_at from a successful last refresh', async () => {
    const before = await store.db.selectFrom('connected_accounts').select(['id', 'owner_key']).execute();
    assert.equal(before.length, owners.length + MANY);
    assert.equal(before.find((r) => r.id === 'data_installation_0')?.owner_key, 'user|alice|team|blue');

    const applied = await migrateToLatest(store.db, store.engine);
    assert.ok(applied.includes('006-owner-key'), applied.join());
    assert.ok(applied.includes('007-token-issued-at'), applied.join());

    const rows = await store.db.selectFrom('connected_accounts').selectAll().orderBy('id').execute();
    assert.equal(rows.length, owners.length + MANY);
    for (const row of rows) {
      const owner = { ownerType: row.owner_type, userId: row.user_id, organizationId: row.organization_id };
      assert.equal(row.owner_key, ownerKeyOf(owner), row.id);
      assert.notEqual(row.owner_key, oldOwnerKey(owner), row.id);
      if (row.id.startsWith('data_installation_m'))
        assert.equal(row.token_issued_at, row.last_refresh_at, row.id);
    }
    const alice = rows.find((r) => r.id === 'data_installation_0')!;
    assert.equal(alice.token_issued_at, NOW);
    assert.equal(rows.find((r) => r.id === 'data_installation_1')!.token_issued_at, null);
    // A failed attempt is not when the token was obtained.
    const failed = rows.find((r) => r.id === 'data_installation_2')!;
    assert.equal(failed.last_refresh_at, NOW - 2);
    assert.equal(failed.token_issued_at, null);
  });

  test('after 006, the owner whose old key collided gets its own compatibility connection', async () => {
    const environment = await requireEnvironment(store.db, 'sandbox');
    const collider: AccountOwner = { ownerType: 'user', userId: 'alice|team', organizationId: 'blue' };
    assert.equal(oldOwnerKey(collider), oldOwnerKey(owners[0]!), 'the old keys collide');
    // The unique index on (integration, owner_key) for compatibility connections would refuse it with equal keys.
    await store.db
      .insertInto('connected_accounts')
      .values(
        newAccountRow(
          {
            id: 'data_installation_collider',
            environment_id: environment.id,
            data_integration_id: 'data_integration_1',
            provider_slug: 'acme',
            owner_type: collider.ownerType,
            user_id: collider.userId,
            organization_id: collider.organizationId,
            connection_role: 'compatibility',
            auth_method: 'oauth',
            state: 'connected',
          },
          NOW,
        ),
      )
      .execute();
    const found = await store.db
      .selectFrom('connected_accounts')
      .select('id')
      .where('owner_key', '=', ownerKeyOf(collider))
      .execute();
    assert.deepEqual(
      found.map((r) => r.id),
      ['data_installation_collider'],
    );
  });
});
