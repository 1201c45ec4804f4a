import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BlockReason, classifyAddress, parseHostLiteral } from '../../../src/relay/egress/index.ts';

// Row P6 of the security test plan, plus the rest of R-X3 and the special-purpose registries.
const BLOCKED: ReadonlyArray<[address: string, reason: BlockReason]> = [
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'], // Azure wireserver
  ['169.254.1.1', 'link_local'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'benchmark'],
  ['198.19.255.255', 'benchmark'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'link_local'],
  ['febf::1', 'link_local'],
  ['fc00::1', 'unique_local'],
  ['fd12:3456::1', 'unique_local'],
  ['fd00:ec2::254', 'metadata'],
  ['fec0::1', 'site_local'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'ipv4_mapped'],
  ['::ffff:7f00:1', 'ipv4_mapped'],
  ['::ffff:8.8.8.8', 'ipv4_mapped'],
  ['::ffff:0:a00:1', 'ipv4_mapped'],
  ['::127.0.0.1', 'reserved'],
  ['64:ff9b::7f00:1', 'nat64'],
  ['64:ff9b::127.0.0.1', 'nat64'],
  ['64:ff9b::a9fe:a9fe', 'nat64'],
  ['64:ff9b::a83f:8110', 'nat64'], // Azure wireserver behind NAT64
  ['64:ff9b:1::808:808', 'nat64'],
  ['2002:7f00:1::', '6to4'],
  ['2002:a9fe:a9fe::1', '6to4'],
  ['2002:a83f:8110::1', '6to4'],
  ['2002:0a00:0001::', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  ['2001::1', 'teredo'],
  ['2001:2::1', 'benchmark'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001:10::1', 'reserved'],
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['1::', 'reserved'],
  ['fe80::1%eth0', 'invalid'],
  ['0177.0.0.1', 'invalid'],
  ['2130706433', 'invalid'],
  ['127.1', 'invalid'],
  ['0x7f.0.0.1', 'invalid'],
  ['localhost', 'invalid'],
  ['', 'invalid'],
  ['1.2.3.4.5', 'invalid'],
  ['::ffff:1.2.3', 'invalid'],
];

const ALLOWED: readonly string[] = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '172.15.255.255',
  '172.32.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '169.253.255.255',
  '168.63.129.15', // the wireserver's neighbours are ordinary public addresses
  '168.63.129.17',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2a00:1450:4001:81b::200e',
  '[2606:4700:4700::1001]',
  '64:ff9b::808:808',
  '64:ff9b::1.1.1.1',
  '2002:808:808::1',
];

describe('classifyAddress', () => {
  for (const [address, reason] of BLOCKED) {
    test(`blocks ${JSON.stringify(address)} as ${reason}`, () => {
      const result = classifyAddress(address);
      assert.equal(result.allowed, false);
      assert.equal(result.allowed === false && result.reason, reason);
    });
  }
  for (const address of ALLOWED) {
    test(`allows ${address}`, () => {
      const result = classifyAddress(address);
      assert.equal(result.allowed, true, JSON.stringify(result));
      assert.equal(result.category, 'public');
    });
  }

  test('reports the embedded IPv4 of transition addresses', () => {
    assert.equal(classifyAddress('::ffff:7f00:1').embeddedIPv4, '127.0.0.1');
    assert.equal(classifyAddress('64:ff9b::7f00:1').embeddedIPv4, '127.0.0.1');
    assert.equal(classifyAddress('2002:7f00:1::').embeddedIPv4, '127.0.0.1');
    assert.equal(classifyAddress('2002:808:808::1').embeddedIPv4, '8.8.8.8');
  });

  test('groups reasons into categories', () => {
    assert.equal(classifyAddress('10.0.0.1').category, 'local');
    assert.equal(classifyAddress('224.0.0.1').category, 'special');
    assert.equal(classifyAddress('2001::1').category, 'transition');
    assert.equal(classifyAddress('nonsense').category, 'invalid');
  });
});

describe('parseHostLiteral', () => {
  for (const host of [
    '2130706433',
    '0177.0.0.1',
    '0x7f.1',
    '127.1',
    '0x7f000001',
    '127.0.0.1.',
    '1.2.3.0x4',
    '0x',
  ]) {
    test(`refuses odd IPv4 notation ${host}`, () => {
      assert.deepEqual(parseHostLiteral(host), { kind: 'invalid', problem: 'odd_ipv4_notation' });
    });
  }
  for (const host of ['a..b', '-a.example', 'a b', '[::1', '[1.2.3.4]', 'ex%61mple.com', 'bücher.de', '']) {
    test(`refuses malformed host ${JSON.stringify(host)}`, () => {
      assert.deepEqual(parseHostLiteral(host), { kind: 'invalid', problem: 'malformed' });
    });
  }
  test('accepts canonical literals and DNS names', () => {
    assert.deepEqual(parseHostLiteral('127.0.0.1'), { kind: 'ipv4', address: '127.0.0.1' });
    assert.deepEqual(parseHostLiteral('[::FFFF:7f00:1]'), { kind: 'ipv6', address: '::ffff:7f00:1' });
    assert.deepEqual(parseHostLiteral('fe80::1'), { kind: 'ipv6', address: 'fe80::1' });
    assert.deepEqual(parseHostLiteral('API.Example.com.'), { kind: 'name', name: 'api.example.com.' });
    assert.deepEqual(parseHostLiteral('xn--bcher-kva.de'), { kind: 'name', name: 'xn--bcher-kva.de' });
    assert.deepEqual(parseHostLiteral('1password.com'), { kind: 'name', name: '1password.com' });
  });
});
