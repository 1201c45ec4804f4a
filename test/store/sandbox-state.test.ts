import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import type { SandboxStateStore } from '../../src/sandbox/index.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { openStore, type Store } from '../../src/store/open.ts';
import { createDatabaseSandboxState } from '../../src/store/sandbox-state.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';

/** The sandbox provider's state in the database: what several Pipes instances sharing one database rely on. */
describe(`sandbox state in the database (${testEngine()})`, () => {
  let database: TestDatabase;
  let stores: Store[];
  let states: SandboxStateStore[];
  const clock = new ManualClock(Date.UTC(2030, 0, 1));

  before(async () => {
    database = await createTestDatabase();
    // Two handles on one database, as two Pipes instances would have.
    stores = [openStore(database.database), openStore(database.database)];
    await migrateToLatest(stores[0]!.db, stores[0]!.engine);
    states = stores.map((s) => createDatabaseSandboxState(s.db, clock));
  });
  after(async () => {
    for (const s of stores) await s.close();
    await database.drop();
  });

  test('put, get, replace, delete; one instance sees what the other wrote', async () => {
    const [a, b] = states as [SandboxStateStore, SandboxStateStore];
    assert.equal(await a.get('k1'), undefined);
    await a.put('k1', 'one');
    assert.equal(await b.get('k1'), 'one');
    await b.put('k1', 'two');
    assert.equal(await a.get('k1'), 'two');
    await a.delete('k1');
    assert.equal(await b.get('k1'), undefined);
  });

  test('expired entries behave as absent', async () => {
    const [a, b] = states as [SandboxStateStore, SandboxStateStore];
    await a.put('short', 'v', 1000);
    await a.put('forever', 'v');
    clock.advance(999);
    assert.equal(await b.get('short'), 'v');
    clock.advance(1);
    assert.equal(await b.get('short'), undefined);
    assert.equal(await b.takeOnce('short'), undefined);
    assert.equal(await b.get('forever'), 'v');
    await assert.rejects(a.put('bad', 'v', -1), RangeError);
  });

  test('takeOnce: of many concurrent takers across instances, exactly one gets the value', async () => {
    await states[0]!.put('code', 'secret-free-value', 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => states[i % 2]!.takeOnce('code')));
    assert.deepEqual(
      results.filter((r) => r !== undefined),
      ['secret-free-value'],
    );
    assert.equal(await states[0]!.get('code'), undefined);
  });

  test('increment: atomic across instances, keeps its first expiry, restarts once expired', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => states[i % 2]!.increment('window', 10_000)),
    );
    assert.deepEqual(
      [...results].sort((x, y) => x - y),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    clock.advance(5_000);
    assert.equal(await states[1]!.increment('window', 10_000), 31, 'a live counter keeps counting');
    clock.advance(5_000);
    assert.equal(await states[0]!.increment('window', 10_000), 1, 'expired at its original expiry: restarts');
    assert.equal(await states[0]!.increment('no-ttl'), 1);
    assert.equal(await states[1]!.increment('no-ttl'), 2);
  });
});
