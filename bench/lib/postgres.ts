import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase } from '../../test/helpers/database.ts';

/** A fresh database on the server `adminUrl` points at, dropped afterwards. */
export async function withDatabase<T>(adminUrl: string, run: (url: string) => Promise<T>): Promise<T> {
  const database = await createPostgresDatabase(
    adminUrl,
    `pipes_bench_${process.pid}_${Date.now().toString(36)}`,
  );
  try {
    return await run(database.url);
  } finally {
    await database.drop();
  }
}

/** Starts a throwaway PostgreSQL cluster the way `.ci/run` does; undefined when that is not possible here. */
export function startThrowawayCluster(): { url: string; stop(): void } | undefined {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const version = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!version || process.getuid?.() !== 0) return undefined;
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const data = mkdtempSync(path.join(tmpdir(), 'pgdata-bench-'));
  const port = String(55500 + (process.pid % 400));
  execFileSync('chown', ['postgres:postgres', data]);
  const asPostgres = (args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  asPostgres([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  asPostgres([
    `${bin}/pg_ctl`,
    '-D',
    data,
    '-l',
    `${data}/server.log`,
    '-w',
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      asPostgres([`${bin}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `run` against PostgreSQL when possible — the server `DATABASE_URL` points at, else a throwaway cluster — with
 * a fresh database each time; undefined (and a note on stderr) when neither is available.
 */
export async function onPostgres<T>(run: (url: string) => Promise<T>): Promise<T | undefined> {
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) return withDatabase(adminUrl, run);
  const cluster = startThrowawayCluster();
  if (!cluster) {
    process.stderr.write('PostgreSQL skipped: set DATABASE_URL, or install postgresql and run as root.\n');
    return undefined;
  }
  try {
    return await withDatabase(cluster.url, run);
  } finally {
    cluster.stop();
  }
}
