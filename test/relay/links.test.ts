import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRelayFetch } from '../../src/relay/client.ts';
import { type LinkRewriteInput, rewriteLinkHeader, rewriteLocationHeader } from '../../src/relay/links.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { type FakeProvider, json, relayHeaders, startFakeProvider } from './helpers.ts';

const RELAY = 'https://pipes.example.com/relay/acme';

function rewrite(value: string, overrides: Partial<LinkRewriteInput> = {}): string | null {
  return rewriteLinkHeader(value, {
    providerBase: 'https://api.acme.test/v2',
    requestUrl: 'https://api.acme.test/v2/projects/7/issues',
    relayBase: RELAY,
    queryCredentialName: undefined,
    pipesHosts: ['pipes.example.com', 'pipes.internal:8080'],
    ...overrides,
  });
}

describe('Link header rewriting', () => {
  test('targets under the provider base point at the relay; parameters stay byte for byte', () => {
    assert.equal(
      rewrite(
        '<https://api.acme.test/v2/projects/7/issues?page=2&per_page=50>; rel="next", ' +
          '<https://api.acme.test/v2/projects/7/issues?page=9&per_page=50>;rel=last',
      ),
      `<${RELAY}/projects/7/issues?page=2&per_page=50>; rel="next", ` +
        `<${RELAY}/projects/7/issues?page=9&per_page=50>;rel=last`,
    );
    // The base itself, and a provider base without a path.
    assert.equal(rewrite('<https://api.acme.test/v2>; rel="index"'), `<${RELAY}/>; rel="index"`);
    assert.equal(
      rewrite('<https://api.github.com/repositories/1/issues?page=2>; rel="next"', {
        providerBase: 'https://api.github.com',
        requestUrl: 'https://api.github.com/repos/o/r/issues',
      }),
      `<${RELAY}/repositories/1/issues?page=2>; rel="next"`,
    );
  });

  test('relative targets are resolved against the provider request, then rewritten', () => {
    assert.equal(
      rewrite('</v2/projects/7/issues?page=2>; rel="next"'),
      `<${RELAY}/projects/7/issues?page=2>; rel="next"`,
    );
    assert.equal(rewrite('<issues?page=3>; rel="next"'), `<${RELAY}/projects/7/issues?page=3>; rel="next"`);
  });

  test('with a relay base, a link that does not lead into the relay is left out; the others stay byte for byte', () => {
    assert.equal(
      rewrite('<https://api.acme.test/v2/a>; rel="next", <https://docs.acme.test/v2/pagination>; rel="help"'),
      `<${RELAY}/a>; rel="next"`,
    );
    assert.equal(
      rewrite('<https://docs.acme.test/v2/pagination>; rel="help", <https://api.acme.test/v2/a>;rel=next'),
      `<${RELAY}/a>;rel=next`,
    );
    const elsewhere = [
      '<https://docs.acme.test/v2/pagination>; rel="help"',
      '<http://api.acme.test/v2/projects>; rel="next"',
      '<https://api.acme.test:8443/v2/projects>; rel="next"',
      '<https://api.acme.test/v1/projects?page=2>; rel="next"',
      '<https://api.acme.test/v2x/projects>; rel="next"',
      '<https://user:secret@api.acme.test/v2/projects>; rel="next"',
      '<https://docs.acme.test/a%20b?q=%2F#top>; rel="help"',
    ];
    for (const value of elsewhere) {
      assert.equal(rewrite(value), null, value);
      // Without a relay base (an API-key call to a target origin) they are left as sent.
      assert.equal(rewrite(value, { relayBase: null }), value, value);
    }
    assert.equal(rewrite(''), '');
    // A link-value without a target, or with text before or after it, is read differently by each client: Python's
    // requests and npm's parse-link-header follow `https://evil.example/` here. The header goes.
    for (const value of [
      'no target at all',
      'https://evil.example/; rel="next"',
      'https://pipes.example.com/data-integrations/github; rel="next"',
      'https://evil.example/<https://api.acme.test/v2/a>; rel="next"',
      '<https://api.acme.test/v2/a> https://evil.example/; rel="next"',
      '<https://api.acme.test/v2/a>; rel="next">',
      '<https://api.acme.test/v2/a>; rel="next", https://evil.example/; rel="prev"',
    ]) {
      assert.equal(rewrite(value), null, value);
      assert.equal(rewrite(value, { relayBase: null }), null, value);
    }
  });

  test('quoted parameters stay byte for byte, commas and escaped quotes included; a target inside one drops the header', () => {
    const value =
      '<https://api.acme.test/v2/a>; rel="next"; title="see a, then \\" b", ' +
      '<https://api.acme.test/v2/d>; rel="last"; anchor="https://api.acme.test/v2/e"';
    assert.equal(
      rewrite(value),
      `<${RELAY}/a>; rel="next"; title="see a, then \\" b", ` +
        `<${RELAY}/d>; rel="last"; anchor="https://api.acme.test/v2/e"`,
    );
    // Parsers disagree on where a quoted string ends: Octokit's `<([^<>]+)>;\s*rel="next"` finds the Pipes URL here.
    for (const quoted of [
      '<https://api.acme.test/v2/a>; title="<https://pipes.example.com/data-integrations/github>; rel="next"; x="y"',
      '<https://api.acme.test/v2/a>; rel="next"; title="see <https://api.acme.test/v2/b>"',
      '<https://api.acme.test/v2/a>; rel="next"; title="see <c>"',
    ]) {
      assert.equal(rewrite(quoted), null, quoted);
      assert.equal(rewrite(quoted, { relayBase: null }), null, quoted);
    }
  });

  test('a query credential the provider copied into a link is removed; the rest of the query stays', () => {
    assert.equal(
      rewrite('<https://api.acme.test/v2/items?page=2&api_key=sk-provider-secret&sort=asc>; rel="next"', {
        queryCredentialName: 'api_key',
      }),
      `<${RELAY}/items?page=2&sort=asc>; rel="next"`,
    );
    // Without the credential parameter the query is not re-encoded.
    assert.equal(
      rewrite('<https://api.acme.test/v2/items?q=a%20b&page=2>; rel="next"', {
        queryCredentialName: 'api_key',
      }),
      `<${RELAY}/items?q=a%20b&page=2>; rel="next"`,
    );
  });
});

