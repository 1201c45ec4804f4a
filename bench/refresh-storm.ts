/**
 * Refresh-storm benchmark (test-plan row R10): 10 000 connections whose tokens expire in the same minute, refreshed
 * by the background refresher running as in production (its timer, its default batch and concurrency), while wrk
 * loads `POST /data-integrations/{slug}/token` for another connection.
 *
 *   npm run bench:storm
 *   BENCH_STORM_CONNECTIONS=10000   connections in the storm
 *   BENCH_TOKEN_LIFETIME_S=3600     lifetime the seeded tokens were issued with (sets the refresh margin: 5 min)
 *   BENCH_PROVIDER_DELAY_MS=25      how long the fake provider takes to answer a refresh
 *   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONNECTIONS=50   wrk windows
 *   BENCH_ENGINES=sqlite,postgres   engines, in order; PostgreSQL on the server DATABASE_URL points at, else on a
 *                                   throwaway cluster (Debian's server, run as root), a fresh database either way
 *
 * Pipes runs in a child process with the real server, database and vault; the fake OAuth provider is a real HTTP
 * server in this process, counting the refreshes it receives, how many were in flight at once, and whether each came
 * before its token expired. The token API is measured first with nothing due (the baseline, with the 10 000 rows
 * already stored), then in windows while the storm is refreshed; the table compares the two. Not a test.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { newId } from '../src/lib/ids.ts';
import { requireEnvironment } from '../src/store/environments.ts';
import type { ConnectedAccountTable } from '../src/store/schema.ts';
import { sealAccountSecret } from '../src/tokens/account-secrets.ts';
import { nextRefreshAt, refreshMargin } from '../src/tokens/expiry.ts';
import { newAccountRow } from '../src/tokens/new-account-row.ts';
import { DEFAULT_BACKGROUND_REFRESHER } from '../src/tokens/refresh/background.ts';
import { closeServer, listenOnLoopback } from '../test/helpers/loopback.ts';
import { closeOnSigterm, startBenchPipes } from './lib/pipes-server.ts';
import { onPostgres } from './lib/postgres.ts';
import { ensureTool } from './lib/tools.ts';
import { median, runWrk, type WrkResult, writePostScript } from './lib/wrk.ts';

const STORM = Number(process.env.BENCH_STORM_CONNECTIONS ?? 10_000);
const LIFETIME_MS = Number(process.env.BENCH_TOKEN_LIFETIME_S ?? 3600) * 1000;
const PROVIDER_DELAY_MS = Number(process.env.BENCH_PROVIDER_DELAY_MS ?? 25);
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = 2;
/** The expiries all fall inside this window: "the same minute". */
const EXPIRY_WINDOW_MS = 60_000;
const SLUG = 'storm';
const USER = 'user_bench';
const SEED_BATCH = 200;

