import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Clock } from '../../src/lib/clock.ts';
import { LeaseTime } from '../../src/store/lease-time.ts';
import { openStore } from '../../src/store/open.ts';
import { createEndpoint, Receiver, recordTestEvent } from '../events/helpers.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { startTestPipes } from '../helpers/pipes.ts';
import { accountRow, eventsNamed, storedSecret } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

/** A machine's clock that runs like any other but shows the time `offsetMs` off (a moving clock, unlike ManualClock). */
function skewedClock(offsetMs: { value: number }): Clock {
  return { now: () => Date.now() + offsetMs.value };
}

/**
 * Instances sharing PostgreSQL run on machines whose clocks disagree. Refresh leases are timed on the database
 * server's clock, so an instance whose clock is behind cannot take a lease another instance still holds, and send the
 * same rotating refresh token a second time.
 */
describe(`refresh leases on the database clock (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  test("lease time is the database server's clock on PostgreSQL, whatever the instance's; on SQLite the machine's", async () => {
    const database = await createTestDatabase();
    cleanup.push(() => database.drop());
    const store = openStore(database.database);
    cleanup.push(() => store.close());
    const offset = { value: -30_000 };
    const leaseTime = new LeaseTime(store.engine, skewedClock(offset));
    const read = async () => {
      const row = await sql<{ now: number | string; later: number | string }>`
        select ${leaseTime.column()} as now, ${leaseTime.after(60_000)} as later`.execute(store.db);
      return { now: Number(row.rows[0]!.now), later: Number(row.rows[0]!.later) };
    };
    // The database server runs on this machine: its clock is Date.now().
    const expected = () => (testEngine() === 'postgres' ? Date.now() : Date.now() + offset.value);
    const first = await read();
    assert.ok(Math.abs(first.now - expected()) < 1_000, `${first.now} against ${expected()}`);
    assert.ok(Math.abs(first.later - first.now - 60_000) < 1_000);
    // A step of the instance's clock (NTP, a resumed VM) moves nothing on PostgreSQL.
    offset.value = 45_000;
    const stepped = await read();
    assert.ok(Math.abs(stepped.now - expected()) < 1_000, `${stepped.now} against ${expected()}`);
    // A test's manual clock keeps its leases on that clock, on either engine.
    const local = new LeaseTime(store.engine, skewedClock(offset), 'local');
    assert.equal(local.onServer, false);
    assert.equal(leaseTime.onServer, testEngine() === 'postgres');
  });

  test("an instance's lease holds for the others although its clock is 20 s behind theirs", async () => {
    const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0 }).start();
    cleanup.push(() => provider.stop());
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const env = {
      PIPES_REFRESH_LEASE_MS: '15000',
      PIPES_MASTER_KEY: Buffer.alloc(32, 12).toString('base64'),
    };
    const start = (clock: Clock) =>
      startTestPipes({
        db,
        clock,
        env,
        startOptions: { refresher: { background: false }, leaseTime: 'database' },
      });
    // On SQLite every instance shares one machine's clock: a skew between them is a PostgreSQL matter, and there
    // this is the plain two-instance case.
    const behind = await start(skewedClock({ value: testEngine() === 'postgres' ? -20_000 : 0 }));
    cleanup.push(() => behind.close());
    const onTime = await start(skewedClock({ value: 0 }));
    cleanup.push(() => onTime.close());
    await createFakeIntegration(onTime, onTime.sandboxKey, provider);
    const { account, grant } = await importGrant(onTime, onTime.sandboxKey, provider, {
      expiresAt: new Date(Date.now() - 60_000),
    });

    // The instance behind takes the lease and sends the refresh; the provider holds its answer. Timed by its own
    // clock, the lease would end 5 s before now for the other instance, which would take it and send the same
    // refresh token again: a rotating provider answers that reuse by revoking the grant.
    provider.holdNext(1);
    const fromBehind = getToken(behind, behind.sandboxKey);
    await Promise.race([
      provider.waitForHeld(1),
      fromBehind.then((answer) => assert.fail(`answered without calling the provider: ${answer.text}`)),
    ]);
    const fromOnTime = getToken(onTime, onTime.sandboxKey);
    await sleep(1_000);
    assert.equal(provider.refreshCount(), 1, 'the other instance sent nothing while the lease was held');
    provider.releaseHeld();

    const [a, b] = await Promise.all([fromBehind, fromOnTime]);
    assert.equal(a.json.active, true, a.text);
    assert.equal(b.json.active, true, b.text);
    assert.equal(b.json.access_token.access_token, a.json.access_token.access_token);
    assert.equal(provider.refreshCount(), 1);
    assert.deepEqual(
      provider.tokenRequests.map((r) => r.refreshToken),
      [grant.refreshToken],
    );
    const row = await accountRow(onTime, account.id);
    assert.equal(row.state, 'connected');
    assert.equal(row.token_version, 2);
    assert.ok(provider.isLive(storedSecret(onTime.server.ctx, row, 'refresh_token')!));
    assert.equal((await eventsNamed(onTime, 'pipes.connected_account.reauthorization_needed')).length, 0);
  });

  test("a webhook delivery claim holds for the others although the claimer's clock is 2 minutes behind", async () => {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const env = { PIPES_MASTER_KEY: Buffer.alloc(32, 13).toString('base64') };
    // A claim lasts the attempt timeout (5 s) plus 60 s: less than the skew.
    const start = (offsetMs: number) =>
      startTestPipes({
        db,
        clock: skewedClock({ value: testEngine() === 'postgres' ? offsetMs : 0 }),
        env,
        webhookWorker: { background: false, attemptTimeoutMs: 5_000 },
        startOptions: { leaseTime: 'database' },
      });
    const behind = await start(-120_000);
    cleanup.push(() => behind.close());
    const onTime = await start(0);
    cleanup.push(() => onTime.close());
    // The first attempt hangs at the receiver; any later one is answered.
    const receiver = await Receiver.start((_hit, index) => (index === 0 ? { hang: true } : { status: 200 }));
    cleanup.push(() => receiver.close());
    await createEndpoint(onTime, receiver.url);
    // Recorded by the instance behind, so that it is due on both clocks.
    await recordTestEvent(behind);

    const first = behind.server.webhookWorker.runOnce();
    await receiver.waitForHits(1);
    // Timed by the claimer's clock, the claim would have ended 55 s ago for the other worker.
    assert.equal(await onTime.server.webhookWorker.runOnce(), 0, 'the other worker claimed nothing');
    assert.equal(receiver.hits.length, 1, 'the attempt was sent once');
    await receiver.close();
    assert.equal(await first, 1);
  });
});
