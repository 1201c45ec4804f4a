import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../../src/config/load.ts';

/**
 * A fresh, empty database for one test: a new PostgreSQL database when the suite runs with DATABASE_URL (as
 * `.ci/run` does for the PostgreSQL pass), otherwise a SQLite file in a new temp directory.
 */
export interface TestDatabase {
  database: Config['database'];
  dataDir: string;
  /** Environment variables that point Pipes at this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export const testEngine = (): 'postgres' | 'sqlite' => (process.env.DATABASE_URL ? 'postgres' : 'sqlite');

let counter = 0;

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pipes-test-'));
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    return {
      database: { kind: 'sqlite', file: path.join(dataDir, 'pipes.sqlite') },
      dataDir,
      env: { PIPES_DATA_DIR: dataDir },
      async drop() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const created = await createPostgresDatabase(
    adminUrl,
    `pipes_t_${process.pid}_${Date.now().toString(36)}_${counter++}`,
  );
  return {
    database: { kind: 'postgres', url: created.url },
    dataDir,
    env: { PIPES_DATA_DIR: dataDir, DATABASE_URL: created.url },
    async drop() {
      await created.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates database `name` on the server `adminUrl` points at; `drop()` removes it (connections or not). */
export async function createPostgresDatabase(
  adminUrl: string,
  name: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
