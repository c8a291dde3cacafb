import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { openStore } from '../store/open-store.ts';
import { accountRecord } from '../store/testing/fixtures.ts';
import { AccountPolicy, CLOSED_ROLE, allows } from './account-policy.ts';
import { authConfigSchema } from './auth-config.ts';
import { Authenticator } from './authenticator.ts';
import { normalizePermissions, normalizeRoleList } from './roles.ts';
import { SourceMatcher, parseCidr } from './sources.ts';

test('role lists: trimmed and lower-cased; malformed entries are problems, never dropped silently', () => {
  assert.deepEqual(normalizeRoleList([' Dev ', 'OPS', 'release-managers']), { roles: ['dev', 'ops', 'release-managers'], problems: [] });
  const bad = normalizeRoleList(['ok', 'two words', '', 7, null, 'a,b', 'OK']);
  assert.deepEqual(bad.roles, ['ok']);
  assert.deepEqual(
    bad.problems.map((p) => p.path[0]),
    [1, 2, 3, 4, 5, 6],
  );
  assert.match(normalizeRoleList('dev').problems[0]!.message, /expected a list of roles/);
});

test('permissions: map and list forms, case-insensitive authorizations, problems with their path', () => {
  assert.deepEqual(normalizePermissions({ read: ['Dev'], WRITE: ['ops'] }).permissions, { READ: ['dev'], WRITE: ['ops'] });
  assert.deepEqual(normalizePermissions([{ READ: ['dev'] }, { WRITE: ['ops'] }]).permissions, { READ: ['dev'], WRITE: ['ops'] });
  const bad = normalizePermissions({ READ: ['dev ops'], DELETE: ['x'] });
  assert.deepEqual(
    bad.problems.map((p) => p.path.join('.')),
    ['READ.0', 'DELETE'],
  );
  assert.deepEqual(
    normalizePermissions([{ READ: ['a'] }, { read: ['b'] }]).problems.map((p) => p.message),
    ['authorization READ is given twice'],
  );
});

test('CIDR blocks and addresses, IPv4-mapped IPv6 peers', () => {
  assert.equal(parseCidr('10.0.0.0/8').problem, undefined);
  assert.equal(parseCidr('::1').problem, undefined);
  assert.match(parseCidr('10.0.0.0/33').problem!, /prefix length/);
  assert.match(parseCidr('gate').problem!, /not a CIDR/);
  const m = new SourceMatcher(['10.42.0.0/16', 'fd00::/8', '127.0.0.1']);
  assert.equal(m.matches('10.42.7.15'), true);
  assert.equal(m.matches('::ffff:10.42.7.15'), true);
  assert.equal(m.matches('10.43.0.1'), false);
  assert.equal(m.matches('fd12::1'), true);
  assert.equal(m.matches('127.0.0.2'), false);
  assert.equal(m.matches(undefined), false);
});

test('the authenticator never mixes a token with the user header, and compares whole tokens', () => {
  const auth = new Authenticator(
    authConfigSchema.parse({
      enabled: true,
      tokens: [{ token: 'token-0123456789abcdef', user: 'ci', roles: ['deployers'] }],
      users: [{ name: 'CI', roles: ['extra'] }],
      trustedGate: { sources: ['10.0.0.0/8'] },
    }),
  );
  const byToken = auth.authenticate({ authorization: 'Bearer token-0123456789abcdef', 'x-spinnaker-user': 'root' }, '10.1.1.1');
  assert.ok(byToken.ok);
  assert.equal(byToken.ok && byToken.principal.user, 'ci');
  assert.deepEqual(byToken.ok && [...byToken.principal.roles].sort(), ['deployers', 'extra']);
  assert.equal(auth.authenticate({ authorization: 'Bearer token-0123456789abcde' }, '10.1.1.1').ok, false);
  assert.equal(auth.authenticate({ authorization: 'Bearer token-0123456789abcdef extra' }, '10.1.1.1').ok, false);
  const gate = auth.authenticate({ 'x-spinnaker-user': 'alice' }, '10.1.1.1');
  assert.ok(gate.ok && gate.principal.via === 'gate' && gate.principal.roles.size === 0);
  assert.equal(auth.authenticate({}, '10.1.1.1').ok, false);
});

test('account policy: overrides first, malformed closes, unrestricted follows the setting, changes seen after the TTL', async () => {
  const store = await openStore('sqlite::memory:', silentLogger());
  try {
    let now = 0;
    const config = authConfigSchema.parse({
      enabled: true,
      tokens: [{ token: 'token-0123456789abcdef', user: 'u' }],
      accounts: [{ name: 'sand?ox-*', permissions: { READ: ['dev'] } }],
    });
    const policy = new AccountPolicy({ config, store, logger: silentLogger(), now: () => now });
    const dev = new Set(['dev']);
    await store.upsertAccount(accountRecord('prod', { permissions: { READ: ['dev'], WRITE: ['ops'] } }), 1);
    await store.upsertAccount(accountRecord('broken', { permissions: { READ: ['dev ops'] } }), 1);
    await store.upsertAccount(accountRecord('plain'), 1);
    await store.upsertAccount(accountRecord('sandbox-1', { permissions: { WRITE: ['dev'] } }), 1);
    assert.equal(allows(await policy.lookup('prod'), dev, 'READ'), true);
    assert.equal(allows(await policy.lookup('prod'), dev, 'WRITE'), false);
    assert.equal(allows(await policy.lookup('broken'), new Set(['dev', 'ops', 'dev ops']), 'READ'), false);
    assert.equal(allows(await policy.lookup('plain'), dev, 'READ'), false);
    assert.equal(allows(await policy.lookup('unknown'), dev, 'READ'), false);
    assert.equal(allows(await policy.lookup('sandbox-1'), dev, 'READ'), true);
    assert.equal(allows(await policy.lookup('sandbox-1'), dev, 'WRITE'), false, 'the override replaces the agent list');
    assert.deepEqual(policy.present((await store.getAccount('broken'))!), { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] });

    await store.upsertAccount(accountRecord('prod', { permissions: { READ: ['ops'] } }), 2);
    assert.equal(allows(await policy.lookup('prod'), dev, 'READ'), true, 'cached for the TTL');
    now += 1001;
    assert.equal(allows(await policy.lookup('prod'), dev, 'READ'), false, 'then read again');

    const open = new AccountPolicy({
      config: authConfigSchema.parse({ enabled: true, unrestrictedAccounts: 'open', tokens: [{ token: 'token-0123456789abcdef', user: 'u' }] }),
      store,
      logger: silentLogger(),
    });
    assert.equal(allows(await open.lookup('plain'), new Set(), 'WRITE'), true);
    const off = new AccountPolicy({ config: authConfigSchema.parse({}), store, logger: silentLogger() });
    assert.equal(off.present((await store.getAccount('plain'))!), undefined, 'auth off: an account without roles is shown without permissions');
  } finally {
    await store.close();
  }
});
