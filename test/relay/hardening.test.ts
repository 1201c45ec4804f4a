import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRelayFetch, type RelayFetchOptions } from '../../src/relay/client.ts';
import { placeCredential } from '../../src/relay/credential.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import type { TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import {
  bodyOf,
  type FakeProvider,
  json,
  MemoryRelayDeps,
  type RecordedRequest,
  rawRequest,
  relayHeaders,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

/** Characters `encodeURIComponent` changes: the URL carries `AbCd%2BEfGh%2FIjKl%3DMnOp0123`. */
const QUERY_SECRET = 'AbCd+EfGh/IjKl=MnOp0123';
const ENCODED_SECRET = encodeURIComponent(QUERY_SECRET);
const TOKEN = 'tok-hardening-0123456789abcdef';
/** A bearer token with slashes (base64), which a PHP provider's `json_encode` echoes as `\/`. */
const SLASHED_TOKEN = 'ya29/AbCdEfGh/0123456789';

describe('relay hardening', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  /** Another host: a signed-download server, or an attacker's. */
  let canary: FakeProvider;
  const deps = new MemoryRelayDeps();

  before(async () => {
    canary = await startFakeProvider((req, res, recorded) => {
      const path = req.url ?? '';
      if (path.startsWith('/loop')) return redirect(res, 302, `${canary.url}/loop`);
      if (path.startsWith('/bounce')) return redirect(res, 302, `${pipes.config.publicUrl}/relay/p/new`);
      json(res, 200, { canary: true, method: req.method, body: recorded.body.toString('utf8') });
    });
    provider = await startFakeProvider((req, res, recorded) => {
      const path = req.url ?? '';
      // A 404 quoting the request URL, and a debug header doing the same: common, and the query holds the key.
      if (path.startsWith('/q/echo-header')) return json(res, 200, { ok: true }, { 'x-request-url': path });
      if (path.startsWith('/q/echo-stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(100_000));
        res.end(`...${path}...`);
        return;
      }
      // The same URL quoted with lower-case hex (re-encoded), and encoded again (inside another URL's query).
      if (path.startsWith('/q/echo-lower'))
        return json(res, 404, { url: path.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()) });
      if (path.startsWith('/q/echo-double'))
        return json(res, 404, { see: `https://docs.example.com/?from=${encodeURIComponent(path)}` });
      if (path.startsWith('/q/')) return json(res, 404, { error: 'not_found', url: path });
      // A debug endpoint echoing the Authorization header as PHP's json_encode writes it: every `/` as `\/`.
      if (path.startsWith('/v1/echo-php')) {
        const body = `{"authorization":"${String(req.headers.authorization).replaceAll('/', '\\/')}"}`;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      if (path.startsWith('/v1/download')) return redirect(res, 302, `${canary.url}/download?sig=1`);
      if (path.startsWith('/v1/old')) return redirect(res, 301, `${provider.url}/v1/new?from=old`);
      if (path.startsWith('/v1/post-found')) return redirect(res, 302, `${canary.url}/landing`);
      if (path.startsWith('/v1/see-other')) return redirect(res, 303, `${provider.url}/v1/new?from=303`);
      if (path.startsWith('/v1/temporary')) return redirect(res, 307, `${canary.url}/upload`);
      if (path.startsWith('/v1/loop')) return redirect(res, 302, `${canary.url}/loop`);
      if (path.startsWith('/v1/bounce')) return redirect(res, 302, `${canary.url}/bounce`);
      json(res, 200, { method: req.method, url: path, body: recorded.body.toString('utf8') });
    });
    // On its public URL, so that the `Location`s the relay rewrites are URLs the fetch helper recognises.
    pipes = await startPublicTestPipes({ startOptions: { relayDeps: deps } });
    deps.bind(pipes.server.ctx);
    const sandboxId = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
    deps.add({
      environmentId: sandboxId,
      slug: 'qstyle',
      userId: 'user_1',
      accountId: 'acct_query',
      provider: testProvider('qstyle', `${provider.url}/q`, { auth_style: 'query', auth_query_param: 'key' }),
      credential: { authMethod: 'oauth', value: QUERY_SECRET },
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'p',
      userId: 'user_123',
      organizationId: 'org_secret',
      accountId: 'acct_p',
      provider: testProvider('p', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: TOKEN },
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'slashed',
      userId: 'user_1',
      accountId: 'acct_slashed',
      provider: testProvider('slashed', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: SLASHED_TOKEN },
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'paths',
      userId: 'user_1',
      accountId: 'acct_paths',
      provider: testProvider('paths', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: TOKEN },
    });
  });
  after(async () => {
    await pipes.close();
    await provider.close();
    await canary.close();
  });

  describe('a query credential is also watched for in its URL-encoded form', () => {
    const call = (path: string) => rawRequest(pipes.url, { path, headers: relayHeaders(pipes.sandboxKey) });

    test('a body quoting the request URL becomes 502 credential_reflected', async () => {
      const response = await call('/relay/qstyle/nope');
      assert.equal(
        provider.requests.at(-1)?.url,
        `/q/nope?key=${ENCODED_SECRET}`,
        'the URL carries the encoded form',
      );
      assert.equal(response.status, 502);
      assert.equal(response.headers['pipes-error'], 'credential_reflected');
      assert.ok(!response.body.toString().includes(ENCODED_SECRET));
    });

    test('a header quoting it is dropped, and a streamed body is cut before it', async () => {
      const header = await call('/relay/qstyle/echo-header');
      assert.equal(header.status, 200);
      assert.equal(header.headers['x-request-url'], undefined);

      const streamed = await call('/relay/qstyle/echo-stream').catch((error: unknown) => error);
      if (!(streamed instanceof Error)) {
        assert.ok(!(streamed as { body: Buffer }).body.toString().includes(ENCODED_SECRET));
      }
      assert.ok(!pipes.logs.text().includes(ENCODED_SECRET), 'nor is it logged');
    });

    test('an echo with lower-case hex, or encoded once more, is caught too', async () => {
      for (const path of ['/relay/qstyle/echo-lower', '/relay/qstyle/echo-double']) {
        const response = await call(path);
        assert.equal(response.status, 502, path);
        assert.equal(response.headers['pipes-error'], 'credential_reflected', path);
      }
      // What the provider would have sent: neither form is the one in the request URL.
      const lower = ENCODED_SECRET.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
      assert.notEqual(lower, ENCODED_SECRET);
      assert.ok(
        !pipes.logs.text().includes(lower) && !pipes.logs.text().includes(encodeURIComponent(ENCODED_SECRET)),
      );
    });

    test("a bearer token echoed with JSON's escaped slashes is caught", async () => {
      const response = await rawRequest(pipes.url, {
        path: '/relay/slashed/echo-php',
        headers: relayHeaders(pipes.sandboxKey),
      });
      assert.equal(provider.requests.at(-1)?.headers.authorization, `Bearer ${SLASHED_TOKEN}`);
      assert.equal(response.status, 502);
      assert.equal(response.headers['pipes-error'], 'credential_reflected');
      assert.ok(!response.body.toString().includes(SLASHED_TOKEN.replaceAll('/', '\\/')));
    });

    test('a secret with nothing to encode is scanned for once, not twice', () => {
      const entry = testProvider('q', 'https://api.example.com', { auth_style: 'query' });
      const plain = placeCredential(entry, {
        accountId: 'a',
        authMethod: 'oauth',
        value: 'abc-DEF_123.456~x',
      });
      assert.deepEqual(plain.secrets, ['abc-DEF_123.456~x']);
      assert.equal(plain.needles.length, 1);
      const encodable = placeCredential(entry, { accountId: 'a', authMethod: 'oauth', value: QUERY_SECRET });
      const forms = [
        QUERY_SECRET,
        'AbCd+EfGh\\/IjKl=MnOp0123',
        'AbCd\\u002BEfGh/IjKl=MnOp0123',
        ENCODED_SECRET,
        'AbCd%2bEfGh%2fIjKl%3dMnOp0123',
        'AbCd%252BEfGh%252FIjKl%253DMnOp0123',
        'AbCd%252bEfGh%252fIjKl%253dMnOp0123',
      ];
      assert.deepEqual(encodable.secrets, forms);
      assert.deepEqual(encodable.needles.map(String), forms);
    });
  });

  describe('createRelayFetch follows redirects without taking Pipes headers off-site', () => {
    const options = (): RelayFetchOptions => ({
      baseUrl: pipes.config.publicUrl,
      apiKey: pipes.sandboxKey,
      provider: 'p',
      userId: 'user_123',
      organizationId: 'org_secret',
    });
    const canarySince = () => {
      const since = canary.requests.length;
      return () => canary.requests.slice(since);
    };
    const assertNothingOfPipes = (requests: RecordedRequest[]) => {
      assert.ok(requests.length > 0, 'the canary was reached');
      for (const request of requests) {
        const names = Object.keys(request.headers);
        assert.deepEqual(
          names.filter((name) => name.startsWith('pipes-') || name === 'authorization' || name === 'cookie'),
          [],
          `${request.method} ${request.url}: ${names.join(', ')}`,
        );
        assert.ok(!JSON.stringify(request.headers).includes(pipes.sandboxKey));
      }
    };

    test('a Location on another host gets no API key, selection or cookie; other headers go along', async () => {
      const seen = canarySince();
      const response = await createRelayFetch(options())('/download', {
        headers: { 'x-trace': 'trace-1', cookie: 'session=app' },
      });
      assert.equal(response.status, 200);
      assert.equal((await bodyOf(response)).canary, true);
      assert.equal(response.url, `${canary.url}/download?sig=1`);
      assertNothingOfPipes(seen());
      assert.equal(seen()[0]?.headers['x-trace'], 'trace-1');
    });

    test('a Location the relay pointed back at itself is followed through the relay, with the selection', async () => {
      const since = provider.requests.length;
      const response = await createRelayFetch(options())('/old');
      assert.equal(response.status, 200);
      assert.equal((await bodyOf(response)).url, '/v1/new?from=old');
      const calls = provider.requests.slice(since);
      assert.deepEqual(
        calls.map((c) => c.url),
        ['/v1/old', '/v1/new?from=old'],
      );
      for (const c of calls) assert.equal(c.headers.authorization, `Bearer ${TOKEN}`);
    });

    test("fetch's method rules: 303, and 302 after a POST, continue as a GET without body", async () => {
      const relayFetch = createRelayFetch(options());
      const seen = canarySince();
      const found = await relayFetch('/post-found', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      assert.deepEqual(await bodyOf(found), { canary: true, method: 'GET', body: '' });
      assertNothingOfPipes(seen());
      assert.equal(seen()[0]?.headers['content-type'], undefined);

      const seeOther = await relayFetch('/see-other', { method: 'PUT', body: 'abc' });
      assert.deepEqual(await bodyOf(seeOther), { method: 'GET', url: '/v1/new?from=303', body: '' });
    });

    test('a 307 off-site sends a body given as a value again; a streamed one comes back as the 307', async () => {
      const relayFetch = createRelayFetch(options());
      const seen = canarySince();
      const replayed = await relayFetch('/temporary', { method: 'POST', body: 'abc' });
      assert.deepEqual(await bodyOf(replayed), { canary: true, method: 'POST', body: 'abc' });
      assertNothingOfPipes(seen());

      const before = seen().length;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('streamed'));
          controller.close();
        },
      });
      const streamed = await relayFetch('/temporary', {
        method: 'POST',
        body: stream,
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 307);
      assert.equal(streamed.headers.get('location'), `${canary.url}/upload`);
      await streamed.arrayBuffer();
      const fromRequest = await relayFetch(
        new Request(`${pipes.config.publicUrl}/relay/p/temporary`, { method: 'POST', body: 'abc' }),
      );
      assert.equal(fromRequest.status, 307);
      await fromRequest.arrayBuffer();
      assert.equal(seen().length, before, 'nothing streamed went to the other host');
    });

    test("the caller's redirect: 'manual' and 'error' are honoured", async () => {
      const relayFetch = createRelayFetch(options());
      const seen = canarySince();
      const manual = await relayFetch('/download', { redirect: 'manual' });
      assert.equal(manual.status, 302);
      assert.equal(manual.headers.get('location'), `${canary.url}/download?sig=1`);
      await manual.arrayBuffer();
      await assert.rejects(relayFetch('/download', { redirect: 'error' }), TypeError);
      assert.equal(seen().length, 0);
    });

    test('at most 20 redirects are followed, like fetch', async () => {
      const seen = canarySince();
      await assert.rejects(createRelayFetch(options())('/loop'), TypeError);
      assert.equal(seen().length, 20);
      assertNothingOfPipes(seen());
    });

    test('once a redirect has left the relay, a Location back into it gets no API key', async () => {
      const since = provider.requests.length;
      const response = await createRelayFetch(options())('/bounce');
      assert.equal(response.status, 401);
      await response.arrayBuffer();
      assert.deepEqual(
        provider.requests.slice(since).map((c) => c.url),
        ['/v1/bounce'],
      );
    });
  });

  describe('Unicode dot and space variants are dot segments too', () => {
    async function assertRefusedBeforeAnyCall(paths: string[]): Promise<void> {
      const since = provider.requests.length;
      for (const path of paths) {
        const response = await rawRequest(pipes.url, {
          path: `/relay/paths${path}`,
          headers: relayHeaders(pipes.sandboxKey),
        });
        assert.equal(response.status, 400, path);
        assert.equal(response.headers['pipes-error'], 'invalid_relay_path', path);
      }
      assert.equal(provider.requests.length, since, 'none reached the provider');
    }

    test('fullwidth and leader dots, Unicode spaces and zero-width padding are refused before any call', async () => {
      await assertRefusedBeforeAnyCall([
        '/%ef%bc%8e%ef%bc%8e/admin', // ．． fullwidth full stops
        '/..%c2%a0/admin', // no-break space
        '/..%e3%80%80/admin', // ideographic space
        '/%2e%2e%e2%80%8b/admin', // zero-width space
        '/%e2%81%a0../admin', // word joiner
        '/..%ef%bb%bf/admin', // byte-order mark
        '/%e2%80%a5/admin', // ‥ two dot leader
        '/a%ef%bc%8f..%ef%bc%8fadmin', // ／..／ fullwidth solidus
        '/%25ef%25bc%258e%25ef%25bc%258e/admin', // the same, encoded twice
        '/.%e2%81%a0./admin', // a word joiner inside the dots
        '/.%c2%ad./admin', // a soft hyphen inside the dots
        '/%e2%80%8b..%e2%80%8b%e2%80%8c/admin', // zero-width marks around them
        '/%ef%bc%8f%ef%bc%8fevil.example/x', // ／／host: an empty first segment once normalised
        '/%ef%bc%8f%ef%bc%bcevil.example/x', // ／＼host: the same with a fullwidth backslash
        '/%e2%80%8b/evil.example/x', // a first segment of a zero-width space only
        '/%c2%a0/evil.example/x', // …or of a no-break space
        '/%20/evil.example/x', // …or of a plain space
        '/.%ef%b8%8f./admin', // a variation selector inside the dots
        '/.%cd%8f./admin', // a combining grapheme joiner
        '/..%e3%85%a4/admin', // a Hangul filler
        '/%ef%bc%85%ef%bc%92%ef%bd%85%ef%bc%85%ef%bc%92%ef%bd%85/admin', // ％２ｅ％２ｅ: `%2e%2e` once normalised
        '/%ef%bc%852e%ef%bc%852e/admin', // ％2e％2e
        '/..%3F/admin', // `..?`: a proxy that decodes and parses again ends the segment there
        '/..%23/admin', // `..#`
        '/..%253F/admin', // the same, encoded twice
        '/a/..%ff/admin', // a byte that is not UTF-8, which a decoder ignoring such bytes drops
        '/%ff/evil.example/x', // …leaving an empty first segment
        '/;x/evil.example/x', // a first segment of `;params` only
        '/%3Bx/evil.example/x', // the same, encoded
      ]);
    });

    test('overlong UTF-8, C1 controls and bidi controls are refused before any call', async () => {
      await assertRefusedBeforeAnyCall([
        '/%c0%ae%c0%ae/admin', // overlong `..`, which old lenient decoders read as dots
        '/a%c0%afb', // overlong `/`
        '/%e0%80%ae%e0%80%ae/admin', // three-byte overlong `.`
        '/%f0%80%80%ae/admin', // four-byte overlong `.`
        '/%f8%80%80%80%ae/admin', // five-byte
        '/%fc%80%80%80%80%ae/admin', // six-byte
        '/%25c0%25ae%25c0%25ae/admin', // encoded twice
        '/a%c2%85b', // NEL, a C1 control
        '/a%c2%9bb', // CSI, a C1 control
        '/invoice%e2%80%aefdp.exe', // right-to-left override
        '/a%e2%81%a6b', // left-to-right isolate
      ]);
    });

    test('Unicode names, and dots or spaces inside them, still go through unchanged', async () => {
      // …including an emoji built with zero-width joiners (👨‍💻), a soft hyphen inside a name, a stray non-UTF-8 byte,
      // fullwidth solidi inside a file name (`a／／b`, `／notes.md`), a `?` or `%` in a name, and an editor's lock file
      // (`.#notes.md`): one dot before a `#` cannot climb.
      const path =
        '/caf%C3%A9/%EF%BC%8Eenv/a%C2%A0b/%E2%80%8Bx/%E4%B8%AD%E6%96%87/%F0%9F%91%A8%E2%80%8D%F0%9F%92%BB/co%C2%ADop/b%FF' +
        '/a%EF%BC%8F%EF%BC%8Fb/%EF%BC%8Fnotes.md/why%3F/100%25%EF%BC%85/.%23notes.md/.%3Fx';
      const response = await rawRequest(pipes.url, {
        path: `/relay/paths${path}`,
        headers: relayHeaders(pipes.sandboxKey),
      });
      assert.equal(response.status, 200, response.body.toString());
      assert.equal(provider.requests.at(-1)?.url, `/v1${path}`);
    });
  });
});

function redirect(res: import('node:http').ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': '0' });
  res.end();
}
