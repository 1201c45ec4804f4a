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

/** The environment-level configuration of one provider (`data_integration`). */
export interface DataIntegrationTable {
  id: string;
  environment_id: string;
  slug: string;
  ownership: 'user' | 'organization';
  /** `dik_…`: names the integration's own redirect URI (mix-up defence: one redirect URI per integration). */
  integration_key: string;
  description: string | null;
  enabled: number;
  /** JSON string array, or null for the provider's default scopes. */
  scopes: string | null;
  /** JSON array of `oauth | api_key | client_credentials`. */
  auth_methods: string;
  credentials_type: 'custom' | 'shared' | 'organization' | null;
  client_id: string | null;
  /** Vault blob, kind `client_secret`. */
  client_secret: Buffer | null;
  client_secret_last4: string | null;
  /** JSON object of integration-level provider config. */
  config: string;
  /** JSON `CustomProviderDefinition` for custom providers, else null. */
  custom_provider: string | null;
  created_at: number;
  updated_at: number;
}

export type ConnectedAccountState = 'connected' | 'needs_reauthorization' | 'disconnected';
export type AuthMethod = 'oauth' | 'api_key' | 'client_credentials';

/**
 * One connection of a provider (`connected_account`, id `data_installation_…`). Secrets are vault blobs bound to
 * this row. `token_version` is the compare-and-set version of the token set; the lease columns and the fence make
 * refreshes single-flight across instances (see src/tokens).
 */
export interface ConnectedAccountTable {
  id: string;
  environment_id: string;
  data_integration_id: string;
  provider_slug: string;
  owner_type: 'user' | 'organization';
  user_id: string | null;
  organization_id: string | null;
  owner_key: string;
  connection_role: 'compatibility' | 'standard';
  auth_method: AuthMethod;
  state: ConnectedAccountState;
  /** JSON string array of granted scopes. */
  scopes: string;
  account_identifier: string | null;
  account_display_name: string | null;
  config: string;
  metadata: string;
  access_token: Buffer | null;
  refresh_token: Buffer | null;
  api_key: Buffer | null;
  api_key_last4: string | null;
  client_id: string | null;
  client_secret: Buffer | null;
  client_secret_last4: string | null;
  expires_at: number | null;
  /** `expires_in` (known expiry), `never`, or `unknown` (refresh on a default lifetime). */
  expiry_kind: 'expires_in' | 'never' | 'unknown';
  token_version: number;
  /** Bumped by every new grant (reauthorization): a refresh started under an older generation is discarded. */
  generation: number;
  lease_owner: string | null;
  lease_until: number | null;
  lease_fence: number;
  /** Journal of a refresh in flight: the token version it started from. Non-null after a crash = outcome unknown. */
  refresh_attempt_version: number | null;
  refresh_attempt_started_at: number | null;
  /** The last refresh attempt, whatever its outcome (the dashboard's "last refresh"). */
  last_refresh_at: number | null;
  /**
   * When Pipes obtained the stored access token (grant or refresh); null when it does not know (imported tokens). The
   * refresh margin is measured from it (or from `created_at`), never from a failed attempt.
   */
  token_issued_at: number | null;
  last_refresh_outcome: string | null;
  last_refresh_error: string | null;
  refresh_failures: number;
  refresh_cooldown_until: number | null;
  next_refresh_at: number | null;
  reauthorization_reason: string | null;
  last_used_at: number | null;
  created_at: number;
  updated_at: number;
}

