import type { FakeProvider } from '../helpers/fake-provider.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';

/** Creates a custom OAuth integration whose token endpoint is the fake provider. */
export async function createFakeIntegration(
  pipes: { url: string },
  key: string,
  provider: FakeProvider,
  slug = 'acme',
  scopes: string[] = ['read', 'write'],
  /** More custom-provider fields, e.g. `api_base_url` for the relay. */
  customProvider: Record<string, unknown> = {},
) {
  const res = await api(pipes, 'POST', '/data-integrations', {
    key,
    body: {
      provider: slug,
      enabled: true,
      scopes,
      credentials: { type: 'custom', client_id: 'pipes-client', client_secret: 'pipes-client-secret-1234' },
      custom_provider: {
        name: 'Acme',
        authorization_url: `${provider.url}/authorize`,
        token_url: `${provider.url}/token`,
        token_body_content_type: 'application/x-www-form-urlencoded',
        authenticate_via: 'request_body',
        ...customProvider,
      },
    },
  });
  if (res.status !== 201) throw new Error(`creating the integration failed: ${res.status} ${res.text}`);
  return res.json;
}

/** Imports a grant from the fake provider as a user's connected account (the migration path of §3.6). */
export async function importGrant(
  pipes: { url: string },
  key: string,
  provider: FakeProvider,
  options: { userId?: string; slug?: string; expiresAt?: Date } = {},
) {
  const grant = provider.issueGrant();
  const res = await api(
    pipes,
    'POST',
    `/user_management/users/${options.userId ?? 'user_1'}/connected_accounts/${options.slug ?? 'acme'}`,
    {
      key,
      body: {
        access_token: grant.accessToken,
        refresh_token: grant.refreshToken,
        expires_at: (options.expiresAt ?? new Date(Date.now() - 60_000)).toISOString(),
        scopes: ['read'],
      },
    },
  );
  if (res.status !== 201) throw new Error(`import failed: ${res.status} ${res.text}`);
  return { account: res.json, grant };
}

/** Replaces a connection's tokens with a new grant from the fake provider (`PUT`, as an app re-importing does). */
export async function replaceGrant(
  pipes: { url: string },
  key: string,
  provider: FakeProvider,
  expiresAt: Date,
  userId = 'user_1',
) {
  const grant = provider.issueGrant();
  const res = await api(pipes, 'PUT', `/user_management/users/${userId}/connected_accounts/acme`, {
    key,
    body: {
      access_token: grant.accessToken,
      refresh_token: grant.refreshToken,
      expires_at: expiresAt.toISOString(),
    },
  });
  if (res.status !== 200) throw new Error(`replacing the grant failed: ${res.status} ${res.text}`);
  return grant;
}

export async function getToken(pipes: { url: string }, key: string, userId = 'user_1', slug = 'acme') {
  return api(pipes, 'POST', `/data-integrations/${slug}/token`, { key, body: { user_id: userId } });
}

export type { TestPipes };