/** One seeded connection: its tokens and when its access token expires. */
interface StormGrant {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: the Pipes server

/**
 * The real Pipes server with the background refresher on its timer, an integration whose token endpoint is the fake
 * provider, and one connection with a long-lived token for wrk. It seeds the storm when told to on stdin.
 */
async function runPipes(providerUrl: string, databaseUrl: string | undefined): Promise<void> {
  // The refresher as `pipes serve` runs it: on its timer, with the default interval, batch and concurrency.
  const { server, key, post: call } = await startBenchPipes({ databaseUrl });
  const { db } = server.ctx.store;
  await call('/data-integrations', {
    provider: SLUG,
    enabled: true,
    scopes: ['read', 'write'],
    credentials: { type: 'custom', client_id: 'storm-client', client_secret: 'storm-client-secret' },
    custom_provider: {
      name: 'Storm',
      authorization_url: `${providerUrl}/authorize`,
      token_url: `${providerUrl}/token`,
      token_body_content_type: 'application/x-www-form-urlencoded',
      authenticate_via: 'request_body',
    },
  });
  // wrk's connection: valid for 30 days, so neither the storm nor the token API refreshes it.
  await call(`/user_management/users/${USER}/connected_accounts/${SLUG}`, {
    access_token: `bench_at_${'x'.repeat(40)}`,
    refresh_token: `bench_rt_${'y'.repeat(40)}`,
    expires_at: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    scopes: ['read', 'write'],
  });
  const integration = await db
    .selectFrom('data_integrations')
    .select(['id', 'environment_id'])
    .where('slug', '=', SLUG)
    .where('environment_id', '=', (await requireEnvironment(db, 'sandbox')).id)
    .executeTakeFirstOrThrow();

  /** Stored like an import stores a grant: sealed tokens, and `next_refresh_at` with the production jitter. */
  async function seed(grants: StormGrant[]): Promise<void> {
    const now = Date.now();
    for (let start = 0; start < grants.length; start += SEED_BATCH) {
      const rows: ConnectedAccountTable[] = grants.slice(start, start + SEED_BATCH).map((grant, offset) => {
        const id = newId('connectedAccount', now);
        const ref = { id, environment_id: integration.environment_id };
        return newAccountRow(
          {
            id,
            environment_id: integration.environment_id,
            data_integration_id: integration.id,
            provider_slug: SLUG,
            owner_type: 'user',
            user_id: `user_storm_${start + offset}`,
            organization_id: null,
            connection_role: 'compatibility',
            auth_method: 'oauth',
            state: 'connected',
            scopes: '["read","write"]',
            access_token: sealAccountSecret(server.ctx.vault, ref, 'access_token', grant.accessToken),
            refresh_token: sealAccountSecret(server.ctx.vault, ref, 'refresh_token', grant.refreshToken),
            expires_at: grant.expiresAt,
            expiry_kind: 'expires_in',
            last_refresh_outcome: 'imported',
            next_refresh_at: nextRefreshAt(grant.expiresAt, grant.expiresAt - LIFETIME_MS, true, now),
          },
          now,
        );
      });
      await db.insertInto('connected_accounts').values(rows).execute();
    }
  }

  /** What the storm left behind in the database. */
  async function report() {
    const rows = await db
      .selectFrom('connected_accounts')
      .select(['state', 'token_version', 'refresh_failures'])
      .where('user_id', 'like', 'user_storm_%')
      .execute();
    const count = (test: (row: (typeof rows)[number]) => boolean) => rows.filter(test).length;
    return {
      rows: rows.length,
      refreshedOnce: count((r) => r.state === 'connected' && r.token_version === 2),
      notConnected: count((r) => r.state !== 'connected'),
      withFailures: count((r) => r.refresh_failures > 0),
    };
  }

  const lines = createInterface({ input: process.stdin });
  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  lines.on('line', (line) => {
    const [command, arg] = line.split(' ');
    const work =
      command === 'seed'
        ? seed(JSON.parse(readFileSync(arg!, 'utf8')) as StormGrant[]).then(() => ({ seeded: true }))
        : command === 'report'
          ? report()
          : Promise.reject(new Error(`unknown command ${command}`));
    work.then(reply, (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    });
  });
  closeOnSigterm(server);
  reply({ url: server.url, key, pid: process.pid });
}

// ---------------------------------------------------------------------------------------------------------------
// The fake provider

/**
 * A token endpoint that answers refresh grants after `PROVIDER_DELAY_MS`, rotating each refresh token. It knows the
 * storm's refresh tokens and their expiries, and records every use.
 */
class StormProvider {
  private readonly expiries = new Map<string, number>();
  private readonly uses = new Map<string, number>();
  /** When each storm refresh arrived, and how long before its token's expiry. */
  readonly arrivals: { at: number; slackMs: number }[] = [];
  unknownTokens = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  url = '';

  /** A storm grant this provider issued: its refresh token is valid once. */
  expect(grant: StormGrant): void {
    this.expiries.set(grant.refreshToken, grant.expiresAt);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        setTimeout(() => {
          this.inFlight -= 1;
          const answer = this.refresh(body);
          res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(answer.body));
        }, PROVIDER_DELAY_MS);
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  private refresh(body: URLSearchParams): { status: number; body: unknown } {
    const token = body.get('refresh_token') ?? '';
    const expiresAt = this.expiries.get(token);
    if (body.get('grant_type') !== 'refresh_token' || expiresAt === undefined) {
      this.unknownTokens += 1;
      return { status: 400, body: { error: 'invalid_grant' } };
    }
    const uses = (this.uses.get(token) ?? 0) + 1;
    this.uses.set(token, uses);
    // Strict rotation: a second use of a storm token is refused, so a double refresh breaks a connection.
    if (uses > 1) return { status: 400, body: { error: 'invalid_grant' } };
    const now = Date.now();
    this.arrivals.push({ at: now, slackMs: expiresAt - now });
    return {
      status: 200,
      body: {
        access_token: `at_${randomBytes(16).toString('hex')}`,
        refresh_token: `rt_${randomBytes(16).toString('hex')}`,
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'read write',
      },
    };
  }

