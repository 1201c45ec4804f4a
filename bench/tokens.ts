/**
 * Token-vending benchmark: `POST /data-integrations/{slug}/token` for a valid stored token, against a bare
 * `node:http` server that answers the same JSON bytes (the ceiling), on SQLite and then on PostgreSQL.
 *
 *   npm run bench                       (runs this file, then bench/relay.ts)
 *   node --import tsx bench/tokens.ts   (BENCH_SECONDS=6 BENCH_ROUNDS=3 BENCH_CONNECTIONS=50 by default)
 *   BENCH_PROFILE=1 …                   (writes a CPU profile of the Pipes process to .bench-profile/)
 *
 * Each server runs in its own process and wrk (Debian, installed with apt-get when missing) loads them one at a
 * time, interleaved, with a Lua script that sends the POST body; the table shows the median round. The Pipes side
 * is the real server end to end: real API key, real rate limiter, real database, a real sealed token opened by the
 * vault. PostgreSQL runs when DATABASE_URL is set (a fresh database is created and dropped), or on a throwaway
 * cluster started like `.ci/run` does when the Debian server is installed and we are root. Not a test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/lib/logger.ts';
import { startServer } from '../src/server.ts';
import { createApiKey } from '../src/store/api-keys.ts';
import { requireEnvironment } from '../src/store/environments.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = 2;
const USER = 'user_bench';
const SLUG = 'bench';

// ---------------------------------------------------------------------------------------------------------------
// Child roles

/** The real Pipes server with one integration and one connection holding a valid (not expiring) token. */
async function runPipes(databaseUrl: string | undefined): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pipes-bench-'));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PIPES_DATA_DIR: dataDir,
    PIPES_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    // The per-key limiter stays in the path; its limit is raised so that it never answers 429 here.
    PIPES_RATE_LIMIT_PER_MINUTE: String(1e9),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const server = await startServer(config, {
    log: createLogger('warn', process.stderr),
    webhookWorker: { background: false },
    refresher: { background: false },
  });
  const sandbox = await requireEnvironment(server.ctx.store.db, 'sandbox');
  const { key } = await createApiKey(server.ctx.store.db, sandbox, 'bench', Date.now());
  const call = async (method: string, route: string, body: unknown) => {
    const response = await fetch(server.url + route, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status >= 300)
      throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  await call('POST', '/data-integrations', {
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
  await call('POST', `/user_management/users/${USER}/connected_accounts/${SLUG}`, {
    access_token: `bench_at_${'x'.repeat(40)}`,
    refresh_token: `bench_rt_${'y'.repeat(40)}`,
    expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    scopes: ['read', 'write'],
  });
  process.stdout.write(`${JSON.stringify({ url: server.url, key, pid: process.pid })}\n`);
  // Exit normally on SIGTERM, so that `--cpu-prof` (BENCH_PROFILE=1) gets to write its profile.
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
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

function findTool(binary: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
    const candidate = path.join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function ensureTool(binary: string, pkg: string): string {
  const found = findTool(binary);
  if (found) return found;
  process.stderr.write(`${binary} not found: installing ${pkg} with apt-get…\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return ensureTool(binary, pkg);
}

interface Child {
  child: ChildProcess;
  info: { url: string; key?: string; pid: number };
}

function startChild(args: string[]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const profile =
      process.env.BENCH_PROFILE && args[0] === 'pipes' ? ['--cpu-prof', '--cpu-prof-dir=.bench-profile'] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', import.meta.filename, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline !== -1) resolve({ child, info: JSON.parse(buffered.slice(0, newline)) });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time of the server process per request (user + system), microseconds. */
  cpuUs: number;
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  const unit = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return value * unit;
}

/** utime + stime of a process, in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function wrk(binary: string, script: string, url: string, seconds: number, pid: number): WrkResult {
  const before = cpuTicks(pid);
  const out = execFileSync(
    binary,
    ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script, url],
    { encoding: 'utf8' },
  );
  const ticks = cpuTicks(pid) - before;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = [
    ...out.matchAll(/(?:Non-2xx or 3xx responses|Socket errors:.*?timeout)\s*:?\s*(\d+)/g),
  ].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50Ms: toMs(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99Ms: toMs(/ 99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    errors,
    cpuUs: requests > 0 ? (ticks * 10_000) / requests : Number.NaN,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface EngineResult {
  engine: string;
  bare: WrkResult;
  pipes: WrkResult;
}

async function benchEngine(
  wrkBin: string,
  engine: string,
  databaseUrl: string | undefined,
): Promise<EngineResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipes-bench-wrk-'));
  const pipes = await startChild(databaseUrl ? ['pipes', databaseUrl] : ['pipes']);
  let bare: Child | undefined;
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
    bare = await startChild(['bare', path.join(dir, 'body.json')]);
    const script = path.join(dir, 'post.lua');
    writeFileSync(
      script,
      [
        'wrk.method = "POST"',
        `wrk.body = '${request.body}'`,
        'wrk.headers["Content-Type"] = "application/json"',
        `wrk.headers["Authorization"] = "Bearer ${pipes.info.key}"`,
        '',
      ].join('\n'),
    );
    const targets = { bare: bare.info, pipes: pipes.info } as const;
    const rounds: Record<'bare' | 'pipes', WrkResult[]> = { bare: [], pipes: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['bare', 'pipes'] as const) {
        const target = targets[name];
        wrk(wrkBin, script, target.url + route, WARMUP_SECONDS, target.pid);
        const result = wrk(wrkBin, script, target.url + route, SECONDS, target.pid);
        rounds[name].push(result);
        process.stderr.write(
          `  ${engine} round ${round + 1}/${ROUNDS} ${name.padEnd(5)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  cpu ${result.cpuUs.toFixed(0)} µs/req${result.errors ? `  errors ${result.errors}` : ''}\n`,
        );
      }
    }
    const pick = (list: WrkResult[]): WrkResult => ({
      rps: median(list.map((r) => r.rps)),
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

/** A fresh database on the server DATABASE_URL points at, dropped afterwards. */
async function withDatabase<T>(adminUrl: string, run: (url: string) => Promise<T>): Promise<T> {
  const name = `pipes_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await run(url.toString());
  } finally {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  }
}

/** Starts a throwaway PostgreSQL cluster the way `.ci/run` does; undefined when that is not possible here. */
function startThrowawayCluster(): { url: string; stop(): void } | undefined {
  const versions = existsSync('/usr/lib/postgresql')
    ? execFileSync('ls', ['/usr/lib/postgresql'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    : [];
  const version = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!version || process.getuid?.() !== 0) return undefined;
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const data = mkdtempSync(path.join(tmpdir(), 'pgdata-bench-'));
  const port = String(55500 + (process.pid % 400));
  execFileSync('chown', ['postgres:postgres', data]);
  const asPostgres = (args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  asPostgres([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  asPostgres([
    `${bin}/pg_ctl`,
    '-D',
    data,
    '-l',
    `${data}/server.log`,
    '-w',
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      asPostgres([`${bin}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(data, { recursive: true, force: true });
    },
  };
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
  const wrkBin = ensureTool('wrk', 'wrk');
  const results: EngineResult[] = [];
  results.push(await benchEngine(wrkBin, 'SQLite', undefined));
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    results.push(await withDatabase(adminUrl, (url) => benchEngine(wrkBin, 'PostgreSQL', url)));
  } else {
    const cluster = startThrowawayCluster();
    if (cluster) {
      try {
        results.push(await withDatabase(cluster.url, (url) => benchEngine(wrkBin, 'PostgreSQL', url)));
      } finally {
        cluster.stop();
      }
    } else {
      process.stderr.write('PostgreSQL skipped: set DATABASE_URL, or install postgresql and run as root.\n');
    }
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
