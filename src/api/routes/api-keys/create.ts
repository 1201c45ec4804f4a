import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { createApiKey } from '../../../store/api-keys.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { presentApiKey } from './present.ts';

const createApiKeySchema = z.object({ name: z.string().trim().min(1).max(100).default('api') }).strict();

/** `POST /pipes/api-keys`: a new key for the caller's environment. The full key is in this response only. */
export function createApiKeyRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, createApiKeySchema);
    const { key, record } = await createApiKey(
      ctx.store.db,
      c.get('auth').environment,
      body.name,
      ctx.clock.now(),
    );
    c.header('Cache-Control', 'no-store');
    return c.json({ ...presentApiKey(record), key }, 201);
  };
}
