import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/load.ts';
import type { Store } from '../../store/open.ts';
import { checkApiKey } from './installation.ts';
import { probe } from './reach.ts';
import { type CheckResult, check } from './report.ts';

/** Dotenv files, most specific first (the order frameworks load them in); templates are not read. */
const ENV_FILE_ORDER = [
  '.env.local',
  '.env.development.local',
  '.env.development',
  '.env',
  '.env.production',
];

/** Parses `KEY=value` lines: `export`, quotes and `#` comments as dotenv does; no expansion. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.indexOf(quote, 1) > 0) {
      value = value.slice(1, value.indexOf(quote, 1));
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out[match[1]!] = value;
  }
  return out;
}

interface EnvValue {
  name: string;
  value: string;
  file: string;
}

function readEnvFiles(dir: string): { files: string[]; lookup(names: string[]): EnvValue | null } {
  const present = readdirSync(dir).filter(
    (name) => /^\.env(\..+)?$/.test(name) && !/\.(example|sample|template|dist)$/.test(name),
  );
  const files = [
    ...ENV_FILE_ORDER.filter((name) => present.includes(name)),
    ...present.filter((name) => !ENV_FILE_ORDER.includes(name)).sort(),
  ];
  const parsed = files.map((file) => ({
    file,
    vars: parseDotenv(readFileSync(path.join(dir, file), 'utf8')),
  }));
  return {
    files,
    lookup(names) {
      for (const { file, vars } of parsed) {
        for (const name of names) {
          const value = vars[name];
          if (value !== undefined && value !== '') return { name, value, file };
        }
      }
      return null;
    },
  };
}

/** `node_modules/@workos-inc/node`, found the way Node resolves it: from the app directory upwards. */
function findSdk(dir: string): { version: string; where: string } | null {
  let current = path.resolve(dir);
  for (;;) {
    const manifest = path.join(current, 'node_modules', '@workos-inc', 'node', 'package.json');
    if (existsSync(manifest)) {
      const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string };
      return { version: version ?? '0.0.0', where: path.dirname(manifest) };
    }
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

export interface AppCheckOptions {
  dir: string;
  appUrl: string | undefined;
  connectPath: string;
  timeoutMs: number;
}

/**
 * The application's side of the set-up: its credentials (in its `.env*` files) are live on this Pipes and belong
 * together, the SDK is installed in a version that knows Pipes, and its connect route hands out this Pipes' links.
 */
export async function checkApp(
  config: Config,
  store: Store,
  options: AppCheckOptions,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const dir = path.resolve(options.dir);
  const env = readEnvFiles(dir);
  const fileList = env.files.length === 0 ? 'no .env file' : env.files.join(', ');

  const key = env.lookup(['WORKOS_API_KEY', 'PIPES_API_KEY']);
  let environment = null;
  if (key === null) {
    results.push(
      check(
        'app_api_key',
        'App API key',
        'fail',
        `No WORKOS_API_KEY or PIPES_API_KEY in ${dir} (${fileList}).`,
        `Add WORKOS_API_KEY=sk_test_… to ${path.join(dir, '.env')} (create a key: \`pipes keys create --env sandbox\`).`,
      ),
    );
  } else {
    const found = await checkApiKey(
      store,
      key.value,
      'app_api_key',
      'App API key',
      `${key.name} in ${key.file}`,
    );
    results.push(found.result);
    environment = found.environment;
  }

  const clientId = env.lookup(['WORKOS_CLIENT_ID', 'PIPES_CLIENT_ID']);
  if (clientId === null) {
    results.push(
      check(
        'app_client_id',
        'App client id',
        'fail',
        `No WORKOS_CLIENT_ID or PIPES_CLIENT_ID in ${dir} (${fileList}).`,
        environment === null
          ? 'Add WORKOS_CLIENT_ID=client_… (`pipes environments list` shows each environment’s client id).'
          : `Add WORKOS_CLIENT_ID=${environment.client_id} (the ${environment.name} environment's client id).`,
      ),
    );
  } else if (environment === null) {
    results.push(
      check(
        'app_client_id',
        'App client id',
        'skip',
        `${clientId.name} in ${clientId.file} is not checked: the API key is not usable.`,
      ),
    );
  } else if (clientId.value !== environment.client_id) {
    const owner = await store.db
      .selectFrom('environments')
      .select('name')
      .where('client_id', '=', clientId.value)
      .executeTakeFirst();
    results.push(
      check(
        'app_client_id',
        'App client id',
        'fail',
        `${clientId.name}=${clientId.value} (${clientId.file}) ${
          owner ? `is the ${owner.name} environment's client id` : 'is not a client id of this installation'
        }, but the API key belongs to ${environment.name}.`,
        `Set ${clientId.name}=${environment.client_id}, or use a key of the environment the client id names.`,
      ),
    );
  } else {
    results.push(
      check(
        'app_client_id',
        'App client id',
        'pass',
        `${clientId.name} (${clientId.file}) is the ${environment.name} environment's client id.`,
      ),
    );
  }

  const host = env.lookup(['PIPES_URL', 'WORKOS_API_URL']);
  if (
    host !== null &&
    URL.canParse(host.value) &&
    new URL(host.value).origin !== new URL(config.publicUrl).origin
  ) {
    results.push(
      check(
        'app_pipes_url',
        'App Pipes URL',
        'warn',
        `${host.name}=${host.value} (${host.file}) is not this Pipes (${config.publicUrl}).`,
        `Point the app's SDK at ${config.publicUrl} (apiHostname, port, https).`,
      ),
    );
  }

  const sdk = findSdk(dir);
  const major = sdk === null ? 0 : Number.parseInt(sdk.version, 10);
  results.push(
    sdk === null
      ? check(
          'app_sdk',
          'App SDK',
          'fail',
          `@workos-inc/node is not installed for ${dir}.`,
          'Run `npm install @workos-inc/node@^11` in the app.',
        )
      : major >= 11
        ? check('app_sdk', 'App SDK', 'pass', `@workos-inc/node ${sdk.version} (${sdk.where}).`)
        : check(
            'app_sdk',
            'App SDK',
            'fail',
            `@workos-inc/node ${sdk.version} is too old: the Pipes methods and events need 11 or newer.`,
            'Run `npm install @workos-inc/node@^11` in the app.',
          ),
  );

  results.push(await checkConnectRoute(config, options));
  return results;
}

