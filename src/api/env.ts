import type { AuthenticatedKey } from '../store/api-keys.ts';

/** Hono's typed per-request variables. */
export interface ApiEnv {
  Variables: {
    requestId: string;
    /** Set by the API-key middleware on authenticated routes. */
    auth: AuthenticatedKey;
  };
}
