// The SSRF rules on addresses alone: what the defaults refuse, how allow and deny combine (deny wins),
// allowPublic: false, and that another spelling of a refused address (IPv4-mapped IPv6, hex groups,
// NAT64) is the same address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy } from './address-policy.ts';

const defaults = new AddressPolicy({ allow: [], deny: [], allowPublic: true });

test('the defaults refuse loopback, private, link-local, unspecified, multicast and ULA addresses, and allow public ones', () => {
  const refused = [
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
  ];
  for (const address of refused) assert.equal(defaults.check(address).allowed, false, address);
  for (const address of ['8.8.8.8', '140.82.112.3', '2606:4700::1111', '172.32.0.1']) assert.equal(defaults.check(address).allowed, true, address);
});

test('another spelling of a refused address is refused too', () => {
  for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:a9fe:a9fe]', '0:0:0:0:0:ffff:a00:1', '64:ff9b::10.0.0.1', '0:0:0:0:0:0:0:1']) {
    const verdict = defaults.check(address);
    assert.equal(verdict.allowed, false, address);
  }
  assert.equal(defaults.check('::ffff:169.254.169.254').address, '169.254.169.254');
  assert.match(defaults.check('::ffff:169.254.169.254').rule, /169\.254\.0\.0\/16 is link-local/);
  assert.equal(defaults.check('not-an-address').allowed, false);
});

test('allow opens a refused range, deny closes any address and wins over allow', () => {
  const policy = new AddressPolicy({ allow: ['127.0.0.1', '10.0.0.0/8'], deny: ['10.9.0.0/16', '8.8.8.8'], allowPublic: true });
  assert.deepEqual(policy.check('127.0.0.1'), { allowed: true, address: '127.0.0.1', rule: 'artifacts.network.allow[0] (127.0.0.1)' });
  assert.equal(policy.check('127.0.0.2').allowed, false);
  assert.equal(policy.check('10.1.2.3').allowed, true);
  assert.deepEqual(policy.check('10.9.1.1'), { allowed: false, address: '10.9.1.1', rule: 'artifacts.network.deny[0] (10.9.0.0/16)' });
  assert.equal(policy.check('8.8.8.8').allowed, false);
  assert.equal(policy.check('::ffff:127.0.0.1').allowed, true, 'an allowed IPv4 address is allowed in its mapped form');
  assert.equal(policy.check('169.254.169.254').allowed, false);
});

test('allowPublic: false allows only what allow lists', () => {
  const policy = new AddressPolicy({ allow: ['140.82.112.0/20'], deny: [], allowPublic: false });
  assert.equal(policy.check('140.82.112.3').allowed, true);
  assert.deepEqual(policy.check('8.8.8.8'), {
    allowed: false,
    address: '8.8.8.8',
    rule: 'not in artifacts.network.allow, and artifacts.network.allowPublic is false',
  });
});

test('metadata and platform addresses outside the private ranges are refused by default; cluster ranges need deny', () => {
  assert.match(defaults.check('168.63.129.16').rule, /168\.63\.129\.16\/32 is Azure's WireServer/);
  assert.equal(defaults.check('168.63.129.17').allowed, true, 'only the one address');
  assert.match(defaults.check('192.0.0.192').rule, /192\.0\.0\.0\/24 is IETF protocol assignments/);
  assert.equal(defaults.check('198.18.0.1').allowed, false);
  assert.equal(defaults.check('100.100.100.200').allowed, false, "Alibaba Cloud's metadata service (shared address space)");
  assert.equal(defaults.check('fd00:ec2::254').allowed, false, "AWS's IPv6 metadata service (unique local)");
  // A cluster's Service range on public-looking addresses (GKE's 34.118.224.0/20) is public to any rule
  // that does not know the cluster: the operator lists it.
  assert.equal(defaults.check('34.118.224.10').allowed, true);
  const cluster = new AddressPolicy({ allow: [], deny: ['34.118.224.0/20'], allowPublic: true });
  assert.deepEqual(cluster.check('34.118.224.10'), { allowed: false, address: '34.118.224.10', rule: 'artifacts.network.deny[0] (34.118.224.0/20)' });
});

test('IPv6 forms that carry an IPv4 address: judged as it (mapped, translated, NAT64) or refused (compatible, local NAT64, 6to4, Teredo)', () => {
  assert.deepEqual(defaults.check('::ffff:0:7f00:1'), {
    allowed: false,
    address: '127.0.0.1',
    rule: '127.0.0.0/8 is loopback, refused unless artifacts.network.allow lists it',
  });
  assert.equal(defaults.check('::ffff:0:808:808').allowed, true, 'a translated public address is public');
  for (const [address, range] of [
    ['::7f00:1', '::/96'],
    ['::a9fe:a9fe', '::/96'],
    ['64:ff9b:1::a9fe:a9fe', '64:ff9b:1::/48'],
    ['2002:a9fe:a9fe::1', '2002::/16'],
    ['2002:808:808::1', '2002::/16'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::/32'],
  ] as const) {
    const verdict = defaults.check(address);
    assert.equal(verdict.allowed, false, address);
    assert.ok(verdict.rule.startsWith(`${range} is `), `${address}: ${verdict.rule}`);
  }
  assert.match(defaults.check('::1').rule, /^::1\/128 is loopback/, 'IPv6 loopback keeps its own name');
  assert.equal(defaults.check('2606:4700::1111').allowed, true);
});

test('allow and deny entries written in a form that carries IPv4 addresses apply to the IPv4 addresses', () => {
  const policy = new AddressPolicy({ allow: ['::ffff:10.0.0.0/104', '64:ff9b::172.16.0.1'], deny: ['::ffff:8.8.8.0/120'], allowPublic: true });
  assert.deepEqual(policy.check('8.8.8.8'), { allowed: false, address: '8.8.8.8', rule: 'artifacts.network.deny[0] (::ffff:8.8.8.0/120 (= 8.8.8.0/24))' });
  assert.equal(policy.check('::ffff:8.8.8.8').allowed, false);
  assert.equal(policy.check('8.8.4.4').allowed, true);
  assert.equal(policy.check('10.1.2.3').allowed, true);
  assert.equal(policy.check('172.16.0.1').allowed, true);
  assert.equal(policy.check('172.16.0.2').allowed, false);
});
