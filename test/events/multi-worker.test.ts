import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';
import {
  createEndpoint,
  type DeliveryHarness,
  listDeliveries,
  Receiver,
  recordTestEvent,
  startDeliveryPipes,
} from './helpers.ts';

const EVENTS = 40;
const BATCH_SIZE = 4;

describe(`three delivery workers on one ${testEngine()} database (W7)`, () => {
  let db: TestDatabase;
  let instances: DeliveryHarness[];
  const receivers: Receiver[] = [];
  before(async () => {
    db = await createTestDatabase();
    const clock = new ManualClock(Date.now());
    instances = [];
    // Small batches, so that the three workers' claims interleave over many rounds.
    for (let i = 0; i < 3; i++)
      instances.push(await startDeliveryPipes({ db, clock, worker: { batchSize: BATCH_SIZE } }));
  });
  after(async () => {
    for (const instance of instances) await instance.close();
    for (const receiver of receivers) await receiver.close();
    await db.drop();
  });

  test('every attempt is claimed by exactly one worker: no (event, attempt) is sent twice', async () => {
    const main = instances[0]!;
    // Every third event fails its first attempt, so retries are contended too.
    const failFirst = (body: string, attempt: number) =>
      JSON.parse(body).data.sequence % 3 === 0 && attempt === 1;
    for (let i = 0; i < 2; i++) {
      receivers.push(
        await Receiver.start((hit) => ({ status: failFirst(hit.body, hit.attempt) ? 500 : 200 })),
      );
    }
    const endpoints = [];
    for (const receiver of receivers) endpoints.push(await createEndpoint(main.pipes, receiver.url));
    // One account: its events carry sequences 1..EVENTS, which the receivers' script keys on.
    const account = 'data_installation_01HZY3K2J5Q8W9E7R6T5Y4U3I2';
    for (let i = 0; i < EVENTS; i++) await recordTestEvent(main.pipes, { connectedAccountId: account });

    const perWorker = [0, 0, 0];
    for (let round = 0; round < 50; round++) {
      const sent = await Promise.all(instances.map((instance) => instance.runOnce()));
      // A round claims at most a batch per worker: no worker takes everything that is due (W11).
      assert.ok(
        sent.every((n) => n <= BATCH_SIZE),
        `a round claimed more than ${BATCH_SIZE}: ${sent.join(', ')}`,
      );
      sent.forEach((n, i) => {
        perWorker[i]! += n;
      });
      if (sent.every((n) => n === 0)) main.clock.advance(10_000);
      if (receivers.every((r) => r.hits.filter((hit) => !failFirst(hit.body, hit.attempt)).length === EVENTS))
        break;
    }

    const retried = Math.floor(EVENTS / 3);
    for (const [index, receiver] of receivers.entries()) {
      const counts = new Map<string, number>();
      for (const hit of receiver.hits) {
        const key = `${hit.eventId}#${hit.attempt}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const duplicates = [...counts].filter(([, n]) => n > 1);
      assert.deepEqual(duplicates, [], `receiver ${index}: attempts sent more than once`);
      assert.equal(receiver.hits.length, EVENTS + retried, `receiver ${index}: one hit per attempt`);
      assert.equal(new Set(receiver.hits.map((hit) => hit.eventId)).size, EVENTS);
      const deliveries = await listDeliveries(main.pipes, endpoints[index]!.id);
      assert.equal(deliveries.length, EVENTS);
      assert.ok(deliveries.every((d: { status: string }) => d.status === 'delivered'));
      const logged = deliveries.reduce(
        (sum: number, d: { attempts: unknown[] }) => sum + d.attempts.length,
        0,
      );
      assert.equal(logged, receiver.hits.length, 'the attempt log matches what the receiver saw');
    }
    assert.equal(
      perWorker.reduce((a, b) => a + b, 0),
      2 * (EVENTS + retried),
    );
    assert.ok(perWorker.filter((n) => n > 0).length >= 2, `work was shared: ${perWorker.join(', ')}`);
  });
});
