import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { PipesError } from '../errors.ts';
import { DEFAULT_BACKGROUND_REFRESHER } from '../tokens/refresh/background.ts';
import { type ConfigFile, configFileSchema, envSchema } from './schema.ts';

export interface Config {
  /** False in development mode, where the conveniences below default to on. */
  production: boolean;
  port: number;
  host: string;
  /** Origin without a trailing slash, e.g. `https://pipes.example.com`. */
  publicUrl: string;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  dataDir: string;
  logLevel: string;
  masterKey: string | undefined;
  olderMasterKeys: string | undefined;
  bootstrapApiKey: string | undefined;
  rateLimitPerMinute: number;
  maxBodyBytes: number;
  egress: { allowPrivateNetwork: boolean; allowInsecureHttp: boolean };
  sharedCredentials: Record<string, { client_id: string; client_secret: string }>;
  redirectUrls: Record<string, string[]>;
  /** Relay token buckets by provider slug (`relay_throttle` in the config file). */
  relayThrottle: Record<
    string,
    { requestsPerSecond: number; burst: number; scope: 'connection' | 'provider' }
  >;
  /** Shown on the connect confirmation screen; "this application" when unset. */
  appName: string | undefined;
  /** Serve the built-in sandbox OAuth provider under `/sandbox` (for sandbox environments). */
  sandboxProvider: boolean;
  /** Testing only; ignored in production. */
  failpoints: string | undefined;
  /** Lease time-to-live of a token refresh. */
  refreshLeaseMs: number;
  /** The background refresher of this instance: refreshes at once, and time between two looks for due tokens. */
  backgroundRefresh: { concurrency: number; intervalMs: number };
  /** Events older than this many days are purged with their delivery logs. */
  eventRetentionDays: number;
}

/** Raised when the configuration is invalid. The message names each variable and says what is expected. */
export class ConfigError extends PipesError {
  constructor(message: string) {
    super('invalid_configuration', message, { status: 500 });
    this.name = 'ConfigError';
  }
}

function formatIssues(issues: z.core.$ZodIssue[], source: string): string {
  return issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `  ${where}: ${issue.message}${source ? ` (${source})` : ''}`;
    })
    .join('\n');
}

function readConfigFile(file: string): ConfigFile {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`PIPES_CONFIG_FILE: cannot read ${file}. Check the path, or unset the variable.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(`PIPES_CONFIG_FILE: ${file} is not valid JSON (${(error as Error).message}).`);
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration in ${file}:\n${formatIssues(parsed.error.issues, '')}`);
  }
  return parsed.data;
}

/**
 * Parses and validates the configuration. It never reads `process.env` itself: the caller passes the environment,
 * so tests can start any number of Pipes instances with their own settings.
 */
export function loadConfig(env: Record<string, string | undefined>, cwd: string = process.cwd()): Config {
  // Empty strings mean "unset": a `PORT=` line in a .env file should not be an error.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n${formatIssues(parsed.error.issues, 'environment variable')}\nSee the configuration table in README.md.`,
    );
  }
  const vars = parsed.data;
  const file = vars.PIPES_CONFIG_FILE ? readConfigFile(path.resolve(cwd, vars.PIPES_CONFIG_FILE)) : undefined;

  const production = vars.NODE_ENV === 'production';
  const port = vars.PORT ?? file?.port ?? 8080;
  const publicUrl = (vars.PIPES_PUBLIC_URL ?? file?.public_url ?? `http://localhost:${port}`).replace(
    /\/+$/,
    '',
  );
  const dataDir = path.resolve(cwd, vars.PIPES_DATA_DIR ?? file?.data_dir ?? '.pipes');
  const databaseUrl = vars.DATABASE_URL ?? file?.database_url;
  const allowInsecureHttp = vars.PIPES_ALLOW_INSECURE_HTTP ?? !production;

  if (production && publicUrl.startsWith('http://') && !allowInsecureHttp) {
    throw new ConfigError(
      `PIPES_PUBLIC_URL: ${publicUrl} is not https. In production browsers and providers must reach Pipes over ` +
        'https; set PIPES_PUBLIC_URL=https://… (or PIPES_ALLOW_INSECURE_HTTP=true for a private test set-up).',
    );
  }
  if (production && !vars.PIPES_MASTER_KEY) {
    throw new ConfigError(
      'PIPES_MASTER_KEY: required in production (NODE_ENV=production). Expected 32 random bytes, base64-encoded; ' +
        'generate one with `openssl rand -base64 32` and keep it in your secret manager.',
    );
  }

  return {
    production,
    port,
    host: vars.HOST ?? file?.host ?? '127.0.0.1',
    publicUrl,
    database: databaseUrl
      ? { kind: 'postgres', url: databaseUrl }
      : { kind: 'sqlite', file: path.join(dataDir, 'pipes.sqlite') },
    dataDir,
    logLevel: vars.LOG_LEVEL ?? file?.log_level ?? 'info',
    masterKey: vars.PIPES_MASTER_KEY,
    olderMasterKeys: vars.PIPES_MASTER_KEYS,
    bootstrapApiKey: vars.PIPES_BOOTSTRAP_API_KEY,
    rateLimitPerMinute: vars.PIPES_RATE_LIMIT_PER_MINUTE ?? 6000,
    maxBodyBytes: vars.PIPES_MAX_BODY_BYTES ?? 1024 * 1024,
    egress: {
      allowPrivateNetwork: vars.PIPES_ALLOW_PRIVATE_NETWORK ?? !production,
      allowInsecureHttp,
    },
    sharedCredentials: file?.shared_credentials ?? {},
    redirectUrls: file?.redirect_urls ?? {},
    relayThrottle: Object.fromEntries(
      Object.entries(file?.relay_throttle ?? {}).map(([slug, rule]) => [
        slug,
        { requestsPerSecond: rule.requests_per_second, burst: rule.burst, scope: rule.scope },
      ]),
    ),
    appName: file?.app_name,
    sandboxProvider: vars.PIPES_SANDBOX_PROVIDER ?? !production,
    failpoints: production ? undefined : vars.PIPES_FAILPOINTS,
    refreshLeaseMs: vars.PIPES_REFRESH_LEASE_MS ?? 30_000,
    backgroundRefresh: {
      concurrency: vars.PIPES_REFRESH_CONCURRENCY ?? DEFAULT_BACKGROUND_REFRESHER.concurrency,
      intervalMs: vars.PIPES_REFRESH_INTERVAL_MS ?? DEFAULT_BACKGROUND_REFRESHER.intervalMs,
    },
    eventRetentionDays: vars.PIPES_EVENT_RETENTION_DAYS ?? 30,
  };
}
