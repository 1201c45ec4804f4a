import { isIPv4, isIPv6 } from 'node:net';

/**
 * Classifies an IP address as safe (public unicast) or not, for the egress policy (R-X3, P6).
 *
 * Hand-written range math rather than `node:net` `BlockList`, because:
 * - we need the *reason* an address is blocked (one BlockList per reason would be needed, and the order of checks
 *   matters: 169.254.169.254 is "metadata" before it is "link_local");
 * - IPv6 transition forms (NAT64, 6to4) must be decoded and their *embedded* IPv4 classified, which BlockList can't do;
 * - a plain table is easy to read and to review against the IANA special-purpose registries.
 *
 * The IPv6 side is an allowlist at heart: only global unicast (2000::/3) can be public, and inside it the
 * special-purpose blocks are refused. Everything outside 2000::/3 (except well-formed NAT64 to a public IPv4) is blocked.
 */
export type BlockReason =
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'metadata'
  | 'unspecified'
  | 'cgnat'
  | 'unique_local'
  | 'site_local'
  | 'multicast'
  | 'reserved'
  | 'ipv4_mapped'
  | 'nat64'
  | '6to4'
  | 'teredo'
  | 'documentation'
  | 'benchmark'
  | 'broadcast'
  | 'invalid';

/** Coarse grouping of block reasons, for logs and metrics. */
export type BlockCategory = 'local' | 'special' | 'transition' | 'invalid';

export type AddressClassification =
  | { allowed: true; category: 'public'; family: 4 | 6; address: string; embeddedIPv4?: string }
  | {
      allowed: false;
      category: BlockCategory;
      reason: BlockReason;
      family: 0 | 4 | 6;
      address: string;
      embeddedIPv4?: string;
    };

const CATEGORY: Record<BlockReason, BlockCategory> = {
  loopback: 'local',
  private: 'local',
  link_local: 'local',
  metadata: 'local',
  unspecified: 'local',
  cgnat: 'local',
  unique_local: 'local',
  site_local: 'local',
  multicast: 'special',
  reserved: 'special',
  documentation: 'special',
  benchmark: 'special',
  broadcast: 'special',
  ipv4_mapped: 'transition',
  nat64: 'transition',
  '6to4': 'transition',
  teredo: 'transition',
  invalid: 'invalid',
};

// ---------------------------------------------------------------------------------------------------------------
// IPv4

/** Canonical dotted quad only: four decimal octets, no leading zeros. `net.isIPv4` enforces exactly this. */
function parseIPv4(text: string): number | null {
  if (!isIPv4(text)) return null;
  const parts = text.split('.').map(Number);
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0) as number;
}

function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function v4(cidr: string): [base: number, bits: number] {
  const [ip, bits] = cidr.split('/');
  return [parseIPv4(ip!)!, Number(bits ?? 32)];
}

/** Ordered: the first match wins, so the more specific entries come first. */
const IPV4_RULES: ReadonlyArray<[base: number, bits: number, reason: BlockReason]> = (
  [
    // Cloud metadata endpoints: AWS/GCP/Azure/OCI, AWS ECS task metadata, Alibaba (which sits inside CGNAT space), and
    // Azure's wireserver (VM agent, extensions and their settings), a public-looking address that no range below catches.
    ['169.254.169.254/32', 'metadata'],
    ['169.254.170.2/32', 'metadata'],
    ['100.100.100.200/32', 'metadata'],
    ['168.63.129.16/32', 'metadata'],
    ['255.255.255.255/32', 'broadcast'],
    ['0.0.0.0/8', 'unspecified'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'cgnat'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link_local'],
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
    ['192.0.2.0/24', 'documentation'], // TEST-NET-1
    ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'benchmark'],
    ['198.51.100.0/24', 'documentation'], // TEST-NET-2
    ['203.0.113.0/24', 'documentation'], // TEST-NET-3
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
  ] as const
).map(([cidr, reason]) => [...v4(cidr), reason]);

