import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { ENV_VARIABLES, MIN_REFRESH_LEASE_MS } from '../../src/config/schema.ts';
import { TOKEN_ENDPOINT_TIMEOUT_MS } from '../../src/oauth/http.ts';
import { LEASE_NEEDED_PER_ATTEMPT_MS } from '../../src/tokens/refresh/single-flight.ts';

const KEY = Buffer.alloc(32, 9).toString('base64');

test('development defaults: SQLite in ./.pipes, port 8080, public URL on localhost, conveniences on', () => {
  const config = loadConfig({}, '/srv/app');
  assert.equal(config.production, false);
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.publicUrl, 'http://localhost:8080');
  assert.deepEqual(config.database, { kind: 'sqlite', file: '/srv/app/.pipes/pipes.sqlite' });
  assert.deepEqual(config.egress, { allowPrivateNetwork: true, allowInsecureHttp: true });
});

test('production is strict unless each convenience is switched on by its own variable', () => {
  const base = {
    NODE_ENV: 'production',
    PIPES_MASTER_KEY: KEY,
    PIPES_PUBLIC_URL: 'https://pipes.example.com/',
  };
  const strict = loadConfig(base);
  assert.equal(strict.production, true);
  assert.equal(strict.publicUrl, 'https://pipes.example.com');
  assert.deepEqual(strict.egress, { allowPrivateNetwork: false, allowInsecureHttp: false });
  const relaxed = loadConfig({ ...base, PIPES_ALLOW_PRIVATE_NETWORK: 'true' });
  assert.deepEqual(relaxed.egress, { allowPrivateNetwork: true, allowInsecureHttp: false });
  assert.throws(
    () => loadConfig({ ...base, PIPES_ALLOW_PRIVATE_NETWORK: 'maybe' }),
    /PIPES_ALLOW_PRIVATE_NETWORK: expected true or false/,
  );
});

test('DATABASE_URL selects PostgreSQL; empty values count as unset', () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/pipes', PORT: '' });
  assert.deepEqual(config.database, { kind: 'postgres', url: 'postgres://u:p@db:5432/pipes' });
  assert.equal(config.port, 8080);
});

test('a config file supplies settings and shared credentials; the environment wins', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipes-config-'));
  const file = path.join(dir, 'pipes.json');
  writeFileSync(
    file,
    JSON.stringify({
      port: 9000,
      public_url: 'https://from-file.example.com',
      shared_credentials: { github: { client_id: 'Iv1.x', client_secret: 's' } },
      redirect_urls: { production: ['https://app.example.com/connected'] },
    }),
  );
  const config = loadConfig({ PIPES_CONFIG_FILE: file, PIPES_PUBLIC_URL: 'https://from-env.example.com' });
  assert.equal(config.port, 9000);
  assert.equal(config.publicUrl, 'https://from-env.example.com');
  assert.equal(config.sharedCredentials.github?.client_id, 'Iv1.x');
  assert.deepEqual(config.redirectUrls.production, ['https://app.example.com/connected']);

  writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(
    () => loadConfig({ PIPES_CONFIG_FILE: file }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pipes\.json/);
      assert.match(error.message, /prot/);
      return true;
    },
  );
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig({ PIPES_CONFIG_FILE: file }), /is not valid JSON/);
});

test('the background refresher: 4 at once every 30 s unless PIPES_REFRESH_CONCURRENCY / _INTERVAL_MS say otherwise', () => {
  assert.deepEqual(loadConfig({}).backgroundRefresh, { concurrency: 4, intervalMs: 30_000 });
  const tuned = loadConfig({ PIPES_REFRESH_CONCURRENCY: '16', PIPES_REFRESH_INTERVAL_MS: '5000' });
  assert.deepEqual(tuned.backgroundRefresh, { concurrency: 16, intervalMs: 5000 });
  const expected = {
    PIPES_REFRESH_CONCURRENCY: 'a whole number from 1 to 64',
    PIPES_REFRESH_INTERVAL_MS: 'milliseconds from 1000 to 120000',
    PIPES_REFRESH_LEASE_MS: 'milliseconds from 15000 to 600000',
  };
  for (const [name, value] of [
    ['PIPES_REFRESH_CONCURRENCY', '0'],
    ['PIPES_REFRESH_CONCURRENCY', '65'],
    ['PIPES_REFRESH_CONCURRENCY', '2.5'],
    ['PIPES_REFRESH_CONCURRENCY', 'many'],
    ['PIPES_REFRESH_INTERVAL_MS', '999'],
    ['PIPES_REFRESH_INTERVAL_MS', '120001'],
    ['PIPES_REFRESH_INTERVAL_MS', '30s'],
    ['PIPES_REFRESH_LEASE_MS', '1500'],
    ['PIPES_REFRESH_LEASE_MS', '14999'],
    ['PIPES_REFRESH_LEASE_MS', '600001'],
    ['PIPES_REFRESH_LEASE_MS', '1.5s'],
  ] as const) {
    const message = `${name}: expected ${expected[name]} (environment variable)`;
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error) => error instanceof ConfigError && error.message.includes(message),
      `${name}=${value}`,
    );
  }
  assert.equal(loadConfig({ PIPES_REFRESH_LEASE_MS: '15000' }).refreshLeaseMs, 15_000);
});

test('the shortest refresh lease PIPES_REFRESH_LEASE_MS allows fits one provider call, with time to reach it', () => {
  // A lease shorter than what one call needs would never send a refresh (single-flight.ts), and the reads and the
  // journal write between taking the lease and the first call need a moment too.
  assert.ok(MIN_REFRESH_LEASE_MS >= LEASE_NEEDED_PER_ATTEMPT_MS + 1_000);
  assert.ok(LEASE_NEEDED_PER_ATTEMPT_MS > TOKEN_ENDPOINT_TIMEOUT_MS);
  assert.equal(
    loadConfig({ PIPES_REFRESH_LEASE_MS: String(MIN_REFRESH_LEASE_MS) }).refreshLeaseMs,
    MIN_REFRESH_LEASE_MS,
  );
  assert.throws(() => loadConfig({ PIPES_REFRESH_LEASE_MS: String(MIN_REFRESH_LEASE_MS - 1) }), ConfigError);
  assert.match(ENV_VARIABLES.PIPES_REFRESH_LEASE_MS, /at least 15000/);
});
