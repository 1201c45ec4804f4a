import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PipesError } from '../../../src/errors.ts';
import {
  assertUrlAllowed,
  checkAddress,
  type EgressPolicy,
  STRICT_EGRESS_POLICY,
} from '../../../src/relay/egress/index.ts';

const DEV: EgressPolicy = { allowLoopback: true, allowPrivate: true, allowHttp: true };
const HTTP_ONLY: EgressPolicy = { allowLoopback: false, allowPrivate: false, allowHttp: true };

function assertBlocked(fn: () => unknown, status = 400): PipesError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof PipesError, `expected a PipesError, got ${String(caught)}`);
  assert.equal(caught.code, 'blocked_destination');
  assert.equal(caught.status, status);
  return caught;
}

describe('checkAddress', () => {
  test('strict policy refuses loopback and private addresses', () => {
    assert.deepEqual(checkAddress('127.0.0.1', STRICT_EGRESS_POLICY), { allowed: false, reason: 'loopback' });
    assert.deepEqual(checkAddress('10.1.2.3', STRICT_EGRESS_POLICY), { allowed: false, reason: 'private' });
    assert.deepEqual(checkAddress('8.8.8.8', STRICT_EGRESS_POLICY), { allowed: true });
  });

  test('relaxations open only their own ranges', () => {
    for (const ip of ['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.0.1', 'fd00::1', '100.64.0.1']) {
      assert.deepEqual(checkAddress(ip, DEV), { allowed: true }, ip);
    }
    const loopbackOnly: EgressPolicy = { allowLoopback: true, allowPrivate: false, allowHttp: false };
    assert.deepEqual(checkAddress('127.0.0.1', loopbackOnly), { allowed: true });
    assert.deepEqual(checkAddress('10.0.0.1', loopbackOnly), { allowed: false, reason: 'private' });
  });

  test('metadata, link-local, unspecified and transition forms stay blocked under the most relaxed policy', () => {
    for (const ip of [
      '169.254.169.254',
      '100.100.100.200',
      '168.63.129.16',
      'fd00:ec2::254',
      '169.254.1.1',
      'fe80::1',
      '0.0.0.0',
    ]) {
      assert.equal(checkAddress(ip, DEV).allowed, false, ip);
    }
    for (const ip of [
      '::ffff:127.0.0.1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ]) {
      assert.equal(checkAddress(ip, DEV).allowed, false, ip);
    }
  });
});

describe('assertUrlAllowed', () => {
  for (const url of ['http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.0.0.1/', 'http://127.1/']) {
    test(`refuses odd host notation ${url} even when loopback is allowed`, () => {
      const error = assertBlocked(() => assertUrlAllowed(url, DEV));
      assert.match(error.message, /non-canonical IPv4/);
    });
  }

  test('refuses hosts that WHATWG normalises from percent-encoded or full-width digits', () => {
    assertBlocked(() => assertUrlAllowed('http://%31%32%37.0.0.1/', DEV));
    assertBlocked(() => assertUrlAllowed('http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/', DEV));
    assertBlocked(() => assertUrlAllowed('http://127.0.0.1./', DEV));
  });

  test('refuses literal blocked addresses', () => {
    assertBlocked(() => assertUrlAllowed('https://127.0.0.1/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://[::1]/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://[::ffff:127.0.0.1]/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://169.254.169.254/latest/meta-data', DEV));
    assertBlocked(() => assertUrlAllowed('https://10.0.0.1/', STRICT_EGRESS_POLICY));
    assert.equal(assertUrlAllowed('https://10.0.0.1/', DEV).hostname, '10.0.0.1');
  });

  test('refuses localhost names unless loopback is allowed, and metadata names always', () => {
    assertBlocked(() => assertUrlAllowed('https://localhost/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://api.localhost./', STRICT_EGRESS_POLICY));
    assert.equal(assertUrlAllowed('http://localhost:3000/hook', DEV).port, '3000');
    assertBlocked(() => assertUrlAllowed('http://metadata.google.internal/', DEV));
  });

  test('requires https unless allowHttp', () => {
    assertBlocked(() => assertUrlAllowed('http://example.com/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('ftp://example.com/', DEV));
    assertBlocked(() => assertUrlAllowed('file:///etc/passwd', DEV));
    assert.equal(assertUrlAllowed('http://example.com/', HTTP_ONLY).protocol, 'http:');
    assert.equal(
      assertUrlAllowed('https://example.com/x?y=1', STRICT_EGRESS_POLICY).href,
      'https://example.com/x?y=1',
    );
  });

  test('refuses userinfo without echoing the credential', () => {
    const error = assertBlocked(() =>
      assertUrlAllowed('https://alice:s3cret-pw@example.com/', STRICT_EGRESS_POLICY),
    );
    assert.doesNotMatch(error.message, /s3cret|alice/);
    assert.match(error.message, /example\.com/);
    assertBlocked(() => assertUrlAllowed('https://@example.com/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://token@example.com/', STRICT_EGRESS_POLICY));
  });

  test('refuses raw text the WHATWG parser would silently rewrite', () => {
    assertBlocked(() => assertUrlAllowed('https://example.com\\@127.0.0.1/', DEV));
    assertBlocked(() => assertUrlAllowed(' https://example.com/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https://exa\tmple.com/', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('https:example.com', STRICT_EGRESS_POLICY));
    assertBlocked(() => assertUrlAllowed('not a url', STRICT_EGRESS_POLICY));
  });

  test('uses the status the caller asks for', () => {
    assertBlocked(() => assertUrlAllowed('https://127.0.0.1/', STRICT_EGRESS_POLICY, { status: 502 }), 502);
  });

  test('names the host in the message but not the path or query', () => {
    const error = assertBlocked(() =>
      assertUrlAllowed('https://127.0.0.1/cb?token=abc123', STRICT_EGRESS_POLICY),
    );
    assert.match(error.message, /"127\.0\.0\.1"/);
    assert.doesNotMatch(error.message, /abc123|token/);
  });
});
