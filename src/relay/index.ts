/** The relay: call provider APIs through Pipes with the credential injected server-side. See docs/relay.md. */
export { createRelayFetch, type RelayFetchOptions } from './client.ts';
export { createRelayDeps } from './deps.ts';
export { relayErrors } from './errors.ts';
export { DEFAULT_RELAY_OPTIONS, type RelayOptions, type RelayOptionsInput } from './options.ts';
export { createRelay, type Relay, type RelayContext, relayEgressPolicy } from './relay.ts';
export { RELAY_TOKEN_PREFIX, RelayTokens } from './relay-token.ts';
export type {
  RelayAuthentication,
  RelayConnection,
  RelayCredential,
  RelayDeps,
  RelaySelection,
} from './types.ts';
