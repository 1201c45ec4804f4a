import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PipesError } from '../../../src/errors.ts';
import { assertOriginAllowed, joinProviderUrl } from '../../../src/relay/egress/index.ts';

const BASE = 'https://api.example.com/rest/api/3/';

function assertInvalidPath(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => error instanceof PipesError && error.code === 'invalid_relay_path');
}

/** Fully percent-decodes (byte-wise, any depth) so the invariant check does not trust the code under test. */
function decodeAll(text: string): string {
  let current = text;
  for (;;) {
    const next = current.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === current) return current;
    current = next;
  }
}

describe('joinProviderUrl', () => {
  test('joins ordinary paths under the base path', () => {
    assert.equal(
      joinProviderUrl(BASE, '/issue/ABC-1').href,
      'https://api.example.com/rest/api/3/issue/ABC-1',
    );
    assert.equal(joinProviderUrl(BASE, 'issue/ABC-1').href, 'https://api.example.com/rest/api/3/issue/ABC-1');
    assert.equal(joinProviderUrl('https://api.example.com/rest/api/3', '/x').pathname, '/rest/api/3/x');
    assert.equal(
      joinProviderUrl('https://api.github.com', '/user/repos').href,
      'https://api.github.com/user/repos',
    );
    assert.equal(joinProviderUrl(BASE, '').href, 'https://api.example.com/rest/api/3/');
    assert.equal(joinProviderUrl(BASE, '/a/').pathname, '/rest/api/3/a/');
  });

  test('keeps legitimate @, encoded slashes, colons and dots inside names', () => {
    assert.equal(joinProviderUrl('https://discord.com/api/v10', '/users/@me').pathname, '/api/v10/users/@me');
    assert.equal(
      joinProviderUrl('https://gitlab.com/api/v4', '/projects/group%2Fproj').pathname,
      '/api/v4/projects/group%2Fproj',
    );
    assert.equal(joinProviderUrl(BASE, '/files/a.b..c/v1:run').pathname, '/rest/api/3/files/a.b..c/v1:run');
  });

  test('keeps Unicode names, with dots, spaces or invisible characters inside or beside other text', () => {
    for (const path of [
      '/caf%C3%A9',
      '/%E4%B8%AD%E6%96%87/x',
      '/%EF%BC%8Eenv',
      '/a%C2%A0b',
      '/%E2%80%8Bx',
      '/..a%E3%80%80',
      '/%F0%9F%91%A8%E2%80%8D%F0%9F%92%BB', // an emoji joined with U+200D
      '/a%FF', // not UTF-8: a lenient decoder reads U+FFFD, never a dot
    ]) {
      assert.equal(joinProviderUrl(BASE, path).pathname, `/rest/api/3${path}`, path);
    }
  });

  test('refuses overlong UTF-8, which old lenient decoders read as the ASCII it hides', () => {
    for (const path of ['/%C0%AE', '/%C0%AE%C0%AE/x', '/a%C1%9Cb', '/%E0%80%AE', '/%F0%80%80%AE']) {
      assertInvalidPath(() => joinProviderUrl(BASE, path));
    }
    // The shortest forms of other characters are names.
    assert.equal(
      joinProviderUrl(BASE, '/%C2%AE%E0%A0%80%F0%90%80%80').pathname,
      '/rest/api/3/%C2%AE%E0%A0%80%F0%90%80%80',
    );
  });

  test('takes the query from the path or from the argument', () => {
    assert.equal(joinProviderUrl(BASE, '/search?jql=a%3Db&page[size]=5').search, '?jql=a%3Db&page[size]=5');
    assert.equal(joinProviderUrl(BASE, '/search', 'q=1').search, '?q=1');
    assert.equal(joinProviderUrl(BASE, '/search', '?q=1').search, '?q=1');
    assert.equal(joinProviderUrl(BASE, '/search', '').search, '');
    assertInvalidPath(() => joinProviderUrl(BASE, '/search?a=1', 'b=2'));
    assertInvalidPath(() => joinProviderUrl(BASE, '/search', 'a=1#frag'));
    assertInvalidPath(() => joinProviderUrl(BASE, '/search', 'a=1\r\nX: y'));
    assertInvalidPath(() => joinProviderUrl(BASE, '/search', 'a=%zz'));
  });

  // P1 and P2.
  const HOSTILE = [
    '../../admin',
    '/../admin',
    '/a/../../admin',
    '/.',
    '/./x',
    '%2e%2e%2f',
    '%2E%2e%2f',
    '/%2e%2e/admin',
    '/.%2e/admin',
    '..%5c',
    '/..%5cadmin',
    '/%252e%252e/admin',
    '/%25252e%25252e/admin',
    '/%2525252525252e',
    '/..;/admin',
    '/..%3b/admin',
    '/..%20/admin',
    '/...',
    '/a\\b',
    '/a%5cb',
    '//canary.test/x',
    '/a//b',
    '/%2f/canary.test',
    '/%2F%2Fcanary.test',
    '@canary.test',
    '/@canary.test/x',
    '/%40canary.test',
    'http://canary.test/',
    'https:canary.test',
    '/http://canary.test/',
    'javascript:alert(1)',
    '/a%00b',
    '/a%0d%0aX-Injected: 1',
    '/a\r\nX-Injected: 1',
    '/a\u0000b',
    '/a b',
    '/a#frag',
    '/a%zz',
    '/a%',
    '/caf\u00e9',
    '/a"b',
    '/a<b>',
    // Read as UTF-8 and NFKC-normalised, or with Unicode padding trimmed, these are `..` too.
    '/%ef%bc%8e%ef%bc%8e/admin',
    '/%EF%BC%8E./admin',
    '/%e2%80%a4%e2%80%a4/admin',
    '/%e2%80%a5/admin',
    '/..%c2%a0/admin',
    '/..%e3%80%80/admin',
    '/%e2%80%80../admin',
    '/%2e%2e%e2%80%8b/admin',
    '/%e2%80%8d..%e2%81%a0/admin',
    '/..%ef%bb%bf/admin',
    '/..%ef%bc%9bx/admin',
    '/a%ef%bc%8f..%ef%bc%8fadmin',
    '/a%ef%bc%bc..%ef%bc%bcadmin',
    '/%25ef%25bc%258e%25ef%25bc%258e/admin',
    // A stray byte that is not UTF-8 elsewhere in the path does not switch the Unicode reading off.
    '/a/%ef%bc%8e%ef%bc%8e/b%ff',
    '/a/..%c2%a0/x%80',
    '/a/%e2%80%a5/%fe',
  ];
  for (const path of HOSTILE) {
    test(`rejects ${JSON.stringify(path)}`, () => assertInvalidPath(() => joinProviderUrl(BASE, path)));
  }

  test('rejects a base URL with credentials or a non-http scheme', () => {
    assert.throws(
      () => joinProviderUrl('https://u:p@api.example.com/', '/x'),
      (e: unknown) => e instanceof PipesError && e.code === 'invalid_provider_base_url',
    );
    assert.throws(
      () => joinProviderUrl('file:///etc/', 'passwd'),
      (e: unknown) => e instanceof PipesError && e.code === 'invalid_provider_base_url',
    );
  });

  test('property: ~2000 generated hostile paths are rejected or stay on the origin under the base path', () => {
    const fragments = [
      '..',
      '.',
      '%2e',
      '%2E',
      '%252e',
      '%25',
      '/',
      '\\',
      '%5c',
      '%5C',
      '%2f',
      '%2F',
      '@',
      '//',
      ':',
      '?',
      '#',
      ';',
      '%3b',
      '%00',
      '%0a',
      'a',
      'b',
      'x',
      'admin',
      'canary.test',
      'http:',
      '~',
      '%40',
      ' ',
    ];
    // mulberry32: a tiny seeded PRNG so that failures are reproducible.
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = (): string => fragments[Math.floor(random() * fragments.length)]!;
    const bases = [
      'https://api.example.com/rest/api/3/',
      'https://api.example.com',
      'https://t.example.com:8443/v1',
    ];

    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const base = new URL(bases[i % bases.length]!);
      const basePath = base.pathname.replace(/\/+$/, '');
      const length = 1 + Math.floor(random() * 8);
      let path = '';
      for (let j = 0; j < length; j++) path += pick();
      let result: URL;
      try {
        result = joinProviderUrl(base.href, path);
      } catch (error) {
        assert.ok(
          error instanceof PipesError,
          `non-PipesError for ${JSON.stringify(path)}: ${String(error)}`,
        );
        assert.equal(error.code, 'invalid_relay_path');
        assert.equal(error.status, 400);
        rejected++;
        continue;
      }
      accepted++;
      const context = `${JSON.stringify(path)} -> ${result.href}`;
      assert.equal(result.origin, base.origin, context);
      assert.equal(result.username + result.password, '', context);
      assert.ok(result.pathname.startsWith(`${basePath}/`), context);
      // Re-parsing the serialised URL must not move it (no latent dot segments for a second parser to resolve).
      assert.equal(new URL(result.href).href, result.href, context);
      for (const segment of decodeAll(result.pathname).split(/[/\\]/)) {
        assert.ok(!/^\.+$/.test(segment.split(';')[0]!.trim()), `dot segment survived: ${context}`);
      }
    }
    // The generator must exercise both outcomes, or the property says nothing.
    assert.ok(accepted > 100, `only ${accepted} accepted`);
    assert.ok(rejected > 100, `only ${rejected} rejected`);
  });
});

describe('assertOriginAllowed', () => {
  const origins = ['https://api.example.com', 'https://uploads.example.com:8443/'];

  test('accepts exact origins after normalisation', () => {
    assert.equal(assertOriginAllowed('https://API.example.com:443/x', origins).pathname, '/x');
    assert.equal(assertOriginAllowed(new URL('https://uploads.example.com:8443/a'), origins).port, '8443');
  });

  for (const url of [
    'http://api.example.com/x',
    'https://api.example.com:444/x',
    'https://uploads.example.com/a',
    'https://api.example.com.evil.test/',
    'https://evil.test/https://api.example.com',
    'not a url',
  ]) {
    test(`refuses ${url}`, () => {
      assert.throws(
        () => assertOriginAllowed(url, origins),
        (e: unknown) => e instanceof PipesError && e.code === 'blocked_destination' && e.status === 400,
      );
    });
  }

  test('never matches opaque origins', () => {
    assert.throws(() => assertOriginAllowed('data:text/plain,hi', ['data:text/plain,hi']), PipesError);
  });
});