/** A connect flow between `POST …/authorize` and the provider's callback. Short-lived, single-use. */
export interface AuthorizationFlowTable {
  id: string;
  environment_id: string;
  data_integration_id: string;
  provider_slug: string;
  /** SHA-256 of the opaque link token in the URL handed to the app. */
  link_hash: string;
  /** SHA-256 of the OAuth `state`, set when the browser leaves for the provider. */
  state_hash: string | null;
  /** SHA-256 of the browser-binding cookie set on the confirmation step. */
  browser_hash: string | null;
  owner_type: 'user' | 'organization';
  user_id: string | null;
  organization_id: string | null;
  connection_intent: string | null;
  target_account_id: string | null;
  return_to: string | null;
  config: string;
  redirect_uri: string;
  issuer: string | null;
  /** Vault blob, kind `code_verifier`. */
  code_verifier: Buffer | null;
  /** Session binding: the app's S256 challenge; the account is saved only after the app's finish call. */
  app_code_challenge: string | null;
  /** Vault blob: the token result held until the app's finish call (session binding). */
  pending_result: Buffer | null;
  status: 'created' | 'redirected' | 'awaiting_finish' | 'completed' | 'failed';
  result_account_id: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

/**
 * Events (`event_…`), written by `recordEvent` inside the transaction of the state change they describe. `data` is
 * the JSON payload exactly as delivered; `sequence` orders one connected account's events (R-W7).
 */
export interface EventTable {
  id: string;
  environment_id: string;
  /** Canonical event name, e.g. `pipes.connected_account.connected`. */
  event: string;
  organization_id: string | null;
  connected_account_id: string | null;
  sequence: number | null;
  data: string;
  created_at: number;
}

/** The last `sequence` handed out per connected account: an upsert on this row serialises concurrent writers. */
export interface EventSequenceTable {
  connected_account_id: string;
  last_sequence: number;
}

/** Webhook endpoints (`we_…`). Secrets are vault blobs, kind `webhook_secret`, bound to this row. */
export interface WebhookEndpointTable {
  id: string;
  environment_id: string;
  endpoint_url: string;
  /** JSON string array of subscribed event names (canonical names or aliases). */
  events: string;
  status: 'enabled' | 'disabled';
  /** Why Pipes disabled it (`gone`: the receiver answered 410; `failing`: failing for days), or `manual`. */
  disabled_reason: string | null;
  secret: Buffer;
  secret_last4: string;
  /** The secret before the last rotation, still signed with until `previous_secret_expires_at`. */
  previous_secret: Buffer | null;
  previous_secret_expires_at: number | null;
  /** Time of the first failed attempt since the last 2xx; null while healthy. */
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * The transactional outbox: one row per (event, endpoint) to deliver (`whd_…`). Workers claim a due row with a
 * compare-and-set that also increments `attempts`, so each attempt number belongs to exactly one claimer.
 */
export interface WebhookDeliveryTable {
  id: string;
  environment_id: string;
  event_id: string;
  endpoint_id: string;
  /** The name this endpoint subscribed to (an alias or the canonical name): the envelope's `event`. */
  event_name: string;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  /** 1 when created by a manual redelivery. */
  manual: number;
  created_at: number;
  updated_at: number;
}

/** One row per delivery attempt: what the receiver answered (first 1 KB) or why the attempt failed. */
export interface WebhookAttemptTable {
  delivery_id: string;
  attempt: number;
  environment_id: string;
  endpoint_id: string;
  event_id: string;
  started_at: number;
  latency_ms: number;
  status_code: number | null;
  response_body: string | null;
  error: string | null;
  outcome: 'delivered' | 'retrying' | 'failed' | 'gone' | 'cancelled';
}

/** Key-value state of the built-in sandbox provider (see src/store/sandbox-state.ts). Keys hold only digests. */
export interface SandboxStateTable {
  key: string;
  value: string;
  /** Epoch ms; null = no expiry. Expired rows behave as absent and are purged lazily. */
  expires_at: number | null;
}

/** Dashboard operators (`operator_…`). `password_hash` is `scrypt$N$r$p$salt$hash` (src/dashboard/auth/passwords.ts). */
export interface OperatorTable {
  id: string;
  /** Lower-cased. */
  email: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
  last_sign_in_at: number | null;
}

/**
 * Dashboard sessions. The cookie carries the session id; only its SHA-256 is stored. `csrf_token` is the
 * synchronizer token of this session's forms. `expires_at` is the absolute timeout, `last_seen_at` drives the idle one.
 */
export interface OperatorSessionTable {
  id_hash: string;
  operator_id: string;
  /** The environment the dashboard shows (the environment switcher). */
  environment_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** Sign-in throttle, per account (`account:<sha256 of the email>`) and per client address (`ip:<address>`). */
export interface LoginThrottleTable {
  key: string;
  /** Attempts since the last success (or since a quiet hour); the lock grows with each one past the threshold. */
  failures: number;
  last_attempt_at: number;
  locked_until: number;
}

export interface Database {
  sandbox_state: SandboxStateTable;
  data_integrations: DataIntegrationTable;
  connected_accounts: ConnectedAccountTable;
  authorization_flows: AuthorizationFlowTable;
  leases: LeaseTable;
  environments: EnvironmentTable;
  api_keys: ApiKeyTable;
  settings: SettingTable;
  events: EventTable;
  event_sequences: EventSequenceTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  operators: OperatorTable;
  operator_sessions: OperatorSessionTable;
  login_throttle: LoginThrottleTable;
}

export type { Generated };
