import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { DashboardClient, launchChromium, newContext, OPERATOR, seedOperator, signIn } from './helpers.ts';

const MINUTE = 60_000;

/** The sign-in answer's message, whatever the reason: one text for all. */
const problemOf = (html: string) =>
  /<div class="problem" role="alert">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';

/** D4 (session fixation, cookie flags, sign-out, timeouts) and D8 (brute force, no user enumeration). */
describe('dashboard sessions (D4)', () => {
  let pipes: TestPipes;
  const clock = new ManualClock(Date.parse('2026-03-01T09:00:00.000Z'));

  before(async () => {
    pipes = await startPublicTestPipes({ clock });
    await seedOperator(pipes);
  });
  after(() => pipes?.close());

  const client = () => new DashboardClient(pipes.config.publicUrl);

  test('a new session id at sign-in: a planted id is never adopted, and the old one stops working', async () => {
    const browser = client();
    const planted = randomBytes(32).toString('base64url');
    browser.jar.set('pipes_session', planted);
    const signedIn = await browser.signIn(OPERATOR.email, OPERATOR.password);
    assert.equal(signedIn.status, 303);
    const first = browser.jar.get('pipes_session')!;
    assert.notEqual(first, planted);
    assert.equal((await browser.request('/dashboard/providers')).status, 200);
    // Signing in again in the same browser issues another id and ends the previous session.
    browser.jar.delete('pipes_session');
    const form = await browser.request('/dashboard/sign-in');
    const token = /name="_signin" value="([^"]+)"/.exec(form.text)![1]!;
    browser.jar.set('pipes_session', first);
    const again = await browser.request('/dashboard/sign-in', {
      form: { _signin: token, email: OPERATOR.email, password: OPERATOR.password },
    });
    assert.equal(again.status, 303);
    const second = browser.jar.get('pipes_session')!;
    assert.notEqual(second, first);
    const stale = client();
    stale.jar.set('pipes_session', first);
    const refused = await stale.request('/dashboard/providers');
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.get('location'), '/dashboard/sign-in?notice=expired');
    // The database holds a digest, never the id itself.
    const rows = await pipes.server.ctx.store.db.selectFrom('operator_sessions').selectAll().execute();
    assert.ok(rows.every((row) => row.id_hash !== second && row.id_hash !== first));
  });

  test('cookie flags on http://localhost-style development: pipes_session, HttpOnly, SameSite=Lax, no Secure', async () => {
    const browser = client();
    await browser.signIn(OPERATOR.email, OPERATOR.password);
    const line = browser.setCookies.find((l) => l.startsWith('pipes_session='))!;
    assert.match(line, /^pipes_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const chromium = await launchChromium();
    try {
      const context = await newContext(chromium);
      const page = await context.newPage();
      await signIn(page, pipes);
      const cookie = (await context.cookies()).find((c) => c.name === 'pipes_session')!;
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      assert.equal(await page.evaluate('document.cookie'), '', 'no script can read the session cookie');
    } finally {
      await chromium.close();
    }
  });

  test('sign-out deletes the session on the server; replaying its cookie does not work', async () => {
    const browser = client();
    await browser.signIn(OPERATOR.email, OPERATOR.password);
    const id = browser.jar.get('pipes_session')!;
    const out = await browser.request('/dashboard/sign-out', { form: { _csrf: await browser.csrf() } });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/dashboard/sign-in?notice=signed_out');
    assert.ok(browser.setCookies.some((l) => /^pipes_session=; .*Max-Age=0/.test(l)));
    const replay = client();
    replay.jar.set('pipes_session', id);
    assert.equal((await replay.request('/dashboard/providers')).status, 303);
  });

  test('idle timeout (30 minutes without a request) and absolute timeout (12 hours)', async () => {
    const browser = client();
    await browser.signIn(OPERATOR.email, OPERATOR.password);
    clock.advance(29 * MINUTE);
    assert.equal(
      (await browser.request('/dashboard/providers')).status,
      200,
      'active within the idle window',
    );
    clock.advance(29 * MINUTE);
    assert.equal((await browser.request('/dashboard/providers')).status, 200, 'each request keeps it alive');
    clock.advance(31 * MINUTE);
    const idle = await browser.request('/dashboard/providers');
    assert.equal(idle.status, 303, 'idle for 31 minutes: signed out');

    const busy = client();
    await busy.signIn(OPERATOR.email, OPERATOR.password);
    for (let elapsed = 0; elapsed < 12 * 60 - 20; elapsed += 20) {
      clock.advance(20 * MINUTE);
      assert.equal((await busy.request('/dashboard/events')).status, 200, `alive after ${elapsed + 20} min`);
    }
    clock.advance(25 * MINUTE);
    const absolute = await busy.request('/dashboard/events');
    assert.equal(absolute.status, 303, 'past 12 hours: signed out however active');
    assert.equal(absolute.headers.get('location'), '/dashboard/sign-in?notice=expired');
  });

  test('with an https PIPES_PUBLIC_URL the cookie is __Host-pipes_session with Secure, and HSTS is sent', async () => {
    const origin = 'https://pipes.example.test';
    const https = await startTestPipes({ env: { PIPES_PUBLIC_URL: origin } });
    try {
      await seedOperator(https);
      const browser = new DashboardClient(https.url);
      const page = await browser.request('/dashboard/sign-in');
      assert.match(page.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      const signInCookie = browser.setCookies.find((l) => l.startsWith('__Host-pipes_signin='))!;
      assert.match(signInCookie, /; Secure/);
      const token = /name="_signin" value="([^"]+)"/.exec(page.text)![1]!;
      const answer = await browser.request('/dashboard/sign-in', {
        form: { _signin: token, email: OPERATOR.email, password: OPERATOR.password },
        origin,
      });
      assert.equal(answer.status, 303);
      const line = browser.setCookies.find((l) => l.startsWith('__Host-pipes_session='))!;
      assert.match(line, /^__Host-pipes_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
      assert.doesNotMatch(line, /Domain=/i, '__Host- cookies carry no Domain');
      // The http origin of the listener is not the public origin: its forms are refused.
      const wrongOrigin = await browser.request('/dashboard/sign-in', {
        form: { _signin: token, email: OPERATOR.email, password: OPERATOR.password },
      });
      assert.equal(wrongOrigin.status, 403);
    } finally {
      await https.close();
    }
  });
});

