import type { Context } from 'hono';
import { z } from 'zod';
import type { AccountAddress } from '../../../tokens/connected-accounts.ts';
import type { AccountOwner } from '../../../tokens/owner.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';

const addressQuery = z.object({
  organization_id: z.string().min(1).max(200).optional(),
  supports_multiple_connections: z.enum(['true', 'false']).optional(),
  connected_account_id: z
    .string()
    .regex(/^data_installation_.+$/, 'must be a data_installation_… id')
    .optional(),
  connection_intent: z.enum(['reauthorize']).optional(),
});

/**
 * The account a `/user_management/users/{user_id}/connected_accounts/{slug}` or
 * `/organizations/{organization_id}/connected_accounts/{slug}` request addresses. The selection travels in the query
 * string (the SDK sends it there, even on PUT and DELETE).
 */
export function addressOf(c: Context<ApiEnv>, ownerType: 'user' | 'organization'): AccountAddress {
  const query = readQuery(c, addressQuery);
  const owner: AccountOwner =
    ownerType === 'user'
      ? { ownerType, userId: c.req.param('user_id') ?? '', organizationId: query.organization_id ?? null }
      : { ownerType, userId: null, organizationId: c.req.param('organization_id') ?? '' };
  return {
    environment: c.get('auth').environment,
    slug: c.req.param('slug') ?? '',
    selection: {
      owner,
      connectedAccountId: query.connected_account_id ?? null,
      supportsMultipleConnections: query.supports_multiple_connections === 'true',
    },
  };
}

export const importBodySchema = z.object({
  access_token: z.string().min(1).max(20_000).optional(),
  refresh_token: z.string().min(1).max(20_000).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  scopes: z.array(z.string().min(1).max(500)).max(500).optional(),
  state: z.enum(['connected', 'needs_reauthorization']).optional(),
  connection_intent: z.literal('add').optional(),
  /** The organization member acting, for organization connections (§3.7); recorded, not an owner. */
  user_id: z.string().min(1).max(200).optional(),
});
