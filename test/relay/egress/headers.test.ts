import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PipesError } from '../../../src/errors.ts';
import { hasForbiddenValueChar, isHeaderToken } from '../../../src/relay/egress/headers.ts';
import { filterRequestHeaders, filterResponseHeaders } from '../../../src/relay/egress/index.ts';

const plain = (record: Record<string, string>): Record<string, string> => ({ ...record });

describe('filterRequestHeaders', () => {
  // P7.
  test('drops credentials, routing, hop-by-hop and connection-named headers', () => {
    const out = filterRequestHeaders({
      Authorization: 'Bearer sk_caller',
      Cookie: 'session=1',
      Host: 'evil.test',
      'Proxy-Authorization': 'Basic eA==',
      'Proxy-Connection': 'keep-alive',
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Host': 'evil.test',
      Forwarded: 'for=127.0.0.1',
      'X-Real-IP': '127.0.0.1',
      Connection: 'close, X-Secret',
      'X-Secret': 'hidden',
      'Keep-Alive': 'timeout=5',
      TE: 'trailers',
      Trailer: 'X-Checksum',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'websocket',
      'Content-Length': '12',
      Expect: '100-continue',
      'Pipes-Connection-Id': 'conn_1',
      'X-Api-Key': 'caller-key',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'X-Request-Id': 'abc',
    });
    assert.deepEqual(plain(out), {
      accept: 'application/json',
      'content-type': 'application/json',
      'x-request-id': 'abc',
    });
  });

  test('accepts Headers, tuple lists and Node-style arrays; joins repeats', () => {
    const fromHeaders = filterRequestHeaders(new Headers({ Accept: 'a', Authorization: 'x' }));
    assert.deepEqual(plain(fromHeaders), { accept: 'a' });
    const fromTuples = filterRequestHeaders([
      ['X-Tag', 'one'],
      ['x-tag', 'two'],
    ]);
    assert.deepEqual(plain(fromTuples), { 'x-tag': 'one, two' });
    const fromNode = filterRequestHeaders({
      'x-tag': ['one', 'two'],
      'x-skip': undefined,
      connection: ['a', 'x-tag'],
    });
    assert.deepEqual(plain(fromNode), {});
  });

  test('applies an allowlist after the deny rules', () => {
    const out = filterRequestHeaders(
      { Accept: 'a', 'X-Other': 'b', Authorization: 'c', 'Content-Type': 'd' },
      { allow: ['accept', 'Authorization', 'content-type'] },
    );
    assert.deepEqual(plain(out), { accept: 'a', 'content-type': 'd' });
    assert.deepEqual(plain(filterRequestHeaders({ Accept: 'a', 'X-Drop': 'b' }, { drop: ['x-drop'] })), {
      accept: 'a',
    });
  });

  // P8.
  for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\u0000b', 'a\u001bb', 'a\u007fb']) {
    test(`rejects value ${JSON.stringify(value)} with invalid_header, without echoing it`, () => {
      assert.throws(
        () => filterRequestHeaders({ 'X-Note': value }),
        (e: unknown) =>
          e instanceof PipesError &&
          e.code === 'invalid_header' &&
          e.status === 400 &&
          e.message.includes('x-note') &&
          !e.message.includes(value),
      );
    });
  }

  test('rejects bad values even in headers that would be dropped', () => {
    assert.throws(() => filterRequestHeaders({ Authorization: 'Bearer x\r\nHost: y' }), PipesError);
  });

  test('rejects malformed names', () => {
    for (const name of ['X Bad', 'X:Bad', '', 'X\r\nY']) {
      assert.throws(
        () => filterRequestHeaders([[name, 'v']]),
        (e: unknown) => e instanceof PipesError && e.code === 'invalid_header',
        JSON.stringify(name),
      );
    }
  });

  test('allows tabs inside values and treats __proto__ as an ordinary header', () => {
    const out = filterRequestHeaders([
      ['X-Tab', 'a\tb'],
      ['__proto__', 'p'],
    ]);
    assert.equal(out['x-tab'], 'a\tb');
    assert.equal(Object.getPrototypeOf(out), null);
    assert.deepEqual(Object.entries(out), [
      ['x-tab', 'a\tb'],
      ['__proto__', 'p'],
    ]);
  });
});

describe('filterResponseHeaders', () => {
  // P9.
  test('drops cookies, CORS, hop-by-hop, proxy and transport-policy headers', () => {
    const out = filterResponseHeaders({
      'set-cookie': ['a=1', 'b=2'],
      'Set-Cookie2': 'c=3',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Credentials': 'true',
      Connection: 'keep-alive, X-Hop',
      'X-Hop': 'secret',
      'Keep-Alive': 'timeout=5',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'h2c',
      'Proxy-Authenticate': 'Basic',
      'Alt-Svc': 'h3=":443"',
      'Strict-Transport-Security': 'max-age=1',
      'Clear-Site-Data': '"cookies"',
      'Content-Type': 'application/json',
      'X-RateLimit-Remaining': '42',
      ETag: '"v1"',
    });
    assert.deepEqual(plain(out), {
      'content-type': 'application/json',
      'x-ratelimit-remaining': '42',
      etag: '"v1"',
    });
  });

  test('drops malformed provider headers instead of failing', () => {
    const out = filterResponseHeaders([
      ['X-Bad', 'a\r\nb'],
      ['Bad Name', 'v'],
      ['X-Good', 'ok'],
    ]);
    assert.deepEqual(plain(out), { 'x-good': 'ok' });
  });

  test('honours extra drops', () => {
    assert.deepEqual(
      plain(filterResponseHeaders({ 'Content-Length': '3', Vary: 'Accept' }, { drop: ['content-length'] })),
      {
        vary: 'Accept',
      },
    );
  });
});

describe('header character checks', () => {
  // The hand-written loops replace these regular expressions (RFC 9110 `token`; C0 controls but HTAB, and DEL) on
  // the hot path: they must agree with them on every character, alone and inside a longer string.
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;

  test('agree with the RFC 9110 token and control-character rules on every character up to U+03FF', () => {
    let tokens = 0;
    let forbidden = 0;
    for (let code = 0; code <= 0x3ff; code++) {
      const char = String.fromCharCode(code);
      for (const sample of [char, `x-${char}`, `${char}-y`]) {
        assert.equal(isHeaderToken(sample), TOKEN.test(sample), `token ${JSON.stringify(sample)}`);
        assert.equal(
          hasForbiddenValueChar(sample),
          FORBIDDEN.test(sample),
          `value ${JSON.stringify(sample)}`,
        );
      }
      if (isHeaderToken(char)) tokens++;
      if (hasForbiddenValueChar(char)) forbidden++;
    }
    // 77 tchars (15 symbols, 10 digits, 52 letters); 32 controls without HTAB, plus DEL.
    assert.equal(tokens, 77);
    assert.equal(forbidden, 32);
  });

  test('an empty name is not a token; an empty value is clean', () => {
    assert.equal(isHeaderToken(''), false);
    assert.equal(hasForbiddenValueChar(''), false);
  });
});
