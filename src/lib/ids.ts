import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * Prefixed ULIDs, as WorkOS uses them (`data_integration_01H…`).
 *
 * The factory is monotonic: two ids made in the same millisecond still sort in creation order, which is what lets
 * list pagination use the id alone as its cursor.
 */
const nextUlid = monotonicFactory(bufferedRandom());

/**
 * ulid's default source calls `crypto.getRandomValues` once per character: about a tenth of a millisecond per id in
 * profiles, on every API request (request ids). The same CSPRNG, drawn 256 values at a time, costs next to nothing.
 */
function bufferedRandom(): () => number {
  const values = new Uint32Array(256);
  let next = values.length;
  return () => {
    if (next === values.length) {
      randomFillSync(values);
      next = 0;
    }
    return values[next++]! / 0x1_0000_0000;
  };
}

export const ID_PREFIXES = {
  environment: 'environment_',
  apiKey: 'key_',
  client: 'client_',
  dataIntegration: 'data_integration_',
  integrationKey: 'dik_',
  connectedAccount: 'data_installation_',
  event: 'event_',
  webhookEndpoint: 'we_',
  delivery: 'whd_',
  flow: 'flow_',
  request: 'req_',
  operator: 'operator_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind, now: number = Date.now()): string {
  return ID_PREFIXES[kind] + nextUlid(now);
}

const ULID_PATTERN = '[0-9A-HJKMNP-TV-Z]{26}';

/** True when `value` looks like an id of this kind. Used to reject garbage before touching the database. */
export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}${ULID_PATTERN}$`).test(value);
}