describe('links that would lead the caller back to Pipes', () => {
  test('a relative target outside the base is never left to resolve against the relay', () => {
    // With a relay base it is left out, like any link that does not lead into the relay.
    const relative = '</v1/projects?page=2>; rel="next", <../../../v2x/a>; rel="alternate"';
    assert.equal(rewrite(relative), null);
    // Without one it is made absolute on the provider, where the provider meant it.
    const noRelay = { relayBase: null };
    assert.equal(
      rewrite(relative, noRelay),
      '<https://api.acme.test/v1/projects?page=2>; rel="next", <https://api.acme.test/v2x/a>; rel="alternate"',
    );
    assert.equal(
      rewrite('<//cdn.acme.test/x>; rel="preload"', noRelay),
      '<https://cdn.acme.test/x>; rel="preload"',
    );
    // A scheme without an authority is relative to a client whose base has that scheme: the relay's origin.
    for (const target of ['https:/data-integrations/github', 'HTTPS:/data-integrations/github']) {
      assert.equal(
        rewrite(`<${target}>; rel="next"`, { requestUrl: 'https://api.acme.test/v2/a' }),
        null,
        target,
      );
      assert.equal(
        rewrite(`<${target}>; rel="next"`, noRelay),
        '<https://api.acme.test/data-integrations/github>; rel="next"',
        target,
      );
    }
    assert.equal(rewrite('<https:\\\\pipes.example.com/x>; rel="next"'), null);
    assert.equal(rewrite('<https:\\\\pipes.example.com/x>; rel="next"', noRelay), null);
  });

  test('a target parsers may read differently is sent as the relay read it; an unreadable or unclosed one is dropped', () => {
    // (Without a relay base: with one, a link elsewhere is left out anyway.) WHATWG reads the backslash as a slash
    // (host `a`); an RFC 3986 parser would find user info and host `pipes…`.
    assert.equal(
      rewrite('<https://a\\@pipes.example.com/data-integrations/github>; rel="next"', { relayBase: null }),
      '<https://a/@pipes.example.com/data-integrations/github>; rel="next"',
    );
    // Tabs and newlines, which WHATWG strips and others keep; spaces and non-ASCII characters.
    assert.equal(
      rewrite('<https://docs.acme.test/a\tb c/é>; rel="help"', { relayBase: null }),
      '<https://docs.acme.test/ab%20c/%C3%A9>; rel="help"',
    );
    for (const value of [
      '<http://[::1>; rel="next"',
      '<https://api.acme.test/v2/a>; rel="next", <https://exa mple.com/>; rel="x"',
      '<https://api.acme.test/v2/projects?page=2; rel="next"',
      '<https://api.acme.test/v2/a>; rel="next", <https://pipes.example.com/x',
    ]) {
      assert.equal(rewrite(value), null, value);
    }
  });

  test("a header with any target on Pipes' own host is dropped whole", () => {
    assert.equal(rewrite('<https://pipes.example.com/data-integrations/github>; rel="next"'), null);
    assert.equal(
      rewrite('<https://api.acme.test/v2/a>; rel="next", <http://pipes.internal:8080/api-keys>; rel="x"'),
      null,
    );
    // Any scheme or user info on that host too, and its fully qualified name (a trailing dot) or upper case.
    assert.equal(rewrite('<https://user@pipes.example.com/x>; rel="next"'), null);
    assert.equal(rewrite('<https://pipes.example.com./data-integrations>; rel="next"'), null);
    assert.equal(rewrite('<http://PIPES.internal.:8080/api-keys>; rel="next"'), null);
    assert.equal(rewrite('<https://pipes.example.com:443/x>; rel="next"'), null);
    // The `Host` the caller used, as it sent it: a trailing dot or upper case there too.
    for (const target of ['https://alt.internal./x', 'https://ALT.internal/x', 'http://alt.internal:80/x']) {
      assert.equal(
        rewrite(`<${target}>; rel="next"`, { pipesHosts: ['Alt.Internal.'], relayBase: null }),
        null,
        target,
      );
    }
    // Another port of the same name is another server.
    assert.equal(
      rewrite('<http://pipes.internal:9090/x>; rel="next"', { relayBase: null }),
      '<http://pipes.internal:9090/x>; rel="next"',
    );
  });

  test('without a relay base (an API-key call to a target origin) links into the API keep pointing at the provider', () => {
    assert.equal(
      rewrite('<https://api.acme.test/v2/a?page=2>; rel="next", </v2/b>; rel="prev"', { relayBase: null }),
      '<https://api.acme.test/v2/a?page=2>; rel="next", <https://api.acme.test/v2/b>; rel="prev"',
    );
    assert.equal(rewrite('<https://pipes.example.com/x>; rel="next"', { relayBase: null }), null);
  });
});

