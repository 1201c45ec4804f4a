import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { ensureDefaultEnvironments, listEnvironments } from '../../src/store/environments.ts';
import { holdsLease, releaseLease, renewLease, tryAcquireLease } from '../../src/store/leases.ts';
import { migrateToLatest, pendingMigrations } from '../../src/store/migrate.ts';
import { openStore, type Store } from '../../src/store/open.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';

/** The same suite runs on SQLite (npm test) and on PostgreSQL (.ci/run sets DATABASE_URL). */
describe(`store conformance (${testEngine()})`, () => {
  let database: TestDatabase;
  let stores: Store[];
  let store: Store;

  before(async () => {
    database = await createTestDatabase();
    // Three handles on one database, as three Pipes instances would have.
    stores = [openStore(database.database), openStore(database.database), openStore(database.database)];
    store = stores[0]!;
  });
  after(async () => {
    for (const s of stores) await s.close();
    await database.drop();
  });

  test('migrations run once even when three instances start together, and are idempotent', async () => {
    const results = await Promise.all(stores.map((s) => migrateToLatest(s.db, s.engine)));
    const applied = results.flat();
    assert.ok(applied.includes('001-foundation'));
    assert.equal(applied.filter((name) => name === '001-foundation').length, 1, 'applied exactly once');
    assert.deepEqual(await migrateToLatest(store.db, store.engine), []);
    assert.deepEqual(await pendingMigrations(store.db, store.engine), []);
  });

  test('default environments are created once, even concurrently', async () => {
    await Promise.all(stores.map((s) => ensureDefaultEnvironments(s.db, Date.now())));
    await ensureDefaultEnvironments(store.db, Date.now());
    const envs = await listEnvironments(store.db);
    assert.deepEqual(envs.map((e) => e.name).sort(), ['production', 'sandbox']);
    assert.deepEqual(envs.map((e) => e.kind).sort(), ['production', 'sandbox']);
    for (const env of envs) assert.match(env.client_id, /^client_[0-9A-Z]{26}$/);
  });

  test('64-bit integers, binary values and unique violations behave the same on both engines', async () => {
    await store.db.schema
      .createTable('conformance_probe')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('n', store.engine.bigint, (c) => c.notNull())
      .addColumn('b', store.engine.blob, (c) => c.notNull())
      .execute();
    const bytes = Buffer.from([0, 1, 2, 254, 255, 0, 128]);
    const big = 4_102_444_800_123; // 2100-01-01 in ms: beyond 32 bits
    await sql`insert into conformance_probe (id, n, b) values (${'a'}, ${big}, ${bytes})`.execute(store.db);
    const row = await sql<{
      n: number;
      b: unknown;
    }>`select n, b from conformance_probe where id = ${'a'}`.execute(store.db);
    assert.equal(row.rows[0]!.n, big);
    assert.equal(typeof row.rows[0]!.n, 'number');
    assert.deepEqual(store.engine.toBuffer(row.rows[0]!.b), bytes);
    await assert.rejects(
      sql`insert into conformance_probe (id, n, b) values (${'a'}, ${1}, ${bytes})`.execute(store.db),
      (error: unknown) => store.engine.isUniqueViolation(error),
    );
    assert.equal(store.engine.isUniqueViolation(new Error('other')), false);
  });

  test('a lease has one holder among racing instances, fences stale holders, and can be taken over after expiry', async () => {
    const now = 1_000_000;
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        tryAcquireLease(stores[i % 3]!.db, 'job', `worker-${i}`, 30_000, now),
      ),
    );
    const winners = attempts.filter((lease) => lease !== null);
    assert.equal(winners.length, 1);
    const first = winners[0]!;
    assert.equal(await holdsLease(store.db, first, now + 1), true);
    assert.equal(await tryAcquireLease(store.db, 'job', 'late', 30_000, now + 29_999), null);

    // The holder pauses past its TTL; another takes over with a higher fence.
    const second = await tryAcquireLease(stores[1]!.db, 'job', 'worker-b', 30_000, now + 30_000);
    assert.ok(second);
    assert.equal(second.fence, first.fence + 1);
    assert.equal(
      await holdsLease(store.db, first, now + 30_001),
      false,
      'the stale holder sees it lost the lease',
    );
    assert.equal(await renewLease(store.db, first, 30_000, now + 30_001), false, 'and cannot renew it');
    await releaseLease(store.db, first);
    assert.equal(
      await holdsLease(store.db, second, now + 30_002),
      true,
      "a stale release leaves the new holder's lease",
    );

    assert.equal(await renewLease(store.db, second, 30_000, now + 40_000), true);
    assert.equal(second.expiresAt, now + 70_000);
    await releaseLease(store.db, second);
    const third = await tryAcquireLease(store.db, 'job', 'worker-c', 30_000, now + 40_001);
    assert.ok(third, 'a released lease is free at once');
    assert.equal(third.fence, second.fence + 1);
  });
});
