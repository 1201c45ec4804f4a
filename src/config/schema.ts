import { z } from 'zod';
import { SLUG_PATTERN } from '../providers/catalog-schema.ts';

/**
 * The configuration of one Pipes installation, read once at start from the environment and an optional JSON file
 * (`PIPES_CONFIG_FILE`). Environment variables win over the file. Everything downstream receives the parsed,
 * typed `Config`; nothing reads `process.env` after start.
 */

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
    error: 'expected true or false',
  })
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value));

const port = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a whole number')
  .min(0, 'expected a port between 0 and 65535')
  .max(65535, 'expected a port between 0 and 65535');

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected a whole number').positive();

/** A bounded whole number; every way of missing it gets the same message, which states the range. */
function wholeNumberFrom(min: number, max: number, what: string) {
  const message = `expected ${what} from ${min} to ${max}`;
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message);
}

/**
 * The shortest refresh lease. A refresh sends a provider call only while the call (up to the 10 s token request
 * timeout) plus a 2 s slack fits in what is left of its lease (`LEASE_NEEDED_PER_ATTEMPT_MS` in
 * src/tokens/refresh/single-flight.ts); a shorter lease could never send one. The 3 s beyond that cover the reads and
 * the journal write between taking the lease and the first call. test/config checks the two stay in step.
 */
export const MIN_REFRESH_LEASE_MS = 15_000;

/** An OAuth app the operator configured once for the whole installation: usable in sandbox environments only. */
export const sharedCredentialSchema = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
  })
  .strict();

/** A relay throttle for one provider: a token bucket per connection (default) or for the whole provider. */
export const relayThrottleRuleSchema = z
  .object({
    requests_per_second: z.number().positive().max(100_000),
    burst: z.number().int().min(1).max(100_000).default(1),
    scope: z.enum(['connection', 'provider']).default('connection'),
  })
  .strict();

