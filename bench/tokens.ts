/**
 * Token-vending benchmark: `POST /data-integrations/{slug}/token` for a valid stored token, against a bare
 * `node:http` server that answers the same JSON bytes (the ceiling), on SQLite and then on PostgreSQL.
 *
 *   npm run bench                       (runs this file, then bench/relay.ts)
 *   node --import tsx bench/tokens.ts   (BENCH_SECONDS=6 BENCH_ROUNDS=3 BENCH_CONNECTIONS=50 by default;
 *                                        BENCH_ENGINES=sqlite or =postgres for one engine only)
 *   BENCH_PROFILE=1 …                   (writes a CPU profile of the Pipes process to .bench-profile/)
 *
 * Each server runs in its own process and wrk (Debian, installed with apt-get when missing) loads them one at a
 * time, interleaved, with a Lua script that sends the POST body; the table shows the median round. The Pipes side
 * is the real server end to end: real API key, real rate limiter, real database, a real sealed token opened by the
 * vault. PostgreSQL runs when DATABASE_URL is set (a fresh database is created and dropped), or on a throwaway
 * cluster started like `.ci/run` does when the Debian server is installed and we are root. Not a test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RoleChild, startRole, stopChild } from './lib/children.ts';
import { closeOnSigterm, startBenchPipes } from './lib/pipes-server.ts';
import { onPostgres } from './lib/postgres.ts';
import { cpuMicros, median, runWrk, type WrkResult, writePostScript } from './lib/wrk.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Which engines to measure, e.g. `BENCH_ENGINES=sqlite`. */
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',');
const WARMUP_SECONDS = 2;
const USER = 'user_bench';
const SLUG = 'bench';

// ---------------------------------------------------------------------------------------------------------------
// Child roles

/** The real Pipes server with one integration and one connection holding a valid (not expiring) token. */
async function runPipes(databaseUrl: string | undefined): Promise<void> {
  const { server, key, post } = await startBenchPipes({
    databaseUrl,
    start: { refresher: { background: false } },
  });
  await post('/data-integrations', {
    provider: SLUG,
    enabled: true,
    scopes: ['read', 'write'],
    credentials: { type: 'custom', client_id: 'bench-client', client_secret: 'bench-client-secret' },
    custom_provider: {
      name: 'Bench',
      authorization_url: 'http://127.0.0.1:9/authorize',
      token_url: 'http://127.0.0.1:9/token',
    },
  });
  await post(`/user_management/users/${USER}/connected_accounts/${SLUG}`, {
    access_token: `bench_at_${'x'.repeat(40)}`,
    refresh_token: `bench_rt_${'y'.repeat(40)}`,
    expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    scopes: ['read', 'write'],
  });
  process.stdout.write(`${JSON.stringify({ url: server.url, key, pid: process.pid })}\n`);
  closeOnSigterm(server);
}

/** The ceiling: reads the request body like Pipes does, then answers the very bytes Pipes answered. */
async function runBare(bodyFile: string): Promise<void> {
  const body = readFileSync(bodyFile);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': body.length,
        'cache-control': 'no-store',
      });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Orchestrator

interface ServerInfo {
  url: string;
  key?: string;
  pid: number;
}

interface Cell extends WrkResult {
  /** CPU time of the server process per request (user + system), microseconds. */
  cpuUs: number;
}

async function measure(script: string, url: string, seconds: number, pid: number): Promise<Cell> {
  const before = cpuMicros(pid);
  const result = await runWrk({ url, connections: CONNECTIONS, seconds, script });
  const used = cpuMicros(pid) - before;
  return { ...result, cpuUs: result.requests > 0 ? used / result.requests : Number.NaN };
}

interface EngineResult {
  engine: string;
  bare: Cell;
  pipes: Cell;
}

