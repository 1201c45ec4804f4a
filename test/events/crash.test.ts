import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { runPipes } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { api } from '../helpers/pipes.ts';
import {
  createEndpoint,
  listDeliveries,
  Receiver,
  recordTestEvent,
  startDeliveryPipes,
  verifyHit,
} from './helpers.ts';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/emit-event.ts');
/** The serve process's claim: attempt timeout (15 s) + 60 s. A restarted worker may take over after it. */
const SERVE_LEASE_MS = 75_000;

function runFixture(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('crashes lose nothing; a duplicate carries the same webhook-id (W5, W6)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function setup(): Promise<{ db: TestDatabase; recv: Receiver; secret: string; endpointId: string }> {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const recv = await Receiver.start();
    cleanups.push(() => recv.close());
    // A first start creates the schema, the master key and the endpoint, then stops.
    const first = await startDeliveryPipes({ db });
    const endpoint = await createEndpoint(first.pipes, recv.url);
    await first.close();
    return { db, recv, secret: endpoint.secret, endpointId: endpoint.id };
  }

  test('a process that dies right after committing an event: the restarted server delivers it (W5)', async () => {
    const { db, recv, secret, endpointId } = await setup();
    const crashed = await runFixture({
      ...db.env,
      LOG_LEVEL: 'silent',
      PIPES_FAILPOINTS: 'after_event_commit:exit',
    });
    assert.equal(crashed.code, 137, crashed.stderr);
    assert.match(crashed.stderr, /failpoint after_event_commit: exiting/);
    assert.equal(crashed.stdout, '', 'it died before it could report the event');

    const restarted = await startDeliveryPipes({ db });
    cleanups.push(() => restarted.close());
    const events = await api(restarted.pipes, 'GET', '/events', { key: restarted.pipes.sandboxKey });
    assert.equal(events.json.data.length, 1, 'the committed event survived the crash');
    assert.equal(await restarted.runOnce(), 1);
    assert.equal(recv.hits.length, 1);
    assert.equal(recv.hits[0]!.eventId, events.json.data[0].id);
    await verifyHit(recv.hits[0]!, secret, { realTime: true });
    const [delivery] = await listDeliveries(restarted.pipes, endpointId);
    assert.equal(delivery.status, 'delivered');
  });

  test('`pipes serve` killed after the receiver’s 2xx, before marking it: redelivered with the same id (W6)', async () => {
    const { db, recv, secret, endpointId } = await setup();
    const writer = await startDeliveryPipes({ db });
    const eventId = await recordTestEvent(writer.pipes);
    await writer.close();

    const served = await runPipes(['serve'], {
      ...db.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      PIPES_FAILPOINTS: 'after_webhook_2xx_before_mark:exit',
    });
    assert.equal(served.code, 137, served.stderr);
    assert.match(served.stderr, /failpoint after_webhook_2xx_before_mark: exiting/);
    assert.equal(recv.hits.length, 1, 'the receiver got it once before the crash');

    // Restart without the failpoint. While the dead worker's claim lasts, nobody sends; after it, the next attempt.
    const clock = new ManualClock(Date.now());
    const restarted = await startDeliveryPipes({ db, clock });
    cleanups.push(() => restarted.close());
    assert.equal(await restarted.runOnce(), 0, 'the crashed claim is still held');
    clock.advance(SERVE_LEASE_MS + 1000);
    assert.equal(await restarted.runOnce(), 1);
    assert.equal(recv.hits.length, 2);
    const [first, duplicate] = recv.hits as [(typeof recv.hits)[0], (typeof recv.hits)[0]];
    assert.equal(first.eventId, eventId);
    assert.equal(duplicate.eventId, eventId, 'same webhook-id: the receiver can dedupe');
    assert.equal(JSON.parse(duplicate.body).id, eventId);
    assert.equal(duplicate.body, first.body);
    assert.deepEqual([first.attempt, duplicate.attempt], [1, 2]);
    for (const hit of recv.hits) await verifyHit(hit, secret, { realTime: true });
    const [delivery] = await listDeliveries(restarted.pipes, endpointId);
    assert.equal(delivery.status, 'delivered');
    assert.equal(delivery.attempt_count, 2);
    clock.advance(7 * 24 * 3600_000);
    assert.equal(await restarted.runOnce(), 0, 'and nothing more');
  });
});
