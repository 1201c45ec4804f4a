import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { PipesError } from '../../errors.ts';
import { parseHostLiteral } from './ip-classifier.ts';
import { assertAddressAllowed, blockedDestination, type EgressPolicy } from './policy.ts';

/**
 * An undici dispatcher that enforces the egress policy at connect time (R-X3, P5, P6, W8).
 *
 * DNS rebinding defence: the hostname is resolved exactly once per connection, *every* address in the answer is
 * checked, and the socket connects to one of those checked addresses (Node's `net.connect` uses the answer our
 * `lookup` returns; it never resolves again). A mixed answer (public + private) is refused as a whole, since Happy
 * Eyeballs would otherwise try the private address when the public one is slow.
 *
 * IP-literal hosts never reach `lookup` (Node skips DNS for them), so the connector checks them itself before
 * connecting. The check lives in the connector rather than in `dispatch` so that no code path (pooled clients,
 * interceptors, upgrades) can open a socket without it.
 */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a hostname to all of its addresses. Injectable so that tests can simulate DNS answers. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The operating system's resolver (`getaddrinfo`), returning every address. */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Resolves `hostname` once and returns its addresses if, and only if, the policy allows every one of them.
 * Also usable on its own, e.g. to refuse a webhook URL at registration time (W8).
 */
export async function resolveAllowedAddresses(
  hostname: string,
  policy: EgressPolicy,
  resolver: Resolver = systemResolver,
): Promise<ResolvedAddress[]> {
  const answers = await resolver(hostname);
  if (answers.length === 0) {
    throw new PipesError('destination_unreachable', `Could not resolve "${hostname}".`, { status: 502 });
  }
  return answers.map(({ address }) => {
    assertAddressAllowed(address, policy, hostname, 502);
    // Derive the family from the address itself rather than trusting the resolver's label.
    return { address, family: isIP(address) };
  });
}

function createPinnedLookup(policy: EgressPolicy, resolver: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolveAllowedAddresses(hostname, policy, resolver).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable: LookupAddress[] =
          wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          callback(
            new PipesError('destination_unreachable', `No IPv${wanted} address for "${hostname}".`, {
              status: 502,
            }),
            '',
          );
        } else if (options.all === true) {
          callback(null, usable);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

export interface PinnedConnectorOptions {
  policy: EgressPolicy;
  /** DNS resolver; defaults to the system resolver. */
  lookup?: Resolver;
  /** TCP + TLS handshake timeout. */
  connectTimeoutMs: number;
}

/** Checks what the connector can see before opening a socket: scheme, socket path, IP-literal hosts. */
function preflight(options: buildConnector.Options, policy: EgressPolicy): void {
  const host = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
  if (options.socketPath != null) throw blockedDestination(host, 'a Unix socket path is not allowed', 502);
  if (options.protocol !== 'https:' && !(options.protocol === 'http:' && policy.allowHttp)) {
    throw blockedDestination(host, `the scheme "${options.protocol.replace(/:$/, '')}" is not allowed`, 502);
  }
  if (isIP(host) !== 0) {
    assertAddressAllowed(host, policy, host, 502);
    return;
  }
  const literal = parseHostLiteral(host);
  if (literal.kind === 'invalid') {
    throw blockedDestination(
      host,
      literal.problem === 'odd_ipv4_notation'
        ? 'the host uses a non-canonical IPv4 notation'
        : 'the host is invalid',
      502,
    );
  }
}

/** An undici connector that applies `preflight` and pins DNS. Exposed for tests and for building custom clients. */
export function createPinnedConnector(options: PinnedConnectorOptions): buildConnector.connector {
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    lookup: createPinnedLookup(options.policy, options.lookup ?? systemResolver),
  });
  return (connectOptions, callback) => {
    try {
      preflight(connectOptions, options.policy);
    } catch (error) {
      callback(error as Error, null);
      return;
    }
    connect(connectOptions, callback);
  };
}

export interface PinnedDispatcherOptions extends PinnedConnectorOptions {
  /** Time to wait for the response headers. Undici's default (300 s) is far too long for a proxy (R-X7). */
  headersTimeoutMs: number;
  /** Maximum idle time between two body chunks. */
  bodyTimeoutMs: number;
  keepAliveTimeoutMs?: number;
  keepAliveMaxTimeoutMs?: number;
  /** Concurrent connections per origin (R-X7 concurrency cap). Unlimited by default. */
  connectionsPerOrigin?: number;
  /** Responses larger than this are aborted by undici. Unlimited by default. */
  maxResponseBytes?: number;
  /** Never accepted: a caller-controlled socket path would bypass every address check. */
  socketPath?: never;
  /** Never accepted: the connector is what enforces the policy. */
  connect?: never;
}

/**
 * Creates the dispatcher every outbound call must use. Create it once at start-up and pass it around (no singleton);
 * close it on shutdown.
 */
export function createPinnedDispatcher(options: PinnedDispatcherOptions): Agent {
  // Runtime guard for callers that build the options dynamically (the types already forbid these keys).
  for (const forbidden of ['socketPath', 'connect', 'factory'] as const) {
    if (forbidden in options) throw new TypeError(`createPinnedDispatcher does not accept "${forbidden}".`);
  }
  const agentOptions: Agent.Options = {
    connect: createPinnedConnector(options),
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
  };
  if (options.keepAliveTimeoutMs !== undefined) agentOptions.keepAliveTimeout = options.keepAliveTimeoutMs;
  if (options.keepAliveMaxTimeoutMs !== undefined)
    agentOptions.keepAliveMaxTimeout = options.keepAliveMaxTimeoutMs;
  if (options.connectionsPerOrigin !== undefined) agentOptions.connections = options.connectionsPerOrigin;
  if (options.maxResponseBytes !== undefined) agentOptions.maxResponseSize = options.maxResponseBytes;
  return new Agent(agentOptions);
}
