import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/lib/clock.ts';
import { openStore } from '../../src/store/open.ts';
import { MAX_CLOCK_SKEW_MS, measureClockSkew } from '../../src/tokens/refresh/clock-skew.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { startTestPipes } from '../helpers/pipes.ts';

const SKEW_WARNING = /clock is \d+\.\d s behind the database server's/;

/**
 * On PostgreSQL instances run on different machines. Refresh leases are corrected to the database server's clock
 * (lease-time.test.ts), but expiry and schedules follow each instance's own clock, so each compares it with the
 * server's at start and warns when they differ by more than 2 s.
 */
describe(`clock skew against the database (${testEngine()})`, () => {
  test("an instance's clock is compared with the PostgreSQL server's; on SQLite there is nothing to compare", async () => {
    const database = await createTestDatabase();
    const store = openStore(database.database);
    try {
      const ahead = await measureClockSkew(store, new ManualClock(Date.now() + 5_000));
      const synchronised = await measureClockSkew(store, systemClock);
      if (testEngine() === 'sqlite') {
        assert.equal(ahead, null);
        assert.equal(synchronised, null);
        return;
      }
      // The database server runs on this machine: its clock is this process's clock.
      assert.ok(ahead !== null && ahead > 4_000 && ahead < 6_000, String(ahead));
      assert.ok(synchronised !== null && Math.abs(synchronised) < MAX_CLOCK_SKEW_MS, String(synchronised));
    } finally {
      await store.close();
      await database.drop();
    }
  });

  test('an instance whose clock is 5 s behind warns at start, naming the skew; a synchronised one does not', async () => {
    const skewed = await startTestPipes({ clock: new ManualClock(Date.now() - 5_000) });
    const synchronised = await startTestPipes();
    try {
      if (testEngine() === 'postgres') assert.match(skewed.logs.text(), SKEW_WARNING);
      else assert.doesNotMatch(skewed.logs.text(), SKEW_WARNING);
      assert.doesNotMatch(synchronised.logs.text(), /clock is/);
    } finally {
      await skewed.close();
      await synchronised.close();
    }
  });
});
