import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type ChangeStamp, neverCacheStamp, sqliteChangeStamp } from '../../src/store/change-stamp.ts';
import { SharedStamp } from '../../src/store/shared-stamp.ts';

/**
 * The change stamp is read once per turn of the event loop for every request waiting on it, and always after the
 * request asked: a commit made before `next()` is called is always seen.
 */
describe('shared change stamp', () => {
  let dir: string;
  let reader: Database.Database;
  let writer: Database.Database;
  let readings = 0;
  let stamp: ChangeStamp;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pipes-shared-stamp-'));
    const file = path.join(dir, 'db.sqlite');
    writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.exec('create table t (x integer)');
    reader = new Database(file);
    const real = sqliteChangeStamp(reader);
    stamp = {
      caching: true,
      current() {
        readings++;
        return real.current();
      },
    };
  });
  after(() => {
    reader.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('callers of one turn share one reading', async () => {
    const shared = new SharedStamp(stamp);
    const before = readings;
    const waits = [shared.next(), shared.next(), shared.next()];
    // One wait for all of them, not one per caller.
    assert.equal(new Set(waits).size, 1);
    const stamps = await Promise.all(waits);
    assert.equal(readings - before, 1);
    assert.equal(new Set(stamps).size, 1);
    await shared.next();
    assert.equal(readings - before, 2);
  });

  test('a commit by another connection before the call is seen, even in the same turn', async () => {
    const shared = new SharedStamp(stamp);
    const first = await shared.next();
    const waiting = shared.next();
    writer.prepare('insert into t values (1)').run();
    const second = await waiting;
    assert.notEqual(second, first);
    assert.equal(await shared.next(), second);
  });

  test('no stamp where nothing may be cached, without waiting for a turn', async () => {
    const shared = new SharedStamp(neverCacheStamp);
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    assert.equal(await shared.next(), null);
    assert.equal(immediateRan, false);
  });

  test('a stamp that cannot be read gives null to everyone waiting', async () => {
    const shared = new SharedStamp({
      caching: true,
      current() {
        throw new Error('database is closed');
      },
    });
    assert.deepEqual(await Promise.all([shared.next(), shared.next()]), [null, null]);
  });
});
