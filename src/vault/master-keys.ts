import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { PipesError } from '../errors.ts';
import { MASTER_KEY_HINT } from './errors.ts';

/** A 256-bit key-encryption key. The material stays inside a `KeyObject`, which never prints its bytes. */
export interface MasterKey {
  readonly id: string;
  readonly key: KeyObject;
}

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ID_PATTERN = /^[a-zA-Z0-9_-]{1,32}$/;

// Standard or URL-safe alphabet, optional padding. Checked before decoding because Buffer.from(…, 'base64')
// silently skips invalid characters and would accept garbage.
const BASE64_PATTERN = /^[A-Za-z0-9+/_-]+={0,2}$/;

function invalidKey(variable: string, problem: string): PipesError {
  // Never echo the value: it is, or is close to, key material.
  return new PipesError('invalid_master_key', `${variable} ${problem}: expected ${MASTER_KEY_HINT}.`, {
    status: 500,
  });
}

/**
 * The id of a key given without one. Deterministic, so the same key always gets the same id across restarts and
 * machines; domain-separated and truncated, so it reveals nothing useful about a 256-bit random key.
 */
export function deriveKeyId(raw: Uint8Array): string {
  const digest = createHash('sha256').update('pipes master key id v1\0').update(raw).digest('hex');
  return `k${digest.slice(0, 8)}`;
}

/**
 * Parses `base64(32 bytes)` or `<id>:base64(32 bytes)`. `variable` names where the value came from
 * (`PIPES_MASTER_KEY`, `PIPES_MASTER_KEYS`, a file path) so the error tells the operator what to fix.
 */
export function parseMasterKey(value: string, variable = 'PIPES_MASTER_KEY'): MasterKey {
  if (typeof value !== 'string') throw invalidKey(variable, 'is not a string');
  const trimmed = value.trim();
  // Base64 never contains ':', so the first colon (if any) separates the id.
  const colon = trimmed.indexOf(':');
  const id = colon === -1 ? undefined : trimmed.slice(0, colon);
  const encoded = colon === -1 ? trimmed : trimmed.slice(colon + 1);
  if (id !== undefined && !MASTER_KEY_ID_PATTERN.test(id)) {
    throw invalidKey(variable, 'has an invalid key id (allowed: 1-32 of a-z A-Z 0-9 _ -, before a colon)');
  }
  if (encoded.length === 0 || !BASE64_PATTERN.test(encoded))
    throw invalidKey(variable, 'is not valid base64');
  const raw = Buffer.from(encoded, 'base64');
  try {
    if (raw.length !== MASTER_KEY_BYTES) {
      throw invalidKey(variable, `decodes to ${raw.length} bytes instead of ${MASTER_KEY_BYTES}`);
    }
    return { id: id ?? deriveKeyId(raw), key: createSecretKey(raw) };
  } finally {
    // createSecretKey copied the bytes; do not leave a second copy lying around in the heap.
    raw.fill(0);
  }
}

/**
 * The set of master keys Pipes knows: one active key (used for every new seal and rewrap) and any number of older
 * keys kept only so existing blobs stay readable during a rotation (R-E4).
 */
export class MasterKeyRing {
  readonly #keys = new Map<string, KeyObject>();
  readonly #active: MasterKey;

  constructor(active: MasterKey, older: readonly MasterKey[] = []) {
    this.#active = active;
    for (const candidate of [active, ...older]) {
      if (!MASTER_KEY_ID_PATTERN.test(candidate.id)) {
        throw new PipesError('invalid_master_key', 'A master key id is invalid.', { status: 500 });
      }
      if (candidate.key.type !== 'secret' || candidate.key.symmetricKeySize !== MASTER_KEY_BYTES) {
        throw new PipesError(
          'invalid_master_key',
          `Master key "${candidate.id}" is not a 256-bit secret key.`,
          {
            status: 500,
          },
        );
      }
      const existing = this.#keys.get(candidate.id);
      if (existing === undefined) {
        this.#keys.set(candidate.id, candidate.key);
      } else if (!existing.equals(candidate.key)) {
        // Two different keys under one id would make blobs ambiguous: refuse rather than guess.
        throw new PipesError(
          'invalid_master_key',
          `Two different master keys share the id "${candidate.id}"; give each key its own id.`,
          { status: 500 },
        );
      }
    }
  }

  get activeId(): string {
    return this.#active.id;
  }

  get active(): MasterKey {
    return this.#active;
  }

  /** Every key id, active first. Ids are not secret. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  keyFor(id: string): KeyObject | undefined {
    return this.#keys.get(id);
  }

  // Keep accidental logging of a ring harmless: ids only.
  toJSON(): { activeId: string; ids: string[] } {
    return { activeId: this.activeId, ids: this.ids };
  }

  [inspect.custom](): string {
    return `MasterKeyRing { activeId: '${this.activeId}', ids: [${this.ids.map((id) => `'${id}'`).join(', ')}] }`;
  }
}
