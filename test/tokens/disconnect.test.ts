import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testEngine } from '../helpers/database.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent } from '../oauth/flow-helpers.ts';
import { accountRow, dumpDatabase, eventsNamed, eventually, leakedIn, storedSecret } from './harness.ts';

/**
 * Row V8 of the security test plan with the built-in sandbox provider, which has an RFC 7009 revocation endpoint:
 * deleting a connection makes it unusable at once through the token API, erases its secrets, and revokes the grant
 * at the provider (after the commit, best effort).
 */
describe(`deleting a connection (${testEngine()})`, () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startPublicTestPipes({ startOptions: { refresher: { background: false } } });
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: { provider: 'sandbox', enabled: true, credentials: { type: 'shared' } },
    });
    assert.equal(created.status, 201, created.text);
  });
  after(() => pipes.close());

  async function connectSandbox(userId: string) {
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId,
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const back = returnedTo(
      await deliver(browser, await sandboxConsent(browser, await confirm(browser, url))),
    );
    assert.equal(back.searchParams.get('status'), 'connected', back.href);
    return back.searchParams.get('connected_account_id')!;
  }

  const sandboxApi = (accessToken: string) =>
    fetch(`${pipes.config.publicUrl}/sandbox/api/user`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });

  const refreshAtSandbox = async (refreshToken: string) => {
    const client = pipes.server.ctx.sandbox!.sharedClient;
    const response = await fetch(`${pipes.config.publicUrl}/sandbox/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    });
    return { status: response.status, body: (await response.json()) as { error?: string } };
  };

  test('V8: the token API says not_installed at once, the secrets are gone, and the grant is revoked at the provider', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const accountId = await connectSandbox('user_v8');
    const row = await accountRow(pipes, accountId);
    const refreshToken = storedSecret(pipes.server.ctx, row, 'refresh_token')!;
    const vended = await workos.pipes.getAccessToken({ provider: 'sandbox', userId: 'user_v8' });
    assert.ok(vended.active);
    const accessToken = vended.accessToken.accessToken;
    assert.equal((await sandboxApi(accessToken)).status, 200, 'the token works before the delete');

    await workos.pipes.deleteUserConnectedAccount({ userId: 'user_v8', slug: 'sandbox' });

    // At once, on the token API and the management API.
    assert.deepEqual(await workos.pipes.getAccessToken({ provider: 'sandbox', userId: 'user_v8' }), {
      active: false,
      error: 'not_installed',
    });
    const gone = await api(pipes, 'GET', '/user_management/users/user_v8/connected_accounts/sandbox', {
      key: pipes.sandboxKey,
    });
    assert.equal(gone.status, 404);
    const rows = await pipes.server.ctx.store.db
      .selectFrom('connected_accounts')
      .select('id')
      .where('id', '=', accountId)
      .execute();
    assert.equal(rows.length, 0, 'the row and its sealed secrets are erased, not soft-deleted');
    const [event] = await eventsNamed(pipes, 'pipes.connected_account.disconnected');
    assert.equal(event?.data.id, accountId);
    assert.equal(event?.data.state, 'disconnected');
    assert.deepEqual(leakedIn(JSON.stringify(event), [accessToken, refreshToken]), []);

    // At the provider: the revocation runs right after the commit; the whole grant dies with the refresh token.
    await eventually(
      async () => (await sandboxApi(accessToken)).status === 401,
      'the sandbox to reject the token',
    );
    const refreshed = await refreshAtSandbox(refreshToken);
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');
    assert.deepEqual(leakedIn(pipes.logs.text(), [accessToken, refreshToken]), []);
    assert.deepEqual(leakedIn(await dumpDatabase(pipes.server.ctx), [accessToken, refreshToken]), []);
  });

  test('a second connection of another user is untouched by the first one’s delete', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await connectSandbox('user_keep');
    const kept = await workos.pipes.getAccessToken({ provider: 'sandbox', userId: 'user_keep' });
    assert.ok(kept.active);
    await connectSandbox('user_drop');
    await workos.pipes.deleteUserConnectedAccount({ userId: 'user_drop', slug: 'sandbox' });
    const still = await workos.pipes.getAccessToken({ provider: 'sandbox', userId: 'user_keep' });
    assert.ok(still.active);
    assert.equal(still.accessToken.accessToken, kept.accessToken.accessToken);
    assert.equal((await sandboxApi(still.accessToken.accessToken)).status, 200);
  });
});
