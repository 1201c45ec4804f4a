import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import { createContext } from '../../server.ts';
import { createEnvironment, listEnvironments } from '../../store/environments.ts';
import { type CliIo, print, UsageError } from '../io.ts';
import { quietLogger } from './init.ts';

export const environmentsHelp = `Usage: pipes environments <command>

Commands:
  list                                        List environments with their client ids.
  create --name <name> --kind <sandbox|production>
                                              Create another environment (for example staging).`;

export async function environmentsCommand(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  const sub = first === '--help' || first === '-h' ? undefined : first;
  const askedHelp = sub === undefined && first !== undefined;
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, kind: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || askedHelp || sub === undefined) {
    print(io, environmentsHelp);
    return askedHelp || values.help ? 0 : 2;
  }
  if (sub !== 'list' && sub !== 'create') {
    throw new UsageError(`Unknown environments command "${sub}".`, 'pipes environments --help');
  }
  if (sub === 'create') {
    if (!values.name) throw new UsageError('Missing --name.', 'pipes environments --help');
    if (values.kind !== 'sandbox' && values.kind !== 'production') {
      throw new UsageError('--kind must be sandbox or production.', 'pipes environments --help');
    }
  }
  const ctx = await createContext(loadConfig(io.env, io.cwd), { log: quietLogger() });
  try {
    if (sub === 'create') {
      const env = await createEnvironment(
        ctx.store.db,
        { name: values.name!, kind: values.kind as 'sandbox' | 'production' },
        ctx.clock.now(),
      );
      print(io, `Created environment ${env.name} (${env.kind}), client id ${env.client_id}.`);
      return 0;
    }
    for (const env of await listEnvironments(ctx.store.db))
      print(io, `${env.name}  ${env.kind}  ${env.client_id}`);
    return 0;
  } finally {
    await ctx.store.close();
  }
}
