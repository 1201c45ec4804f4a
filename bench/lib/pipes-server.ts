import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { type RunningServer, type StartOptions, startServer } from '../../src/server.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { requireEnvironment } from '../../src/store/environments.ts';

export interface BenchPipes {
  server: RunningServer;
  /** A sandbox API key. */
  key: string;
  /** POSTs JSON with the key; throws on any non-2xx answer. */
  post(route: string, body: unknown): Promise<unknown>;
}

/**
 * The real Pipes server a benchmark measures, in this (child) process: a temporary data directory (removed on
 * exit), a fixed master key, warnings only, the per-key rate limit raised so that it never answers 429 (it stays in
 * the path), the webhook worker off, one page already served, and a fresh sandbox key. SQLite unless `databaseUrl`
 * is given.
 */
export async function startBenchPipes(
  options: { databaseUrl?: string | undefined; start?: Omit<StartOptions, 'log'> } = {},
): Promise<BenchPipes> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pipes-bench-'));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PIPES_DATA_DIR: dataDir,
    PIPES_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    PIPES_RATE_LIMIT_PER_MINUTE: String(1e9),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  });
  const server = await startServer(config, {
    log: createLogger('warn', process.stderr),
    webhookWorker: { background: false },
    ...options.start,
  });
  // A running installation has served pages (dashboard, connect flow) before and between its API calls; measure it in
  // that state. (A page once made every later request slower: src/lib/page-rendering.ts.)
  const page = await fetch(`${server.url}/dashboard/sign-in`);
  if (page.status !== 200) throw new Error(`GET /dashboard/sign-in: ${page.status}`);
  await page.arrayBuffer();
  const sandbox = await requireEnvironment(server.ctx.store.db, 'sandbox');
  const { key } = await createApiKey(server.ctx.store.db, sandbox, 'bench', Date.now());
  return {
    server,
    key,
    async post(route, body) {
      const response = await fetch(server.url + route, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status >= 300)
        throw new Error(`POST ${route}: ${response.status} ${await response.text()}`);
      return response.json();
    },
  };
}

/** Exit normally on SIGTERM, so that `--cpu-prof` (BENCH_PROFILE=1) gets to write its profile. */
export function closeOnSigterm(server: RunningServer): void {
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
}
