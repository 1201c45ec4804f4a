import assert from 'node:assert/strict';
import { api, type TestPipes } from '../helpers/pipes.ts';
import type { FakeOAuthProvider } from './fake-oauth-provider.ts';

export const FAKE_CLIENT_SECRET = 'fake-client-secret-4f1d2c3b';

/** Creates an enabled custom-provider integration pointing at a fake provider; returns its redirect URI. */
export async function createFakeIntegration(
  pipes: TestPipes,
  fp: FakeOAuthProvider,
  slug: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await api(pipes, 'POST', '/data-integrations', {
    key: pipes.sandboxKey,
    body: {
      provider: slug,
      enabled: true,
      scopes: ['read', 'write'],
      credentials: { type: 'custom', client_id: `${slug}-client`, client_secret: FAKE_CLIENT_SECRET },
      custom_provider: {
        name: `Fake ${slug}`,
        authorization_url: `${fp.url}/authorize`,
        token_url: `${fp.url}/token`,
        ...extra,
      },
    },
  });
  assert.equal(response.status, 201, response.text);
  return response.json.redirect_uri as string;
}

/** `POST /data-integrations/{slug}/authorize` → the connect link. */
export async function connectLink(
  pipes: TestPipes,
  slug: string,
  body: Record<string, unknown> = {},
): Promise<string> {
  const response = await api(pipes, 'POST', `/data-integrations/${slug}/authorize`, {
    key: pipes.sandboxKey,
    body: { user_id: 'user_1', ...body },
  });
  assert.equal(response.status, 200, response.text);
  return response.json.url as string;
}
