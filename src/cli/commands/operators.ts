import { createInterface } from 'node:readline';
import { type Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/load.ts';
import {
  createOperator,
  deleteOperator,
  emailProblem,
  listOperators,
} from '../../dashboard/auth/operators.ts';
import { passwordProblem } from '../../dashboard/auth/passwords.ts';
import { toIso } from '../../lib/time.ts';
import { createContext } from '../../server.ts';
import { type CliIo, print, UsageError } from '../io.ts';
import { quietLogger } from './init.ts';

export const operatorsHelp = `Usage: pipes operators <command> [options]

Operators sign in to the dashboard at <PIPES_PUBLIC_URL>/dashboard.

Commands:
  create --email <email> [--password-stdin]   Create an operator. Prompts for the password (twice), or reads it
                                              from standard input with --password-stdin. At least 12 characters.
  list                                        List operators.
  delete <id or email>                        Delete an operator and end their sessions at once.

There is no default password. In development, \`pipes serve\` also prints a one-time set-up link while no operator
exists.`;

const HELP = 'pipes operators --help';

/** Reads a whole piped standard input (for --password-stdin); one trailing newline is not part of the password. */
async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
async function promptHidden(input: Readable, io: CliIo, prompt: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input, output: muted, terminal: true });
  io.stderr.write(prompt);
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}

async function readPassword(io: CliIo, fromStdin: boolean): Promise<string> {
  const input = io.stdin ?? process.stdin;
  if (fromStdin) return readAll(input);
  if (!(input as { isTTY?: boolean }).isTTY) {
    throw new UsageError('No terminal to ask for the password on: pipe it in with --password-stdin.', HELP);
  }
  const first = await promptHidden(input, io, 'Password (at least 12 characters): ');
  const second = await promptHidden(input, io, 'Repeat the password: ');
  if (first !== second) throw new UsageError('The two passwords differ; nothing was created.', HELP);
  return first;
}

export async function operatorsCommand(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  const sub = first === '--help' || first === '-h' ? undefined : first;
  const askedHelp = sub === undefined && first !== undefined;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help || askedHelp || sub === undefined) {
    print(io, operatorsHelp);
    return askedHelp || values.help ? 0 : 2;
  }
  if (sub !== 'create' && sub !== 'list' && sub !== 'delete') {
    throw new UsageError(`Unknown operators command "${sub}".`, HELP);
  }
  let password = '';
  if (sub === 'create') {
    if (!values.email) throw new UsageError('Missing --email <email>.', HELP);
    const emailIssue = emailProblem(values.email);
    if (emailIssue !== null) throw new UsageError(emailIssue, HELP);
    password = await readPassword(io, values['password-stdin'] === true);
    const passwordIssue = passwordProblem(password);
    if (passwordIssue !== null) throw new UsageError(passwordIssue, HELP);
  }
  if (sub === 'delete' && positionals[0] === undefined) {
    throw new UsageError('Say which operator to delete: their id or email.', HELP);
  }
  const ctx = await createContext(loadConfig(io.env, io.cwd), { log: quietLogger() });
  try {
    if (sub === 'create') {
      const operator = await createOperator(
        ctx.store.db,
        { email: values.email!, password },
        ctx.clock.now(),
        ctx.store.engine.isUniqueViolation,
      );
      print(io, `Created operator ${operator.email} (${operator.id}).`);
      print(io, `Sign in at ${ctx.config.publicUrl}/dashboard`);
      return 0;
    }
    if (sub === 'delete') {
      const operator = await deleteOperator(ctx.store.db, positionals[0]!);
      print(io, `Deleted operator ${operator.email} (${operator.id}); their sessions have ended.`);
      return 0;
    }
    const operators = await listOperators(ctx.store.db);
    if (operators.length === 0) print(io, 'No operators. Create one: pipes operators create --email <email>');
    for (const o of operators) {
      const last =
        o.last_sign_in_at === null ? 'never signed in' : `last sign-in ${toIso(o.last_sign_in_at)}`;
      print(io, `${o.id}  ${o.email}  created ${toIso(o.created_at)}  ${last}`);
    }
    return 0;
  } finally {
    await ctx.store.close();
  }
}
