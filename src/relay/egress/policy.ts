import { PipesError } from '../../errors.ts';
import {
  type AddressClassification,
  type BlockReason,
  classifyAddress,
  parseHostLiteral,
} from './ip-classifier.ts';

/**
 * The one egress policy for every outbound call (OAuth token endpoints, relayed provider APIs, webhooks).
 *
 * The relaxations exist for development and self-hosting (a provider in the same VPC, a webhook receiver on the
 * laptop). Cloud metadata, link-local, unspecified, multicast, transition forms and the other special ranges are
 * refused whatever the policy says.
 */
export interface EgressPolicy {
  /** Allow 127/8 and ::1 (development only). */
  allowLoopback: boolean;
  /** Allow RFC 1918, ULA fc00::/7, deprecated site-local and CGNAT 100.64/10 (self-hosted providers, tailnets). */
  allowPrivate: boolean;
  /** Allow plain `http:` (development only); otherwise only `https:`. */
  allowHttp: boolean;
}

/** The production default: public https only. */
export const STRICT_EGRESS_POLICY: Readonly<EgressPolicy> = Object.freeze({
  allowLoopback: false,
  allowPrivate: false,
  allowHttp: false,
});

const PRIVATE_REASONS: ReadonlySet<BlockReason> = new Set(['private', 'unique_local', 'site_local', 'cgnat']);

const REASON_TEXT: Record<BlockReason, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  link_local: 'a link-local address',
  metadata: 'a cloud metadata address',
  unspecified: 'an unspecified address',
  cgnat: 'a carrier-grade NAT address',
  unique_local: 'a unique-local IPv6 address',
  site_local: 'a site-local IPv6 address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  ipv4_mapped: 'an IPv4-mapped IPv6 address',
  nat64: 'a NAT64 address of a blocked IPv4 address',
  '6to4': 'a 6to4 address of a blocked IPv4 address',
  teredo: 'a Teredo address',
  documentation: 'a documentation address',
  benchmark: 'a benchmarking address',
  broadcast: 'the broadcast address',
  invalid: 'an invalid address',
};

export type AddressVerdict = { allowed: true } | { allowed: false; reason: BlockReason };

/** Applies the policy's relaxations to the classifier's answer. */
export function checkAddress(ip: string, policy: EgressPolicy): AddressVerdict {
  return applyPolicy(classifyAddress(ip), policy);
}

function applyPolicy(classification: AddressClassification, policy: EgressPolicy): AddressVerdict {
  if (classification.allowed) return { allowed: true };
  const { reason } = classification;
  if (reason === 'loopback' && policy.allowLoopback) return { allowed: true };
  if (PRIVATE_REASONS.has(reason) && policy.allowPrivate) return { allowed: true };
  return { allowed: false, reason };
}

/**
 * The error for a refused destination. It names the host (already public to whoever configured it) and the kind of
 * address, but never the resolved IP: echoing internal addresses back would turn the relay into a network scanner.
 */
export function blockedDestination(host: string, problem: string, status: number): PipesError {
  return new PipesError('blocked_destination', `Refusing to connect to "${host}": ${problem}.`, { status });
}

/** Throws `blocked_destination` unless the policy allows `ip`. `host` is the name to show in the message. */
export function assertAddressAllowed(
  ip: string,
  policy: EgressPolicy,
  host: string = ip,
  status = 502,
): void {
  const verdict = checkAddress(ip, policy);
  if (!verdict.allowed) {
    const how = host === ip ? 'it is' : 'it resolves to';
    throw blockedDestination(host, `${how} ${REASON_TEXT[verdict.reason]}`, status);
  }
}

/** Names that resolve to loopback or metadata by definition, so they can be refused before any DNS lookup. */
function reasonForName(name: string): BlockReason | null {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === 'localhost' || bare.endsWith('.localhost')) return 'loopback'; // RFC 6761
  if (bare === 'metadata.google.internal' || bare === 'metadata') return 'metadata';
  return null;
}

// Whitespace and controls are stripped or ignored by the WHATWG parser, and a backslash is read as a slash in
// special URLs, so the raw text we inspect would not be the URL that gets used. Refuse them outright.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_URL_CHARS = /[\u0000-\u0020\u007f\\]/;
const RAW_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

export interface AssertUrlOptions {
  /** HTTP status of the error. Default 400: the URL came from the caller (a webhook endpoint, a base URL). */
  status?: number;
}

/**
 * Static checks on an outbound URL (no DNS): scheme, no userinfo, canonical host, literal IPs against the policy,
 * `localhost`-style names. Returns the parsed URL. The connect-time check in the pinned dispatcher is what stops DNS
 * names that resolve to blocked addresses.
 *
 * Pass the URL as text when it came from outside: odd IPv4 spellings (`http://2130706433/`) are normalised away by
 * the WHATWG parser, so they can only be detected by comparing the raw host with the parsed one.
 */
export function assertUrlAllowed(
  input: string | URL,
  policy: EgressPolicy,
  options: AssertUrlOptions = {},
): URL {
  const status = options.status ?? 400;
  const raw = typeof input === 'string' ? input : input.href;
  const refuse = (host: string, problem: string): PipesError => blockedDestination(host, problem, status);

  const unparsable = (problem: string): PipesError =>
    new PipesError('blocked_destination', `Refusing the destination URL: ${problem}.`, { status });

  if (UNSAFE_URL_CHARS.test(raw))
    throw unparsable('it contains whitespace, control characters or a backslash');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unparsable('it is not a valid URL');
  }
  const host = url.hostname;

  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw refuse(host, `the scheme "${url.protocol.slice(0, -1)}" is not allowed (use https)`);
  }
  const authority = RAW_AUTHORITY.exec(raw)?.[1];
  if (authority === undefined) throw refuse(host, 'the URL must have the form scheme://host/path');
  if (url.username !== '' || url.password !== '' || authority.includes('@')) {
    throw refuse(host, 'credentials in the URL are not allowed');
  }

  const rawHost = authority.startsWith('[')
    ? authority.slice(0, authority.indexOf(']') + 1)
    : authority.split(':')[0]!;
  const rawLiteral = parseHostLiteral(rawHost);
  const parsed = parseHostLiteral(host);
  const oddIPv4 =
    (rawLiteral.kind === 'invalid' && rawLiteral.problem === 'odd_ipv4_notation') ||
    (parsed.kind === 'ipv4' && rawHost.toLowerCase() !== host);
  if (oddIPv4) throw refuse(rawHost, 'the host uses a non-canonical IPv4 notation');

  switch (parsed.kind) {
    case 'invalid':
      throw refuse(host, 'the host is not a valid DNS name or IP address');
    case 'ipv4':
    case 'ipv6':
      assertAddressAllowed(parsed.address, policy, parsed.address, status);
      break;
    case 'name': {
      const reason = reasonForName(parsed.name);
      if (reason !== null) {
        const verdict = reason === 'loopback' && policy.allowLoopback;
        if (!verdict) throw refuse(host, `it resolves to ${REASON_TEXT[reason]}`);
      }
      break;
    }
  }
  return url;
}

/** The text used in messages for a block reason; exported for the dispatcher. */
export function describeReason(reason: BlockReason): string {
  return REASON_TEXT[reason];
}
