import type { Clock } from '../lib/clock.ts';
import type { ClientRegistry } from './clients.ts';
import type { SandboxRecords } from './records.ts';
import type { SandboxSettings } from './settings.ts';

/** Request counters for `GET /admin/stats`. Kept in process: they describe this server, not the shared state. */
export interface SandboxStats {
  token_requests: { authorization_code: number; refresh_token: number; other: number };
  token_errors: number;
  revocation_requests: number;
  api_requests: number;
}

export function createEmptyStats(): SandboxStats {
  return {
    token_requests: { authorization_code: 0, refresh_token: 0, other: 0 },
    token_errors: 0,
    revocation_requests: 0,
    api_requests: 0,
  };
}

/** Everything the route modules share; built once per provider in `provider.ts`. */
export interface SandboxContext {
  issuer: string;
  clock: Clock;
  records: SandboxRecords;
  clients: ClientRegistry;
  /** Read on every request, so a settings change applies immediately. */
  settings(): SandboxSettings;
  stats: SandboxStats;
}
