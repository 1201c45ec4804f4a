import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { requireEnvironment } from '../../src/store/environments.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { eventually } from '../tokens/harness.ts';
import {
  bodyOf,
  type FakeProvider,
  json,
  MemoryRelayDeps,
  rawRequest,
  relayHeaders,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

const MiB = 1024 * 1024;

// Memory checks measure what is *retained*, so garbage waiting for the next GC must not count: force a GC before
// each sample (the flag only exposes `gc` to new contexts; nothing else changes).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Writes `total` bytes (or forever) in 64 KiB chunks, honouring backpressure; stops when the socket goes away.
 * `progress.sent` counts what the socket has accepted so far.
 */
function stream(res: ServerResponse, total: number | null, progress = { sent: 0 }): void {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const pump = () => {
    while (total === null || progress.sent < total) {
      progress.sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => res.off('drain', pump));
  pump();
}

/** Memory this process retains after a full GC: V8's heap and what lives outside it (Buffers, parsers' memory). */
function retained(): number {
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/**
 * Reads a response body and reports bytes, how it ended, and how the memory this process retains (relay, provider
 * and client all live here) grew, sampled after a forced GC every 4 MiB: `early` is the peak growth over the first
 * 16 MiB, `late` the peak growth after 32 MiB. A relay that buffered the body would grow with it, so `late` would
 * exceed `early` by about the bytes in between. Streaming costs a fixed amount instead: the HTTP clients and servers
 * in this process hold read buffers and parser memory of their own (a plain `fetch` of a plain `node:http` server
 * grows by 20-odd MiB here), which is why the checks compare the two peaks rather than trust one absolute figure.
 * RSS would be the wrong measure: the allocator keeps freed pages, so RSS shows how much garbage piled up between
 * collections, not what is held.
 */
async function drain(
  response: Response,
): Promise<{ bytes: number; growth: { early: number; late: number }; error: unknown; sha256: string }> {
  const baseline = retained();
  const growth = { early: 0, late: 0 };
  const hash = createHash('sha256');
  let bytes = 0;
  let nextSample = 4 * MiB;
  let error: unknown = null;
  const sample = () => {
    const grown = retained() - baseline;
    if (bytes <= 16 * MiB) growth.early = Math.max(growth.early, grown);
    if (bytes > 32 * MiB) growth.late = Math.max(growth.late, grown);
  };
  try {
    for await (const chunk of response.body!) {
      bytes += chunk.length;
      hash.update(chunk);
      if (bytes >= nextSample) {
        sample();
        nextSample += 4 * MiB;
      }
    }
  } catch (caught) {
    error = caught;
  }
  sample();
  return { bytes, growth, error, sha256: hash.digest('hex') };
}

/** The memory checks: streaming `bytes` must not make memory grow with them, and must stay well under the body. */
function assertBoundedMemory(bytes: number, growth: { early: number; late: number }): void {
  const shown = `${(growth.early / MiB).toFixed(1)} MiB over the first 16 MiB, ${(growth.late / MiB).toFixed(1)} MiB after 32 MiB`;
  assert.ok(growth.late - growth.early < 16 * MiB, `memory grew with the body (${bytes} bytes): ${shown}`);
  assert.ok(growth.late < 48 * MiB, `memory grew too much (${bytes} bytes): ${shown}`);
}

describe('relay limits: sizes, timeouts, streaming', () => {
  let tight: TestPipes;
  let roomy: TestPipes;
  let provider: FakeProvider;
  let uploads: FakeProvider;
  const tightDeps = new MemoryRelayDeps();
  const roomyDeps = new MemoryRelayDeps();
  const providerClosed: string[] = [];
  /** What the provider has handed its socket for `/endless-held`, the response whose reader stops reading. */
  const held = { sent: 0, closed: false };

  before(async () => {
    provider = await startFakeProvider((req, res) => {
      req.on('close', () => providerClosed.push(req.url ?? ''));
      const path = req.url ?? '';
      if (path.startsWith('/never')) return; // never answers
      if (path.startsWith('/stall-body')) {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('only part');
        return;
      }
      if (path.startsWith('/drip')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (path.startsWith('/endless-held')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.on('close', () => {
          held.closed = true;
        });
        stream(res, null, held);
        return;
      }
      if (path.startsWith('/endless')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        stream(res, null);
        return;
      }
      if (path.startsWith('/huge')) {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(50 * MiB),
        });
        stream(res, 50 * MiB);
        return;
      }
      if (path.startsWith('/declared-huge')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(2 * MiB) });
        stream(res, 2 * MiB);
        return;
      }
      if (path.startsWith('/empty')) {
        res.writeHead(204);
        res.end();
        return;
      }
      json(res, 200, { ok: true });
    });
    // Uploads: record what arrives without buffering it in the recorder.
    uploads = await startFakeProvider(
      (req: IncomingMessage, res: ServerResponse, recorded) => {
        const hash = createHash('sha256');
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          hash.update(c);
        });
        req.on('end', () => {
          recorded.body = Buffer.from(JSON.stringify({ size, complete: true }));
          json(res, 200, { size, sha256: hash.digest('hex') });
        });
        req.on('aborted', () => {
          recorded.body = Buffer.from(JSON.stringify({ size, complete: false }));
        });
      },
      { readBody: false },
    );

    tight = await startTestPipes({
      startOptions: {
        relayDeps: tightDeps,
        relay: {
          // Short enough to test the timeouts, long enough that a loaded machine's pause (relay, provider and
          // client share this process) does not turn this instance's other answers into timeouts.
          headersTimeoutMs: 1000,
          bodyTimeoutMs: 1000,
          totalTimeoutMs: 4000,
          maxRequestBytes: 1 * MiB,
          maxResponseBytes: 1 * MiB,
        },
      },
    });
    roomy = await startTestPipes({
      startOptions: {
        relayDeps: roomyDeps,
        relay: { maxRequestBytes: 16 * MiB, maxResponseBytes: 64 * MiB },
      },
    });
    for (const [pipes, deps] of [
      [tight, tightDeps],
      [roomy, roomyDeps],
    ] as const) {
      deps.bind(pipes.server.ctx);
      const env = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
      deps.add({
        environmentId: env,
        slug: 'fake',
        userId: 'user_1',
        accountId: 'acct_fake',
        provider: testProvider('fake', provider.url),
        credential: { authMethod: 'oauth', value: 'tok-limits-0123456789' },
      });
      deps.add({
        environmentId: env,
        slug: 'upload',
        userId: 'user_1',
        accountId: 'acct_upload',
        provider: testProvider('upload', uploads.url),
        credential: { authMethod: 'oauth', value: 'tok-uploads-0123456789' },
      });
    }
  });
  after(async () => {
    await tight.close();
    await roomy.close();
    await provider.close();
    await uploads.close();
  });

  const get = (pipes: TestPipes, path: string) =>
    fetch(`${pipes.url}/relay/fake${path}`, { headers: relayHeaders(pipes.sandboxKey) });

  test('a provider that never sends headers gets 504 relay_timeout at the headers timeout (P12)', async () => {
    const response = await get(tight, '/never');
    assert.equal(response.status, 504);
    assert.equal(response.headers.get('pipes-error'), 'relay_timeout');
    const body = await bodyOf(response);
    assert.equal(body.error.source, 'pipes');
    assert.match(body.error.message, /headers timeout/);
  });

  test('a stalled body before anything was sent is a 504; a drip past the total timeout is cut (P12)', async () => {
    const stalled = await get(tight, '/stall-body');
    assert.equal(stalled.status, 504);
    assert.equal(stalled.headers.get('pipes-error'), 'relay_timeout');
    await stalled.arrayBuffer();

    const closedBefore = providerClosed.filter((p) => p.startsWith('/drip')).length;
    const drip = await get(tight, '/drip');
    assert.equal(drip.status, 200);
    const { error, bytes } = await drain(drip);
    assert.ok(error !== null, 'the cut response must fail to complete');
    assert.ok(bytes > 0);
    // The provider's socket was closed too.
    for (
      let i = 0;
      i < 500 && providerClosed.filter((p) => p.startsWith('/drip')).length === closedBefore;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(providerClosed.filter((p) => p.startsWith('/drip')).length, closedBefore + 1);
  });

  test('an endless response is cut at the response cap, with bounded memory (P11)', async () => {
    const response = await get(roomy, '/endless');
    assert.equal(response.status, 200);
    const { bytes, error, growth } = await drain(response);
    assert.ok(error !== null, 'the response must be cut');
    assert.ok(bytes <= 64 * MiB, `received ${bytes} bytes`);
    assert.ok(bytes >= 32 * MiB, `received only ${bytes} bytes`);
    assertBoundedMemory(bytes, growth);
  });

  test('a reader that stops reading holds the provider back: the relay reads no further ahead than the sockets hold (P11)', async () => {
    const { hostname, port } = new URL(roomy.url);
    const req = httpRequest({
      host: hostname,
      port,
      path: '/relay/fake/endless-held',
      headers: relayHeaders(roomy.sandboxKey),
    });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    assert.equal(response.statusCode, 200);
    response.pause();
    // Wait until the provider's writes stop: every buffer between it and this reader is full.
    let last = -1;
    for (let i = 0; i < 100 && held.sent !== last; i++) {
      last = held.sent;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(held.sent, last, 'the provider never stopped writing');
    // A relay that buffered would read on to its 64 MiB cap; kernel socket buffers and stream high-water marks
    // between the provider and this reader hold a few MiB.
    assert.ok(held.sent < 24 * MiB, `the provider wrote ${held.sent} bytes to a reader that read none`);
    assert.ok(held.sent > 0);

    // The reader goes away: the relay closes the provider's response too, rather than drain it.
    assert.equal(held.closed, false);
    req.destroy();
    await eventually(() => held.closed, 'the provider response to be closed', 1000);
  });

  test('a declared length over the response cap is refused before anything is sent', async () => {
    const response = await get(tight, '/declared-huge');
    assert.equal(response.status, 502);
    assert.equal(response.headers.get('pipes-error'), 'response_too_large');
    await response.arrayBuffer();
  });

  test('a 50 MB response streams through without being buffered', async () => {
    const response = await get(roomy, '/huge');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(50 * MiB));
    const { bytes, error, growth } = await drain(response);
    assert.equal(error, null);
    assert.equal(bytes, 50 * MiB);
    assertBoundedMemory(bytes, growth);
  });

  test('204 and HEAD answers pass through without a body', async () => {
    const empty = await get(tight, '/empty');
    assert.equal(empty.status, 204);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    const head = await fetch(`${tight.url}/relay/fake/json`, {
      method: 'HEAD',
      headers: relayHeaders(tight.sandboxKey),
    });
    assert.equal(head.status, 200);
    assert.equal(provider.requests.at(-1)?.method, 'HEAD');
  });

  test('a declared request body over the cap gets 413 and the provider receives nothing (P10)', async () => {
    const before = uploads.requests.length;
    const response = await rawRequest(tight.url, {
      method: 'POST',
      path: '/relay/upload/files',
      headers: { ...relayHeaders(tight.sandboxKey), 'content-length': String(MiB + 1) },
      body: Buffer.alloc(MiB + 1, 'b'),
    }).catch((error: unknown) => error);
    if (!(response instanceof Error)) {
      assert.equal((response as { status: number }).status, 413);
      const parsed = JSON.parse((response as { body: Buffer }).body.toString());
      assert.equal(parsed.error.code, 'payload_too_large');
    }
    assert.equal(uploads.requests.length, before);
  });

  test('a chunked request body growing past the cap is aborted (P10)', async () => {
    const before = uploads.requests.length;
    const { hostname, port } = new URL(tight.url);
    const outcome = await new Promise<{ status: number | null; error: unknown }>((resolve) => {
      const req = httpRequest(
        {
          host: hostname,
          port,
          method: 'POST',
          path: '/relay/upload/files',
          headers: { ...relayHeaders(tight.sandboxKey), 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
        },
      );
      req.on('error', (error) => resolve({ status: null, error }));
      const chunk = Buffer.alloc(64 * 1024, 'c');
      let sent = 0;
      const pump = () => {
        while (sent < 3 * MiB) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    assert.ok(outcome.status === 413 || outcome.error !== null, `status ${outcome.status}`);
    // Whatever reached the provider is an aborted, incomplete upload, never the whole body.
    for (const recorded of uploads.requests.slice(before)) {
      for (let i = 0; i < 500 && recorded.body.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const seen = JSON.parse(recorded.body.toString() || '{"size":0,"complete":false}');
      assert.equal(seen.complete, false);
      assert.ok(seen.size <= MiB);
    }
  });

  test('a large request body within the cap is streamed to the provider intact', async () => {
    const payload = Buffer.alloc(5 * MiB);
    for (let i = 0; i < payload.length; i += 4096) payload.writeUInt32BE(i, i);
    const response = await fetch(`${roomy.url}/relay/upload/files`, {
      method: 'PUT',
      headers: { ...relayHeaders(roomy.sandboxKey), 'content-type': 'application/octet-stream' },
      body: payload,
    });
    assert.equal(response.status, 200);
    const body = await bodyOf(response);
    assert.equal(body.size, payload.length);
    assert.equal(body.sha256, createHash('sha256').update(payload).digest('hex'));
  });
});
