import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '../../config/load.ts';
import { PipesError } from '../../errors.ts';
import type { Store } from '../../store/open.ts';
import type { Vault } from '../../vault/vault.ts';
import { checkApp } from '../doctor/app.ts';
import { checkClock } from '../doctor/clock.ts';
import {
  checkApiKey,
  checkDatabase,
  checkMasterKey,
  checkProviders,
  describeDatabase,
} from '../doctor/installation.ts';
import { checkCallbackRoute, checkPublicUrl, checkWebhooks } from '../doctor/reach.ts';
import { type CheckResult, check, formatReport, summarise } from '../doctor/report.ts';
import { type CliIo, print, UsageError } from '../io.ts';

export const doctorHelp = `Usage: pipes doctor [options]

Checks the set-up, read-only, with the same configuration (environment variables) as the server:
  configuration and master key (loads, matches the database), database reachable and migrated,
  this machine's clock against the database's (PostgreSQL),
  an API key (format, exists, not revoked), every enabled provider (Active, or why not),
  PIPES_PUBLIC_URL reaches THIS server (identity probe) and its callback route answers,
  webhook endpoints answer a signed ping (pipes.doctor.ping, not an event).
With --app, also the application's side: its API key and client id (.env* files), the SDK, its connect route.

Options:
  --api-key <key>        API key to check (default: PIPES_API_KEY, then WORKOS_API_KEY)
  --app <dir>            the application's directory (reads .env, .env.local, …)
  --app-url <url>        the running application's URL, to check its connect route
  --connect-path <path>  the connect route (default /connect)
  --skip-webhooks        do not ping webhook endpoints
  --timeout <ms>         per network check (default 5000)
  --json                 machine-readable output for CI

Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on a usage error.
See docs/doctor.md.`;

export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'api-key': { type: 'string' },
      app: { type: 'string' },
      'app-url': { type: 'string' },
      'connect-path': { type: 'string', default: '/connect' },
      'skip-webhooks': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    print(io, doctorHelp);
    return 0;
  }
  const timeoutMs = Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) {
    throw new UsageError(
      '--timeout must be a number of milliseconds between 100 and 120000.',
      'pipes doctor --help',
    );
  }
  const appDir = values.app === undefined ? undefined : path.resolve(io.cwd ?? process.cwd(), values.app);
  if (appDir !== undefined && !(existsSync(appDir) && statSync(appDir).isDirectory())) {
    throw new UsageError(`--app ${values.app}: no such directory.`, 'pipes doctor --help');
  }
  if (values['app-url'] !== undefined && !URL.canParse(values['app-url'])) {
    throw new UsageError(`--app-url ${values['app-url']} is not a URL.`, 'pipes doctor --help');
  }

  const checks: CheckResult[] = [];
  let config: Config | null = null;
  try {
    config = loadConfig(io.env, io.cwd);
    checks.push(
      check(
        'config',
        'Configuration',
        'pass',
        `${config.production ? 'production' : 'development'} mode, ${describeDatabase(config)}, public URL ${config.publicUrl}.`,
      ),
    );
  } catch (error) {
    if (!(error instanceof PipesError)) throw error;
    checks.push(
      check(
        'config',
        'Configuration',
        'fail',
        error.message,
        'Fix the variable named above (README, "Configuration"); the server refuses to start with it too.',
      ),
    );
  }

  let store: Store | null = null;
  try {
    if (config !== null) {
      const database = await checkDatabase(config);
      checks.push(...database.result);
      store = database.store;
      if (store !== null) checks.push(await checkClock(store));
    }
    if (config !== null && store !== null) {
      await runInstallationChecks(config, store, checks, {
        apiKey: values['api-key'] ?? io.env.PIPES_API_KEY ?? io.env.WORKOS_API_KEY,
        apiKeySource:
          values['api-key'] !== undefined
            ? '--api-key'
            : io.env.PIPES_API_KEY !== undefined
              ? 'PIPES_API_KEY'
              : 'WORKOS_API_KEY',
        skipWebhooks: values['skip-webhooks'] === true,
        timeoutMs,
      });
      if (appDir !== undefined) {
        checks.push(
          ...(await checkApp(config, store, {
            dir: appDir,
            appUrl: values['app-url'],
            connectPath: values['connect-path'] ?? '/connect',
            timeoutMs,
          })),
        );
      }
    }
  } finally {
    await store?.close();
  }

  const report = summarise(checks);
  if (values.json) print(io, JSON.stringify(report, null, 2));
  else print(io, formatReport(report, `pipes doctor: ${config?.publicUrl ?? '(configuration not loaded)'}`));
  return report.ok ? 0 : 1;
}

async function runInstallationChecks(
  config: Config,
  store: Store,
  checks: CheckResult[],
  options: { apiKey: string | undefined; apiKeySource: string; skipWebhooks: boolean; timeoutMs: number },
): Promise<void> {
  if (checks.some((c) => c.id === 'migrations' && c.status === 'fail')) {
    checks.push(check('master_key', 'Master key', 'skip', 'Not checked: migrate the database first.'));
    return;
  }
  const master = await checkMasterKey(config, store);
  checks.push(master.result);
  const vault: Vault | null = master.vault;

  if (options.apiKey === undefined || options.apiKey === '') {
    checks.push(
      check(
        'api_key',
        'API key',
        'skip',
        'No key given: pass --api-key, or set PIPES_API_KEY or WORKOS_API_KEY.',
      ),
    );
  } else {
    checks.push(
      (await checkApiKey(store, options.apiKey, 'api_key', 'API key', options.apiKeySource)).result,
    );
  }

  checks.push(...(await checkProviders(config, store)));

  const publicUrl = await checkPublicUrl(config, store, vault, options.timeoutMs);
  checks.push(...publicUrl.result);
  checks.push(
    publicUrl.reachable
      ? await checkCallbackRoute(config, store, options.timeoutMs)
      : check(
          'callback_route',
          'Callback route',
          'skip',
          'Not checked: the public URL does not reach this Pipes.',
        ),
  );

  if (options.skipWebhooks) {
    checks.push(check('webhooks', 'Webhooks', 'skip', 'Skipped (--skip-webhooks).'));
  } else if (vault === null) {
    checks.push(check('webhooks', 'Webhooks', 'skip', 'Not checked: their secrets need the master key.'));
  } else {
    const webhooks = await checkWebhooks(config, store, vault, options.timeoutMs, Date.now());
    checks.push(
      ...(webhooks.length > 0
        ? webhooks
        : [
            check(
              'webhooks',
              'Webhooks',
              'pass',
              'No enabled webhook endpoint (GET /events still lists every event).',
            ),
          ]),
    );
  }
}
