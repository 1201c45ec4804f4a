import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server.ts';
import { runPipes } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { api } from '../helpers/pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';

describe('pipes CLI', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  test('--help everywhere, and a usage error exits 2 with an actionable message', async () => {
    const main = await runPipes(['--help'], db.env);
    assert.equal(main.code, 0);
    for (const command of ['serve', 'init', 'keys', 'environments', 'migrate'])
      assert.match(main.stdout, new RegExp(command));
    for (const command of ['serve', 'init', 'keys', 'migrate', 'environments']) {
      const help = await runPipes([command, '--help'], db.env);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`Usage: pipes ${command}`));
    }
    const unknown = await runPipes(['frobnicate'], db.env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate".*pipes --help/s);
    const noEnv = await runPipes(['keys', 'create'], db.env);
    assert.equal(noEnv.code, 2);
    assert.match(noEnv.stderr, /Missing --env/);
    const badEnv = await runPipes(['keys', 'list', '--env', 'staging'], db.env);
    assert.equal(badEnv.code, 1);
    assert.match(badEnv.stderr, /No environment named "staging". Environments: .*sandbox/);
  });

  test('init and keys create print keys that the real SDK can use; list shows last 4; revoke stops a key', async () => {
    const init = await runPipes(['init'], db.env);
    assert.equal(init.code, 0, init.stderr);
    const initKey = /(sk_test_[0-9A-Za-z]{49})/.exec(init.stdout)?.[1];
    assert.ok(initKey, init.stdout);
    const created = await runPipes(['keys', 'create', '--env', 'production', '--name', 'deploy'], db.env);
    assert.equal(created.code, 0, created.stderr);
    const liveKey = /(sk_live_[0-9A-Za-z]{49})/.exec(created.stdout)?.[1];
    assert.ok(liveKey);
    if (db.database.kind === 'sqlite') {
      assert.equal(statSync(path.join(db.dataDir, 'master.key')).mode & 0o777, 0o600);
    }

    const config = loadConfig({ ...db.env, PORT: '0', LOG_LEVEL: 'silent' });
    const server = await startServer(config, { log: createLogger('silent') });
    try {
      const pipes = { url: server.url, port: Number(new URL(server.url).port) };
      for (const key of [initKey, liveKey]) {
        const workos = sdkFor(pipes, key);
        // A key the SDK can use: the call is authenticated and reaches the (missing) object.
        await assert.rejects(workos.pipes.getDataIntegration({ slug: 'missing' }), { status: 404 });
      }
      const list = await runPipes(['keys', 'list', '--env', 'sandbox'], db.env);
      assert.match(list.stdout, new RegExp(`…${initKey.slice(-4)}`));
      assert.ok(!list.stdout.includes(initKey), 'the full key is never listed');
      const revoke = await runPipes(['keys', 'revoke', '--env', 'sandbox', initKey.slice(-4)], db.env);
      assert.equal(revoke.code, 0, revoke.stderr);
      assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: initKey })).status, 401);
      assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: liveKey })).status, 200);
    } finally {
      await server.close();
    }
  });

  test('an invalid configuration stops the start with a message naming the variable', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /PORT: expected a port number/],
      [{ PORT: '70000' }, /PORT: expected a port between 0 and 65535/],
      [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: expected a postgres:\/\/ URL/],
      [{ PIPES_PUBLIC_URL: 'not a url' }, /PIPES_PUBLIC_URL: expected an absolute http\(s\) URL/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: expected one of/],
      [
        { NODE_ENV: 'production', PIPES_PUBLIC_URL: 'https://pipes.example.com' },
        /PIPES_MASTER_KEY: required in production/,
      ],
      [
        { NODE_ENV: 'production', PIPES_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') },
        /PIPES_PUBLIC_URL: .* is not https/,
      ],
      [{ PIPES_MASTER_KEY: 'too-short' }, /PIPES_MASTER_KEY/],
      [
        { PIPES_BOOTSTRAP_API_KEY: 'sk_test_hello' },
        /PIPES_BOOTSTRAP_API_KEY is not a well-formed Pipes key/,
      ],
      [{ PIPES_CONFIG_FILE: '/nonexistent/pipes.json' }, /PIPES_CONFIG_FILE: cannot read/],
    ];
    for (const [env, message] of cases) {
      const fresh = await createTestDatabase();
      try {
        const result = await runPipes(['serve'], { ...fresh.env, PORT: '0', ...env });
        assert.equal(result.code, 1, `${JSON.stringify(env)}: ${result.stderr}`);
        assert.match(result.stderr, message);
        assert.ok(!result.stderr.includes('too-short'), 'a bad key value is not echoed');
      } finally {
        await fresh.drop();
      }
    }
  });

  test('a wrong master key is refused at start, before anything is decrypted (V3)', async () => {
    const fresh = await createTestDatabase();
    try {
      const keyA = Buffer.alloc(32, 1).toString('base64');
      const keyB = Buffer.alloc(32, 2).toString('base64');
      assert.equal((await runPipes(['migrate'], { ...fresh.env, PIPES_MASTER_KEY: keyA })).code, 0);
      assert.equal((await runPipes(['init'], { ...fresh.env, PIPES_MASTER_KEY: keyA })).code, 0);
      const wrong = await runPipes(['keys', 'list', '--env', 'sandbox'], {
        ...fresh.env,
        PIPES_MASTER_KEY: keyB,
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /None of the configured master keys/);
      assert.ok(!wrong.stderr.includes(keyA) && !wrong.stderr.includes(keyB));
      const right = await runPipes(['keys', 'list', '--env', 'sandbox'], {
        ...fresh.env,
        PIPES_MASTER_KEY: keyA,
      });
      assert.equal(right.code, 0, right.stderr);
    } finally {
      await fresh.drop();
    }
  });
});
