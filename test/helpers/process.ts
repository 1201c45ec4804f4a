import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/pipes.js');

export interface PipesProcess {
  child: ChildProcess;
  url: string;
  port: number;
  output(): string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a real `pipes serve` in a child process on a random port and waits until it listens. Used for
 * multi-instance races and crash tests (a failpoint can make the process die at an exact point).
 */
export function spawnPipes(env: Record<string, string>): Promise<PipesProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        PORT: '0',
        ...env,
        // Always info: the 'Pipes is listening' line is how this helper learns the port.
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let started = false;
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (started) return;
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'Pipes is listening' && entry.url) {
            started = true;
            const port = Number(new URL(entry.url).port);
            resolve({
              child,
              url: `http://127.0.0.1:${port}`,
              port,
              output: () => output,
              exited,
              async kill(signal = 'SIGKILL') {
                if (child.exitCode === null && child.signalCode === null) child.kill(signal);
                return exited;
              },
            });
          }
        } catch {
          // not a log line
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    exited.then((code) => {
      if (!started) reject(new Error(`pipes serve exited with ${code} before listening:\n${output}`));
    });
    const timer = setTimeout(() => {
      if (started) return;
      child.kill('SIGKILL');
      reject(new Error(`pipes serve did not start listening within 30 s:\n${output}`));
    }, 30_000);
    timer.unref();
  });
}
