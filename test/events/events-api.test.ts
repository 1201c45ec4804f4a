import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UnprocessableEntityException } from '@workos-inc/node';
import { PipesError } from '../../src/errors.ts';
import {
  connectedAccountEventData,
  connectionFailedEventData,
  recordEvent,
} from '../../src/events/record-event.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createEndpoint, listDeliveries, Receiver, recordTestEvent, sdk } from './helpers.ts';

const HOUR = 3600_000;

describe('GET /events', () => {
  let pipes: TestPipes;
  let clock: ManualClock;
  const ids: Record<string, string> = {};
  let t0 = 0;
  before(async () => {
    clock = new ManualClock(Date.parse('2026-01-15T12:00:00.000Z'));
    pipes = await startTestPipes({ clock, webhookWorker: { background: false } });
    t0 = clock.now();
    ids.connected = await recordTestEvent(pipes, { organizationId: 'org_A' });
    clock.advance(HOUR);
    ids.reauth = await recordTestEvent(pipes, {
      event: 'pipes.connected_account.reauthorization_needed',
      state: 'needs_reauthorization',
    });
    clock.advance(HOUR);
    ids.disconnected = await recordTestEvent(pipes, {
      event: 'pipes.connected_account.disconnected',
      state: 'disconnected',
      organizationId: 'org_A',
    });
    clock.advance(HOUR);
    const env = await requireEnvironment(pipes.server.ctx.store.db, 'sandbox');
    ids.failed = (
      await recordEvent(pipes.server.ctx.store.db, {
        environmentId: env.id,
        event: 'pipes.connected_account.connection_failed',
        data: connectionFailedEventData({
          dataIntegrationId: 'data_integration_01HZY3K2J5Q8W9E7R6T5Y4U3I2',
          providerSlug: 'github',
          userId: 'user_123',
          organizationId: null,
          errorCode: 'authorization_code_exchange_error',
          errorReason: 'The authorization code has expired.',
          providerError: 'invalid_grant',
          providerErrorDescription: 'x'.repeat(5000),
          createdAt: clock.now(),
        }),
        organizationId: null,
        now: clock.now(),
      })
    ).id;
    ids.production = await recordTestEvent(pipes, { environment: 'production' });
  });
  after(() => pipes.close());

  const list = async (query: string, key = pipes.sandboxKey) => {
    const res = await api(pipes, 'GET', `/events${query}`, { key });
    assert.equal(res.status, 200, res.text);
    return res.json.data.map((e: { id: string }) => e.id) as string[];
  };

  test('lists only the caller’s environment, newest first by default', async () => {
    assert.deepEqual(await list(''), [ids.failed, ids.disconnected, ids.reauth, ids.connected]);
    assert.deepEqual(await list('', pipes.productionKey), [ids.production]);
    assert.deepEqual(await list('?order=asc'), [ids.connected, ids.reauth, ids.disconnected, ids.failed]);
  });

  test('filters by event names: comma-joined, repeated keys and aliases; unknown names are a 422', async () => {
    assert.deepEqual(
      await list('?events=pipes.connected_account.connected,pipes.connected_account.disconnected&order=asc'),
      [ids.connected, ids.disconnected],
    );
    assert.deepEqual(
      await list(
        '?events=pipes.connected_account.connected&events=pipes.connected_account.connection_failed&order=asc',
      ),
      [ids.connected, ids.failed],
    );
    assert.deepEqual(await list('?events=pipe.connection.deactivated&order=asc'), [
      ids.reauth,
      ids.disconnected,
    ]);
    const bad = await api(pipes, 'GET', '/events?events=user.created', { key: pipes.sandboxKey });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.errors[0].code, 'unknown_event');
  });

  test('filters by time range (start inclusive, end exclusive) and organization', async () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    assert.deepEqual(await list(`?range_start=${iso(t0 + HOUR)}&range_end=${iso(t0 + 3 * HOUR)}&order=asc`), [
      ids.reauth,
      ids.disconnected,
    ]);
    assert.deepEqual(await list(`?range_start=${iso(t0 + 3 * HOUR)}`), [ids.failed]);
    assert.deepEqual(await list('?organization_id=org_A&order=asc'), [ids.connected, ids.disconnected]);
    for (const query of [
      '?range_start=yesterday',
      '?range_end=2026-13-45',
      `?range_start=${iso(t0 + HOUR)}&range_end=${iso(t0)}`,
    ]) {
      const res = await api(pipes, 'GET', `/events${query}`, { key: pipes.sandboxKey });
      assert.equal(res.status, 422, query);
    }
  });

  test('cursor pagination both ways', async () => {
    const first = await api(pipes, 'GET', '/events?limit=2&order=asc', { key: pipes.sandboxKey });
    assert.deepEqual(
      first.json.data.map((e: { id: string }) => e.id),
      [ids.connected, ids.reauth],
    );
    assert.equal(first.json.list_metadata.after, ids.reauth);
    const second = await api(pipes, 'GET', `/events?limit=2&order=asc&after=${ids.reauth}`, {
      key: pipes.sandboxKey,
    });
    assert.deepEqual(
      second.json.data.map((e: { id: string }) => e.id),
      [ids.disconnected, ids.failed],
    );
    assert.equal(second.json.list_metadata.after, null);
    assert.equal(second.json.list_metadata.before, ids.disconnected);
    const back = await api(pipes, 'GET', `/events?limit=2&order=asc&before=${ids.disconnected}`, {
      key: pipes.sandboxKey,
    });
    assert.deepEqual(
      back.json.data.map((e: { id: string }) => e.id),
      [ids.connected, ids.reauth],
    );
  });

  test('the real SDK listEvents works against it', async () => {
    const workos = sdk(pipes, pipes.sandboxKey);
    const all = await workos.events.listEvents({
      events: ['pipes.connected_account.connected', 'pipes.connected_account.connection_failed'],
    });
    assert.deepEqual(
      all.data.map((e) => e.id),
      [ids.failed, ids.connected],
    );
    const failed = all.data[0]!;
    assert.equal(failed.event, 'pipes.connected_account.connection_failed');
    const data = failed.data as {
      errorCode: string;
      providerError: string;
      providerErrorDescription: string;
    };
    assert.equal(data.errorCode, 'authorization_code_exchange_error');
    assert.equal(data.providerError, 'invalid_grant');
    assert.equal(data.providerErrorDescription.length, 1000, 'provider text is capped');
    const connected = all.data[1]!;
    assert.equal((connected.data as { providerSlug: string }).providerSlug, 'github');

    const page = await workos.events.listEvents({
      events: ['pipes.connected_account.connected', 'pipes.connected_account.disconnected'],
      organizationId: 'org_A',
      rangeStart: new Date(t0).toISOString(),
      limit: 1,
      order: 'asc',
    });
    assert.deepEqual(
      page.data.map((e) => e.id),
      [ids.connected],
    );
    assert.equal(page.listMetadata.after, ids.connected);
    const next = await workos.events.listEvents({
      events: ['pipes.connected_account.connected', 'pipes.connected_account.disconnected'],
      after: page.listMetadata.after!,
      order: 'asc',
    });
    assert.deepEqual(
      next.data.map((e) => e.id),
      [ids.disconnected],
    );
    await assert.rejects(
      () => workos.events.listEvents({ events: ['dsync.user.created'] }),
      (error: unknown) => error instanceof UnprocessableEntityException,
    );
  });
});

