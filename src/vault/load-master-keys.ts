import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PipesError } from '../errors.ts';
import { MASTER_KEY_HINT } from './errors.ts';
import { generateMasterKey } from './generate.ts';
import { type MasterKey, MasterKeyRing, parseMasterKey } from './master-keys.ts';

/** The slice of a logger this module uses; a pino `Logger` fits. */
export interface KeyRingLogger {
  warn(obj: object, msg: string): void;
}

export interface LoadMasterKeyRingOptions {
  /** PIPES_MASTER_KEY: the active key. */
  readonly masterKey?: string;
  /** PIPES_MASTER_KEYS: older keys, comma-separated `id:base64`, used only to decrypt during a rotation. */
  readonly olderKeys?: string;
  /** Where dev mode keeps its generated key when PIPES_MASTER_KEY is not set. */
  readonly devKeyFile?: string;
  readonly devMode: boolean;
  readonly log?: KeyRingLogger;
}

export interface LoadedMasterKeyRing {
  readonly ring: MasterKeyRing;
  /** True when this call created the dev key file: the caller should warn that it is a dev-only key. */
  readonly generated: boolean;
  readonly source: 'env' | 'dev_key_file';
}

function isBlank(value: string | undefined): value is undefined {
  // `PIPES_MASTER_KEY=` in a compose file means "not set", not "an empty key".
  return value === undefined || value.trim().length === 0;
}

function parseOlderKeys(value: string | undefined): MasterKey[] {
  if (isBlank(value)) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => parseMasterKey(part, 'PIPES_MASTER_KEYS'));
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** Reads the dev key file, or creates it (0600, parent directory 0700) when missing. */
function readOrCreateDevKey(
  path: string,
  log: KeyRingLogger | undefined,
): { key: MasterKey; generated: boolean } {
  const label = `The dev key file ${path}`;
  try {
    const content = readFileSync(path, 'utf8');
    if (log !== undefined && process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
      log.warn({ path }, 'The dev master key file is readable by other users; run chmod 600 on it.');
    }
    return { key: parseMasterKey(content, label), generated: false };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const encoded = generateMasterKey();
  try {
    // 'wx' fails if another process created the file in the meantime; then its key wins and we read it.
    writeFileSync(path, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    return { key: parseMasterKey(readFileSync(path, 'utf8'), label), generated: false };
  }
  // The creation mode is filtered by the umask; make sure the result is exactly owner read/write.
  chmodSync(path, 0o600);
  return { key: parseMasterKey(encoded, label), generated: true };
}

/**
 * Builds the master key ring from configuration. Production refuses to run without PIPES_MASTER_KEY: there is no
 * plaintext mode (R-E5, V4). Dev mode falls back to a generated key file so `pipes serve` works out of the box.
 */
export function loadMasterKeyRing(options: LoadMasterKeyRingOptions): LoadedMasterKeyRing {
  const older = parseOlderKeys(options.olderKeys);
  if (!isBlank(options.masterKey)) {
    return {
      ring: new MasterKeyRing(parseMasterKey(options.masterKey), older),
      generated: false,
      source: 'env',
    };
  }
  if (!options.devMode) {
    throw new PipesError(
      'master_key_missing',
      `PIPES_MASTER_KEY is not set. Pipes encrypts every stored credential and will not start without it in production: set it to ${MASTER_KEY_HINT}.`,
      { status: 500 },
    );
  }
  if (options.devKeyFile === undefined || options.devKeyFile.length === 0) {
    throw new PipesError(
      'master_key_missing',
      `PIPES_MASTER_KEY is not set and no dev key file path was given: set it to ${MASTER_KEY_HINT}.`,
      { status: 500 },
    );
  }
  const { key, generated } = readOrCreateDevKey(options.devKeyFile, options.log);
  if (generated && options.log !== undefined) {
    options.log.warn(
      { path: options.devKeyFile },
      'Generated a development master key. Back it up: losing it makes every stored credential unreadable. Set PIPES_MASTER_KEY in production.',
    );
  }
  return { ring: new MasterKeyRing(key, older), generated, source: 'dev_key_file' };
}
