import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type ConnectApp, startConnectApp } from '../../examples/connect-app/server.ts';
import type { CheckResult, DoctorReport } from '../../src/cli/doctor/report.ts';
import { runCli } from '../../src/cli/main.ts';
import { verifyWorkOS } from '../../src/events/signature.ts';
import { generateMasterKey } from '../../src/vault/generate.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { reservePort, startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A small HTTP server on loopback answering every request with `status` (and recording what it got). */
async function startServer(
  handler: (req: { url: string; headers: IncomingHttpHeaders; body: string }) => {
    status: number;
    body?: string;
    headers?: Record<string, string>;
  },
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const answer = handler({ url: req.url ?? '/', headers: req.headers, body });
      res
        .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        .end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const find = (report: DoctorReport, id: string): CheckResult => {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
};

describe('pipes doctor', () => {
  let pipes: TestPipes;
  let receiver: Awaited<ReturnType<typeof startServer>>;
  let webhookSecret: string;
  const temp = mkdtempSync(path.join(tmpdir(), 'pipes-doctor-'));

  async function doctor(args: string[], env: Record<string, string> = {}) {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(['doctor', ...args], {
      env: { ...pipes.db.env, PIPES_PUBLIC_URL: pipes.config.publicUrl, LOG_LEVEL: 'silent', ...env },
      stdout,
      stderr,
      cwd: temp,
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
  async function doctorJson(args: string[], env: Record<string, string> = {}) {
    const run = await doctor([...args, '--json'], env);
    return { code: run.code, report: JSON.parse(run.stdout) as DoctorReport };
  }

  before(async () => {
    pipes = await startPublicTestPipes({ webhookWorker: { background: false } });
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: { provider: 'sandbox', enabled: true, credentials: { type: 'shared' } },
    });
    assert.equal(created.status, 201, created.text);
    receiver = await startServer(() => ({ status: 200, body: '{}' }));
    const endpoint = await api(pipes, 'POST', '/webhook_endpoints', {
      key: pipes.sandboxKey,
      body: { endpoint_url: `${receiver.url}/webhooks`, events: ['pipes.connected_account.connected'] },
    });
    assert.equal(endpoint.status, 201, endpoint.text);
    webhookSecret = endpoint.json.secret as string;
  });
  after(async () => {
    await receiver?.close();
    await pipes?.close();
    rmSync(temp, { recursive: true, force: true });
  });

  test('green on a correct set-up; the webhook endpoint gets one signed ping, not an event', async () => {
    const { code, report } = await doctorJson(['--api-key', pipes.sandboxKey]);
    assert.equal(code, 0, JSON.stringify(report, null, 2));
    assert.equal(report.ok, true);
    for (const id of [
      'config',
      'database',
      'migrations',
      'master_key',
      'api_key',
      'public_url',
      'callback_route',
    ])
      assert.equal(find(report, id).status, 'pass', `${id}: ${find(report, id).message}`);
    assert.equal(find(report, 'provider:sandbox:sandbox').status, 'pass');
    // This machine's clock against the database's: only PostgreSQL instances run on several machines' clocks.
    const clock = find(report, 'clock');
    if (pipes.db.database.kind === 'postgres') {
      assert.equal(clock.status, 'pass', clock.message);
      assert.match(
        clock.message,
        /^This machine's clock is \d+\.\d s (ahead of|behind) the database server's\.$/,
      );
    } else {
      assert.equal(clock.status, 'skip', clock.message);
    }
    const webhook = report.checks.find((c) => c.id.startsWith('webhook:'));
    assert.equal(webhook?.status, 'pass', webhook?.message);
    assert.equal(report.summary.fail, 0);

    const ping = receiver.received.at(-1)!;
    assert.equal(ping.headers['pipes-doctor'], 'ping');
    assert.equal((JSON.parse(ping.body) as { event: string }).event, 'pipes.doctor.ping');
    verifyWorkOS({
      secret: webhookSecret,
      header: String(ping.headers['workos-signature']),
      body: ping.body,
      nowMs: Date.now(),
    });
    // The official SDK's verifier accepts it, as a receiver written against WorkOS would.
    const parsed = await sdkFor(pipes, pipes.sandboxKey).webhooks.constructEvent({
      payload: JSON.parse(ping.body),
      sigHeader: String(ping.headers['workos-signature']),
      secret: webhookSecret,
    });
    assert.equal((parsed as { event: string }).event, 'pipes.doctor.ping');
    const events = await api(pipes, 'GET', '/events?events=pipes.connected_account.connected', {
      key: pipes.sandboxKey,
    });
    assert.deepEqual(events.json.data, [], 'the ping is not an event');

    const text = await doctor(['--api-key', pipes.sandboxKey]);
    assert.equal(text.code, 0);
    assert.match(
      text.stdout,
      /^PASS {2}Public URL +http:\/\/127\.0\.0\.1:\d+ reaches this Pipes installation\.$/m,
    );
    assert.match(text.stdout, /passed, 0 warnings, 0 failed/);
    assert.ok(!text.stdout.includes(pipes.sandboxKey), 'the key is never printed whole');
  });

  test('a PIPES_PUBLIC_URL that reaches another Pipes on loopback fails, with the fix', async () => {
    const other = await startPublicTestPipes();
    try {
      const { code, report } = await doctorJson([], { PIPES_PUBLIC_URL: other.config.publicUrl });
      assert.equal(code, 1);
      const check = find(report, 'public_url');
      assert.equal(check.status, 'fail');
      assert.match(check.message, /another installation/);
      assert.match(check.fix ?? '', /Set PIPES_PUBLIC_URL to the URL browsers and providers use/);
      assert.equal(find(report, 'callback_route').status, 'skip');
      const text = await doctor([], { PIPES_PUBLIC_URL: other.config.publicUrl });
      assert.equal(text.code, 1);
      assert.match(text.stdout, /^FAIL {2}Public URL .*another installation/m);
      assert.match(text.stdout, /^ +Fix: Set PIPES_PUBLIC_URL/m);
    } finally {
      await other.close();
    }
  });

  test('a PIPES_PUBLIC_URL on a server that is not Pipes, or on nothing, fails too', async () => {
    const impostor = await startServer(({ url }) =>
      url === '/health' ? { status: 200, body: '{"status":"ok"}' } : { status: 404 },
    );
    try {
      const notPipes = await doctorJson([], { PIPES_PUBLIC_URL: impostor.url });
      assert.equal(notPipes.code, 1);
      assert.match(find(notPipes.report, 'public_url').message, /another server/);
    } finally {
      await impostor.close();
    }
    const nothing = await doctorJson([], { PIPES_PUBLIC_URL: `http://127.0.0.1:${await reservePort()}` });
    assert.equal(nothing.code, 1);
    assert.match(find(nothing.report, 'public_url').message, /Nothing answers .*connection refused/);
  });

  test('an enabled provider with no credentials fails with what to do', async () => {
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: { provider: 'github', enabled: true },
    });
    assert.equal(created.status, 201, created.text);
    try {
      const { code, report } = await doctorJson([]);
      assert.equal(code, 1);
      const github = find(report, 'provider:sandbox:github');
      assert.equal(github.status, 'fail');
      assert.match(github.message, /credentials_missing/);
      assert.match(github.fix ?? '', /PUT \/data-integrations\/github \{"credentials": \{"type": "custom"/);
      assert.equal(find(report, 'provider:sandbox:sandbox').status, 'pass');
      const text = await doctor([]);
      assert.match(text.stdout, /^FAIL {2}Provider github \(sandbox\) +Inactive \(credentials_missing\)\.$/m);
    } finally {
      await api(pipes, 'DELETE', '/data-integrations/github', { key: pipes.sandboxKey });
    }
  });

  test('API keys: malformed, unknown and revoked keys fail; the key comes from flags or environment', async () => {
    const malformed = await doctorJson([], { PIPES_API_KEY: 'sk_test_not-a-key' });
    assert.equal(find(malformed.report, 'api_key').status, 'fail');
    assert.match(find(malformed.report, 'api_key').message, /not a Pipes API key/);
    const other = await startPublicTestPipes();
    try {
      const unknown = await doctorJson([], { WORKOS_API_KEY: other.sandboxKey });
      assert.match(find(unknown.report, 'api_key').message, /not a key of this installation/);
    } finally {
      await other.close();
    }
    const created = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 'old' },
    });
    await api(pipes, 'DELETE', `/pipes/api-keys/${created.json.id}`, { key: pipes.sandboxKey });
    const revoked = await doctorJson(['--api-key', created.json.key]);
    assert.equal(revoked.code, 1);
    assert.match(find(revoked.report, 'api_key').message, /was revoked at/);
    assert.match(find(revoked.report, 'api_key').fix ?? '', /pipes keys create --env sandbox/);
    const none = await doctorJson([]);
    assert.equal(find(none.report, 'api_key').status, 'skip');
  });

  test('a wrong master key, a bad configuration and a missing database are caught', async () => {
    const wrongKey = await doctorJson([], { PIPES_MASTER_KEY: generateMasterKey() });
    assert.equal(wrongKey.code, 1);
    assert.equal(find(wrongKey.report, 'master_key').status, 'fail');
    assert.match(find(wrongKey.report, 'master_key').message, /None of the configured master keys/);

    const badConfig = await doctorJson([], { PIPES_PUBLIC_URL: 'not a url' });
    assert.equal(badConfig.code, 1);
    assert.equal(find(badConfig.report, 'config').status, 'fail');
    assert.match(find(badConfig.report, 'config').message, /PIPES_PUBLIC_URL/);

    const empty = mkdtempSync(path.join(temp, 'empty-'));
    const missing = await doctorJson(
      [],
      pipes.db.database.kind === 'sqlite'
        ? { PIPES_DATA_DIR: empty }
        : { DATABASE_URL: `postgres://nobody@127.0.0.1:${await reservePort()}/none` },
    );
    assert.equal(missing.code, 1);
    assert.equal(find(missing.report, 'database').status, 'fail');
    assert.match(find(missing.report, 'database').message, /No database at|does not answer/);
  });

  test('--app: the example app passes; a wrong client id, an old SDK and a WorkOS-bound app fail', async () => {
    const appDir = path.join(temp, 'app');
    mkdirSync(path.join(appDir, 'node_modules', '@workos-inc'), { recursive: true });
    symlinkSync(
      path.resolve(import.meta.dirname, '../../node_modules/@workos-inc/node'),
      path.join(appDir, 'node_modules', '@workos-inc', 'node'),
    );
    const environments = await pipes.server.ctx.store.db
      .selectFrom('environments')
      .select(['name', 'client_id'])
      .execute();
    const clientOf = (name: string) => environments.find((e) => e.name === name)!.client_id;
    writeFileSync(path.join(appDir, '.env'), `# the app's settings\nWORKOS_API_KEY=${pipes.sandboxKey}\n`);
    writeFileSync(path.join(appDir, '.env.local'), `export WORKOS_CLIENT_ID="${clientOf('sandbox')}"\n`);
    writeFileSync(path.join(appDir, '.env.example'), 'WORKOS_API_KEY=sk_test_placeholder\n');
    const app: ConnectApp = await startConnectApp({
      pipesUrl: pipes.config.publicUrl,
      apiKey: pipes.sandboxKey,
      port: 0,
    });
    try {
      const good = await doctorJson(['--app', appDir, '--app-url', app.url]);
      assert.equal(
        good.code,
        0,
        JSON.stringify(
          good.report.checks.filter((c) => c.status !== 'pass'),
          null,
          2,
        ),
      );
      assert.match(
        find(good.report, 'app_api_key').message,
        /WORKOS_API_KEY in \.env\) is a live key of the sandbox/,
      );
      assert.equal(find(good.report, 'app_client_id').status, 'pass');
      assert.match(find(good.report, 'app_sdk').message, /@workos-inc\/node 11\./);
      assert.match(
        find(good.report, 'app_connect_route').message,
        /redirects to a connect link of this Pipes/,
      );

      writeFileSync(path.join(appDir, '.env.local'), `WORKOS_CLIENT_ID=${clientOf('production')}\n`);
      const wrongClient = await doctorJson(['--app', appDir]);
      assert.equal(wrongClient.code, 1);
      const client = find(wrongClient.report, 'app_client_id');
      assert.match(
        client.message,
        /is the production environment's client id, but the API key belongs to sandbox/,
      );
      assert.equal(
        client.fix,
        `Set WORKOS_CLIENT_ID=${clientOf('sandbox')}, or use a key of the environment the client id names.`,
      );
      assert.equal(find(wrongClient.report, 'app_connect_route').status, 'skip');
    } finally {
      await app.close();
    }

    const oldApp = path.join(temp, 'old-app');
    mkdirSync(path.join(oldApp, 'node_modules', '@workos-inc', 'node'), { recursive: true });
    writeFileSync(
      path.join(oldApp, 'node_modules', '@workos-inc', 'node', 'package.json'),
      '{"name":"@workos-inc/node","version":"7.2.0"}',
    );
    writeFileSync(
      path.join(oldApp, '.env'),
      `PIPES_API_KEY=${pipes.sandboxKey}\nPIPES_CLIENT_ID=${clientOf('sandbox')}\n`,
    );
    const workosBound = await startServer(() => ({
      status: 302,
      headers: { location: 'https://api.workos.com/data-integrations/abc/authorize-redirect' },
    }));
    try {
      const old = await doctorJson([
        '--app',
        oldApp,
        '--app-url',
        workosBound.url,
        '--connect-path',
        '/integrations/connect',
      ]);
      assert.equal(old.code, 1);
      assert.match(find(old.report, 'app_sdk').message, /7\.2\.0 is too old/);
      assert.equal(find(old.report, 'app_api_key').status, 'pass');
      assert.equal(find(old.report, 'app_client_id').status, 'pass');
      const route = find(old.report, 'app_connect_route');
      assert.equal(route.status, 'fail');
      assert.match(route.message, /\/integrations\/connect redirects to WorkOS/);
      assert.equal(workosBound.received.length, 1);
    } finally {
      await workosBound.close();
    }

    const bare = mkdtempSync(path.join(tmpdir(), 'pipes-doctor-bare-'));
    try {
      const nothing = await doctorJson(['--app', bare]);
      assert.equal(nothing.code, 1);
      assert.match(
        find(nothing.report, 'app_api_key').message,
        /No WORKOS_API_KEY or PIPES_API_KEY .*no \.env file/,
      );
      assert.match(find(nothing.report, 'app_sdk').message, /not installed/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('usage: --help, a missing --app directory and a bad --timeout', async () => {
    const help = await doctor(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pipes doctor/);
    const missing = await doctor(['--app', path.join(temp, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such directory/);
    const timeout = await doctor(['--timeout', 'soon']);
    assert.equal(timeout.code, 2);
  });
});
