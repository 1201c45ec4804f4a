import { z } from 'zod';

/** The selection fields of `/token`, `/credentials` and friends (§3.4). Unknown fields are ignored. */
export const selectionSchema = z.object({
  user_id: z.string().min(1).max(200).optional(),
  organization_id: z.string().min(1).max(200).nullish(),
  connected_account_id: z
    .string()
    .regex(/^data_installation_.+$/, 'must be a data_installation_… id')
    .optional(),
  connection_owner: z.enum(['user', 'organization']).optional(),
  supports_multiple_connections: z.boolean().optional(),
});
