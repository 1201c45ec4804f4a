import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Resolver } from '../../src/relay/egress/index.ts';
import { api } from '../helpers/pipes.ts';
import { createEndpoint, listDeliveries, Receiver, recordTestEvent, startDeliveryPipes } from './helpers.ts';

describe('webhook URLs are checked again at every send (W8)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  test('an endpoint allowed when registered is refused once the policy forbids its address; canary hits = 0', async () => {
    const canary = await Receiver.start();
    cleanups.push(() => canary.close());
    const dev = await startDeliveryPipes();
    cleanups.push(() => dev.close());
    const endpoint = await createEndpoint(dev.pipes, canary.url);
    // A second instance on the same database, started with the production-like policy.
    const strict = await startDeliveryPipes({
      db: dev.pipes.db,
      clock: dev.clock,
      env: { PIPES_ALLOW_PRIVATE_NETWORK: 'false' },
    });
    cleanups.push(() => strict.close());
    await recordTestEvent(strict.pipes);
    assert.equal(await strict.runOnce(), 1, 'the attempt is made and refused');
    assert.equal(canary.hits.length, 0);
    const [delivery] = await listDeliveries(strict.pipes, endpoint.id);
    assert.equal(delivery.status, 'pending', 'refused attempts are retried: the address may change back');
    assert.match(
      delivery.attempts[0].error,
      /Refusing to connect to "127\.0\.0\.1": it is a loopback address/,
    );
    // The control: the permissive instance does reach the canary, so the zero above means something.
    dev.clock.advance(10_000);
    assert.equal(await dev.runOnce(), 1);
    assert.equal(canary.hits.length, 1);
  });

  test('a name that later resolves to a private address is refused at connect time (DNS rebinding)', async () => {
    const canary = await Receiver.start();
    cleanups.push(() => canary.close());
    const port = new URL(canary.url).port;
    const answers: Record<string, string[]> = { 'hooks.pipes-test.invalid': ['127.0.0.1'] };
    const resolver: Resolver = async (hostname) =>
      (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const strict = await startDeliveryPipes({
      env: { PIPES_ALLOW_PRIVATE_NETWORK: 'false' },
      worker: { resolver },
    });
    cleanups.push(() => strict.close());
    // At registration the name does not resolve (yet), so it is accepted; the send-time check decides.
    const endpoint = await createEndpoint(strict.pipes, `http://hooks.pipes-test.invalid:${port}/hooks`);
    await recordTestEvent(strict.pipes);
    assert.equal(await strict.runOnce(), 1);
    // A mixed answer, public and private, is refused as a whole.
    answers['hooks.pipes-test.invalid'] = ['8.8.8.8', '127.0.0.1'];
    strict.clock.advance(10_000);
    assert.equal(await strict.runOnce(), 1);
    assert.equal(canary.hits.length, 0);
    const [delivery] = await listDeliveries(strict.pipes, endpoint.id);
    for (const attempt of delivery.attempts) {
      assert.match(
        attempt.error,
        /Refusing to connect to "hooks\.pipes-test\.invalid": it resolves to a loopback/,
      );
      assert.ok(!attempt.error.includes('127.0.0.1'), 'the resolved address is not echoed');
    }

    // The control: with private addresses allowed, the same stub reaches the canary.
    const dev = await startDeliveryPipes({ worker: { resolver } });
    cleanups.push(() => dev.close());
    answers['hooks.pipes-test.invalid'] = ['127.0.0.1'];
    await createEndpoint(dev.pipes, `http://hooks.pipes-test.invalid:${port}/hooks`);
    await recordTestEvent(dev.pipes);
    assert.equal(await dev.runOnce(), 1);
    assert.equal(canary.hits.length, 1);
  });

  test('metadata addresses are refused even in development mode', async () => {
    const dev = await startDeliveryPipes();
    cleanups.push(() => dev.close());
    const res = await api(dev.pipes, 'POST', '/webhook_endpoints', {
      key: dev.pipes.sandboxKey,
      body: {
        endpoint_url: 'http://169.254.169.254/latest/meta-data/',
        events: ['pipe.connection.activated'],
      },
    });
    assert.equal(res.status, 422);
    assert.match(res.json.errors[0].message, /metadata|link-local/);
  });
});
