import type { AppContext } from '../context.ts';
import { loadIntegrationClient, resolveIntegrationProvider } from '../providers/resolve.ts';
import { resolveTemplate } from '../providers/templates.ts';
import type { ConnectedAccountTable } from '../store/schema.ts';
import { openAccountSecret } from './account-secrets.ts';
import { parseJsonObject } from './present-account.ts';

/**
 * Best-effort RFC 7009 revocation at the provider when a connection is deleted: the refresh token when there is one
 * (revoking it ends the whole grant at most providers), else the access token. Runs after the local delete has
 * committed; a failure is logged (without the token) and changes nothing locally.
 */
export async function revokeAtProvider(
  ctx: Omit<AppContext, 'tokens'>,
  account: ConnectedAccountTable,
): Promise<boolean> {
  if (account.auth_method !== 'oauth') return false;
  const integration = await ctx.store.db
    .selectFrom('data_integrations')
    .selectAll()
    .where('id', '=', account.data_integration_id)
    .executeTakeFirst();
  if (!integration) return false;
  const provider = resolveIntegrationProvider(ctx, integration);
  const url = provider.oauth?.revocation_url;
  const client = loadIntegrationClient(ctx, integration);
  if (!url || !client) return false;
  const refresh = openAccountSecret(ctx.vault, account, 'refresh_token', account.refresh_token);
  const access = openAccountSecret(ctx.vault, account, 'access_token', account.access_token);
  const token = refresh ?? access;
  if (token === null) return false;
  const body = new URLSearchParams({ token, token_type_hint: refresh ? 'refresh_token' : 'access_token' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.clientSecret === '') {
    // A public client (a custom provider with `client_secret_required: false`) sends its id alone, as it does at the
    // token endpoint: an empty secret is not a credential.
    body.set('client_id', client.clientId);
  } else if (provider.oauth?.client_auth === 'basic') {
    const basic = Buffer.from(
      `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
    );
    headers.authorization = `Basic ${basic.toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }
  const response = await ctx.providerHttp.fetch(
    resolveTemplate(url, parseJsonObject(account.config), provider.connect_config),
    {
      method: 'POST',
      headers,
      body: body.toString(),
    },
  );
  await response.text();
  if (!response.ok)
    ctx.log.warn({ account: account.id, status: response.status }, 'provider revocation answered an error');
  return response.ok;
}
