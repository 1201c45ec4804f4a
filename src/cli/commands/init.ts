import { loadConfig } from '../../config/load.ts';
import { createLogger } from '../../lib/logger.ts';
import { createContext } from '../../server.ts';
import { createApiKey } from '../../store/api-keys.ts';
import { listEnvironments, requireEnvironment } from '../../store/environments.ts';
import { type CliIo, print } from '../io.ts';

export const initHelp = `Usage: pipes init

Creates the data directory, the database and its environments (sandbox, production) and, in development mode, the
master key file. Prints a new sandbox API key once: store it, it cannot be shown again.`;

export async function initCommand(io: CliIo): Promise<number> {
  const config = loadConfig(io.env, io.cwd);
  const ctx = await createContext(config, { log: quietLogger() });
  try {
    const sandbox = await requireEnvironment(ctx.store.db, 'sandbox');
    const { key } = await createApiKey(ctx.store.db, sandbox, 'init', ctx.clock.now());
    const envs = await listEnvironments(ctx.store.db);
    print(io, `Pipes is initialised (${ctx.store.engine.kind}: ${ctx.store.location}).`);
    print(io, `Environments: ${envs.map((e) => `${e.name} (client id ${e.client_id})`).join(', ')}`);
    print(io, '');
    print(io, 'Your sandbox API key (shown once, keep it secret):');
    print(io, `  ${key}`);
    print(io, '');
    print(io, 'Use it with the WorkOS SDK:');
    print(
      io,
      `  new WorkOS('${key.slice(0, 12)}…', { apiHostname: '${hostOf(config.publicUrl)}', port: ${portOf(config.publicUrl)}, https: ${config.publicUrl.startsWith('https')} })`,
    );
    return 0;
  } finally {
    await ctx.store.close();
  }
}

const hostOf = (url: string) => new URL(url).hostname;
const portOf = (url: string) => {
  const u = new URL(url);
  return u.port || (u.protocol === 'https:' ? '443' : '80');
};

/** CLI commands print for people; the structured log only shows warnings. */
export const quietLogger = () => createLogger('warn');
