import assert from 'node:assert/strict';
import { PipesError } from '../../src/errors.ts';
import {
  generateMasterKey,
  MasterKeyRing,
  parseMasterKey,
  type SecretBinding,
} from '../../src/vault/index.ts';

export const binding: SecretBinding = {
  table: 'connected_accounts',
  rowId: 'data_installation_01HZX0000000000000000000AB',
  environmentId: 'environment_01HZX0000000000000000000CD',
  kind: 'access_token',
};

/** A fresh key with an explicit id, as an operator would write it in PIPES_MASTER_KEY(S). */
export function keyWithId(id: string): string {
  return `${id}:${generateMasterKey()}`;
}

export function ringOf(active: string, ...older: string[]): MasterKeyRing {
  return new MasterKeyRing(
    parseMasterKey(active),
    older.map((value) => parseMasterKey(value)),
  );
}

export function assertPipesError(fn: () => unknown, code: string, status?: number): PipesError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof PipesError, `expected a PipesError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (status !== undefined) assert.equal(caught.status, status);
  return caught;
}

export function assertUnreadable(fn: () => unknown): PipesError {
  const error = assertPipesError(fn, 'credential_unreadable', 500);
  assert.match(error.message, /could not be decrypted/);
  return error;
}
