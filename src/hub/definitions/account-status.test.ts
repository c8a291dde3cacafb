import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountDefinitionRecord, AccountRecord } from '../store/types.ts';
import { accountStatus } from './account-status.ts';
import { assignable, contentRevision, definitionsFor, setFingerprint } from './definition-assignment.ts';

const T = 1_700_000_000_000;

function definition(name: string, extra: Partial<AccountDefinitionRecord> = {}): AccountDefinitionRecord {
  return {
    name,
    definition: JSON.stringify({ name, serviceAccount: true }),
    zoneId: null,
    desiredState: 'active',
    revision: 1,
    createdAt: T,
    createdBy: 'anonymous',
    updatedAt: T,
    updatedBy: 'anonymous',
    ...extra,
  };
}

function account(name: string, extra: Partial<AccountRecord> = {}): AccountRecord {
  return {
    name,
    cluster: { apiServerHost: 'https://c', caFingerprint: 'ab', kubeSystemUid: 'u' },
    kubernetesVersion: 'v1.31.0',
    namespaces: [],
    kinds: [],
    permissions: {},
    properties: {},
    agentId: 'agent-1',
    hubId: 'hub-1',
    status: 'connected',
    registeredAt: T + 10,
    lastSeenAt: T + 10,
    ...extra,
  };
}

test('status of a dynamic account: from what the operator asked and what the agents report', () => {
  assert.deepEqual(accountStatus(definition('a', { desiredState: 'inactive' }), account('a')), { status: 'INACTIVE' });
  assert.deepEqual(accountStatus(definition('a'), undefined), { status: 'ACTIVATING' });
  assert.deepEqual(accountStatus(definition('a'), account('a')), { status: 'ACTIVE' });
  assert.deepEqual(accountStatus(definition('a'), account('a', { unreachableReason: 'dial tcp 10.0.0.1:443: i/o timeout' })), {
    status: 'FAILED',
    reason: 'dial tcp 10.0.0.1:443: i/o timeout',
  });
  const orphaned = accountStatus(definition('a'), account('a', { status: 'disconnected', agentId: 'agent-1' }));
  assert.equal(orphaned.status, 'ORPHANED');
  assert.match(orphaned.reason!, /no agent serves it since .* \(last: agent agent-1\)/);
  assert.deepEqual(
    accountStatus(definition('a', { updatedAt: T + 20 }), account('a', { status: 'disconnected' })),
    { status: 'ACTIVATING' },
    'a row from before the definition changed says nothing about it',
  );
  const deleting = accountStatus(definition('a', { desiredState: 'deleting' }), account('a'));
  assert.equal(deleting.status, 'DELETING');
  assert.match(deleting.reason!, /waiting for agent agent-1 to stop serving it/);
  assert.equal(accountStatus(definition('a', { desiredState: 'deleting' }), undefined).status, 'DELETING');
});

test('status of a static account (an agent configuration, no definition)', () => {
  assert.equal(accountStatus(undefined, account('s')).status, 'ACTIVE');
  assert.equal(accountStatus(undefined, account('s', { unreachableReason: 'no such file' })).status, 'FAILED');
  assert.equal(accountStatus(undefined, account('s', { status: 'disconnected' })).status, 'ORPHANED');
});

test('an agent serves the active definitions of its zone, those of no zone, and only names its identity allows', () => {
  const all = [
    definition('c-none'),
    definition('a-eu', { zoneId: 'eu' }),
    definition('b-us', { zoneId: 'us' }),
    definition('d-off', { desiredState: 'inactive' }),
    definition('e-gone', { desiredState: 'deleting' }),
    definition('f-secret'),
  ];
  const eu = definitionsFor({ zoneId: 'eu', allows: (name) => name !== 'f-secret' }, assignable(all));
  assert.deepEqual(
    eu.map((d) => d.name),
    ['a-eu', 'c-none'],
  );
  assert.deepEqual(
    definitionsFor({ zoneId: '', allows: () => true }, assignable(all)).map((d) => d.name),
    ['c-none', 'f-secret'],
    'an agent without a zone gets the definitions of no zone',
  );
  assert.equal(eu[0]!.definitionJson, all[1]!.definition);
  assert.equal(eu[0]!.revision, contentRevision(all[1]!.definition));
});

test('the revision an agent sees follows the content only; the fingerprint tells sets apart', () => {
  const a = definition('a');
  const changed = definition('a', { definition: JSON.stringify({ name: 'a', kubeconfigFile: '/k' }), revision: 2 });
  assert.notEqual(contentRevision(a.definition), contentRevision(changed.definition));
  assert.equal(contentRevision(a.definition), contentRevision(definition('a', { revision: 9, zoneId: 'eu' }).definition));
  const agent = { zoneId: '', allows: () => true };
  assert.equal(setFingerprint(definitionsFor(agent, assignable([a]))), setFingerprint(definitionsFor(agent, assignable([{ ...a, revision: 5 }]))));
  assert.notEqual(setFingerprint(definitionsFor(agent, assignable([a]))), setFingerprint(definitionsFor(agent, assignable([changed]))));
  assert.notEqual(setFingerprint(definitionsFor(agent, assignable([a]))), setFingerprint([]));
});
