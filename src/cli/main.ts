import { PipesError } from '../errors.ts';
import { doctorCommand, doctorHelp } from './commands/doctor.ts';
import { environmentsCommand, environmentsHelp } from './commands/environments.ts';
import { initCommand, initHelp } from './commands/init.ts';
import { keysCommand, keysHelp } from './commands/keys.ts';
import { migrateCommand, migrateHelp } from './commands/migrate.ts';
import { operatorsCommand, operatorsHelp } from './commands/operators.ts';
import { exportCommand, exportHelp, importCommand, importHelp } from './commands/portability.ts';
import { serveCommand, serveHelp } from './commands/serve.ts';
import { type CliIo, UsageError } from './io.ts';

export const mainHelp = `Pipes — connect your users' third-party accounts; fresh tokens on demand.

Usage: pipes <command> [options]

Commands:
  serve          Start the server (npm start).
  init           Create the data directory, database and environments; print a sandbox API key.
  keys           Create, list, revoke or generate API keys.
  environments   List or create environments.
  migrate        Apply database migrations.
  operators      Create, list or delete dashboard operators.
  doctor         Check the set-up (config, database, keys, providers, public URL, webhooks, an app).
  export         Write an environment's integrations and connections to an encrypted bundle.
  import         Load a bundle written by export.

Run \`pipes <command> --help\` for a command's options. Configuration: see README.md.`;

const HELP: Record<string, string> = {
  serve: serveHelp,
  init: initHelp,
  keys: keysHelp,
  environments: environmentsHelp,
  migrate: migrateHelp,
  operators: operatorsHelp,
  doctor: doctorHelp,
  export: exportHelp,
  import: importHelp,
};

/** Runs one CLI invocation and returns the exit code. Never calls `process.exit`, so tests can drive it. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${mainHelp}\n`);
    return command === undefined ? 2 : 0;
  }
  const help = HELP[command];
  if (!help) {
    io.stderr.write(`pipes: unknown command "${command}". Run \`pipes --help\` for the list.\n`);
    return 2;
  }
  if ((rest.includes('--help') || rest.includes('-h')) && command !== 'keys' && command !== 'environments') {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(io);
      case 'init':
        return await initCommand(io);
      case 'keys':
        return await keysCommand(rest, io);
      case 'environments':
        return await environmentsCommand(rest, io);
      case 'operators':
        return await operatorsCommand(rest, io);
      case 'doctor':
        return await doctorCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'import':
        return await importCommand(rest, io);
      default:
        return await migrateCommand(io);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`pipes: ${error.message}\nRun \`${error.helpCommand}\` for help.\n`);
      return 2;
    }
    if (error instanceof PipesError) {
      io.stderr.write(`pipes: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`pipes: ${error.message}\nRun \`pipes ${command} --help\` for help.\n`);
      return 2;
    }
    throw error;
  }
}
