import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureTool } from './tools.ts';

export interface WrkResult {
  rps: number;
  requests: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors (connect, read, write, timeout). */
  errors: number;
}

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** A Lua script (see `writePostScript`). */
  script?: string;
  /** Extra request headers, `Name: value`. */
  headers?: string[];
}

/**
 * One wrk run (`-t1`, latency distribution on). Asynchronous, so that a server living in the calling process (a fake
 * provider) goes on answering meanwhile.
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const header of options.headers ?? []) args.push('-H', header);
  if (options.script) args.push('-s', options.script);
  const { stdout } = await promisify(execFile)(ensureTool('wrk', 'wrk'), [...args, options.url], {
    encoding: 'utf8',
  });
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
    meanMs: toMs(/Latency\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p50Ms: toMs(/ 50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99Ms: toMs(/ 99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    errors: non2xx + socketErrors,
  };
}

/** A wrk Lua script that POSTs a JSON body with a bearer key. */
export function writePostScript(file: string, body: string, bearer: string): string {
  writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      `wrk.body = '${body}'`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Authorization"] = "Bearer ${bearer}"`,
      '',
    ].join('\n'),
  );
  return file;
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) return Number.NaN;
  const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
  return Number(match[1]) * scale[match[2]!]!;
}

/** The median of the finite values (wrk sometimes prints `-nan` latencies); NaN when there are none. */
export const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system) a process has used so far, in microseconds, from /proc. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) state".
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS;
}
