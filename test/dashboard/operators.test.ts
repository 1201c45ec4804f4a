import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueSetupToken } from '../../src/dashboard/auth/setup-token.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import type { TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { DashboardClient } from './helpers.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/pipes.js');

/** Runs the real `pipes` binary with `input` on standard input. */
function pipesCli(args: string[], env: Record<string, string>, input?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'silent', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('the first operator: the one-time set-up link', () => {
  let pipes: TestPipes;
  const clock = new ManualClock(Date.parse('2026-03-01T09:00:00.000Z'));

  before(async () => {
    pipes = await startPublicTestPipes({ clock });
  });
  after(() => pipes?.close());

  const db = () => pipes.server.ctx.store.db;

  test('expires after an hour', async () => {
    const token = (await issueSetupToken(db(), clock.now()))!;
    const browser = new DashboardClient(pipes.config.publicUrl);
    assert.equal((await browser.request(`/dashboard/setup/${token}`)).status, 200);
    clock.advance(61 * 60_000);
    const expired = await browser.request(`/dashboard/setup/${token}`);
    assert.equal(expired.status, 404);
    assert.match(expired.text, /This set-up link is not valid/);
    assert.match(expired.text, /npx pipes operators create/);
  });

  test('creates the first operator once, signs them in, and then works no more', async () => {
    const token = (await issueSetupToken(db(), clock.now()))!;
    assert.equal(
      (await db().selectFrom('settings').select('value').execute()).some((r) => r.value.includes(token)),
      false,
    );
    const browser = new DashboardClient(pipes.config.publicUrl);
    const form = await browser.request(`/dashboard/setup/${token}`);
    assert.equal(form.status, 200);
    assert.match(form.text, /Create the first operator/);
    const formToken = /name="_signin" value="([^"]+)"/.exec(form.text)![1]!;
    const short = await browser.request(`/dashboard/setup/${token}`, {
      form: { _signin: formToken, email: 'grace@example.com', password: 'short', confirm: 'short' },
    });
    assert.equal(short.status, 422);
    assert.match(short.text, /at least 12 characters/);
    const mismatch = await browser.request(`/dashboard/setup/${token}`, {
      form: {
        _signin: formToken,
        email: 'grace@example.com',
        password: 'a long passphrase',
        confirm: 'another one!',
      },
    });
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.text, /The two passwords differ/);
    const created = await browser.request(`/dashboard/setup/${token}`, {
      form: {
        _signin: formToken,
        email: 'Grace@Example.com',
        password: 'a long passphrase',
        confirm: 'a long passphrase',
      },
    });
    assert.equal(created.status, 303);
    assert.equal(created.headers.get('location'), '/dashboard/providers');
    assert.equal((await browser.request('/dashboard/providers')).status, 200, 'signed in');
    const operator = await db().selectFrom('operators').selectAll().executeTakeFirstOrThrow();
    assert.equal(operator.email, 'grace@example.com');
    assert.match(operator.password_hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);

    const reuse = await new DashboardClient(pipes.config.publicUrl).request(`/dashboard/setup/${token}`);
    assert.equal(reuse.status, 404, 'single use');
    assert.equal(await issueSetupToken(db(), clock.now()), null, 'no new link once an operator exists');
    const login = await new DashboardClient(pipes.config.publicUrl).signIn(
      'grace@example.com',
      'a long passphrase',
    );
    assert.equal(login.status, 303);
  });
});

describe('pipes operators create | list | delete', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  test('creates with --password-stdin, lists, refuses a weak or duplicate one, deletes and ends sessions', async () => {
    const help = await pipesCli(['operators', '--help'], db.env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pipes operators/);
    const created = await pipesCli(
      ['operators', 'create', '--email', 'ada@example.com', '--password-stdin'],
      db.env,
      'correct horse battery staple\n',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created operator ada@example.com \(operator_[0-9A-Z]{26}\)/);
    assert.ok(!created.stdout.includes('correct horse'), 'the password is never printed');

    const weak = await pipesCli(
      ['operators', 'create', '--email', 'bob@example.com', '--password-stdin'],
      db.env,
      'short\n',
    );
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /at least 12 characters/);
    const noTty = await pipesCli(['operators', 'create', '--email', 'bob@example.com'], db.env);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /--password-stdin/);
    const duplicate = await pipesCli(
      ['operators', 'create', '--email', 'ADA@example.com', '--password-stdin'],
      db.env,
      'another long password',
    );
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);

    const list = await pipesCli(['operators', 'list'], db.env);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /operator_[0-9A-Z]{26} {2}ada@example\.com {2}created .* never signed in/);

    // The operator signs in to a server on the same database; deleting them ends that session at once.
    const pipes = await startPublicTestPipes({ db });
    try {
      const browser = new DashboardClient(pipes.config.publicUrl);
      assert.equal((await browser.signIn('ada@example.com', 'correct horse battery staple')).status, 303);
      assert.equal((await browser.request('/dashboard/providers')).status, 200);
      const deleted = await pipesCli(['operators', 'delete', 'ada@example.com'], db.env);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.match(deleted.stdout, /Deleted operator ada@example.com/);
      assert.equal((await browser.request('/dashboard/providers')).status, 303);
      const gone = await pipesCli(['operators', 'delete', 'ada@example.com'], db.env);
      assert.equal(gone.code, 1);
    } finally {
      await pipes.close();
    }
  });
});
