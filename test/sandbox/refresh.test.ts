import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import {
  admin,
  authorize,
  callApi,
  connect,
  expectOAuthError,
  postToken,
  refresh,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

interface TokenBody {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
}

async function refreshOk(h: SandboxHarness, refreshToken: string, scope?: string): Promise<TokenBody> {
  const response = await postToken(h, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...(scope === undefined ? {} : { scope }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return (await response.json()) as TokenBody;
}

async function expectRefreshRejected(h: SandboxHarness, refreshToken: string): Promise<void> {
  await expectOAuthError(await refresh(h, refreshToken), 400, 'invalid_grant');
}

describe('sandbox: refresh tokens', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });
  afterEach(async () => {
    const reset = await admin(h, '/settings', { rotateRefreshTokens: true, refreshGraceSeconds: 0 });
    assert.equal(reset.status, 200);
  });

  test('rotation on: a new refresh token each time, the old one is refused', async () => {
    const tokens = await connect(h);
    const first = await refreshOk(h, tokens.refresh_token!);
    assert.match(first.refresh_token ?? '', /^sbx_rt_/);
    assert.notEqual(first.refresh_token, tokens.refresh_token);
    assert.equal(first.scope, 'profile items:read offline_access');
    const second = await refreshOk(h, first.refresh_token!);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal((await callApi(h, '/user', second.access_token)).status, 200);
  });

  test('reusing a rotated refresh token revokes the whole family', async () => {
    const tokens = await connect(h);
    const rotated = await refreshOk(h, tokens.refresh_token!);
    assert.equal((await callApi(h, '/user', rotated.access_token)).status, 200);

    await expectRefreshRejected(h, tokens.refresh_token!);
    // The legitimate-looking newest tokens die with the family.
    await expectRefreshRejected(h, rotated.refresh_token!);
    assert.equal((await callApi(h, '/user', rotated.access_token)).status, 401);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 401);
  });

  test('a family revocation leaves other grants of the same account alone', async () => {
    const victim = await connect(h);
    const bystander = await connect(h);
    await refreshOk(h, victim.refresh_token!);
    await expectRefreshRejected(h, victim.refresh_token!);
    assert.equal((await callApi(h, '/user', bystander.access_token)).status, 200);
    await refreshOk(h, bystander.refresh_token!);
  });

  test('rotation off: no new refresh token, the same one keeps working', async () => {
    assert.equal((await admin(h, '/settings', { rotateRefreshTokens: false })).status, 200);
    const tokens = await connect(h);
    const first = await refreshOk(h, tokens.refresh_token!);
    assert.equal(first.refresh_token, undefined);
    const second = await refreshOk(h, tokens.refresh_token!);
    assert.notEqual(second.access_token, first.access_token);
    assert.equal((await callApi(h, '/user', first.access_token)).status, 200);
    assert.equal((await callApi(h, '/user', second.access_token)).status, 200);
  });

  test('rotation off through oauth4webapi: the response simply has no refresh_token', async () => {
    assert.equal((await admin(h, '/settings', { rotateRefreshTokens: false })).status, 200);
    const tokens = await connect(h);
    const refreshed = await oauth.processRefreshTokenResponse(
      h.as,
      h.client,
      await refresh(h, tokens.refresh_token!),
    );
    assert.equal(refreshed.refresh_token, undefined);
  });

  test('grace window: the old token works within it, and revokes the family after it', async () => {
    assert.equal((await admin(h, '/settings', { refreshGraceSeconds: 30 })).status, 200);
    const tokens = await connect(h);
    const rotated = await refreshOk(h, tokens.refresh_token!);

    h.clock.advance(29_000);
    const retry = await refreshOk(h, tokens.refresh_token!);
    assert.match(retry.refresh_token ?? '', /^sbx_rt_/);
    assert.equal((await callApi(h, '/user', retry.access_token)).status, 200);
    assert.equal((await callApi(h, '/user', rotated.access_token)).status, 200);

    // At exactly 30 s the grace is over: this use is a replay.
    h.clock.advance(1_000);
    await expectRefreshRejected(h, tokens.refresh_token!);
    await expectRefreshRejected(h, rotated.refresh_token!);
    await expectRefreshRejected(h, retry.refresh_token!);
  });

  test('grace 0: the old token is refused immediately', async () => {
    const tokens = await connect(h);
    await refreshOk(h, tokens.refresh_token!);
    await expectRefreshRejected(h, tokens.refresh_token!);
  });

  test('scope can be narrowed on refresh, never widened', async () => {
    const tokens = await connect(h);
    const narrowed = await refreshOk(h, tokens.refresh_token!, 'items:read');
    assert.equal(narrowed.scope, 'items:read');
    assert.equal((await callApi(h, '/items', narrowed.access_token)).status, 200);
    assert.equal((await callApi(h, '/user', narrowed.access_token)).status, 403);
    // The new refresh token keeps the full grant.
    const full = await refreshOk(h, narrowed.refresh_token!);
    assert.equal(full.scope, 'profile items:read offline_access');

    const widened = await postToken(h, {
      grant_type: 'refresh_token',
      refresh_token: full.refresh_token!,
      scope: 'items:write',
    });
    await expectOAuthError(widened, 400, 'invalid_scope');
    // A refused widening does not spend the refresh token.
    await refreshOk(h, full.refresh_token!);
  });

  test('a refresh token of one client is useless to another', async () => {
    const tokens = await connect(h);
    const response = await postToken(
      h,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
      { id: 'other-client', secret: 'other-client-secret-9876543210' },
    );
    await expectOAuthError(response, 400, 'invalid_grant');
    await refreshOk(h, tokens.refresh_token!);
  });

  test('unknown refresh token: invalid_grant', async () => {
    await expectRefreshRejected(h, `sbx_rt_${'x'.repeat(43)}`);
  });
});