describe('dashboard sign-in throttling (D8)', () => {
  let pipes: TestPipes;
  const clock = new ManualClock(Date.parse('2026-03-01T09:00:00.000Z'));

  before(async () => {
    pipes = await startPublicTestPipes({ clock });
    await seedOperator(pipes);
  });
  after(() => pipes?.close());

  async function attempt(email: string, password: string) {
    const browser = new DashboardClient(pipes.config.publicUrl);
    const answer = await browser.signIn(email, password);
    return { status: answer.status, problem: problemOf(answer.text), html: answer.text };
  }

  test('after 5 bad passwords even the right one is refused for a while; messages never differ', async () => {
    const messages = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const bad = await attempt(OPERATOR.email, `wrong password ${i}`);
      assert.equal(bad.status, 401);
      messages.add(bad.problem);
    }
    const locked = await attempt(OPERATOR.email, OPERATOR.password);
    assert.equal(locked.status, 401, 'the right password is refused while locked');
    messages.add(locked.problem);
    for (let i = 0; i < 6; i++) {
      const unknown = await attempt('nobody@example.com', `wrong password ${i}`);
      assert.equal(unknown.status, 401);
      messages.add(unknown.problem);
    }
    assert.equal(messages.size, 1, 'one message for a wrong password, a locked account and an unknown email');
    assert.match([...messages][0]!, /Email or password is incorrect\./);
    const known = await attempt(OPERATOR.email, 'x');
    const unknown = await attempt('nobody@example.com', 'x');
    const normalise = (html: string, email: string) => html.replace(`value="${email}"`, 'value=""');
    assert.equal(
      normalise(known.html, OPERATOR.email).replace(/name="_signin" value="[^"]+"/, ''),
      normalise(unknown.html, 'nobody@example.com').replace(/name="_signin" value="[^"]+"/, ''),
      'the whole page is the same for a known and an unknown email',
    );

    clock.advance(61_000);
    assert.equal((await attempt(OPERATOR.email, OPERATOR.password)).status, 303, 'after the window it works');
  });

  test('100 guesses in a row are slowed to a handful of password checks; the lock grows each time', async () => {
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      const answer = await attempt(OPERATOR.email, `guess ${i}`);
      assert.equal(answer.status, 401);
      refused++;
    }
    assert.equal(refused, 100);
    const row = await pipes.server.ctx.store.db.selectFrom('login_throttle').selectAll().execute();
    const account = row.find((r) => r.key.startsWith('account:'))!;
    assert.equal(
      account.failures,
      5,
      'only 5 guesses reached the password check; the rest were refused unseen',
    );
    assert.ok(!row.some((r) => r.key.includes('ada@example.com')), 'keys hold no email in clear');
    clock.advance(61_000);
    assert.equal((await attempt(OPERATOR.email, 'one more guess')).status, 401);
    assert.equal((await attempt(OPERATOR.email, OPERATOR.password)).status, 401, 'locked again, for longer');
    clock.advance(2 * 61_000);
    assert.equal((await attempt(OPERATOR.email, OPERATOR.password)).status, 303);
  });

  test('password spraying from one address: 30 attempts over many emails lock the address', async () => {
    for (let i = 0; i < 30; i++) {
      assert.equal((await attempt(`user${i}@example.com`, 'Spring2026!')).status, 401);
    }
    assert.equal(
      (await attempt(OPERATOR.email, OPERATOR.password)).status,
      401,
      'the address is locked, even for a right password',
    );
    clock.advance(61_000);
    assert.equal((await attempt(OPERATOR.email, OPERATOR.password)).status, 303);
  });
});
