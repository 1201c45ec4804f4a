import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SignatureVerificationException, WorkOS } from '@workos-inc/node';
import { WebhookVerificationError } from 'standardwebhooks';
import { api } from '../helpers/pipes.ts';
import {
  createEndpoint,
  type DeliveryHarness,
  Receiver,
  recordTestEvent,
  startDeliveryPipes,
  verifyHit,
  verifyStandard,
} from './helpers.ts';

const HOUR = 3600_000;

describe('webhook secret rotation (W9)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function setup(): Promise<{ h: DeliveryHarness; recv: Receiver }> {
    const h = await startDeliveryPipes();
    const recv = await Receiver.start();
    cleanups.push(
      () => h.close(),
      () => recv.close(),
    );
    return { h, recv };
  }
  const rotate = async (h: DeliveryHarness, id: string, body: unknown) => {
    const res = await api(h.pipes, 'POST', `/webhook_endpoints/${id}/rotate_secret`, {
      key: h.pipes.sandboxKey,
      body,
    });
    assert.equal(res.status, 200, res.text);
    return res.json.secret as string;
  };

  test('during the overlap receivers with the old or the new secret both verify; after it only the new', async () => {
    const { h, recv } = await setup();
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const oldSecret = endpoint.secret;
    const newSecret = await rotate(h, endpoint.id, { overlap_seconds: 60 });

    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    const during = recv.hits[0]!;
    assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
    // The reference Standard Webhooks library, with its own clock check, accepts either secret.
    verifyStandard(during, oldSecret, { realTime: true });
    verifyStandard(during, newSecret, { realTime: true });
    // The WorkOS header can carry one signature only: the newest (see src/events/signature.ts).
    await verifyHit(during, newSecret, { realTime: true });
    const workos = new WorkOS('sk_test_verifier', { apiHostname: '127.0.0.1', https: false });
    await assert.rejects(
      () =>
        workos.webhooks.constructEvent({
          payload: during.body,
          sigHeader: String(during.headers['workos-signature']),
          secret: oldSecret,
        }),
      SignatureVerificationException,
    );

    h.clock.advance(61_000);
    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    const afterOverlap = recv.hits[1]!;
    assert.equal(String(afterOverlap.headers['webhook-signature']).split(' ').length, 1);
    await verifyHit(afterOverlap, newSecret, { realTime: true });
    assert.throws(
      () => verifyStandard(afterOverlap, oldSecret, { realTime: true }),
      WebhookVerificationError,
    );
  });

  test('the default overlap is one day; rotating again ends the older overlap', async () => {
    const { h, recv } = await setup();
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const second = await rotate(h, endpoint.id, {});
    h.clock.advance(23 * HOUR);
    await recordTestEvent(h.pipes);
    await h.runOnce();
    verifyStandard(recv.hits[0]!, endpoint.secret);
    verifyStandard(recv.hits[0]!, second);

    const third = await rotate(h, endpoint.id, { overlap_seconds: 7200 });
    await recordTestEvent(h.pipes);
    await h.runOnce();
    const hit = recv.hits[1]!;
    verifyStandard(hit, third);
    verifyStandard(hit, second);
    assert.throws(() => verifyStandard(hit, endpoint.secret), /no Standard Webhooks signature matches/);
    await verifyHit(hit, third);

    h.clock.advance(2 * HOUR + 1);
    await recordTestEvent(h.pipes);
    await h.runOnce();
    verifyStandard(recv.hits[2]!, third);
    assert.throws(() => verifyStandard(recv.hits[2]!, second), /no Standard Webhooks signature matches/);
  });
});
