import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createRequestIds } from '../../src/lib/request-ids.ts';
import { SLUG_PATTERN } from '../../src/providers/catalog-schema.ts';
import { RelayTokens } from '../../src/relay/relay-token.ts';
import {
  exhaustedUntil,
  isRateLimited403,
  parseRetryAfter,
  providerWaitMs,
  retryDelayMs,
} from '../../src/relay/retry-policy.ts';
import { isSelectionValue, isSlug } from '../../src/relay/routing.ts';
import { SecretScanner } from '../../src/relay/secret-scanner.ts';
import { RelayThrottle } from '../../src/relay/throttle.ts';
import { MasterKeyRing, parseMasterKey } from '../../src/vault/master-keys.ts';
import { Vault } from '../../src/vault/vault.ts';

const key = (id: string) => parseMasterKey(`${id}:${randomBytes(32).toString('base64')}`);

describe('relay tokens', () => {
  const now = 1_800_000_000_000;
  const claims = {
    environmentId: 'environment_01',
    provider: 'github',
    selection: { userId: 'user_1', organizationId: 'org_1' },
    expiresAt: now + 60_000,
    apiKeyId: 'key_01',
  };

  test('round-trip, and nothing else verifies: tampered, expired, unknown key, another installation', () => {
    const first = key('first');
    const tokens = new RelayTokens(new Vault(new MasterKeyRing(first)));
    const token = tokens.mint(claims);
    assert.match(token, /^prt_first\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(tokens.verify(token, now), claims);
    assert.equal(tokens.verify(token, claims.expiresAt), null);
    const body = token.split('.')[1]!;
    const flipped = `${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}`;
    assert.equal(tokens.verify(`prt_first.${flipped}`, now), null);
    assert.equal(tokens.verify(token.replace('prt_first.', 'prt_other.'), now), null);
    assert.equal(tokens.verify('prt_first.AAAA', now), null);
    assert.equal(tokens.verify(`${token}x`.repeat(200), now), null);
    const elsewhere = new RelayTokens(new Vault(new MasterKeyRing(key('first'))));
    assert.equal(elsewhere.verify(token, now), null);
  });

  test('tokens minted before a master-key rotation keep working while the old key is configured', () => {
    const old = key('old');
    const before = new RelayTokens(new Vault(new MasterKeyRing(old))).mint(claims);
    const rotated = new RelayTokens(new Vault(new MasterKeyRing(key('new'), [old])));
    assert.deepEqual(rotated.verify(before, now), claims);
    assert.match(rotated.mint(claims), /^prt_new\./);
    const dropped = new RelayTokens(new Vault(new MasterKeyRing(key('new'))));
    assert.equal(dropped.verify(before, now), null);
  });
});

describe('retry policy', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const rl = {
    reset_header: 'x-reset',
    remaining_header: 'x-remaining',
    reset_unit: 'epoch_seconds' as const,
  };
  const reset = String(now / 1000 + 7);

  test('Retry-After in seconds or as an HTTP date; garbage is no hint', () => {
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(new Date(now + 5000).toUTCString(), now), 5000);
    assert.equal(parseRetryAfter(new Date(now - 5000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });

  test('the catalog reset header is read in its unit, only when the quota is spent', () => {
    assert.equal(providerWaitMs(429, { 'x-reset': reset, 'x-remaining': '0' }, rl, now), 7000);
    assert.equal(providerWaitMs(429, { 'x-reset': reset, 'x-remaining': '5' }, rl, now), null);
    assert.equal(
      providerWaitMs(429, { 'retry-after': '2', 'x-reset': reset, 'x-remaining': '0' }, rl, now),
      2000,
    );
    assert.equal(
      providerWaitMs(429, { 'x-reset': '4' }, { reset_header: 'x-reset', reset_unit: 'seconds' }, now),
      4000,
    );
    assert.equal(exhaustedUntil({ 'x-reset': reset, 'x-remaining': '0' }, rl, now), now + 7000);
    assert.equal(exhaustedUntil({ 'x-reset': reset, 'x-remaining': '1' }, rl, now), null);
  });

  test('an empty or unreadable remaining header reads as absent, the same for every rule', () => {
    for (const remaining of ['', '  ', 'n/a']) {
      const headers = { 'x-reset': reset, 'x-remaining': remaining };
      // Not a spent quota: nothing is held back, and a 403 stays a refusal...
      assert.equal(exhaustedUntil(headers, rl, now), null, remaining);
      assert.equal(isRateLimited403(headers, rl), false, remaining);
      assert.equal(providerWaitMs(503, headers, rl, now), null, remaining);
      // ...while a 429 without a readable count still waits for the reset, as with no remaining header at all.
      assert.equal(providerWaitMs(429, headers, rl, now), 7000, remaining);
    }
  });

  test('a spent quota that the response names (resource_header) holds nothing back; the reactive rules stay', () => {
    const github = { ...rl, retry_after_header: 'retry-after', resource_header: 'x-resource' };
    const search = { 'x-reset': reset, 'x-remaining': '0', 'x-resource': 'search' };
    // GitHub's search quota is spent: the next call may count against core, so no hold is learned...
    assert.equal(exhaustedUntil(search, github, now), null);
    // ...but a 429 or a rate-limit 403 of that quota is still waited out until its reset.
    assert.equal(isRateLimited403(search, github), true);
    assert.equal(providerWaitMs(429, search, github, now), 7000);
    assert.equal(providerWaitMs(403, search, github, now), 7000);
    // Without the header (or with an empty one) the response says nothing of its quota: the hold is learned.
    assert.equal(exhaustedUntil({ 'x-reset': reset, 'x-remaining': '0' }, github, now), now + 7000);
    assert.equal(
      exhaustedUntil({ 'x-reset': reset, 'x-remaining': '0', 'x-resource': ' ' }, github, now),
      now + 7000,
    );
    // A provider whose catalog entry names no resource header keeps the hold, whatever the response carries.
    assert.equal(exhaustedUntil(search, rl, now), now + 7000);
  });

  test("a 403 counts as a rate limit only by the catalog's headers: remaining 0, or its Retry-After", () => {
    const github = { retry_after_header: 'retry-after', remaining_header: 'x-ratelimit-remaining' };
    assert.equal(isRateLimited403({ 'x-ratelimit-remaining': '0' }, github), true);
    assert.equal(isRateLimited403({ 'retry-after': '60' }, github), true);
    assert.equal(isRateLimited403({ 'x-ratelimit-remaining': '12' }, github), false);
    assert.equal(isRateLimited403({ 'x-ratelimit-remaining': '' }, github), false);
    assert.equal(isRateLimited403({}, github), false);
    assert.equal(isRateLimited403({ 'retry-after': '60', 'x-ratelimit-remaining': '0' }, {}), false);
  });

  test('backoff doubles and is capped; a hint gets a little jitter, never less than asked', () => {
    const settings = { maxAttempts: 3, maxTotalMs: 30_000, baseDelayMs: 500, maxDelayMs: 8000 };
    assert.equal(
      retryDelayMs(1, null, settings, () => 0),
      250,
    );
    assert.equal(
      retryDelayMs(2, null, settings, () => 0.999_999),
      999,
    );
    assert.equal(
      retryDelayMs(10, null, settings, () => 1),
      8000,
    );
    assert.equal(
      retryDelayMs(1, 3000, settings, () => 0),
      3000,
    );
    assert.ok(retryDelayMs(1, 3000, settings, () => 0.99) <= 3250);
  });
});

describe('relay throttle', () => {
  test('a token bucket lets a burst through, then spaces calls; a wait over budget is refused and not reserved', () => {
    const throttle = new RelayThrottle({ api: { requestsPerSecond: 10, burst: 2, scope: 'connection' } });
    const t = 1_000_000;
    assert.deepEqual(throttle.reserve('api', 'a', t, 1000), { waitMs: 0, granted: true });
    assert.deepEqual(throttle.reserve('api', 'a', t, 1000), { waitMs: 0, granted: true });
    assert.deepEqual(throttle.reserve('api', 'a', t, 1000), { waitMs: 100, granted: true });
    assert.deepEqual(throttle.reserve('api', 'a', t, 50), { waitMs: 200, granted: false });
    assert.deepEqual(throttle.reserve('api', 'a', t, 1000), { waitMs: 200, granted: true });
    // Another connection has its own bucket; an unthrottled provider never waits.
    assert.deepEqual(throttle.reserve('api', 'b', t, 0), { waitMs: 0, granted: true });
    assert.deepEqual(throttle.reserve('other', 'a', t, 0), { waitMs: 0, granted: true });
  });

  test('a provider-wide bucket is shared, and a learned quota reset holds the connection', () => {
    const throttle = new RelayThrottle({ api: { requestsPerSecond: 1, burst: 1, scope: 'provider' } });
    const t = 5_000_000;
    assert.equal(throttle.reserve('api', 'a', t, 0).granted, true);
    assert.equal(throttle.reserve('api', 'b', t, 0).granted, false);
    throttle.holdUntil('other', 'a', t + 300, t);
    assert.deepEqual(throttle.reserve('other', 'a', t, 1000), { waitMs: 300, granted: true });
    assert.deepEqual(throttle.reserve('other', 'a', t + 400, 0), { waitMs: 0, granted: true });
  });
});

describe('small pieces', () => {
  test('request ids have the req_ + 26 Crockford characters shape and do not repeat', () => {
    const next = createRequestIds();
    const ids = new Set(Array.from({ length: 1000 }, () => next()));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^req_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  test('the scanner finds a secret split across chunks', () => {
    const secret = Buffer.from('secret-token-123456');
    const scanner = new SecretScanner([secret]);
    assert.equal(scanner.found(Buffer.from('hello secret-tok')), false);
    assert.equal(scanner.found(Buffer.from('en-123456 world')), true);
    const fresh = new SecretScanner([secret]);
    assert.equal(fresh.found(Buffer.from('nothing to see here, nothing at all')), false);
    assert.equal(new SecretScanner([Buffer.from('short')]).active, false);
  });
});

describe('routing checks', () => {
  // The loops replace these regular expressions on the hot path and must agree with them.
  const SELECTION = /^[\x21-\x7e]{1,255}$/;
  const samples = [
    '',
    'a',
    'github',
    'google-drive',
    'a-b-c',
    'x9-2',
    '-github',
    'github-',
    'git--hub',
    'GitHub',
    'git_hub',
    'git hub',
    'git.hub',
    'git/hub',
    'gïthub',
    'user_01HXYZ',
    'a'.repeat(255),
    'a'.repeat(256),
    'with\ttab',
    'with\u007fdel',
    'über',
  ];

  test('isSlug and isSelectionValue agree with the patterns they replace', () => {
    for (const sample of samples) {
      assert.equal(isSlug(sample), SLUG_PATTERN.test(sample), `slug ${JSON.stringify(sample)}`);
      assert.equal(isSelectionValue(sample), SELECTION.test(sample), `selection ${JSON.stringify(sample)}`);
    }
    for (let code = 0; code <= 0x17f; code++) {
      const char = String.fromCharCode(code);
      for (const sample of [char, `a${char}`, `a${char}b`]) {
        assert.equal(isSlug(sample), SLUG_PATTERN.test(sample), `slug ${JSON.stringify(sample)}`);
        assert.equal(isSelectionValue(sample), SELECTION.test(sample), `selection ${JSON.stringify(sample)}`);
      }
    }
  });
});
