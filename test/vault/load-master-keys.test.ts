import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/lib/logger.ts';
import { generateMasterKey, loadMasterKeyRing, parseMasterKey, Vault } from '../../src/vault/index.ts';
import { assertPipesError, binding } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'pipes-vault-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

function capturingLogger(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger('info', { write: (line: string) => void lines.push(line) }) };
}

describe('loadMasterKeyRing from the environment', () => {
  it('uses PIPES_MASTER_KEY as the active key and PIPES_MASTER_KEYS as older keys', () => {
    const active = `k3:${generateMasterKey()}`;
    const older = ` k1:${generateMasterKey()} , k2:${generateMasterKey()},`;
    const loaded = loadMasterKeyRing({ masterKey: active, olderKeys: older, devMode: false });
    assert.equal(loaded.source, 'env');
    assert.equal(loaded.generated, false);
    assert.equal(loaded.ring.activeId, 'k3');
    assert.deepEqual(loaded.ring.ids, ['k3', 'k1', 'k2']);
  });

  it('reports a bad older key under PIPES_MASTER_KEYS', () => {
    const error = assertPipesError(
      () => loadMasterKeyRing({ masterKey: generateMasterKey(), olderKeys: 'k1:tooShort', devMode: false }),
      'invalid_master_key',
    );
    assert.match(error.message, /^PIPES_MASTER_KEYS /);
    assert.equal(error.message.includes('tooShort'), false);
  });

  it('V4: refuses to run in production without a key, even with a dev key file around', () => {
    const devKeyFile = join(root, 'prod', 'master.key');
    for (const masterKey of [undefined, '', '  ']) {
      const options =
        masterKey === undefined ? { devMode: false, devKeyFile } : { masterKey, devMode: false, devKeyFile };
      const error = assertPipesError(() => loadMasterKeyRing(options), 'master_key_missing');
      assert.match(error.message, /PIPES_MASTER_KEY/);
      assert.match(error.message, /openssl rand -base64 32/);
    }
    assert.equal(existsSync(devKeyFile), false);
  });

  it('refuses older keys alone in production', () => {
    assertPipesError(
      () => loadMasterKeyRing({ olderKeys: `k1:${generateMasterKey()}`, devMode: false }),
      'master_key_missing',
    );
  });
});

describe('loadMasterKeyRing in dev mode', () => {
  it('creates the key file (0600, parent created) once and reuses it', () => {
    const devKeyFile = join(root, 'nested', 'dir', 'master.key');
    const { lines, log } = capturingLogger();
    const first = loadMasterKeyRing({ devMode: true, devKeyFile, log });
    assert.equal(first.generated, true);
    assert.equal(first.source, 'dev_key_file');
    assert.equal(statSync(devKeyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'nested', 'dir')).mode & 0o077, 0);
    const stored = readFileSync(devKeyFile, 'utf8');
    assert.equal(first.ring.activeId, parseMasterKey(stored).id);

    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /development master key/);
    assert.equal(lines[0]!.includes(stored.trim()), false);

    const blob = new Vault(first.ring).seal('secret', binding);
    const second = loadMasterKeyRing({ devMode: true, devKeyFile, log });
    assert.equal(second.generated, false);
    assert.equal(second.ring.activeId, first.ring.activeId);
    assert.equal(new Vault(second.ring).open(blob, binding), 'secret');
    assert.equal(readFileSync(devKeyFile, 'utf8'), stored);
    assert.equal(lines.length, 1);
  });

  it('prefers PIPES_MASTER_KEY over the dev key file', () => {
    const devKeyFile = join(root, 'unused', 'master.key');
    const loaded = loadMasterKeyRing({ masterKey: `env:${generateMasterKey()}`, devMode: true, devKeyFile });
    assert.equal(loaded.ring.activeId, 'env');
    assert.equal(loaded.source, 'env');
    assert.equal(existsSync(devKeyFile), false);
  });

  it('names the dev key file when its content is not a key', () => {
    const dir = join(root, 'broken');
    mkdirSync(dir);
    const devKeyFile = join(dir, 'master.key');
    writeFileSync(devKeyFile, 'not a key\n', { mode: 0o600 });
    const error = assertPipesError(
      () => loadMasterKeyRing({ devMode: true, devKeyFile }),
      'invalid_master_key',
    );
    assert.ok(error.message.includes(devKeyFile));
  });

  it('warns when an existing dev key file is readable by others', () => {
    const dir = join(root, 'loose');
    mkdirSync(dir);
    const devKeyFile = join(dir, 'master.key');
    writeFileSync(devKeyFile, `${generateMasterKey()}\n`, { mode: 0o644 });
    const { lines, log } = capturingLogger();
    const loaded = loadMasterKeyRing({ devMode: true, devKeyFile, log });
    assert.equal(loaded.generated, false);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /chmod 600/);
  });

  it('fails without a key and without a dev key file path', () => {
    assertPipesError(() => loadMasterKeyRing({ devMode: true }), 'master_key_missing');
  });
});
