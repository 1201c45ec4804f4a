import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../context.ts';
import { createPinnedDispatcher, type Resolver } from '../../relay/egress/index.ts';
import { webhookEgressPolicy } from '../egress-policy.ts';
import { purgeExpiredEvents } from '../retention.ts';
import { claimDueDeliveries } from './claim.ts';
import { type DeliverDeps, deliverClaimed } from './deliver.ts';
import { DEFAULT_RETRY_SCHEDULE_MS } from './schedule.ts';

export interface WebhookWorkerOptions {
  /** How often an idle worker looks for due deliveries (default 1 s). */
  pollIntervalMs?: number;
  /** Total time one attempt may take, connect to last body byte (default 15 s). */
  attemptTimeoutMs?: number;
  /** Waits before each attempt; `schedule.length` attempts in all (default: 12 over about 3 days). */
  schedule?: readonly number[];
  /** Poll on a timer (default). False: only `runOnce()` sends, which is what tests with a manual clock use. */
  background?: boolean;
  /** Deliveries claimed and sent concurrently per round (default 20). */
  batchSize?: number;
  /** Fraction of each retry delay added at random (default 0.1). */
  jitter?: number;
  /** How long a claim lasts before another worker may take the delivery over (default attempt timeout + 60 s). */
  leaseMs?: number;
  /** Disable an endpoint that has not answered 2xx for this long (default 5 days). */
  disableAfterMs?: number;
  /** How often expired events are purged (default 1 h). */
  cleanupIntervalMs?: number;
  /** DNS resolver for the pinned dispatcher; tests inject one to simulate DNS changes. */
  resolver?: Resolver;
}

export interface WebhookWorker {
  /** Claims and sends the due deliveries once (one batch). Resolves to the number of attempts made. */
  runOnce(): Promise<number>;
  /** Purges events older than the retention window now. Resolves to the number deleted. */
  purgeExpiredEvents(): Promise<number>;
  /** Stops polling and waits for the attempts in flight. */
  stop(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Starts a webhook delivery worker for this instance. Any number of workers, in any number of processes, may share
 * one database: deliveries are claimed with a compare-and-set (see claim.ts), so an attempt goes out once.
 */
export function startWebhookWorker(ctx: AppContext, options: WebhookWorkerOptions = {}): WebhookWorker {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 15_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const batchSize = options.batchSize ?? 20;
  const leaseMs = options.leaseMs ?? attemptTimeoutMs + 60_000;
  const cleanupIntervalMs = options.cleanupIntervalMs ?? 60 * 60 * 1000;
  const owner = `webhook-worker:${randomUUID()}`;
  const policy = webhookEgressPolicy(ctx.config);
  const dispatcher = createPinnedDispatcher({
    policy,
    connectTimeoutMs: attemptTimeoutMs,
    headersTimeoutMs: attemptTimeoutMs,
    bodyTimeoutMs: attemptTimeoutMs,
    ...(options.resolver ? { lookup: options.resolver } : {}),
  });
  const deps: DeliverDeps = {
    ctx,
    owner,
    dispatcher,
    policy,
    attemptTimeoutMs,
    outcome: {
      schedule: options.schedule ?? DEFAULT_RETRY_SCHEDULE_MS,
      jitter: options.jitter ?? 0.1,
      disableAfterMs: options.disableAfterMs ?? 5 * DAY_MS,
    },
  };

  async function runBatch(): Promise<number> {
    if (stopped) return 0;
    const claimed = await claimDueDeliveries(ctx.store.db, ctx.store.engine, {
      owner,
      now: ctx.clock.now(),
      leaseTime: ctx.leaseTime,
      leaseMs,
      limit: batchSize,
    });
    // Concurrently: one slow receiver must not hold up the others (W11).
    await Promise.all(
      claimed.map((delivery) =>
        deliverClaimed(deps, delivery).catch((error: unknown) => {
          // The claim simply expires and another attempt follows; nothing is lost.
          ctx.log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed unexpectedly');
        }),
      ),
    );
    return claimed.length;
  }

  // Rounds run one after another, whether started by the timer or by runOnce().
  let chain: Promise<unknown> = Promise.resolve();
  const serialise = <T>(task: () => Promise<T>): Promise<T> => {
    const next = chain.then(task);
    chain = next.catch(() => undefined);
    return next;
  };

  const purge = () =>
    serialise(() =>
      purgeExpiredEvents(ctx.store.db, {
        now: ctx.clock.now(),
        retentionDays: ctx.config.eventRetentionDays,
        owner,
      }),
    );

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let nextCleanupAt = 0;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      ticking = tick();
    }, delayMs);
    // The HTTP server keeps a serving process alive; the worker alone must not.
    timer.unref();
  };
  async function tick(): Promise<void> {
    let delay = pollIntervalMs;
    try {
      if (ctx.clock.now() >= nextCleanupAt) {
        nextCleanupAt = ctx.clock.now() + cleanupIntervalMs;
        const purged = await purge();
        if (purged > 0) ctx.log.info({ purged }, 'expired events purged');
      }
      // A full batch means more may be due: go again at once.
      if ((await serialise(runBatch)) >= batchSize) delay = 0;
    } catch (error) {
      if (!stopped) ctx.log.error({ err: error }, 'webhook worker round failed');
    }
    schedule(delay);
  }
  if (options.background !== false) schedule(0);

  return {
    runOnce: () => serialise(runBatch),
    purgeExpiredEvents: purge,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await ticking;
      await chain;
      await dispatcher.destroy();
    },
  };
}