  /** Storm tokens refreshed, and how many of them more than once. */
  counts(): { refreshed: number; reused: number } {
    let reused = 0;
    for (const n of this.uses.values()) if (n > 1) reused++;
    return { refreshed: this.uses.size, reused };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Orchestrator

interface PipesChild {
  info: { url: string; key: string; pid: number };
  send(command: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts the Pipes child and talks to it one JSON line at a time. */
function startPipes(providerUrl: string, databaseUrl: string | undefined): Promise<PipesChild> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, 'pipes', providerUrl, ...(databaseUrl ? [databaseUrl] : [])],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const waiting: ((value: Record<string, unknown>) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`Pipes exited with ${code}`))),
  );
  exited.catch(() => {});
  return Promise.race([next(), exited]).then((info) => ({
    info: info as PipesChild['info'],
    send(command) {
      child.stdin!.write(`${command}\n`);
      return Promise.race([next(), exited]);
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      child.removeAllListeners('exit');
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  }));
}

/** wrk runs asynchronously: the fake provider in this process must go on answering meanwhile. */
const wrk = (script: string, url: string, seconds: number) =>
  runWrk({ url, connections: CONNECTIONS, seconds, script });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * The storm's grants. Every access token expires within the same minute, starting late enough that, with the
 * refresh margin and its jitter (at most 1.5 × the margin ahead of expiry), nothing comes due before `firstDueAt`.
 */
function stormGrants(firstDueAt: number): StormGrant[] {
  const margin = refreshMargin(0, LIFETIME_MS);
  const firstExpiry = firstDueAt + 1.5 * margin;
  return Array.from({ length: STORM }, () => ({
    accessToken: `at_storm_${randomBytes(16).toString('hex')}`,
    refreshToken: `rt_storm_${randomBytes(16).toString('hex')}`,
    expiresAt: firstExpiry + Math.floor(Math.random() * EXPIRY_WINDOW_MS),
  }));
}

interface EngineResult {
  engine: string;
  baseline: WrkResult;
  storm: WrkResult & { worstP99Ms: number; windows: number };
  refreshed: number;
  reused: number;
  unknownTokens: number;
  maxInFlight: number;
  stormMs: number;
  peakPerSecond: number;
  late: number;
  minSlackMs: number;
  db: Record<string, unknown>;
}

async function benchEngine(engine: string, databaseUrl: string | undefined): Promise<EngineResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipes-storm-wrk-'));
  const grantsFile = path.join(dir, 'grants.json');
  const provider = await new StormProvider().start();
  const pipes = await startPipes(provider.url, databaseUrl);
  try {
    const route = `/data-integrations/${SLUG}/token`;
    const body = JSON.stringify({ user_id: USER });
    const probe = await fetch(pipes.info.url + route, {
      method: 'POST',
      headers: { authorization: `Bearer ${pipes.info.key}`, 'content-type': 'application/json' },
      body,
    });
    const probeText = await probe.text();
    if (probe.status !== 200 || !(JSON.parse(probeText) as { active?: boolean }).active) {
      throw new Error(`token probe failed: ${probe.status} ${probeText}`);
    }
    const script = writePostScript(path.join(dir, 'post.lua'), body, pipes.info.key);

    // Seed, then measure the baseline before anything can come due; the storm starts right after it.
    const baselineMs = (WARMUP_SECONDS + ROUNDS * SECONDS) * 1000;
    const seedBudgetMs = Math.max(15_000, STORM * 3);
    const firstDueAt = Date.now() + seedBudgetMs + baselineMs + 2_000;
    const grants = stormGrants(firstDueAt);
    for (const grant of grants) provider.expect(grant);
    writeFileSync(grantsFile, JSON.stringify(grants));
    const seedStart = Date.now();
    await pipes.send(`seed ${grantsFile}`);
    process.stderr.write(`  ${engine}: seeded ${STORM} connections in ${Date.now() - seedStart} ms\n`);
    if (Date.now() + baselineMs > firstDueAt) throw new Error('seeding outlasted its budget; raise it');

    await wrk(script, pipes.info.url + route, WARMUP_SECONDS);
    const rounds: WrkResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const result = await wrk(script, pipes.info.url + route, SECONDS);
      rounds.push(result);
      process.stderr.write(`  ${engine} baseline ${round + 1}/${ROUNDS} ${describe(result)}\n`);
    }
    if (provider.counts().refreshed > 0) throw new Error('the storm began during the baseline');