describe('sandbox: access-token lifetime', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox({ settings: { accessTokenTtlSeconds: 5 } });
  });
  after(async () => {
    await h.close();
  });

  test('an expired access token gets 401 invalid_token; a refresh brings a working one', async () => {
    const tokens = await connect(h);
    assert.equal(tokens.expires_in, 5);
    h.clock.advance(4_999);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);
    h.clock.advance(1);
    const expired = await callApi(h, '/user', tokens.access_token);
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);

    const refreshed = await refreshOk(h, tokens.refresh_token!);
    assert.equal(refreshed.expires_in, 5);
    assert.equal((await callApi(h, '/user', refreshed.access_token)).status, 200);
  });

  test('the TTL can be changed at run time', async () => {
    const changed = await admin(h, '/settings', { accessTokenTtlSeconds: 120 });
    assert.equal(((await changed.json()) as { accessTokenTtlSeconds: number }).accessTokenTtlSeconds, 120);
    const tokens = await connect(h);
    assert.equal(tokens.expires_in, 120);
    h.clock.advance(119_000);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);
    h.clock.advance(1_000);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 401);
  });
});

describe('sandbox: admin switches', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  test('revoking an account kills its grants, codes in flight, and nothing of other accounts', async () => {
    const ada = await connect(h, { account: 'ada' });
    const adaCodeInFlight = await authorize(h, { account: 'ada' });
    const grace = await connect(h, { account: 'grace' });

    const response = await admin(h, '/accounts/ada/revoke', {});
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { login: 'ada', revoked: true });

    await expectRefreshRejected(h, ada.refresh_token!);
    assert.equal((await callApi(h, '/user', ada.access_token)).status, 401);
    const code = adaCodeInFlight.callback.searchParams.get('code')!;
    const redeemed = await postToken(h, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://app.example/oauth/callback',
      code_verifier: adaCodeInFlight.verifier,
    });
    await expectOAuthError(redeemed, 400, 'invalid_grant');

    assert.equal((await callApi(h, '/user', grace.access_token)).status, 200);
    await refreshOk(h, grace.refresh_token!);

    // Ada can connect again afterwards.
    const again = await connect(h, { account: 'ada' });
    assert.equal((await callApi(h, '/user', again.access_token)).status, 200);
  });

  test('unknown account: 404', async () => {
    assert.equal((await admin(h, '/accounts/mallory/revoke', {})).status, 404);
  });

  test('settings: read, partial update, validation', async () => {
    const current = await (await admin(h, '/settings')).json();
    assert.deepEqual(current, {
      accessTokenTtlSeconds: 3600,
      rotateRefreshTokens: true,
      refreshGraceSeconds: 0,
      rateLimitPerWindow: 600,
      rateLimitWindowSeconds: 60,
    });
    const updated = await (await admin(h, '/settings', { refreshGraceSeconds: 10 })).json();
    assert.deepEqual(updated, { ...current, refreshGraceSeconds: 10 });
    assert.deepEqual(h.provider.getSettings(), updated);

    for (const invalid of [
      { accessTokenTtlSeconds: 0 },
      { rotateRefreshTokens: 'yes' },
      { refreshGraceSeconds: -1 },
      { unknownSetting: 1 },
      [],
    ]) {
      const response = await admin(h, '/settings', invalid);
      assert.equal(response.status, 400, JSON.stringify(invalid));
    }
    assert.deepEqual(h.provider.getSettings(), updated);
  });

  test('stats count token requests by grant type', async () => {
    assert.equal((await admin(h, '/settings', { refreshGraceSeconds: 0 })).status, 200);
    assert.equal((await admin(h, '/stats/reset', {})).status, 200);
    const tokens = await connect(h);
    await refreshOk(h, tokens.refresh_token!);
    await expectRefreshRejected(h, tokens.refresh_token!);
    await expectOAuthError(await postToken(h, { grant_type: 'password' }), 400, 'unsupported_grant_type');
    const stats = (await (await admin(h, '/stats')).json()) as {
      token_requests: Record<string, number>;
      token_errors: number;
    };
    assert.deepEqual(stats.token_requests, { authorization_code: 1, refresh_token: 2, other: 1 });
    assert.equal(stats.token_errors, 2);
    assert.deepEqual(h.provider.getStats().token_requests, stats.token_requests);
  });

  test('without admin: true the switches are not mounted', async () => {
    const bare = await startSandbox({ admin: false });
    try {
      assert.equal((await admin(bare, '/settings')).status, 404);
      assert.equal((await admin(bare, '/accounts/ada/revoke', {})).status, 404);
    } finally {
      await bare.close();
    }
  });
});
