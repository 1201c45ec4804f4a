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

export interface BackgroundRefresher {
  runOnce(): Promise<number>;
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
  const intervalMs = options.intervalMs ?? 30_000;
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 4;
  const claimMs = options.claimMs ?? 120_000;
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

  async function runOnce(): Promise<number> {
    const now = ctx.clock.now();
    const due = await db
      .selectFrom('connected_accounts')
      .select(['id', 'next_refresh_at'])
      .where('state', '=', 'connected')
      .where('next_refresh_at', '<=', now)
      .orderBy('next_refresh_at')
      .limit(batchSize)
      .execute();
    let done = 0;
    let next = 0;
    const worker = async () => {
      while (next < due.length && !stopped) {
        const item = due[next++]!;
        if (await refreshOne(item.id, item.next_refresh_at!)) done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    return done;
  }

  const timer =
    options.background === false
      ? null
      : setInterval(() => {
          if (running) return;
          running = runOnce()
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
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
