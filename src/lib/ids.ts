import { monotonicFactory } from 'ulid';

/**
 * Prefixed ULIDs, as WorkOS uses them (`data_integration_01H…`).
 *
 * The factory is monotonic: two ids made in the same millisecond still sort in creation order, which is what lets
 * list pagination use the id alone as its cursor.
 */
const nextUlid = monotonicFactory();

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
