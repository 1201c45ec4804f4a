import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { generateApiKey } from '../../lib/api-key-format.ts';
import { toIso } from '../../lib/time.ts';
import { createContext } from '../../server.ts';
import { createApiKey, listApiKeys, modeForEnvironment, revokeApiKey } from '../../store/api-keys.ts';
import { requireEnvironment } from '../../store/environments.ts';
import { type CliIo, print, UsageError } from '../io.ts';
import { quietLogger } from './init.ts';
import { rotateMasterCommand } from './rotate-master.ts';

export const keysHelp = `Usage: pipes keys <command> --env <environment> [options]

Commands:
  create --env <name> [--name <label>]   Create an API key. It is printed once: store it now.
  list   --env <name>                    List keys by their last 4 characters.
  revoke --env <name> <id or last 4>     Revoke a key. It stops working at once.
  generate --env <name>                  Print a new well-formed key without storing it (for
                                         PIPES_BOOTSTRAP_API_KEY in containers and CI).
  rotate-master [--status]               Re-wrap every stored secret under the active master key
                                         (see \`pipes keys rotate-master --help\`).

Sandbox keys start with sk_test_, production keys with sk_live_.`;

export async function keysCommand(args: string[], io: CliIo): Promise<number> {
  if (args[0] === 'rotate-master') return rotateMasterCommand(args.slice(1), io);
  const [first, ...rest] = args;
  const sub = first === '--help' || first === '-h' ? undefined : first;
  const askedHelp = sub === undefined && first !== undefined;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { env: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help || askedHelp || sub === undefined) {
    print(io, keysHelp);
    return askedHelp || values.help ? 0 : 2;
  }
  if (!['create', 'list', 'revoke', 'generate'].includes(sub)) {
    throw new UsageError(`Unknown keys command "${sub}".`, 'pipes keys --help');
  }
  if (!values.env)
    throw new UsageError('Missing --env <environment> (for example --env sandbox).', 'pipes keys --help');

  const config = loadConfig(io.env, io.cwd);
  const ctx = await createContext(config, { log: quietLogger() });
  try {
    const env = await requireEnvironment(ctx.store.db, values.env);
    const now = ctx.clock.now();
    switch (sub) {
      case 'generate':
        print(io, generateApiKey(modeForEnvironment(env)));
        return 0;
      case 'create': {
        const { key, record } = await createApiKey(ctx.store.db, env, values.name ?? 'cli', now);
        print(
          io,
          `Created API key ${record.id} for the ${env.name} environment. It is shown once; store it now:`,
        );
        print(io, key);
        return 0;
      }
      case 'list': {
        const keys = await listApiKeys(ctx.store.db, env.id);
        if (keys.length === 0)
          print(io, `No API keys in ${env.name}. Create one: pipes keys create --env ${env.name}`);
        for (const k of keys) {
          const state = k.revoked_at === null ? 'active' : `revoked ${toIso(k.revoked_at)}`;
          print(io, `${k.id}  …${k.last4}  ${k.name}  created ${toIso(k.created_at)}  ${state}`);
        }
        return 0;
      }
      default: {
        const target = positionals[0];
        if (!target)
          throw new UsageError(
            'Say which key to revoke: its id or its last 4 characters.',
            'pipes keys --help',
          );
        const revoked = await revokeApiKey(ctx.store.db, env.id, target, now);
        print(io, `Revoked ${revoked.id} (…${revoked.last4}).`);
        return 0;
      }
    }
  } finally {
    await ctx.store.close();
  }
}
