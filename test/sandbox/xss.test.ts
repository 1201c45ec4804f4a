import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  buildAuthorizeUrl,
  parseConsentForm,
  REDIRECT_URI,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

const PAYLOAD = '<script>alert(1)</script>';
const ATTRIBUTE_BREAKER = `"'><img src=x onerror=alert(2)>`;

function assertInert(html: string): void {
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<img/i);
  assert.doesNotMatch(html, /<[^>]*\sonerror=/i);
}

describe('sandbox: client-supplied strings are escaped', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox({ acceptAnyClient: true });
  });
  after(async () => {
    await h.close();
  });

  test('consent page: client_id, redirect_uri and state with markup', async () => {
    const redirectUri = `https://app.example/cb?next=${PAYLOAD}${ATTRIBUTE_BREAKER}`;
    const { url } = await buildAuthorizeUrl(h, { clientId: `${PAYLOAD}${ATTRIBUTE_BREAKER}`, redirectUri });
    const state = `${ATTRIBUTE_BREAKER}${PAYLOAD}`;
    url.searchParams.set('state', state);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    const html = await response.text();
    assertInert(html);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the client id is shown, escaped');
    assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt;'));

    // The state still round-trips exactly, URL-encoded in the redirect rather than interpreted anywhere.
    const form = parseConsentForm(html);
    const decision = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams({ request_id: form.requestId, account: 'ada', decision: 'allow' }),
      redirect: 'manual',
    });
    const location = decision.headers.get('location') ?? '';
    assert.doesNotMatch(location, /[<>"']/);
    assert.equal(new URL(location).searchParams.get('state'), state);
    assert.equal(new URL(location).searchParams.get('next'), `${PAYLOAD}${ATTRIBUTE_BREAKER}`);
  });

  test('error page: an invalid redirect_uri with markup', async () => {
    const { url } = await buildAuthorizeUrl(h, { clientId: PAYLOAD, redirectUri: `javascript:${PAYLOAD}` });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    const html = await response.text();
    assertInert(html);
    assert.ok(html.includes('client_id: &lt;script&gt;alert(1)&lt;/script&gt;'));
  });

  test('a scope with markup is refused by redirect, URL-encoded, never rendered', async () => {
    const { url } = await buildAuthorizeUrl(h, { clientId: 'someone', redirectUri: REDIRECT_URI });
    url.searchParams.set('scope', `profile ${PAYLOAD}`);
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 302);
    const location = response.headers.get('location') ?? '';
    assert.doesNotMatch(location, /[<>]/);
    assert.equal(new URL(location).searchParams.get('error'), 'invalid_scope');
  });
});

describe('sandbox: escaping with registered clients only', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  test('error page for an unknown client_id with markup', async () => {
    const { url } = await buildAuthorizeUrl(h, { clientId: `${ATTRIBUTE_BREAKER}${PAYLOAD}` });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    const html = await response.text();
    assertInert(html);
    assert.ok(html.includes('&lt;script&gt;'));
  });

  test('the expired-request page does not reflect the submitted id', async () => {
    const response = await fetch(`${h.issuer}/oauth/authorize/decision`, {
      method: 'POST',
      body: new URLSearchParams({ request_id: PAYLOAD, account: PAYLOAD, decision: 'allow' }),
    });
    assert.equal(response.status, 400);
    const html = await response.text();
    assertInert(html);
    assert.ok(!html.includes('alert(1)'));
  });
});