describe('Location header rewriting', () => {
  const input: LinkRewriteInput = {
    providerBase: 'https://api.acme.test/v2',
    requestUrl: 'https://api.acme.test/v2/projects/7',
    relayBase: RELAY,
    queryCredentialName: undefined,
    pipesHosts: ['pipes.example.com'],
  };

  test('a location in the provider API points at the relay; another readable one stays as sent', () => {
    assert.equal(
      rewriteLocationHeader('https://api.acme.test/v2/repositories/42?x=1', input),
      `${RELAY}/repositories/42?x=1`,
    );
    assert.equal(rewriteLocationHeader('/v2/projects/8', input), `${RELAY}/projects/8`);
    for (const value of [
      'https://codeload.acme.test/archive.tar.gz?sig=abc',
      'https://api.acme.test/v1/projects/8',
    ]) {
      assert.equal(rewriteLocationHeader(value, input), value, value);
    }
    assert.equal(rewriteLocationHeader('http://[::1', input), null, 'unreadable: dropped');
    // Relative elsewhere: absolute on the provider. On Pipes' host: dropped.
    assert.equal(rewriteLocationHeader('/login', input), 'https://api.acme.test/login');
    assert.equal(
      rewriteLocationHeader('/data-integrations/github', input),
      'https://api.acme.test/data-integrations/github',
    );
    assert.equal(rewriteLocationHeader('https://pipes.example.com/data-integrations/github', input), null);
  });
});

const ACCESS_TOKEN = 'at-paging-relay-0123456789';
const PAGES = 3;

/**
 * Pagination through the relay with the real token service: a provider API that pages with absolute `Link` URLs (as
 * GitHub does), followed the way SDKs follow them, in each of the relay's URL forms.
 */
