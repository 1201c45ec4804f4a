import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, constants, deflateRawSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { acceptEncodingForProvider } from '../../src/relay/compressed-body.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import {
  type FakeProvider,
  MemoryRelayDeps,
  rawRequest,
  relayHeaders,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

const SECRET = 'tok-compressed-0123456789abcdef';
const MiB = 1024 * 1024;

/** Text that does not compress well, so that a streamed body arrives in many chunks. */
const noise = (bytes: number) => randomBytes(bytes / 2).toString('hex');

const ENCODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => gzipSync(body),
  deflate: (body) => deflateSync(body),
  // Raw deflate sent as `deflate`, as some servers do; clients accept it.
  'raw-deflate': (body) => deflateRawSync(body),
  br: (body) => brotliCompressSync(body),
};

function sendCoded(res: ServerResponse, status: number, coding: string, body: Buffer): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-encoding': coding,
    'content-length': body.length,
  });
  res.end(body);
}

/** A gzip body written in pieces, without a length (so the relay streams it). */
function streamGzip(res: ServerResponse, pieces: string[]): void {
  const whole = gzipSync(Buffer.from(pieces.join('')));
  res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
  let at = 0;
  const step = Math.ceil(whole.length / 8);
  const next = () => {
    if (at >= whole.length) {
      res.end();
      return;
    }
    res.write(whole.subarray(at, at + step));
    at += step;
    setTimeout(next, 5);
  };
  next();
}

/** Reads whatever arrives until the connection ends or is cut. */
function readAll(
  url: string,
  path: string,
  key: string,
): Promise<{ status: number; body: Buffer; cut: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, path, headers: { ...relayHeaders(key), 'accept-encoding': 'gzip' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), cut: false }),
        );
        res.on('error', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), cut: true }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A gzip body whose header carries `comment` (FCOMMENT): clients show it, but it is not part of the decoded data. */
function gzipWithComment(body: Buffer, comment: string): Buffer {
  const plain = gzipSync(body);
  const header = Buffer.from(plain.subarray(0, 10));
  header[3] = 0x10;
  return Buffer.concat([header, Buffer.from(`${comment}\0`, 'latin1'), plain.subarray(10)]);
}

/** Decodes as much of a (possibly cut) gzip body as there is. */
const gunzipPartial = (body: Buffer) => gunzipSync(body, { finishFlush: constants.Z_SYNC_FLUSH });

