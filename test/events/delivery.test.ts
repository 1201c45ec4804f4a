import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SignatureVerificationException } from '@workos-inc/node';
import { WebhookVerificationError } from 'standardwebhooks';
import { DEFAULT_RETRY_SCHEDULE_MS, RESPONSE_EXCERPT_BYTES } from '../../src/events/delivery/index.ts';
import { newId } from '../../src/lib/ids.ts';
import { api } from '../helpers/pipes.ts';
import {
  createEndpoint,
  type DeliveryHarness,
  listDeliveries,
  Receiver,
  recordTestEvent,
  startDeliveryPipes,
  verifyHit,
  verifyStandard,
} from './helpers.ts';

describe('webhook delivery', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function harness(options: Parameters<typeof startDeliveryPipes>[0] = {}): Promise<DeliveryHarness> {
    const h = await startDeliveryPipes(options);
    cleanups.push(() => h.close());
    return h;
  }
  async function receiver(script?: ConstructorParameters<typeof Receiver>[0]): Promise<Receiver> {
    const r = await Receiver.start(script);
    cleanups.push(() => r.close());
    return r;
  }

  test('a delivery is the exact §5.2 envelope, verified by the WorkOS SDK and by standardwebhooks (W1)', async () => {
    const h = await harness();
    const recv = await receiver();
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const eventId = await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    assert.equal(recv.hits.length, 1);
    const hit = recv.hits[0]!;

    const event = await verifyHit(hit, endpoint.secret, { realTime: true });
    assert.equal(event.id, eventId);
    assert.equal(event.event, 'pipes.connected_account.connected');
    assert.equal((event.data as { providerSlug: string }).providerSlug, 'github');

    const body = JSON.parse(hit.body);
    assert.deepEqual(Object.keys(body), ['object', 'id', 'event', 'data', 'created_at']);
    assert.equal(body.object, 'event');
    assert.deepEqual(Object.keys(body.data), [
      'object',
      'id',
      'data_integration_id',
      'provider_slug',
      'user_id',
      'organization_id',
      'scopes',
      'state',
      'created_at',
      'updated_at',
      'occurred_at',
      'sequence',
    ]);
    assert.equal(body.data.occurred_at, body.created_at);
    assert.equal(body.data.sequence, 1);
    assert.equal(hit.headers['webhook-id'], eventId);
    assert.match(String(hit.headers['workos-signature']), /^t=\d{13}, v1=[0-9a-f]{64}$/);
    assert.equal(hit.headers['content-type'], 'application/json');
    assert.equal(hit.headers['pipes-delivery-attempt'], '1');

    // The signed bytes are the sent bytes: one changed byte, or another id, fails both verifiers (W2).
    const tampered = { ...hit, body: hit.body.replace('"github"', '"gitlab"') };
    await assert.rejects(
      () => verifyHit(tampered, endpoint.secret, { realTime: true }),
      SignatureVerificationException,
    );
    assert.throws(
      () => verifyStandard(tampered, endpoint.secret, { realTime: true }),
      WebhookVerificationError,
    );
    const otherId = { ...hit, headers: { ...hit.headers, 'webhook-id': newId('event') } };
    assert.throws(
      () => verifyStandard(otherId, endpoint.secret, { realTime: true }),
      WebhookVerificationError,
    );

    // GET /events lists the same envelope, byte for byte.
    const listed = await api(h.pipes, 'GET', '/events', { key: h.pipes.sandboxKey });
    assert.equal(JSON.stringify(listed.json.data[0]), hit.body);

    const [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'delivered');
    assert.equal(delivery.attempts.length, 1);
    assert.equal(delivery.attempts[0].status_code, 200);
    assert.equal(delivery.attempts[0].outcome, 'delivered');
    assert.equal(typeof delivery.attempts[0].latency_ms, 'number');
    assert.equal(await h.runOnce(), 0, 'a delivered event is not sent again');
    assert.ok(!h.pipes.logs.text().includes(endpoint.secret), 'the secret never reaches a log');
  });

  test('aliases: subscribers get the name they subscribed to, with the same id and data', async () => {
    const h = await harness();
    const activated = await receiver();
    const deactivated = await receiver();
    const both = await receiver();
    await createEndpoint(h.pipes, activated.url, ['pipe.connection.activated']);
    await createEndpoint(h.pipes, deactivated.url, ['pipe.connection.deactivated']);
    await createEndpoint(h.pipes, both.url, [
      'pipes.connected_account.connected',
      'pipe.connection.activated',
    ]);
    const connected = await recordTestEvent(h.pipes);
    const reauth = await recordTestEvent(h.pipes, {
      event: 'pipes.connected_account.reauthorization_needed',
      state: 'needs_reauthorization',
    });
    const disconnected = await recordTestEvent(h.pipes, {
      event: 'pipes.connected_account.disconnected',
      state: 'disconnected',
    });
    assert.equal(await h.runOnce(), 4);

    const names = (r: Receiver) =>
      r.hits
        .map((hit) => [hit.eventId, JSON.parse(hit.body).event])
        .sort((a, b) => a[0]!.localeCompare(b[0]!));
    assert.deepEqual(names(activated), [[connected, 'pipe.connection.activated']]);
    assert.deepEqual(names(deactivated), [
      [reauth, 'pipe.connection.deactivated'],
      [disconnected, 'pipe.connection.deactivated'],
    ]);
    assert.deepEqual(
      names(both),
      [[connected, 'pipes.connected_account.connected']],
      'one delivery, canonical',
    );

    const listed = await api(h.pipes, 'GET', '/events?order=asc', { key: h.pipes.sandboxKey });
    const canonical = listed.json.data.find((e: { id: string }) => e.id === connected);
    assert.equal(canonical.event, 'pipes.connected_account.connected');
    assert.deepEqual(JSON.parse(activated.hits[0]!.body).data, canonical.data);
  });

  test('500s are retried on the schedule with the same webhook-id and a new signature each time (W3)', async () => {
    const h = await harness();
    const recv = await receiver((_hit, index) => ({ status: index < 3 ? 500 : 200 }));
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const start = h.clock.now();
    const eventId = await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const delay = DEFAULT_RETRY_SCHEDULE_MS[attempt]!;
      h.clock.advance(delay - 1);
      assert.equal(await h.runOnce(), 0, `attempt ${attempt + 1} not before its delay`);
      h.clock.advance(Math.ceil(delay * 0.1) + 1);
      assert.equal(await h.runOnce(), 1, `attempt ${attempt + 1} after its delay (+ at most 10% jitter)`);
    }
    assert.equal(recv.hits.length, 4);
    assert.deepEqual(
      recv.hits.map((hit) => hit.eventId),
      [eventId, eventId, eventId, eventId],
    );
    assert.deepEqual(
      recv.hits.map((hit) => hit.attempt),
      [1, 2, 3, 4],
    );
    assert.equal(new Set(recv.hits.map((hit) => hit.headers['webhook-signature'])).size, 4);
    assert.equal(new Set(recv.hits.map((hit) => hit.body)).size, 1, 'the same bytes every time');
    for (const hit of recv.hits) await verifyHit(hit, endpoint.secret);

    const [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'delivered');
    const times = delivery.attempts.map((a: { started_at: string }) => Date.parse(a.started_at) - start);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      assert.ok(gap >= DEFAULT_RETRY_SCHEDULE_MS[i]!, `gap ${i} is ${gap}`);
      assert.ok(gap <= DEFAULT_RETRY_SCHEDULE_MS[i]! * 1.1 + 2, `gap ${i} is ${gap}`);
    }
    assert.deepEqual(
      delivery.attempts.map((a: { outcome: string }) => a.outcome),
      ['retrying', 'retrying', 'retrying', 'delivered'],
    );
    h.clock.advance(7 * 24 * 3600_000);
    assert.equal(await h.runOnce(), 0, 'a 2xx stops the retries');
  });

  test('the default schedule: 12 attempts over about three days', () => {
    assert.equal(DEFAULT_RETRY_SCHEDULE_MS.length, 12);
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    assert.ok(total > 2.5 * 24 * 3600_000 && total < 3.5 * 24 * 3600_000, `${total / 3600_000} h`);
  });

  test('after the last attempt the delivery fails; the event stays listable and can be redelivered', async () => {
    const h = await harness({ worker: { schedule: [0, 1000, 2000] } });
    let healthy = false;
    const recv = await receiver(() => ({ status: healthy ? 200 : 500, body: 'down for maintenance' }));
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const eventId = await recordTestEvent(h.pipes);
    for (let i = 0; i < 5; i++) {
      await h.runOnce();
      h.clock.advance(5000);
    }
    assert.equal(recv.hits.length, 3);
    let [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts[2].outcome, 'failed');
    assert.equal(delivery.attempts[2].response_body, 'down for maintenance');

    const listed = await api(h.pipes, 'GET', '/events', { key: h.pipes.sandboxKey });
    assert.equal(listed.json.data[0].id, eventId);
    healthy = true;
    const redeliver = await api(h.pipes, 'POST', `/events/${eventId}/redeliver`, {
      key: h.pipes.sandboxKey,
      body: {},
    });
    assert.equal(redeliver.status, 202, redeliver.text);
    assert.equal(redeliver.json.data[0].manual, true);
    assert.equal(await h.runOnce(), 1);
    assert.equal(recv.hits.length, 4);
    assert.equal(recv.hits[3]!.eventId, eventId, 'a redelivery carries the same webhook-id');
    [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'delivered');

    // Another environment's event, a malformed id and a missing one all answer the same 404.
    const prodEvent = await recordTestEvent(h.pipes, { environment: 'production' });
    for (const id of [prodEvent, 'event_nope', newId('event')]) {
      const res = await api(h.pipes, 'POST', `/events/${id}/redeliver`, {
        key: h.pipes.sandboxKey,
        body: {},
      });
      assert.equal(res.status, 404, id);
      assert.equal(res.json.code, 'event_not_found');
    }
  });

  test('a receiver that never answers times out; other receivers are not held up (W3, W11)', async () => {
    // Long enough that the fast receiver answers in time on a loaded machine.
    const h = await harness({ worker: { attemptTimeoutMs: 2000 } });
    const slow = await receiver(() => ({ hang: true }));
    const fast = await receiver();
    const slowEndpoint = await createEndpoint(h.pipes, slow.url);
    await createEndpoint(h.pipes, fast.url);
    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 2);
    assert.equal(slow.hits.length, 1);
    assert.equal(fast.hits.length, 1);
    const [delivery] = await listDeliveries(h.pipes, slowEndpoint.id);
    assert.equal(delivery.status, 'pending');
    assert.equal(delivery.attempts[0].outcome, 'retrying');
    assert.equal(delivery.attempts[0].status_code, null);
    assert.match(delivery.attempts[0].error, /timeout/);
  });

  test('an endless response body is read only up to a small cap (W11)', async () => {
    const h = await harness();
    const recv = await receiver(() => ({ endless: true }));
    const endpoint = await createEndpoint(h.pipes, recv.url);
    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    const [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'delivered');
    assert.ok(delivery.attempts[0].response_body.length <= RESPONSE_EXCERPT_BYTES);
    assert.ok(delivery.attempts[0].response_body.length > 0);
  });

  test('a 3xx is a failed attempt and is never followed: the redirect target gets nothing (W3)', async () => {
    const h = await harness();
    const canary = await receiver();
    const recv = await receiver(() => ({ status: 302, headers: { location: canary.url } }));
    const endpoint = await createEndpoint(h.pipes, recv.url);
    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 1);
    h.clock.advance(10_000);
    assert.equal(await h.runOnce(), 1);
    assert.equal(recv.hits.length, 2);
    assert.equal(canary.hits.length, 0);
    const [delivery] = await listDeliveries(h.pipes, endpoint.id);
    assert.equal(delivery.status, 'pending');
    assert.deepEqual(
      delivery.attempts.map((a: { status_code: number }) => a.status_code),
      [302, 302],
    );
  });

  test('410 disables the endpoint and cancels its other pending deliveries (W4)', async () => {
    const h = await harness();
    const recv = await receiver((_hit, index) => ({ status: index === 0 ? 500 : 410 }));
    const healthy = await receiver();
    const endpoint = await createEndpoint(h.pipes, recv.url);
    await createEndpoint(h.pipes, healthy.url);
    const first = await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 2, 'the first event: 500 here, 200 there');
    const second = await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 2, 'the second event: 410 here');

    const res = await api(h.pipes, 'GET', `/webhook_endpoints/${endpoint.id}`, { key: h.pipes.sandboxKey });
    assert.equal(res.json.status, 'disabled');
    assert.equal(res.json.disabled_reason, 'gone');
    const deliveries = await listDeliveries(h.pipes, endpoint.id);
    const byEvent = new Map(deliveries.map((d) => [d.event_id as string, d]));
    assert.equal(byEvent.get(first)?.status, 'cancelled', 'the pending retry is cancelled');
    assert.equal(byEvent.get(second)?.status, 'failed');
    assert.equal(byEvent.get(second)?.attempts[0].outcome, 'gone');

    await recordTestEvent(h.pipes);
    h.clock.advance(3600_000);
    assert.equal(await h.runOnce(), 1, 'only the enabled endpoint gets the next event');
    assert.equal(recv.hits.length, 2);
    assert.equal(healthy.hits.length, 3);
  });

  test('429 and 503 with Retry-After are honoured (W4)', async () => {
    const h = await harness();
    const throttled = await receiver((_hit, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '600' } } : { status: 200 },
    );
    const unavailable = await receiver((_hit, index) =>
      index === 0
        ? { status: 503, headers: { 'retry-after': new Date(h.clock.now() + 1_200_000).toUTCString() } }
        : { status: 200 },
    );
    await createEndpoint(h.pipes, throttled.url);
    await createEndpoint(h.pipes, unavailable.url);
    await recordTestEvent(h.pipes);
    assert.equal(await h.runOnce(), 2);
    h.clock.advance(60_000);
    assert.equal(await h.runOnce(), 0, 'not at the scheduled 5 s');
    h.clock.advance(540_000);
    assert.equal(await h.runOnce(), 1, 'the 429 after its Retry-After of 600 s');
    assert.equal(throttled.hits.length, 2);
    h.clock.advance(599_000);
    assert.equal(await h.runOnce(), 0);
    h.clock.advance(2000);
    assert.equal(await h.runOnce(), 1, 'the 503 after its Retry-After date');
    assert.equal(unavailable.hits.length, 2);
  });

  test('out-of-order arrival: sequence and occurred_at let the consumer keep the newest state (W10)', async () => {
    const h = await harness();
    const accountId = newId('connectedAccount');
    let failedOnce = false;
    const recv = await receiver((hit) => {
      const body = JSON.parse(hit.body);
      if (body.data.sequence === 1 && !failedOnce) {
        failedOnce = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    await createEndpoint(h.pipes, recv.url, [
      'pipes.connected_account.connected',
      'pipes.connected_account.disconnected',
    ]);
    await recordTestEvent(h.pipes, { connectedAccountId: accountId });
    h.clock.advance(10);
    await recordTestEvent(h.pipes, {
      connectedAccountId: accountId,
      event: 'pipes.connected_account.disconnected',
      state: 'disconnected',
    });
    assert.equal(await h.runOnce(), 2);
    h.clock.advance(6000);
    assert.equal(await h.runOnce(), 1);

    // The documented consumer rule: per account, apply an event only if its sequence is higher than the last applied.
    const applied = new Map<string, { sequence: number; state: string }>();
    const accepted = recv.hits.filter((_hit, index) => !(index === 0 && failedOnce));
    const arrival = accepted.map((hit) => JSON.parse(hit.body).data);
    assert.deepEqual(
      arrival.map((d) => d.sequence),
      [2, 1],
      'the retry of the older event arrives last',
    );
    for (const data of arrival) {
      const last = applied.get(data.id);
      if (last === undefined || data.sequence > last.sequence) applied.set(data.id, data);
    }
    assert.equal(applied.get(accountId)?.state, 'disconnected');
    assert.ok(Date.parse(arrival[0].occurred_at) > Date.parse(arrival[1].occurred_at));
  });

  test('an endpoint failing for days is disabled; its events stay available for replay (W12)', async () => {
    const h = await harness();
    let healthy = false;
    const recv = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const endpoint = await createEndpoint(h.pipes, recv.url);
    const eventIds: string[] = [];
    for (let hour = 0; hour < 6 * 24; hour += 2) {
      if (hour % 24 === 0) eventIds.push(await recordTestEvent(h.pipes));
      await h.runOnce();
      h.clock.advance(2 * 3600_000);
    }
    const res = await api(h.pipes, 'GET', `/webhook_endpoints/${endpoint.id}`, { key: h.pipes.sandboxKey });
    assert.equal(res.json.status, 'disabled');
    assert.equal(res.json.disabled_reason, 'failing');
    assert.match(h.pipes.logs.text(), /webhook endpoint disabled/);
    const deliveries = await listDeliveries(h.pipes, endpoint.id);
    assert.ok(deliveries.every((d: { status: string }) => d.status !== 'pending'));
    const hits = recv.hits.length;
    await recordTestEvent(h.pipes);
    await h.runOnce();
    assert.equal(recv.hits.length, hits, 'a disabled endpoint gets nothing');

    healthy = true;
    const enabled = await api(h.pipes, 'PATCH', `/webhook_endpoints/${endpoint.id}`, {
      key: h.pipes.sandboxKey,
      body: { status: 'enabled' },
    });
    assert.equal(enabled.json.status, 'enabled');
    assert.equal(enabled.json.disabled_reason, null);
    const replay = await api(h.pipes, 'POST', `/events/${eventIds[0]}/redeliver`, {
      key: h.pipes.sandboxKey,
      body: { webhook_endpoint_id: endpoint.id },
    });
    assert.equal(replay.status, 202, replay.text);
    assert.equal(await h.runOnce(), 1);
    assert.equal(recv.hits.at(-1)!.eventId, eventIds[0]);
  });
});
