import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { ownerFromRequest } from '../../../tokens/owner.ts';
import { presentConnectedAccount } from '../../../tokens/present-account.ts';
import { type StaticCredential, saveStaticCredential } from '../../../tokens/static-credentials.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';

const ownerFields = {
  user_id: z.string().min(1).max(200),
  organization_id: z.string().min(1).max(200).nullish(),
  connection_owner: z.enum(['user', 'organization']).optional(),
  account_identifier: z.string().min(1).max(500).optional(),
  account_display_name: z.string().min(1).max(500).optional(),
};
const upsertFields = {
  connected_account_id: z
    .string()
    .regex(/^data_installation_.+$/, 'must be a data_installation_… id')
    .optional(),
  connection_intent: z.literal('reauthorize').optional(),
};
const addFields = { connection_intent: z.literal('add') };
const apiKeyFields = { secret: z.string().min(1).max(10_000) };
const clientCredentialFields = {
  client_id: z.string().min(1).max(1000),
  client_secret: z.string().min(1).max(10_000),
  config: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string().max(1000)).optional(),
};

type Method = 'api_key' | 'client_credentials';

function schemaFor(method: Method, intent: 'upsert' | 'add') {
  return z.object({
    ...ownerFields,
    ...(intent === 'upsert' ? upsertFields : addFields),
    ...(method === 'api_key' ? apiKeyFields : clientCredentialFields),
  });
}

function credentialOf(method: Method, body: Record<string, unknown>): StaticCredential {
  if (method === 'api_key') return { method, secret: body.secret as string };
  return {
    method,
    clientId: body.client_id as string,
    clientSecret: body.client_secret as string,
    config: (body.config as Record<string, string> | undefined) ?? {},
  };
}

/**
 * `PUT` (upsert or rotate) and `POST` (`connection_intent: "add"`) of `/data-integrations/{slug}/api-key` and
 * `/data-integrations/{slug}/client-credentials` (§3.5). The answer is the connected account, with only the last 4
 * characters of the secret.
 */
export function staticCredentialRoute(ctx: AppContext, method: Method, intent: 'upsert' | 'add') {
  const schema = schemaFor(method, intent);
  return async (c: Context<ApiEnv>) => {
    const body = (await readJson(c, schema)) as Record<string, unknown>;
    const owner = ownerFromRequest({
      userId: body.user_id as string,
      organizationId: (body.organization_id as string | null | undefined) ?? null,
      connectionOwner: body.connection_owner as 'user' | 'organization' | undefined,
    });
    const account = await saveStaticCredential(ctx, {
      environment: c.get('auth').environment,
      slug: c.req.param('slug') ?? '',
      owner,
      credential: credentialOf(method, body),
      intent,
      connectedAccountId: (body.connected_account_id as string | undefined) ?? null,
      accountIdentifier: (body.account_identifier as string | undefined) ?? null,
      accountDisplayName: (body.account_display_name as string | undefined) ?? null,
    });
    return c.json(presentConnectedAccount(account), intent === 'add' ? 201 : 200);
  };
}