describe('recordEvent', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes({ webhookWorker: { background: false } });
  });
  after(() => pipes.close());

  const count = async (table: 'events' | 'webhook_deliveries') =>
    Number(
      (
        await pipes.server.ctx.store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('commits with the caller’s transaction, or not at all: none lost, none invented (W5)', async () => {
    await createEndpoint(pipes, 'https://8.8.8.8/atomic');
    const db = pipes.server.ctx.store.db;
    const env = await requireEnvironment(db, 'sandbox');
    const before = [await count('events'), await count('webhook_deliveries')];
    const input = {
      environmentId: env.id,
      event: 'pipes.connected_account.connected' as const,
      data: connectedAccountEventData({
        id: newId('connectedAccount'),
        dataIntegrationId: newId('dataIntegration'),
        providerSlug: 'slack',
        userId: null,
        organizationId: 'org_1',
        scopes: [],
        state: 'connected',
        createdAt: Date.now(),
        updatedAt: Date.now(),
      }),
      organizationId: 'org_1',
      now: Date.now(),
    };
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await recordEvent(trx, input);
        throw new Error('the state change failed');
      }),
      /the state change failed/,
    );
    assert.deepEqual([await count('events'), await count('webhook_deliveries')], before);

    await db.transaction().execute((trx) => recordEvent(trx, input));
    assert.deepEqual(
      [await count('events'), await count('webhook_deliveries')],
      [before[0]! + 1, before[1]! + 1],
    );
    // Outside a transaction it opens its own: still both or neither.
    await recordEvent(db, input);
    assert.deepEqual(
      [await count('events'), await count('webhook_deliveries')],
      [before[0]! + 2, before[1]! + 2],
    );

    await assert.rejects(
      () => recordEvent(db, { ...input, event: 'user.created' as 'pipes.connected_account.connected' }),
      (error: unknown) => error instanceof PipesError && error.code === 'unknown_event',
    );
  });

  test('sequence increases per connected account', async () => {
    const a = newId('connectedAccount');
    const b = newId('connectedAccount');
    for (const account of [a, a, b, a]) await recordTestEvent(pipes, { connectedAccountId: account });
    const rows = await pipes.server.ctx.store.db
      .selectFrom('events')
      .select(['connected_account_id', 'sequence', 'data'])
      .where('connected_account_id', 'in', [a, b])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.connected_account_id, Number(r.sequence), JSON.parse(r.data).sequence]),
      [
        [a, 1, 1],
        [a, 2, 2],
        [b, 1, 1],
        [a, 3, 3],
      ],
    );
  });
});