function matchIPv4(value: number): BlockReason | null {
  for (const [base, bits, reason] of IPV4_RULES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((value & mask) >>> 0 === base) return reason;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// IPv6

/** Parses an IPv6 address (no zone id) to a 128-bit bigint. Returns null unless `net.isIPv6` agrees it is valid. */
function parseIPv6(text: string): bigint | null {
  if (text.includes('%') || !isIPv6(text)) return null;
  let head = text;
  let tailV4: number | null = null;
  // A trailing dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = head.lastIndexOf(':');
  if (head.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(head.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  if (missing < 0 || (right === undefined && missing !== 0)) return null;
  const groups = [
    ...leftGroups,
    ...Array<string>(right === undefined ? 0 : missing).fill('0'),
    ...rightGroups,
  ];
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  if (tailV4 !== null) value = (value & ~0xffffffffn) | BigInt(tailV4);
  return value;
}

function v6(cidr: string): [base: bigint, bits: number] {
  const [ip, bits] = cidr.split('/');
  return [parseIPv6(ip!)!, Number(bits ?? 128)];
}

function inPrefix(value: bigint, [base, bits]: [bigint, number]): boolean {
  const shift = BigInt(128 - bits);
  return value >> shift === base >> shift;
}

const V6 = {
  unspecified: v6('::/128'),
  loopback: v6('::1/128'),
  mapped: v6('::ffff:0:0/96'),
  translated: v6('::ffff:0:0:0/96'), // SIIT "IPv4-translated", RFC 2765
  nat64: v6('64:ff9b::/96'),
  nat64Local: v6('64:ff9b:1::/48'), // RFC 8215 local-use: network-specific, so never trusted
  discard: v6('100::/64'),
  teredo: v6('2001::/32'),
  benchmark: v6('2001:2::/48'),
  documentation: v6('2001:db8::/32'),
  ietf: v6('2001::/23'),
  sixToFour: v6('2002::/16'),
  documentation2: v6('3fff::/20'),
  awsMetadata: v6('fd00:ec2::254/128'),
  uniqueLocal: v6('fc00::/7'),
  linkLocal: v6('fe80::/10'),
  siteLocal: v6('fec0::/10'),
  multicast: v6('ff00::/8'),
  globalUnicast: v6('2000::/3'),
};

// ---------------------------------------------------------------------------------------------------------------

function blocked(
  reason: BlockReason,
  family: 0 | 4 | 6,
  address: string,
  embeddedIPv4?: string,
): AddressClassification {
  const result: AddressClassification = {
    allowed: false,
    category: CATEGORY[reason],
    reason,
    family,
    address,
  };
  if (embeddedIPv4 !== undefined) result.embeddedIPv4 = embeddedIPv4;
  return result;
}

/**
 * Classifies one IP address string as returned by a resolver or a URL host (IPv6 with or without brackets).
 * Anything that is not a canonical IPv4 dotted quad or a valid IPv6 address is blocked as `invalid`.
 */
export function classifyAddress(ip: string): AddressClassification {
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;

  const asV4 = parseIPv4(address);
  if (asV4 !== null) {
    const reason = matchIPv4(asV4);
    return reason === null
      ? { allowed: true, category: 'public', family: 4, address }
      : blocked(reason, 4, address);
  }

  const value = parseIPv6(address);
  if (value === null) return blocked('invalid', isIPv6(address) ? 6 : 0, address);

  const low32 = formatIPv4(Number(value & 0xffffffffn));
  if (inPrefix(value, V6.unspecified)) return blocked('unspecified', 6, address);
  if (inPrefix(value, V6.loopback)) return blocked('loopback', 6, address);
  // Mapped addresses are blocked whatever they embed: a public host never legitimately resolves to one, and on a
  // dual-stack socket `::ffff:127.0.0.1` reaches loopback.
  if (inPrefix(value, V6.mapped) || inPrefix(value, V6.translated)) {
    return blocked('ipv4_mapped', 6, address, low32);
  }
  if (inPrefix(value, V6.nat64)) {
    // Well-known-prefix NAT64 is how IPv6-only networks reach IPv4 hosts, so allow it only when the embedded IPv4
    // would itself be allowed.
    const inner = classifyAddress(low32);
    return inner.allowed
      ? { allowed: true, category: 'public', family: 6, address, embeddedIPv4: low32 }
      : blocked('nat64', 6, address, low32);
  }
  if (inPrefix(value, V6.nat64Local)) return blocked('nat64', 6, address);
  if (inPrefix(value, V6.discard)) return blocked('reserved', 6, address);
  if (inPrefix(value, V6.teredo)) return blocked('teredo', 6, address);
  if (inPrefix(value, V6.benchmark)) return blocked('benchmark', 6, address);
  if (inPrefix(value, V6.documentation) || inPrefix(value, V6.documentation2)) {
    return blocked('documentation', 6, address);
  }
  if (inPrefix(value, V6.ietf)) return blocked('reserved', 6, address);
  if (inPrefix(value, V6.sixToFour)) {
    const embedded = formatIPv4(Number((value >> 80n) & 0xffffffffn));
    const inner = classifyAddress(embedded);
    return inner.allowed
      ? { allowed: true, category: 'public', family: 6, address, embeddedIPv4: embedded }
      : blocked('6to4', 6, address, embedded);
  }
  if (inPrefix(value, V6.awsMetadata)) return blocked('metadata', 6, address);
  if (inPrefix(value, V6.uniqueLocal)) return blocked('unique_local', 6, address);
  if (inPrefix(value, V6.linkLocal)) return blocked('link_local', 6, address);
  if (inPrefix(value, V6.siteLocal)) return blocked('site_local', 6, address);
  if (inPrefix(value, V6.multicast)) return blocked('multicast', 6, address);
  if (!inPrefix(value, V6.globalUnicast)) return blocked('reserved', 6, address);
  return { allowed: true, category: 'public', family: 6, address };
}

// ---------------------------------------------------------------------------------------------------------------
// Host literals

export type HostLiteral =
  | { kind: 'ipv4'; address: string }
  | { kind: 'ipv6'; address: string }
  | { kind: 'name'; name: string }
  | { kind: 'invalid'; problem: 'odd_ipv4_notation' | 'malformed' };

const DNS_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i;

/**
 * Parses a URL host (as written, or `URL.hostname`) into an IP literal or a DNS name, refusing every IPv4 spelling but
 * the canonical dotted quad.
 *
 * WHATWG URL and `inet_aton` both accept `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` as 127.0.0.1. A host whose
 * last label is numeric is parsed as IPv4 by WHATWG ("ends in a number"), so such a host is either a canonical quad or
 * refused here; we never try to interpret the odd forms ourselves.
 */
export function parseHostLiteral(host: string): HostLiteral {
  if (host.length === 0 || host.length > 255) return { kind: 'invalid', problem: 'malformed' };
  if (host.startsWith('[')) {
    const inner = host.endsWith(']') ? host.slice(1, -1) : '';
    return parseIPv6(inner) === null
      ? { kind: 'invalid', problem: 'malformed' }
      : { kind: 'ipv6', address: inner.toLowerCase() };
  }
  if (host.includes(':')) {
    return parseIPv6(host) === null
      ? { kind: 'invalid', problem: 'malformed' }
      : { kind: 'ipv6', address: host.toLowerCase() };
  }
  if (isIPv4(host)) return { kind: 'ipv4', address: host };

  const name = host.toLowerCase();
  const labels = name.split('.');
  if (labels.length > 1 && labels.at(-1) === '') labels.pop(); // one trailing dot (FQDN) is fine for names
  const last = labels.at(-1) ?? '';
  if (NUMERIC_LABEL.test(last)) return { kind: 'invalid', problem: 'odd_ipv4_notation' };
  if (!labels.every((label) => DNS_LABEL.test(label))) return { kind: 'invalid', problem: 'malformed' };
  return { kind: 'name', name };
}
