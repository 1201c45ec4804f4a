import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { openStore, type Store } from '../../src/store/open.ts';
import { StampedReadCache } from '../../src/store/stamped-cache.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';

/**
 * The read cache behind token vending must never serve a row older than the database: every commit — by this
 * connection, by another connection on the same file, or the end of a rolled-back transaction — makes it miss.
 * On PostgreSQL it must not cache at all.
 */
describe(`stamped read cache (${testEngine()})`, () => {
  let database: TestDatabase;
  let stores: [Store, Store];
  let cache: StampedReadCache;
  let loads = 0;

  /** Reads the environment names through the cache, counting the reads that reached the database. */
  const names = () =>
    cache.snapshot().read('names', async () => {
      loads++;
      const rows = await stores[0].db.selectFrom('environments').select('name').orderBy('name').execute();
      return rows.map((row) => row.name);
    });
  const insertEnvironment = (store: Store, name: string) =>
    store.db
      .insertInto('environments')
      .values({
        id: `env_${name}`,
        name,
        kind: 'sandbox',
        client_id: `client_${name}`,
        created_at: 1,
        updated_at: 1,
      })
      .execute();

  before(async () => {
    database = await createTestDatabase();
    // Two handles on one database, as two Pipes processes would have.
    stores = [openStore(database.database), openStore(database.database)];
    await migrateToLatest(stores[0].db, stores[0].engine);
    cache = new StampedReadCache(stores[0].changes);
  });
  after(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });

  if (testEngine() === 'postgres') {
    test('PostgreSQL: nothing is cached, every read reaches the database', async () => {
      assert.equal(stores[0].changes.current(), null);
      const before = loads;
      await names();
      await names();
      await names();
      assert.equal(loads - before, 3);
    });
    return;
  }

  test('an unchanged database is answered from memory, with the same frozen value', async () => {
    const first = await names();
    const before = loads;
    const second = await names();
    assert.equal(loads, before);
    assert.equal(second, first);
    assert.ok(Object.isFrozen(second));
  });

  test('a write through this connection is seen at once', async () => {
    await names();
    await insertEnvironment(stores[0], 'alpha');
    assert.ok((await names()).includes('alpha'));
  });

  test('a commit by another connection on the same file is seen at once', async () => {
    await names();
    await insertEnvironment(stores[1], 'beta');
    assert.ok((await names()).includes('beta'));
    await stores[1].db.deleteFrom('environments').where('name', '=', 'beta').execute();
    assert.ok(!(await names()).includes('beta'));
  });

  test('a transaction: its writes are not served before the commit, nor kept after a rollback', async () => {
    const baseline = await names();
    await assert.rejects(
      stores[0].db.transaction().execute(async (trx) => {
        await trx
          .insertInto('environments')
          .values({
            id: 'env_gamma',
            name: 'gamma',
            kind: 'sandbox',
            client_id: 'client_gamma',
            created_at: 1,
            updated_at: 1,
          })
          .execute();
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.deepEqual(await names(), baseline);
    await stores[0].db.transaction().execute(async (trx) => {
      await sql`insert into environments (id, name, kind, client_id, created_at, updated_at)
                values ('env_delta', 'delta', 'sandbox', 'client_delta', 1, 1)`.execute(trx);
    });
    assert.ok((await names()).includes('delta'));
  });

  test('a read racing a write is labelled with the stamp from before it, so it can only miss afterwards', async () => {
    await names();
    const before = loads;
    // The load starts, then a write commits before the next lookup: that lookup must read again.
    const racing = names();
    await insertEnvironment(stores[1], 'epsilon');
    await racing;
    assert.ok((await names()).includes('epsilon'));
    assert.ok(loads >= before + 1);
  });
});
