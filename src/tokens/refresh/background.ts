import type { AppContext } from '../../context.ts';

export interface BackgroundRefresherOptions {
  /** Run on a timer (production) or only through `runOnce` (tests drive it with a manual clock). */
  background?: boolean;
  intervalMs?: number;
  /** Accounts looked at per run. */
  batchSize?: number;
  /** Refreshes in flight at once from this instance. */
  concurrency?: number;
  /** How long a claimed account is left to this instance before another may take it. */
  claimMs?: number;
}

/**
 * The settings every `pipes serve` instance runs with unless configured: `PIPES_REFRESH_CONCURRENCY` and
 * `PIPES_REFRESH_INTERVAL_MS` change the concurrency and the interval (the batch size and claim time are not worth a
 * variable).
 */
export const DEFAULT_BACKGROUND_REFRESHER = {
  intervalMs: 30_000,
  batchSize: 100,
  concurrency: 4,
  claimMs: 120_000,
} as const;

export interface BackgroundRefresher {
  /** One batch (at most `batchSize` accounts): how many it refreshed. */
  runOnce(): Promise<number>;
  /** What one timer tick does: every account due now, batch after batch; how many it refreshed. */
  drainDue(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Renews tokens ahead of expiry and keeps idle refresh tokens alive (providers such as Xero, Atlassian and Google
 * expire unused ones). Every instance runs one; an account is claimed with a compare-and-set on its
 * `next_refresh_at` before it is refreshed, so two instances never do the same work, and the refresh itself goes
 * through the single-flight refresher. Due times carry jitter (see `nextRefreshAt`), so a storm of tokens issued
 * together spreads out, and the concurrency per instance is bounded.
 */
export function startBackgroundRefresher(
  ctx: AppContext,
  options: BackgroundRefresherOptions = {},
): BackgroundRefresher {
  const intervalMs = options.intervalMs ?? DEFAULT_BACKGROUND_REFRESHER.intervalMs;
  const batchSize = options.batchSize ?? DEFAULT_BACKGROUND_REFRESHER.batchSize;
  const concurrency = options.concurrency ?? DEFAULT_BACKGROUND_REFRESHER.concurrency;
  const claimMs = options.claimMs ?? DEFAULT_BACKGROUND_REFRESHER.claimMs;
  const { db } = ctx.store;
  let running: Promise<number> | null = null;
  let stopped = false;

  async function refreshOne(id: string, due: number): Promise<boolean> {
    const now = ctx.clock.now();
    const claimed = await db
      .updateTable('connected_accounts')
      .set({ next_refresh_at: now + claimMs })
      .where('id', '=', id)
      .where('next_refresh_at', '=', due)
      .returningAll()
      .executeTakeFirst();
    if (!claimed) return false;
    try {
      await ctx.tokens.refresher.ensureFresh(claimed, {
        kind: 'forced',
        staleVersion: claimed.token_version,
      });
    } catch (error) {
      ctx.log.warn({ err: error, account: id }, 'background refresh failed; it will be retried');
    }
    return true;
  }

  /** One batch of accounts due by `cutoff`, skipping those in `seen`: how many were due and how many it refreshed. */
  async function runBatch(cutoff: number, seen: Set<string>): Promise<{ found: number; done: number }> {
    const due = (
      await db
        .selectFrom('connected_accounts')
        .select(['id', 'next_refresh_at'])
        .where('state', '=', 'connected')
        .where('next_refresh_at', '<=', cutoff)
        .orderBy('next_refresh_at')
        .limit(batchSize)
        .execute()
    ).filter((item) => !seen.has(item.id));
    for (const item of due) seen.add(item.id);
    let done = 0;
    let next = 0;
    const worker = async () => {
      while (next < due.length && !stopped) {
        const item = due[next++]!;
        if (await refreshOne(item.id, item.next_refresh_at!)) done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    return { found: due.length, done };
  }

  async function runOnce(): Promise<number> {
    return (await runBatch(ctx.clock.now(), new Set())).done;
  }

  /**
   * Every account due when the tick started, batch after batch. One batch per tick would cap an instance at
   * `batchSize` refreshes per interval (200 a minute by default), so a storm of thousands coming due together would
   * outlive its tokens; draining goes at the provider's pace instead, still `concurrency` at a time (R10). Accounts
   * that come due again during the drain (or were already handled in it) wait for the next tick.
   */
  async function drainDue(): Promise<number> {
    const cutoff = ctx.clock.now();
    const seen = new Set<string>();
    let total = 0;
    for (;;) {
      const { found, done } = await runBatch(cutoff, seen);
      total += done;
      if (found === 0 || stopped) return total;
    }
  }

  const timer =
    options.background === false
      ? null
      : setInterval(() => {
          if (running) return;
          running = drainDue()
            .catch((error) => {
              ctx.log.warn({ err: error }, 'background refresher run failed');
              return 0;
            })
            .finally(() => {
              running = null;
            });
        }, intervalMs);
  timer?.unref();

  return {
    runOnce,
    drainDue,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