/** Optional JSON config file: the same settings as the environment, plus structured ones. */
export const configFileSchema = z
  .object({
    port: z.number().int().optional(),
    host: z.string().optional(),
    public_url: z.string().optional(),
    database_url: z.string().optional(),
    data_dir: z.string().optional(),
    log_level: z.string().optional(),
    /** Shared OAuth apps by provider slug (sandbox environments only). */
    shared_credentials: z.record(z.string(), sharedCredentialSchema).optional(),
    /** Registered `return_to` URLs by environment name. */
    redirect_urls: z.record(z.string(), z.array(z.url())).optional(),
    /** Relay throttles by provider slug: `{ "github": { "requests_per_second": 10, "burst": 20 } }`. */
    relay_throttle: z.record(z.string().regex(SLUG_PATTERN), relayThrottleRuleSchema).optional(),
    /** The application's name, shown on the connect confirmation screen ("… to <app_name> as …"). */
    app_name: z.string().trim().min(1).max(80).optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;

/** The environment variables Pipes reads, with their meaning. The README's table is written from this list. */
export const ENV_VARIABLES = {
  PORT: 'Port to listen on (default 8080).',
  HOST: 'Interface to bind (default 127.0.0.1; use 0.0.0.0 in a container).',
  PIPES_PUBLIC_URL:
    'Origin that browsers and providers reach (default http://localhost:$PORT). Redirect URIs are built on it.',
  DATABASE_URL: 'postgres://… to use PostgreSQL. Unset: an embedded SQLite file in PIPES_DATA_DIR.',
  PIPES_DATA_DIR: 'Data directory for the SQLite file and the development master key (default ./.pipes).',
  PIPES_CONFIG_FILE: 'Optional JSON config file (shared credentials, redirect URLs, …).',
  PIPES_MASTER_KEY:
    'Master key (32 random bytes, base64: `openssl rand -base64 32`). Required in production.',
  PIPES_MASTER_KEYS: 'Older master keys kept for decryption during rotation: `id1:base64,id2:base64`.',
  PIPES_BOOTSTRAP_API_KEY: 'An sk_test_… key (from `pipes keys generate`) seeded as a sandbox key at start.',
  LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace or silent.',
  NODE_ENV: '`production` makes Pipes strict; anything else is development mode.',
  PIPES_RATE_LIMIT_PER_MINUTE: 'Requests per minute allowed for one API key (default 6000).',
  PIPES_MAX_BODY_BYTES: 'Largest accepted JSON request body in bytes (default 1048576).',
  PIPES_ALLOW_PRIVATE_NETWORK:
    'Let outbound calls reach loopback and private addresses (default: on in development, off in production).',
  PIPES_ALLOW_INSECURE_HTTP:
    'Let providers and webhooks use http:// URLs (default: on in development, off in production).',
  PIPES_EVENT_RETENTION_DAYS: 'Days events (and their webhook delivery logs) are kept (default 30).',
  PIPES_REFRESH_LEASE_MS:
    'How long one instance may hold a token refresh before another may take over (default 30000; at least 15000, so that one provider call, which may take up to 10 s, always ends inside the lease and another instance never sends the same refresh token meanwhile).',
  PIPES_REFRESH_CONCURRENCY:
    'Background token refreshes one instance runs at once (default 4; at most 64). A provider sees up to this many times the number of instances.',
  PIPES_REFRESH_INTERVAL_MS:
    'How often each instance looks for tokens due for a background refresh (default 30000; 1000 to 120000, so that tokens due 5 minutes before expiry are renewed well ahead of it).',
  PIPES_FAILPOINTS: 'Testing only, ignored in production: `name:exit` or `name:pause` crash points.',
  PIPES_SANDBOX_PROVIDER:
    'Serve the built-in sandbox OAuth provider under /sandbox for sandbox environments (default: on in development, off in production).',
} as const;

export type EnvVariable = keyof typeof ENV_VARIABLES;

export const envSchema = z.object({
  PORT: port.optional(),
  HOST: z.string().min(1).optional(),
  PIPES_PUBLIC_URL: z
    .url({ error: 'expected an absolute http(s) URL such as https://pipes.example.com' })
    .refine((value) => /^https?:\/\//.test(value), 'expected an http:// or https:// URL')
    .optional(),
  DATABASE_URL: z
    .string()
    .refine(
      (value) => /^postgres(ql)?:\/\//.test(value),
      'expected a postgres:// URL; leave it unset to use the embedded SQLite database',
    )
    .optional(),
  PIPES_DATA_DIR: z.string().min(1).optional(),
  PIPES_CONFIG_FILE: z.string().min(1).optional(),
  PIPES_MASTER_KEY: z.string().min(1).optional(),
  PIPES_MASTER_KEYS: z.string().min(1).optional(),
  PIPES_BOOTSTRAP_API_KEY: z.string().min(1).optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  NODE_ENV: z.string().optional(),
  PIPES_RATE_LIMIT_PER_MINUTE: positiveInt.optional(),
  PIPES_MAX_BODY_BYTES: positiveInt.optional(),
  PIPES_ALLOW_PRIVATE_NETWORK: booleanFlag.optional(),
  PIPES_ALLOW_INSECURE_HTTP: booleanFlag.optional(),
  PIPES_EVENT_RETENTION_DAYS: positiveInt.optional(),
  PIPES_FAILPOINTS: z.string().optional(),
  PIPES_REFRESH_LEASE_MS: wholeNumberFrom(MIN_REFRESH_LEASE_MS, 600_000, 'milliseconds').optional(),
  PIPES_REFRESH_CONCURRENCY: wholeNumberFrom(1, 64, 'a whole number').optional(),
  PIPES_REFRESH_INTERVAL_MS: wholeNumberFrom(1000, 120_000, 'milliseconds').optional(),
  PIPES_SANDBOX_PROVIDER: booleanFlag.optional(),
});
