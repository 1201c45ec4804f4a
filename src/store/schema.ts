import type { Generated } from 'kysely';

/**
 * The Kysely view of the database. Times are epoch milliseconds (`bigint`), flags are 0/1 integers, JSON is text,
 * secrets are vault blobs. Each table's comment says who writes it.
 */

/** Environments: `sandbox` and `production` exist from the first start; more can be created. */
export interface EnvironmentTable {
  id: string;
  name: string;
  kind: 'sandbox' | 'production';
  client_id: string;
  created_at: number;
  updated_at: number;
}

/** API keys: only a SHA-256 digest of the key is kept, with its last 4 characters for display. */
export interface ApiKeyTable {
  id: string;
  environment_id: string;
  name: string;
  digest: string;
  last4: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** Installation-wide settings and fingerprints (e.g. the master key check values). */
export interface SettingTable {
  key: string;
  value: string;
  updated_at: number;
}

/**
 * Named leases with a fencing counter: the cross-process mutual exclusion used by the refresher, the webhook
 * workers and the master-key rotation. See `src/store/leases.ts`.
 */
export interface LeaseTable {
  name: string;
  owner: string;
  fence: number;
  expires_at: number;
}

export interface Database {
  leases: LeaseTable;
  environments: EnvironmentTable;
  api_keys: ApiKeyTable;
  settings: SettingTable;
}

export type { Generated };