async function benchEngine(engine: string, databaseUrl: string | undefined): Promise<EngineResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipes-bench-wrk-'));
  const pipes = await startRole<ServerInfo>(
    import.meta.filename,
    databaseUrl ? ['pipes', databaseUrl] : ['pipes'],
    {
      profile: Boolean(process.env.BENCH_PROFILE),
    },
  );
  let bare: RoleChild<ServerInfo> | undefined;
  try {
    const route = `/data-integrations/${SLUG}/token`;
    const request = {
      method: 'POST',
      headers: { authorization: `Bearer ${pipes.info.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: USER }),
    };
    // Sanity: a valid, active token; its exact bytes are what the bare server will answer.
    const probe = await fetch(pipes.info.url + route, request);
    const text = await probe.text();
    if (probe.status !== 200 || !(JSON.parse(text) as { active?: boolean }).active) {
      throw new Error(`token probe failed: ${probe.status} ${text}`);
    }
    writeFileSync(path.join(dir, 'body.json'), text);
    bare = await startRole<ServerInfo>(import.meta.filename, ['bare', path.join(dir, 'body.json')]);
    const script = writePostScript(path.join(dir, 'post.lua'), request.body, pipes.info.key!);
    const targets = { bare: bare.info, pipes: pipes.info } as const;
    const rounds: Record<'bare' | 'pipes', Cell[]> = { bare: [], pipes: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['bare', 'pipes'] as const) {
        const target = targets[name];
        await measure(script, target.url + route, WARMUP_SECONDS, target.pid);
        const result = await measure(script, target.url + route, SECONDS, target.pid);
        rounds[name].push(result);
        process.stderr.write(
          `  ${engine} round ${round + 1}/${ROUNDS} ${name.padEnd(5)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  cpu ${result.cpuUs.toFixed(0)} µs/req${result.errors ? `  errors ${result.errors}` : ''}\n`,
        );
      }
    }
    const pick = (list: Cell[]): Cell => ({
      rps: median(list.map((r) => r.rps)),
      requests: list.reduce((sum, r) => sum + r.requests, 0),
      meanMs: median(list.map((r) => r.meanMs)),
      p50Ms: median(list.map((r) => r.p50Ms)),
      p99Ms: median(list.map((r) => r.p99Ms)),
      errors: list.reduce((sum, r) => sum + r.errors, 0),
      cpuUs: median(list.map((r) => r.cpuUs)),
    });
    return { engine, bare: pick(rounds.bare), pipes: pick(rounds.pipes) };
  } finally {
    if (bare) await stopChild(bare.child);
    await stopChild(pipes.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(results: EngineResult[]): string {
  const rows = [
    `| engine | server | req/s | p50 ms | p99 ms | CPU µs/req | errors |`,
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    for (const [name, w] of [
      ['bare node:http', r.bare],
      ['Pipes /token', r.pipes],
    ] as const) {
      rows.push(
        `| ${r.engine} | ${name} | ${w.rps.toFixed(0)} | ${w.p50Ms.toFixed(2)} | ${w.p99Ms.toFixed(2)} | ${w.cpuUs.toFixed(0)} | ${w.errors} |`,
      );
    }
  }
  rows.push(
    '',
    '| engine | Pipes / bare throughput | goal | Pipes p99 | goal |',
    '|---|---:|---:|---:|---:|',
  );
  for (const r of results) {
    const ratio = r.pipes.rps / r.bare.rps;
    const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    rows.push(
      `| ${r.engine} | ${ratio.toFixed(2)}× | ≥ 0.60× ${verdict(ratio >= 0.6)} | ${r.pipes.p99Ms.toFixed(2)} ms | ≤ 5 ms ${verdict(r.pipes.p99Ms <= 5)} |`,
    );
  }
  return rows.join('\n');
}

async function orchestrate(): Promise<void> {
  const results: EngineResult[] = [];
  if (ENGINES.includes('sqlite')) results.push(await benchEngine('SQLite', undefined));
  if (ENGINES.includes('postgres')) {
    const result = await onPostgres((url) => benchEngine('PostgreSQL', url));
    if (result) results.push(result);
  }
  process.stdout.write(
    `\nToken vending benchmark: POST /data-integrations/${SLUG}/token, valid stored token, wrk -t1 -c${CONNECTIONS}, ` +
      `${ROUNDS} rounds × ${SECONDS} s per cell (median)\n\n${table(results)}\n`,
  );
}

const [role, arg] = process.argv.slice(2);
if (role === 'pipes') await runPipes(arg);
else if (role === 'bare') await runBare(arg!);
else await orchestrate();
