/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import type { FieldError } from '../../errors.ts';
import { PipesError } from '../../errors.ts';
import { isId } from '../../lib/ids.ts';
import {
  type ApiKeyRecord,
  createApiKey,
  listApiKeys,
  modeForEnvironment,
  revokeApiKey,
} from '../../store/api-keys.ts';
import { type Dash, type DashContext, type DashEnv, formValue, frameFor, readForm, render } from '../dash.ts';
import { ApiKeysPage } from '../pages/api-keys.tsx';
import { ConfirmPage } from '../pages/confirm.tsx';

const keyNotFound = () => new PipesError('api_key_not_found', 'API key not found.', { status: 404 });

export function mountApiKeyRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const { ctx } = dash;
  const db = ctx.store.db;

  async function page(
    c: DashContext,
    options: {
      created?: { record: ApiKeyRecord; key: string };
      errors?: FieldError[];
      status?: 200 | 201 | 422;
    } = {},
  ) {
    const env = c.get('session').environment;
    return render(
      c,
      <ApiKeysPage
        frame={await frameFor(dash, c, 'api-keys')}
        keys={await listApiKeys(db, env.id)}
        prefix={`sk_${modeForEnvironment(env)}_`}
        created={options.created ?? null}
        errors={options.errors ?? []}
      />,
      options.status ?? 200,
    );
  }

  async function findKey(environmentId: string, id: string): Promise<ApiKeyRecord> {
    if (!isId('apiKey', id)) throw keyNotFound();
    const key = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .where('environment_id', '=', environmentId)
      .executeTakeFirst();
    if (key === undefined) throw keyNotFound();
    return key;
  }

  app.get('/api-keys', (c) => page(c));

  app.post('/api-keys', async (c) => {
    const form = await readForm(c);
    const name = formValue(form, 'name').trim();
    if (name === '' || name.length > 100) {
      return page(c, {
        errors: [{ field: 'name', code: 'invalid', message: 'Give the key a name of 1 to 100 characters.' }],
        status: 422,
      });
    }
    const created = await createApiKey(db, c.get('session').environment, name, ctx.clock.now());
    return page(c, { created, status: 201 });
  });

  app.get('/api-keys/:id/revoke', async (c) => {
    const env = c.get('session').environment;
    const key = await findKey(env.id, c.req.param('id'));
    return render(
      c,
      <ConfirmPage
        frame={await frameFor(dash, c, 'api-keys')}
        title={`Revoke the key "${key.name}"?`}
        action={`/dashboard/api-keys/${key.id}/revoke`}
        button="Revoke key"
        cancel="/dashboard/api-keys"
      >
        <p>
          The key <code>…{key.last4}</code> stops working at once: every request with it gets 401. Deploy a
          new key to your app first if it still uses this one.
        </p>
      </ConfirmPage>,
    );
  });

  app.post('/api-keys/:id/revoke', async (c) => {
    const env = c.get('session').environment;
    const key = await findKey(env.id, c.req.param('id'));
    await revokeApiKey(db, env.id, key.id, ctx.clock.now());
    // As the API route does: this instance stops accepting the key at once (src/api/api-key-cache.ts).
    ctx.apiKeyCache.forget(key.id);
    return c.redirect('/dashboard/api-keys?notice=revoked', 303);
  });
}