describe('relay: compressed responses are scanned for a reflected credential too', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  const deps = new MemoryRelayDeps();
  const cleanBody = Buffer.from(JSON.stringify({ items: [1, 2, 3], note: 'x'.repeat(2000) }));
  const cleanGzip = gzipSync(cleanBody);
  const bigClean = noise(400_000);
  const bombHeld = gzipSync(Buffer.alloc(60 * MiB, 'a'));
  const repetitiveBody = Buffer.from(
    Array.from({ length: 1500 }, () => `${JSON.stringify({ id: noise(8), v: 'x'.repeat(1000) })}\n`).join(''),
  );
  const repetitive = gzipSync(repetitiveBody);
  /** A Pipes whose response limit lets a held body decode to 60 MiB. */
  let roomy: TestPipes;
  const roomyDeps = new MemoryRelayDeps();

  before(async () => {
    provider = await startFakeProvider((req, res) => {
      const path = req.url ?? '';
      const echo = Buffer.from(JSON.stringify({ youSent: req.headers.authorization }));
      const coded = /^\/v1\/echo\/([a-z-]+)$/.exec(path);
      if (coded !== null) {
        const coding = coded[1]!;
        sendCoded(res, 200, coding === 'raw-deflate' ? 'deflate' : coding, ENCODERS[coding]!(echo));
        return;
      }
      if (path === '/v1/clean') return sendCoded(res, 200, 'gzip', cleanGzip);
      if (path === '/v1/stream-echo')
        return streamGzip(res, [noise(200_000), `...${req.headers.authorization}...`]);
      if (path === '/v1/stream-clean') return streamGzip(res, [bigClean]);
      // 8 MiB of zeros: about 8 KB compressed, over the relay's 1 MiB limit once decoded.
      if (path === '/v1/bomb') return sendCoded(res, 200, 'gzip', gzipSync(Buffer.alloc(8 * MiB)));
      // 1.5 MB at about 100-fold, in eight pieces: the first ones pass, then the 1 MiB limit cuts it.
      if (path === '/v1/stream-over-limit') return streamGzip(res, [repetitiveBody.toString()]);
      if (path === '/v1/corrupt')
        return sendCoded(res, 200, 'gzip', Buffer.from('this is not gzip at all, sorry'));
      // Cut before gzip's trailer (and a little of the data): clients still decode what is there.
      if (path === '/v1/truncated') {
        const whole = gzipSync(
          Buffer.from(`${JSON.stringify({ youSent: req.headers.authorization })}${'z'.repeat(64)}`),
        );
        return sendCoded(res, 200, 'gzip', whole.subarray(0, whole.length - 12));
      }
      // A bogus coding the body is not actually in: scanned as it is.
      if (path === '/v1/bogus-coding') return sendCoded(res, 200, 'utf-8', echo);
      // Spellings clients decode as gzip.
      const spelled = /^\/v1\/spelled\/(\d)$/.exec(path);
      if (spelled !== null) {
        const spelling = ['GZIP ', 'identity, gzip', 'gzip, identity', 'gzip,'][Number(spelled[1])]!;
        return sendCoded(res, 200, spelling, gzipSync(echo));
      }
      // Codings the relay cannot undo: a real one, a chain, and the same header twice.
      if (path === '/v1/zstd') return sendCoded(res, 200, 'zstd', Buffer.from('(zstd bytes)'));
      if (path === '/v1/chain') return sendCoded(res, 200, 'gzip, br', brotliCompressSync(gzipSync(echo)));
      if (path === '/v1/twice') {
        const twice = gzipSync(gzipSync(echo));
        res.writeHead(
          200,
          [
            ['Content-Encoding', 'gzip'],
            ['Content-Encoding', 'gzip'],
            ['Content-Length', String(twice.length)],
          ].flat(),
        );
        res.end(twice);
        return;
      }
      if (path === '/v1/comment') {
        return sendCoded(
          res,
          200,
          'gzip',
          gzipWithComment(Buffer.from('{}'), `from ${req.headers.authorization}`),
        );
      }
      // About 60 KiB compressed (held whole), 60 MiB decoded: within the roomy relay's limit, but 1000-fold.
      if (path === '/v1/bomb-held') return sendCoded(res, 200, 'gzip', bombHeld);
      if (path === '/v1/bomb-streamed') return streamGzip(res, ['0'.repeat(16 * MiB)]);
      // About 16 KB compressed, 1.5 MB decoded (about 100-fold, like a long repetitive JSON list): held, and decoded
      // in pieces off the main thread since it is over 1 MiB.
      if (path === '/v1/repetitive') return sendCoded(res, 200, 'gzip', repetitive);
      if (path === '/v1/repetitive-echo') {
        return sendCoded(
          res,
          200,
          'gzip',
          gzipSync(Buffer.concat([repetitiveBody, Buffer.from(req.headers.authorization ?? '')])),
        );
      }
      // No length, no body: the streamed path.
      if (path === '/v1/no-body-zstd') {
        res.writeHead(req.method === 'HEAD' ? 200 : 204, { 'content-encoding': 'zstd' });
        res.end();
        return;
      }
      if (path === '/v1/empty-gzip-stream') {
        res.writeHead(200, { 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' });
        res.end();
        return;
      }
      if (path === '/v1/zstd-head') {
        res.writeHead(200, { 'content-encoding': 'zstd', 'content-length': '100' });
        res.end();
        return;
      }
      if (path === '/v1/unauthorized-echo') return sendCoded(res, 401, 'gzip', gzipSync(echo));
      sendCoded(res, 404, 'gzip', gzipSync(Buffer.from('{}')));
    });
    pipes = await startTestPipes({
      startOptions: { relayDeps: deps, relay: { maxResponseBytes: 1 * MiB } },
    });
    deps.bind(pipes.server.ctx);
    const sandboxId = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
    deps.add({
      environmentId: sandboxId,
      slug: 'fake',
      userId: 'user_1',
      accountId: 'acct_compressed',
      provider: testProvider('fake', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: SECRET },
      refreshTo: `${SECRET}-refreshed`,
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'prefers-zstd',
      userId: 'user_1',
      accountId: 'acct_prefers_zstd',
      provider: testProvider('prefers-zstd', `${provider.url}/v1`, {
        extra_headers: { 'Accept-Encoding': 'zstd, gzip' },
      }),
      credential: { authMethod: 'oauth', value: SECRET },
    });
    roomy = await startTestPipes({
      startOptions: { relayDeps: roomyDeps, relay: { maxResponseBytes: 64 * MiB } },
    });
    roomyDeps.bind(roomy.server.ctx);
    roomyDeps.add({
      environmentId: (await requireEnvironment(roomy.server.ctx.store.db, 'sandbox')).id,
      slug: 'fake',
      userId: 'user_1',
      accountId: 'acct_roomy',
      provider: testProvider('fake', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: SECRET },
    });
  });

  after(async () => {
    await roomy?.close();
    await pipes?.close();
    await provider?.close();
  });

  const call = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    rawRequest(pipes.url, {
      method,
      path,
      headers: { ...relayHeaders(pipes.sandboxKey), 'accept-encoding': 'gzip, deflate, br', ...headers },
    });

  test('a small gzip, deflate (zlib or raw) or brotli body quoting the credential becomes 502 credential_reflected', async () => {
    for (const coding of Object.keys(ENCODERS)) {
      const response = await call(`/relay/fake/echo/${coding}`);
      assert.equal(response.status, 502, coding);
      assert.equal(response.headers['pipes-error'], 'credential_reflected', coding);
      assert.equal(response.headers['content-encoding'], undefined, coding);
      assert.ok(!response.body.toString().includes(SECRET), coding);
    }
    assert.ok(!pipes.logs.text().includes(SECRET), 'the credential is never logged');
  });

  test("a clean compressed body reaches the caller as the provider's exact bytes", async () => {
    const response = await call('/relay/fake/clean');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.deepEqual(response.body, cleanGzip);
    assert.deepEqual(gunzipSync(response.body), cleanBody);
  });

  test('a streamed gzip body is cut before the chunk that decodes to the credential', async () => {
    const streamed = await readAll(pipes.url, '/relay/fake/stream-echo', pipes.sandboxKey);
    assert.equal(streamed.status, 200, 'the head went out before the credential came');
    assert.equal(streamed.cut, true, 'the connection was cut');
    assert.ok(!gunzipPartial(streamed.body).toString().includes(SECRET));
    assert.ok(!pipes.logs.text().includes(SECRET));
  });

  test('a clean streamed gzip body arrives whole, in many chunks', async () => {
    const streamed = await readAll(pipes.url, '/relay/fake/stream-clean', pipes.sandboxKey);
    assert.equal(streamed.status, 200);
    assert.equal(streamed.cut, false);
    assert.equal(gunzipSync(streamed.body).toString(), bigClean);
  });

  test('a body past the size limit once decoded is refused (held) or cut (streamed)', async () => {
    const held = await call('/relay/fake/bomb');
    assert.equal(held.status, 502);
    assert.equal(held.headers['pipes-error'], 'response_too_large');
    const streamed = await readAll(pipes.url, '/relay/fake/stream-over-limit', pipes.sandboxKey);
    assert.equal(streamed.status, 200);
    assert.equal(streamed.cut, true);
    const received = gunzipPartial(streamed.body).length;
    assert.ok(received > 0 && received <= 1 * MiB, `${received} bytes decoded`);
  });

  test('a body that cannot be decoded is withheld: 502 undecodable_response', async () => {
    const response = await call('/relay/fake/corrupt');
    assert.equal(response.status, 502);
    assert.equal(response.headers['pipes-error'], 'undecodable_response');
    assert.equal(response.headers['pipes-upstream'], undefined);
  });

  test('a gzip body cut short is still decoded as far as it goes, and scanned', async () => {
    const response = await call('/relay/fake/truncated');
    assert.equal(response.status, 502);
    assert.equal(response.headers['pipes-error'], 'credential_reflected');
  });

  test('Content-Encoding is read as clients read it: case, spaces, lists with identity', async () => {
    for (const index of [0, 1, 2, 3]) {
      const response = await call(`/relay/fake/spelled/${index}`);
      assert.equal(response.status, 502, String(index));
      assert.equal(response.headers['pipes-error'], 'credential_reflected', String(index));
    }
  });

  test('a coding the relay cannot undo (zstd, a chain, gzip twice) is withheld: 502 undecodable_response', async () => {
    for (const path of ['/relay/fake/zstd', '/relay/fake/chain', '/relay/fake/twice']) {
      const response = await call(path);
      assert.equal(response.status, 502, path);
      assert.equal(response.headers['pipes-error'], 'undecodable_response', path);
      assert.ok(!response.body.toString().includes(SECRET), path);
    }
  });

  test("the compressed bytes themselves are scanned too (gzip's comment field is never decoded)", async () => {
    const response = await call('/relay/fake/comment');
    assert.equal(response.status, 502);
    assert.equal(response.headers['pipes-error'], 'credential_reflected');
  });

  test('a body that expands more than 200-fold past 1 MiB is withheld, even within the size limit', async () => {
    const held = await rawRequest(roomy.url, {
      path: '/relay/fake/bomb-held',
      headers: { ...relayHeaders(roomy.sandboxKey), 'accept-encoding': 'gzip' },
    });
    assert.equal(held.status, 502);
    assert.equal(held.headers['pipes-error'], 'response_too_large');
    assert.match(JSON.parse(held.body.toString()).error.message, /decompression bomb/);
    // Refused at its first chunk: nothing had gone out, so the caller gets the Pipes error, not a cut.
    const streamed = await readAll(roomy.url, '/relay/fake/bomb-streamed', roomy.sandboxKey);
    assert.equal(streamed.status, 502);
    assert.equal(streamed.cut, false);
    assert.match(streamed.body.toString(), /decompression bomb/);
  });

  test('a held body over 1 MiB once decoded is checked in pieces: passed whole when clean, withheld when not', async () => {
    const clean = await rawRequest(roomy.url, {
      path: '/relay/fake/repetitive',
      headers: { ...relayHeaders(roomy.sandboxKey), 'accept-encoding': 'gzip' },
    });
    assert.equal(clean.status, 200);
    assert.deepEqual(clean.body, repetitive);
    const echo = await rawRequest(roomy.url, {
      path: '/relay/fake/repetitive-echo',
      headers: { ...relayHeaders(roomy.sandboxKey), 'accept-encoding': 'gzip' },
    });
    assert.equal(echo.status, 502);
    assert.equal(echo.headers['pipes-error'], 'credential_reflected');
  });

  test('a response without a body passes whatever its coding (HEAD, 204), held or streamed', async () => {
    const held = await call('/relay/fake/zstd-head', {}, 'HEAD');
    assert.equal(held.status, 200);
    assert.equal(held.headers['content-encoding'], 'zstd');
    const streamedHead = await call('/relay/fake/no-body-zstd', {}, 'HEAD');
    assert.equal(streamedHead.status, 200);
    assert.equal(streamedHead.headers['content-encoding'], 'zstd');
    const noContent = await call('/relay/fake/no-body-zstd');
    assert.equal(noContent.status, 204);
    // A compressed stream that ends without a chunk still gets its head, once.
    const empty = await call('/relay/fake/empty-gzip-stream');
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-encoding'], 'gzip');
    assert.equal(empty.body.length, 0);
  });

  test('a coding that names no coding at all is scanned as it is', async () => {
    const response = await call('/relay/fake/bogus-coding');
    assert.equal(response.status, 502);
    assert.equal(response.headers['pipes-error'], 'credential_reflected');
  });

  test('a compressed 401 passed through after a refresh is scanned too', async () => {
    // A POST without an Idempotency-Key is not replayed: the relay refreshes, then passes the 401 on.
    const refreshes = deps.refreshCalls.length;
    const response = await call('/relay/fake/unauthorized-echo', {}, 'POST');
    assert.equal(deps.refreshCalls.length, refreshes + 1);
    assert.equal(response.status, 502);
    assert.equal(response.headers['pipes-error'], 'credential_reflected');
    assert.ok(!response.body.toString().includes(SECRET));
  });

  test('the provider is asked only for codings the relay decodes', async () => {
    const cases: [string, string][] = [
      ['zstd, br;q=0.9, GZIP;q=0.8, *;q=0.1', 'br;q=0.9, GZIP;q=0.8'],
      ['gzip, deflate, br', 'gzip, deflate, br'],
      ['zstd', 'identity'],
      ['compress, x-gzip', 'x-gzip'],
    ];
    for (const [sent, expected] of cases) {
      assert.equal(acceptEncodingForProvider(sent), expected, sent);
      const before = provider.requests.length;
      await call('/relay/fake/clean', { 'accept-encoding': sent });
      assert.equal(provider.requests[before]?.headers['accept-encoding'], expected, sent);
    }
    // No Accept-Encoding means any coding would do (RFC 9110, 12.5.3): the relay says identity.
    let before = provider.requests.length;
    await rawRequest(pipes.url, { path: '/relay/fake/clean', headers: relayHeaders(pipes.sandboxKey) });
    assert.equal(provider.requests[before]?.headers['accept-encoding'], 'identity');
    // A provider's default Accept-Encoding (catalog extra_headers) is filtered the same way.
    before = provider.requests.length;
    await rawRequest(pipes.url, {
      path: '/relay/prefers-zstd/clean',
      headers: relayHeaders(pipes.sandboxKey),
    });
    assert.equal(provider.requests[before]?.headers['accept-encoding'], 'gzip');
  });
});