describe('pagination links through the relay', () => {
  let pipes: TestPipes;
  let apiServer: FakeProvider;
  before(async () => {
    apiServer = await startFakeProvider((req, res) => {
      const url = new URL(req.url ?? '/', 'http://provider.invalid');
      // A hostile provider sends a DELETE's client to Pipes' own API: relative, and absolute on Pipes' host.
      if (req.method === 'DELETE' && url.pathname.startsWith('/v2/files/')) {
        const location = {
          '/v2/files/relative': '/data-integrations/acme-pages',
          // Relative too, to a client on an http:// relay URL, though it carries a scheme.
          '/v2/files/scheme-relative': 'http:/data-integrations/acme-pages',
          '/v2/files/absolute': `${pipes.config.publicUrl}/data-integrations/acme-pages`,
        }[url.pathname];
        res.writeHead(307, { location, 'content-length': '0' });
        res.end();
        return;
      }
      // A moved resource, as GitHub answers for a renamed repository.
      if (url.pathname === '/v2/old-items') {
        res.writeHead(301, {
          location: `${apiServer.url}/v2/items?page=2&per_page=2`,
          'content-length': '0',
        });
        res.end();
        return;
      }
      const page = Number(url.searchParams.get('page') ?? '1');
      const links = [
        `<${apiServer.url}/v2/items?page=${PAGES}&per_page=2>; rel="last"`,
        '</v2/items?page=1&per_page=2>; rel="first"',
        '<https://docs.acme.test/pagination>; rel="help"',
      ];
      if (page < PAGES) links.unshift(`<${apiServer.url}/v2/items?page=${page + 1}&per_page=2>; rel="next"`);
      json(res, 200, { page }, { link: links.join(', ') });
    });
    pipes = await startPublicTestPipes();
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: {
        provider: 'acme-pages',
        enabled: true,
        credentials: {
          type: 'custom',
          client_id: 'paging-client',
          client_secret: 'paging-client-secret-1234',
        },
        custom_provider: {
          name: 'Acme Pages',
          authorization_url: `${apiServer.url}/authorize`,
          token_url: `${apiServer.url}/token`,
          api_base_url: `${apiServer.url}/v2`,
        },
      },
    });
    assert.equal(created.status, 201, created.text);
    const imported = await api(pipes, 'POST', '/user_management/users/user_1/connected_accounts/acme-pages', {
      key: pipes.sandboxKey,
      body: { access_token: ACCESS_TOKEN },
    });
    assert.equal(imported.status, 201, imported.text);
  });
  after(async () => {
    await pipes.close();
    await apiServer.close();
  });

  /** Follows `rel="next"` from `first` with `get`, as Octokit's paginate does; returns the pages and the last Link. */
  async function followAll(first: string, get: (url: string) => Promise<Response>) {
    const pages: number[] = [];
    const seenLinks: string[] = [];
    let next: string | undefined = first;
    while (next !== undefined && pages.length <= PAGES) {
      const response = await get(next);
      assert.equal(response.status, 200, await response.clone().text());
      pages.push(((await response.json()) as { page: number }).page);
      const link = response.headers.get('link') ?? '';
      seenLinks.push(link);
      next = /<([^>]*)>; rel="next"/.exec(link)?.[1];
    }
    return { pages, seenLinks };
  }

  function assertEveryCallCarriedTheToken(since: number) {
    const calls = apiServer.requests.slice(since);
    assert.equal(calls.length, PAGES);
    for (const call of calls) assert.equal(call.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
  }

  // Naming the base URL's own origin in Pipes-Target-Origin changes nothing, links included.
  for (const sameOriginTarget of [false, true]) {
    const form = sameOriginTarget
      ? "API-key form with Pipes-Target-Origin naming the base URL's own origin"
      : 'API-key form';
    test(`${form}: the links lead back to the relay, and following them with the same headers pages through`, async () => {
      const since = apiServer.requests.length;
      const relayBase = `${pipes.config.publicUrl}/relay/acme-pages`;
      const headers: Record<string, string> = relayHeaders(pipes.sandboxKey);
      if (sameOriginTarget) headers['pipes-target-origin'] = apiServer.url;
      const { pages, seenLinks } = await followAll(`${relayBase}/items?per_page=2`, (url) =>
        fetch(url, { headers }),
      );
      assert.deepEqual(pages, [1, 2, 3]);
      assert.equal(
        seenLinks[0],
        `<${relayBase}/items?page=2&per_page=2>; rel="next", <${relayBase}/items?page=3&per_page=2>; rel="last", ` +
          `<${relayBase}/items?page=1&per_page=2>; rel="first"`,
      );
      assertEveryCallCarriedTheToken(since);
      for (const link of seenLinks) {
        assert.ok(!link.includes(apiServer.url), 'no link leads straight to the provider');
        assert.ok(!link.includes(pipes.sandboxKey) && !link.includes(ACCESS_TOKEN), 'no secret in a link');
      }
    });
  }

  test('relay-token form: the links keep the token path, so a client with nothing but the URL pages through', async () => {
    const minted = await api(pipes, 'POST', '/relay/tokens', {
      key: pipes.sandboxKey,
      body: { provider: 'acme-pages', user_id: 'user_1' },
    });
    assert.equal(minted.status, 201, minted.text);
    const baseUrl = (minted.json as { base_url: string }).base_url;
    const since = apiServer.requests.length;
    const { pages, seenLinks } = await followAll(`${baseUrl}/items?per_page=2`, (url) => fetch(url));
    assert.deepEqual(pages, [1, 2, 3]);
    assert.ok(seenLinks[0]?.startsWith(`<${baseUrl}/items?page=2&per_page=2>; rel="next"`), seenLinks[0]);
    assertEveryCallCarriedTheToken(since);
  });

  test('a redirect within the provider API leads back to the relay, and fetch follows it through Pipes', async () => {
    const since = apiServer.requests.length;
    const relayBase = `${pipes.config.publicUrl}/relay/acme-pages`;
    const headers = relayHeaders(pipes.sandboxKey);
    const manual = await fetch(`${relayBase}/old-items`, { headers, redirect: 'manual' });
    assert.equal(manual.status, 301);
    assert.equal(manual.headers.get('location'), `${relayBase}/items?page=2&per_page=2`);
    const followed = await fetch(`${relayBase}/old-items`, { headers });
    assert.equal(followed.status, 200);
    assert.deepEqual(await followed.json(), { page: 2 });
    assert.equal(followed.url, `${relayBase}/items?page=2&per_page=2`);
    const calls = apiServer.requests.slice(since);
    assert.deepEqual(
      calls.map((call) => call.url),
      ['/v2/old-items', '/v2/old-items', '/v2/items?page=2&per_page=2'],
    );
    for (const call of calls) assert.equal(call.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
  });

  test("a redirect toward Pipes' own API never reaches it with the caller's API key", async () => {
    const relayBase = `${pipes.config.publicUrl}/relay/acme-pages`;
    const headers = relayHeaders(pipes.sandboxKey);
    const relative = await fetch(`${relayBase}/files/relative`, {
      method: 'DELETE',
      headers,
      redirect: 'manual',
    });
    assert.equal(relative.status, 307);
    assert.equal(relative.headers.get('location'), `${apiServer.url}/data-integrations/acme-pages`);
    const schemeRelative = await fetch(`${relayBase}/files/scheme-relative`, {
      method: 'DELETE',
      headers,
      redirect: 'manual',
    });
    assert.equal(schemeRelative.headers.get('location'), `${apiServer.url}/data-integrations/acme-pages`);
    const absolute = await fetch(`${relayBase}/files/absolute`, {
      method: 'DELETE',
      headers,
      redirect: 'manual',
    });
    assert.equal(absolute.status, 307);
    assert.equal(absolute.headers.get('location'), null);

    // Followed the way fetch follows them: to the provider (without the API key, fetch drops it across origins),
    // or not at all; the integration is still there.
    const since = apiServer.requests.length;
    for (const name of ['relative', 'scheme-relative', 'absolute']) {
      const followed = await fetch(`${relayBase}/files/${name}`, { method: 'DELETE', headers });
      await followed.arrayBuffer();
    }
    const integration = await api(pipes, 'GET', '/data-integrations/acme-pages', { key: pipes.sandboxKey });
    assert.equal(integration.status, 200, integration.text);
    const calls = apiServer.requests.slice(since);
    assert.deepEqual(
      calls.map((call) => `${call.method} ${call.url}`),
      [
        'DELETE /v2/files/relative',
        'DELETE /data-integrations/acme-pages',
        'DELETE /v2/files/scheme-relative',
        'DELETE /data-integrations/acme-pages',
        'DELETE /v2/files/absolute',
      ],
    );
    assert.equal(calls[1]?.headers.authorization, undefined);
    assert.equal(calls[3]?.headers.authorization, undefined);
  });

  test('the fetch helper follows links the relay rewrote without sending them elsewhere', async () => {
    const relayFetch = createRelayFetch({
      baseUrl: pipes.config.publicUrl,
      apiKey: pipes.sandboxKey,
      provider: 'acme-pages',
      userId: 'user_1',
      upstreamBaseUrl: `${apiServer.url}/v2`,
    });
    const since = apiServer.requests.length;
    const { pages } = await followAll(`${apiServer.url}/v2/items?per_page=2`, (url) => relayFetch(url));
    assert.deepEqual(pages, [1, 2, 3]);
    assertEveryCallCarriedTheToken(since);
    assert.deepEqual(
      apiServer.requests.slice(since).map((r) => r.url),
      ['/v2/items?per_page=2', '/v2/items?page=2&per_page=2', '/v2/items?page=3&per_page=2'],
    );
  });
});
