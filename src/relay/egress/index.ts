/** Outbound-address policy and safe HTTP plumbing for every call Pipes makes to the outside world. */
export {
  addConnectionNames,
  assertRequestHeader,
  filterRequestHeaders,
  filterResponseHeaders,
  type HeaderRecord,
  type HeadersInput,
  isDroppedRequestHeader,
  isPassableResponseHeader,
  type RequestHeaderFilterOptions,
  type ResponseHeaderFilterOptions,
} from './headers.ts';
export {
  type AddressClassification,
  type BlockCategory,
  type BlockReason,
  classifyAddress,
  type HostLiteral,
  parseHostLiteral,
} from './ip-classifier.ts';
export {
  createPinnedConnector,
  createPinnedDispatcher,
  type PinnedConnectorOptions,
  type PinnedDispatcherOptions,
  type ResolvedAddress,
  type Resolver,
  resolveAllowedAddresses,
  systemResolver,
} from './pinned-dispatcher.ts';
export {
  type AddressVerdict,
  type AssertUrlOptions,
  assertAddressAllowed,
  assertUrlAllowed,
  blockedDestination,
  checkAddress,
  describeReason,
  type EgressPolicy,
  STRICT_EGRESS_POLICY,
} from './policy.ts';
export { assertOriginAllowed, basePathOf, isUnderBase, joinProviderUrl } from './safe-url.ts';