/**
 * `GET <app-url><connect-path>` (it creates one short-lived connect link, like a user clicking Connect): a redirect
 * to this Pipes' connect link is the proof that the app's SDK talks to this Pipes with a working key.
 */
async function checkConnectRoute(config: Config, options: AppCheckOptions): Promise<CheckResult> {
  const title = 'App connect route';
  if (options.appUrl === undefined) {
    return check('app_connect_route', title, 'skip', 'Pass --app-url (and --connect-path) to check it.');
  }
  const url = new URL(options.connectPath, options.appUrl).href;
  const answer = await probe(url, options.timeoutMs);
  if ('error' in answer) {
    return check(
      'app_connect_route',
      title,
      'fail',
      `${url}: ${answer.error}.`,
      'Start the app, or fix --app-url.',
    );
  }
  const { status } = answer.response;
  const location = answer.response.headers.get('location');
  if (status >= 300 && status < 400 && location !== null) {
    const target = new URL(location, url);
    const pipes = new URL(config.publicUrl);
    if (
      target.origin === pipes.origin &&
      /^\/data-integrations\/[^/]+\/authorize-redirect$/.test(target.pathname)
    ) {
      return check('app_connect_route', title, 'pass', `${url} redirects to a connect link of this Pipes.`);
    }
    if (target.hostname === 'api.workos.com') {
      return check(
        'app_connect_route',
        title,
        'fail',
        `${url} redirects to WorkOS (${target.origin}), not to this Pipes.`,
        `Give the app's WorkOS SDK the host options of ${config.publicUrl} (apiHostname, port, https).`,
      );
    }
    return check(
      'app_connect_route',
      title,
      'warn',
      `${url} redirects to ${target.origin}${target.pathname}, not to a connect link (a sign-in page?).`,
      'Check --connect-path, or sign-in requirements of the route.',
    );
  }
  if (status >= 200 && status < 300) {
    return check('app_connect_route', title, 'pass', `${url} answers ${status}.`);
  }
  return check(
    'app_connect_route',
    title,
    'fail',
    `${url} answered ${status}.`,
    status === 404 ? 'Check --connect-path (default /connect).' : 'Look at the app’s logs for the error.',
  );
}
