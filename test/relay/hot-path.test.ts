import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PipesError } from '../../src/errors.ts';
import { placeCredential } from '../../src/relay/credential.ts';
import { Deadlines, type Expiring } from '../../src/relay/deadlines.ts';
import { appendResponseHeaders, buildRequestHeaders, ExtraHeaders } from '../../src/relay/relay-headers.ts';
import { ReplyBatch } from '../../src/relay/reply-batch.ts';
import { testProvider } from './helpers.ts';

/**
 * The pieces the relay's hot path was rebuilt from (flat header arrays, one shared timeout timer, one scan needle per
 * credential when one suffices): each must keep the rules of what it replaced.
 */
const pairs = (flat: string[]) => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

/** The headers the provider would get, as pairs. */
const forwarded = (...args: Parameters<typeof buildRequestHeaders>) => pairs(buildRequestHeaders(...args));

describe('relay request headers', () => {
  const extras = new ExtraHeaders().of(
    testProvider('gh', 'https://api.example.com', {
      extra_headers: { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
    }),
  );

  test('the caller overrides a provider default, the credential always wins, hop-by-hop and Pipes-* go', () => {
    const out = forwarded(
      {
        'x-github-api-version': ' 2024-01-01 ',
        authorization: 'Bearer caller',
        connection: 'x-secret-hop',
        'x-secret-hop': 'dropped',
        'pipes-user-id': 'user_1',
        'x-forwarded-for': '10.0.0.1',
        'x-note': 'kept',
      },
      extras,
      ['authorization', 'Bearer stored'],
    );
    assert.deepEqual(out, [
      ['x-github-api-version', '2024-01-01'],
      ['x-note', 'kept'],
      ['accept', 'application/vnd.github+json'],
      // Named by neither side: identity, so that no answer comes in a coding the relay cannot scan.
      ['accept-encoding', 'identity'],
      ['authorization', 'Bearer stored'],
    ]);
  });

  test("fetch's default catch-all Accept does not replace the provider's, a real choice does", () => {
    const accept = (value: string) =>
      forwarded({ accept: value }, extras, undefined).find(([name]) => name === 'accept')?.[1];
    assert.equal(accept('*/*'), 'application/vnd.github+json');
    assert.equal(accept('text/plain'), 'text/plain');
  });

  test('a credential header named like a provider default replaces it; values are trimmed, repeats joined', () => {
    const provider = testProvider('k', 'https://api.example.com', {
      extra_headers: { 'X-Api-Key': 'default' },
    });
    const out = forwarded(
      { 'x-tag': ['a ', ' b'], 'x-nbsp': '\u00a0v\t', 'x-utf': 'é' },
      new ExtraHeaders().of(provider),
      ['x-api-key', 'Key secret'],
    );
    assert.deepEqual(out, [
      ['x-tag', 'a, b'],
      ['x-nbsp', 'v'],
      ['x-utf', 'é'],
      ['accept-encoding', 'identity'],
      ['x-api-key', 'Key secret'],
    ]);
  });

  test('a control character in any header, even one that would be dropped, fails the request', () => {
    for (const headers of [
      { 'x-note': 'a\u0001b' },
      { cookie: 'a\u0000b' },
      { 'x-list': ['ok', 'b\u007f'] },
    ]) {
      assert.throws(
        () => buildRequestHeaders(headers, [], undefined),
        (error: unknown) => error instanceof PipesError && error.code === 'invalid_header',
      );
    }
  });
});

describe('relay response headers', () => {
  test('cookies, CORS, HSTS, hop-by-hop, Pipes-* and anything quoting the secret are dropped', () => {
    const out: string[] = ['kept-first', 'yes'];
    appendResponseHeaders(
      {
        'content-type': 'application/json',
        'set-cookie': ['a=1', 'b=2'],
        'access-control-allow-origin': '*',
        'strict-transport-security': 'max-age=1',
        connection: 'keep-alive, x-hop',
        'x-hop': 'dropped',
        'keep-alive': 'timeout=5',
        'pipes-upstream': 'false',
        'x-debug': 'you sent Bearer secret-token-123',
        'x-multi': ['accept', 'origin'],
        'x-bad': 'a\u0000b',
      },
      ['secret-token-123'],
      out,
    );
    assert.deepEqual(pairs(out), [
      ['kept-first', 'yes'],
      ['content-type', 'application/json'],
      ['x-multi', 'accept, origin'],
    ]);
  });
});

describe('credential scan needles', () => {
  const provider = (auth_style: 'bearer' | 'basic') =>
    testProvider('p', 'https://api.example.com', { auth_style });

  test('a header value containing the secret is found through the secret alone', () => {
    const placement = placeCredential(provider('bearer'), {
      accountId: 'a',
      authMethod: 'oauth',
      value: 'secret-token-123',
    });
    assert.deepEqual(placement.secrets, ['secret-token-123']);
    assert.deepEqual(placement.header, ['authorization', 'Bearer secret-token-123']);
  });

  test('Basic (base64) and secrets too short to scan keep the header value as a needle', () => {
    const basic = placeCredential(provider('basic'), {
      accountId: 'a',
      authMethod: 'oauth',
      value: 'secret-token-123',
    });
    assert.equal(basic.needles.length, 2);
    assert.ok(basic.secrets.includes(basic.header![1]));
    const short = placeCredential(provider('bearer'), { accountId: 'a', authMethod: 'oauth', value: 'abc' });
    assert.deepEqual(short.secrets, ['abc', 'Bearer abc']);
  });
});

describe('relay deadlines', () => {
  const entry = (expired: string[], name: string): Expiring => ({
    deadlineAt: 0,
    deadlinePrev: null,
    deadlineNext: null,
    expire: () => expired.push(name),
  });

  test('nothing expires before its deadline', () => {
    const deadlines = new Deadlines(60_000);
    const expired: string[] = [];
    deadlines.add(entry(expired, 'early'));
    deadlines.sweep();
    assert.deepEqual(expired, []);
    deadlines.close();
  });

  test('entries expire once, in the order they came; removed ones never do', async () => {
    const deadlines = new Deadlines(20);
    const expired: string[] = [];
    const removed = entry(expired, 'removed');
    deadlines.add(entry(expired, 'first'));
    deadlines.add(removed);
    deadlines.add(entry(expired, 'second'));
    deadlines.remove(removed);
    // The shared timer does the sweeping; wait for it rather than for a set time.
    for (let i = 0; i < 400 && expired.length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    deadlines.sweep();
    assert.deepEqual(expired, ['first', 'second']);
    deadlines.close();
  });

  test('removal from the head, the middle and the tail; a second removal and a re-add are safe', () => {
    const deadlines = new Deadlines(60_000);
    const expired: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => entry(expired, name)) as [
      Expiring,
      Expiring,
      Expiring,
      Expiring,
    ];
    for (const e of [a, b, c, d]) deadlines.add(e);
    deadlines.remove(b);
    deadlines.remove(b);
    deadlines.remove(a);
    deadlines.remove(d);
    // c is alone now, with no links left anywhere.
    assert.equal(c.deadlinePrev, null);
    assert.equal(c.deadlineNext, null);
    for (const e of [a, b, d]) assert.deepEqual([e.deadlinePrev, e.deadlineNext], [null, null]);
    deadlines.add(a);
    deadlines.add(c);
    // c was re-added: it now comes after a.
    assert.equal(a.deadlineNext, c);
    assert.equal(c.deadlinePrev, a);
    for (const e of [a, c]) e.deadlineAt = 0;
    deadlines.sweep();
    assert.deepEqual(expired, ['a', 'c']);
    deadlines.add(d);
    deadlines.remove(d);
    d.deadlineAt = 0;
    deadlines.sweep();
    assert.deepEqual(expired, ['a', 'c']);
    deadlines.close();
  });
});

describe('relay reply batch', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  test('replies wait for the end of the turn, go out in order, and a reply added while sending waits for the next', async () => {
    const batch = new ReplyBatch();
    const sent: string[] = [];
    const reply = (name: string, then?: () => void) => ({
      sendReply() {
        sent.push(name);
        then?.();
      },
    });
    batch.add(reply('a'));
    batch.add(reply('b', () => batch.add(reply('late'))));
    batch.add(reply('c'));
    assert.deepEqual(sent, []);
    await nextTurn();
    assert.deepEqual(sent, ['a', 'b', 'c']);
    await nextTurn();
    assert.deepEqual(sent, ['a', 'b', 'c', 'late']);
    // An empty batch has nothing scheduled, and a new reply schedules a new flush.
    batch.add(reply('again'));
    await nextTurn();
    assert.deepEqual(sent, ['a', 'b', 'c', 'late', 'again']);
  });
});
