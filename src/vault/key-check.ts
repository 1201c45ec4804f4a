import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { PipesError } from '../errors.ts';
import type { MasterKeyRing } from './master-keys.ts';

/** What the store persists per master key id so that a wrong key is caught at start-up (R-E5, V3). */
export interface KeyCheckRecord {
  readonly keyId: string;
  readonly check: string;
}

export interface VerifyKeyCheckOptions {
  /**
   * Whether the store holds any sealed secret. Defaults to `true` (fail closed). When `false`, a ring that matches
   * none of the stored checks is accepted: nothing would become unreadable, e.g. an operator replacing the key of a
   * database that never stored a credential.
   */
  readonly hasSecrets?: boolean;
}

/**
 * A non-secret fingerprint of a master key: HMAC-SHA256(key, "pipes key check v1"), hex. A one-way function keyed by
 * the key itself, so it reveals nothing about the key but changes completely for any other key.
 */
export function keyCheckValue(key: KeyObject | Uint8Array): string {
  return createHmac('sha256', key).update('pipes key check v1').digest('hex');
}

function sameCheck(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function mismatch(message: string): PipesError {
  return new PipesError('master_key_mismatch', message, { status: 500 });
}

/**
 * Checks the configured ring against the check values the store already holds, and returns the records the caller
 * must persist (the active key's, when it is new).
 *
 * Rules:
 * 1. A stored key id that the ring also has, with a different check value, means the same id now names other key
 *    material: every blob under that id would fail. Always fatal, whatever the store holds.
 * 2. If the store holds secrets and none of the ring's keys matches any stored record, the ring cannot open anything
 *    (typically a typo'd or regenerated PIPES_MASTER_KEY; derived ids differ per key, so rule 1 alone would not see
 *    it). Fatal. Note that it is "no key of the ring", not "the active key": during a rotation the new active key
 *    is unknown to the store while the older key, kept in PIPES_MASTER_KEYS, still matches.
 *
 * Rows still sealed under a key that left the ring are not this function's concern: the store reports them per key
 * id (R-E4) because only it knows which rows use which key.
 */
export function verifyKeyCheck(
  ring: MasterKeyRing,
  stored: readonly KeyCheckRecord[],
  options: VerifyKeyCheckOptions = {},
): KeyCheckRecord[] {
  let anyMatch = false;
  for (const record of stored) {
    const key = ring.keyFor(record.keyId);
    if (key === undefined) continue;
    if (!sameCheck(keyCheckValue(key), record.check)) {
      throw mismatch(
        `The master key with id "${record.keyId}" is not the key this database was encrypted with. ` +
          'Start Pipes with the original key; to change keys, give the new key its own id and keep the old one in PIPES_MASTER_KEYS until the rewrap finishes.',
      );
    }
    anyMatch = true;
  }
  const hasSecrets = options.hasSecrets ?? true;
  if (stored.length > 0 && !anyMatch && hasSecrets) {
    throw mismatch(
      `None of the configured master keys (${ring.ids.join(', ')}) is a key this database was encrypted with ` +
        `(${stored.map((r) => r.keyId).join(', ')}). Start Pipes with the original PIPES_MASTER_KEY, or add it to PIPES_MASTER_KEYS to rotate.`,
    );
  }
  const activeStored = stored.some((record) => record.keyId === ring.activeId);
  return activeStored ? [] : [{ keyId: ring.activeId, check: keyCheckValue(ring.active.key) }];
}
