import { type ChildProcess, spawn } from 'node:child_process';

export interface RoleChild<Info> {
  child: ChildProcess;
  /** The JSON line the child printed once ready. */
  info: Info;
}

/**
 * Runs `script` again in a child process with `args` (a benchmark's roles: the server, the upstream…) and resolves
 * with the first JSON line it prints. `profile` adds `--cpu-prof` (written to .bench-profile/).
 */
export function startRole<Info>(
  script: string,
  args: string[],
  options: { profile?: boolean; nodeFlags?: string[] | undefined } = {},
): Promise<RoleChild<Info>> {
  return new Promise((resolve, reject) => {
    const profile = options.profile ? ['--cpu-prof', '--cpu-prof-dir=.bench-profile'] : [];
    const extra = options.nodeFlags ?? [];
    const child = spawn(process.execPath, [...profile, ...extra, '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The first line that is a JSON object is the role's ready line; other output (for example `--trace-gc` from
    // BENCH_NODE_FLAGS) goes on to stderr.
    let buffered = '';
    let ready = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!ready && line.startsWith('{')) {
          ready = true;
          resolve({ child, info: JSON.parse(line) as Info });
        } else process.stderr.write(`${line}\n`);
        newline = buffered.indexOf('\n');
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/** SIGTERM, and wait for the exit (a child that exits on SIGTERM writes its CPU profile first). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
