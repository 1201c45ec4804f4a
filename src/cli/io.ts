import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: Writable;
  stderr: Writable;
  cwd?: string;
  /** Standard input, for commands that read a secret (`pipes operators create --password-stdin`). */
  stdin?: Readable;
}

/** A command-line mistake: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly helpCommand: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const print = (io: CliIo, text: string) => io.stdout.write(`${text}\n`);