    // The storm: wrk windows until every connection was refreshed (or long after the last one came due).
    await sleep(firstDueAt - Date.now());
    const lastDueAt = Math.max(...grants.map((g) => g.expiresAt));
    const giveUpAt = lastDueAt + DEFAULT_BACKGROUND_REFRESHER.intervalMs + 120_000;
    const windows: WrkResult[] = [];
    while (provider.counts().refreshed < STORM && Date.now() < giveUpAt) {
      const before = provider.counts().refreshed;
      const result = await wrk(script, pipes.info.url + route, SECONDS);
      const during = provider.counts().refreshed - before;
      process.stderr.write(
        `  ${engine} storm ${provider.counts().refreshed}/${STORM} (+${during}) ${describe(result)}\n`,
      );
      // Windows in which the refresher was idle (between two of its ticks) are not the storm.
      if (during > 0) windows.push(result);
    }
    await sleep(PROVIDER_DELAY_MS + 1_000);
    const db = await pipes.send('report');
    const arrivals = provider.arrivals.map((a) => a.at);
    const perSecond = new Map<number, number>();
    for (const at of arrivals)
      perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    const slack = provider.arrivals.map((a) => a.slackMs);
    return {
      engine,
      baseline: medianResult(rounds),
      storm: {
        ...medianResult(windows),
        worstP99Ms: Math.max(...windows.map((r) => r.p99Ms)),
        windows: windows.length,
      },
      ...provider.counts(),
      unknownTokens: provider.unknownTokens,
      maxInFlight: provider.maxInFlight,
      stormMs: arrivals.length ? Math.max(...arrivals) - Math.min(...arrivals) : 0,
      peakPerSecond: Math.max(0, ...perSecond.values()),
      late: slack.filter((s) => s <= 0).length,
      minSlackMs: slack.length ? Math.min(...slack) : Number.NaN,
      db,
    };
  } finally {
    await pipes.stop();
    await provider.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of each column (NaN when there were no windows); errors are summed. */
function medianResult(list: WrkResult[]): WrkResult {
  const column = (pick: (r: WrkResult) => number) => (list.length ? median(list.map(pick)) : Number.NaN);
  return {
    rps: column((r) => r.rps),
    requests: list.reduce((sum, r) => sum + r.requests, 0),
    meanMs: column((r) => r.meanMs),
    p50Ms: column((r) => r.p50Ms),
    p99Ms: column((r) => r.p99Ms),
    errors: list.reduce((sum, r) => sum + r.errors, 0),
  };
}

function describe(r: WrkResult): string {
  return `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${r.errors ? `  errors ${r.errors}` : ''}`;
}

function table(results: EngineResult[]): string {
  const cap = DEFAULT_BACKGROUND_REFRESHER.concurrency;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rows = [
    '| engine | phase | req/s | p50 ms | p99 ms | worst p99 ms | wrk errors |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const { baseline: b, storm: s } = r;
    rows.push(
      `| ${r.engine} | baseline | ${b.rps.toFixed(0)} | ${b.p50Ms.toFixed(2)} | ${b.p99Ms.toFixed(2)} | — | ${b.errors} |`,
      `| ${r.engine} | storm (${s.windows} windows) | ${s.rps.toFixed(0)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ${s.worstP99Ms.toFixed(2)} | ${s.errors} |`,
      `| ${r.engine} | storm / baseline | ${ratio(s.rps, b.rps)} | ${ratio(s.p50Ms, b.p50Ms)} | ${ratio(s.p99Ms, b.p99Ms)} | ${ratio(s.worstP99Ms, b.p99Ms)} | |`,
    );
  }
  rows.push(
    '',
    '| engine | refreshed at the provider | refreshed twice | unknown tokens | rows at version 2 | max in flight / cap | storm took | peak refreshes/s | refreshed after expiry | least time left |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    rows.push(
      `| ${r.engine} | ${r.refreshed} / ${STORM} ${verdict(r.refreshed === STORM)} | ${r.reused} ${verdict(r.reused === 0)} | ${r.unknownTokens} | ${r.db.refreshedOnce} / ${r.db.rows} | ${r.maxInFlight} / ${cap} ${verdict(r.maxInFlight <= cap)} | ${(r.stormMs / 1000).toFixed(1)} s | ${r.peakPerSecond} | ${r.late} ${verdict(r.late === 0)} | ${(r.minSlackMs / 1000).toFixed(1)} s |`,
    );
  }
  return rows.join('\n');
}

async function orchestrate(): Promise<void> {
  ensureTool('wrk', 'wrk');
  const results: EngineResult[] = [];
  if (ENGINES.includes('sqlite')) results.push(await benchEngine('SQLite', undefined));
  if (ENGINES.includes('postgres')) {
    const result = await onPostgres((url) => benchEngine('PostgreSQL', url));
    if (result) results.push(result);
  }
  const margin = refreshMargin(0, LIFETIME_MS);
  process.stdout.write(
    `\nRefresh storm (R10): ${STORM} connections expiring within the same minute (tokens of ${LIFETIME_MS / 1000} s, ` +
      `margin ${margin / 1000} s, jitter up to ${margin / 2000} s), provider answering in ${PROVIDER_DELAY_MS} ms; ` +
      `background refresher every ${DEFAULT_BACKGROUND_REFRESHER.intervalMs / 1000} s, ` +
      `${DEFAULT_BACKGROUND_REFRESHER.concurrency} at once; wrk -t1 -c${CONNECTIONS} on POST ${`/data-integrations/${SLUG}/token`}, ` +
      `${SECONDS} s windows (baseline: median of ${ROUNDS}; storm: median of the windows with refreshes)\n\n` +
      `${table(results)}\n`,
  );
}

const [role, ...args] = process.argv.slice(2);
if (role === 'pipes') await runPipes(args[0]!, args[1]);
else await orchestrate();