describe('event retention', () => {
  test('events older than PIPES_EVENT_RETENTION_DAYS are purged with their finished deliveries', async () => {
    const clock = new ManualClock(Date.now());
    const pipes = await startTestPipes({
      clock,
      env: { PIPES_EVENT_RETENTION_DAYS: '2' },
      webhookWorker: { background: false, attemptTimeoutMs: 2000 },
    });
    const recv = await Receiver.start();
    try {
      const ctx = pipes.server.ctx;
      assert.equal(ctx.config.eventRetentionDays, 2);
      const noEndpoint = await recordTestEvent(pipes);
      const endpoint = await createEndpoint(pipes, recv.url);
      const delivered = await recordTestEvent(pipes);
      assert.equal(await pipes.server.webhookWorker.runOnce(), 1);
      clock.advance(HOUR);
      // Its delivery stays pending: the worker does not run again in this test.
      const pending = await recordTestEvent(pipes);

      clock.advance(2 * 24 * HOUR - HOUR + 1);
      assert.equal(await pipes.server.webhookWorker.purgeExpiredEvents(), 2);
      const remaining = await api(pipes, 'GET', '/events', { key: pipes.sandboxKey });
      assert.deepEqual(
        remaining.json.data.map((e: { id: string }) => e.id),
        [pending],
      );
      const deliveries = await listDeliveries(pipes, endpoint.id);
      assert.deepEqual(
        deliveries.map((d: { event_id: string }) => d.event_id),
        [pending],
        'the purged event took its delivery and attempt log along',
      );
      const attempts = await ctx.store.db.selectFrom('webhook_attempts').selectAll().execute();
      assert.equal(attempts.length, 0);

      clock.advance(HOUR);
      assert.equal(
        await pipes.server.webhookWorker.purgeExpiredEvents(),
        0,
        'kept while its delivery is pending',
      );
      assert.ok(noEndpoint && delivered);
    } finally {
      await recv.close();
      await pipes.close();
    }
  });
});
