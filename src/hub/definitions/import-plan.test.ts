import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { AccountDefinitionRecord, AccountRecord } from '../store/types.ts';
import { accountFromManagementBody, importCandidates, MAX_IMPORTED_ACCOUNTS } from './clouddriver-accounts.ts';
import { canonicalJson } from './definition-input.ts';
import { planImport } from './import-plan.ts';

const T = 1_700_000_000_000;

const CLOUDDRIVER_YAML = `
kubernetes:
  enabled: true
  accounts:
    - name: prod-eu
      kubeconfigFile: encryptedFile:k8s!n:kubeconfigs!k:prod-eu
      namespaces: [web, api]
      cacheThreads: 4
      requiredGroupMembership: [ops]
    - name: inline
      kubeconfigContents: |
        apiVersion: v1
        kind: Config
    - name: staging
      serviceAccount: true
      omitNamespaces: [kube-system]
    - kubeconfigFile: /nameless
`;

function definition(name: string, account: Record<string, unknown>, extra: Partial<AccountDefinitionRecord> = {}): AccountDefinitionRecord {
  return {
    name,
    definition: canonicalJson({ name, ...account }),
    zoneId: null,
    desiredState: 'active',
    revision: 4,
    createdAt: T,
    createdBy: 'anonymous',
    updatedAt: T,
    updatedBy: 'anonymous',
    ...extra,
  };
}

function registered(name: string, status: AccountRecord['status']): AccountRecord {
  return {
    name,
    cluster: { apiServerHost: 'https://c', caFingerprint: '', kubeSystemUid: 'u' },
    kubernetesVersion: 'v1.31.0',
    namespaces: [],
    kinds: [],
    permissions: {},
    properties: {},
    agentId: 'static-agent',
    hubId: 'hub-1',
    status,
    registeredAt: T,
    lastSeenAt: T,
  };
}

test("Clouddriver's kubernetes.accounts: each account planned, Clouddriver-only keys reported, credentials in the clear refused", () => {
  const plan = planImport(importCandidates([parseYaml(CLOUDDRIVER_YAML)]), { definitions: new Map(), accounts: new Map() });
  assert.deepEqual(
    plan.map((e) => [e.source, e.name, e.action, e.code]),
    [
      ['kubernetes.accounts[0]', 'prod-eu', 'create', undefined],
      ['kubernetes.accounts[1]', 'inline', 'refused', Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code],
      ['kubernetes.accounts[2]', 'staging', 'create', undefined],
      ['kubernetes.accounts[3]', null, 'refused', Errors.ACCOUNT_DEFINITION_INVALID.code],
    ],
  );
  assert.deepEqual(Object.keys(plan[0]!.ignored ?? {}), ['cacheThreads']);
  assert.deepEqual(plan[0]!.write, {
    name: 'prod-eu',
    definition: canonicalJson({
      kubeconfigFile: 'encryptedFile:k8s!n:kubeconfigs!k:prod-eu',
      name: 'prod-eu',
      namespaces: ['web', 'api'],
      requiredGroupMembership: ['ops'],
    }),
    zoneId: null,
    desiredState: 'active',
  });
  assert.match(plan[1]!.reason!, /kubeconfigContents holds a kubeconfig in the clear/);
});

test('against what exists: unchanged, update (with what changes), a static account and a deletion in progress refused, a repeat refused', () => {
  const documents = [
    [
      { '@type': 'kubernetes', name: 'same', serviceAccount: true },
      { '@type': 'kubernetes', name: 'moved', serviceAccount: true, namespaces: ['web'] },
      { '@type': 'kubernetes', name: 'static', serviceAccount: true },
      { '@type': 'kubernetes', name: 'gone', serviceAccount: true },
      { '@type': 'kubernetes', name: 'was-static', serviceAccount: true },
      { '@type': 'kubernetes', name: 'same', serviceAccount: true },
      { '@type': 'aws', name: 'ec2', accountId: '1234' },
    ],
  ];
  const definitions = new Map([
    ['same', definition('same', { serviceAccount: true })],
    ['moved', definition('moved', { serviceAccount: true }, { zoneId: 'eu', desiredState: 'inactive' })],
    ['gone', definition('gone', { serviceAccount: true }, { desiredState: 'deleting' })],
  ]);
  const accounts = new Map([
    ['static', registered('static', 'connected')],
    ['was-static', registered('was-static', 'disconnected')],
  ]);
  const plan = planImport(importCandidates(documents), { definitions, accounts }, { zoneId: 'us' });
  assert.deepEqual(
    plan.map((e) => [e.name, e.action, e.code ?? null]),
    [
      ['same', 'update', null],
      ['moved', 'update', null],
      ['static', 'refused', Errors.ACCOUNT_NOT_DYNAMIC.code],
      ['gone', 'refused', Errors.ACCOUNT_DEFINITION_CONFLICT.code],
      ['was-static', 'create', null],
      ['same', 'refused', Errors.ACCOUNT_DEFINITION_INVALID.code],
      ['ec2', 'refused', Errors.ACCOUNT_TYPE_UNSUPPORTED.code],
    ],
  );
  assert.deepEqual(plan[0]!.changes, ['zoneId'], 'the zone asked for every account');
  assert.deepEqual(plan[1]!.changes, ['namespaces', 'zoneId'], 'an inactive definition stays inactive');
  assert.equal(plan[1]!.write?.desiredState, 'inactive');
  assert.equal(plan[1]!.expectRevision, 4);
  assert.match(plan[2]!.reason!, /served by agent static-agent from its own configuration/);
  assert.match(plan[5]!.reason!, /appears twice in the import \(first at \[0\]\)/);

  const unchanged = planImport(importCandidates([[{ '@type': 'kubernetes', name: 'same', serviceAccount: true }]]), { definitions, accounts });
  assert.equal(unchanged[0]!.action, 'unchanged');
  const activated = planImport(importCandidates([[{ name: 'moved', serviceAccount: true }]]), { definitions, accounts }, { desiredState: 'active' });
  assert.deepEqual(activated[0]!.changes, ['state']);
});

test("rows of Clouddriver's accounts table: body as JSON text or object, name from the id, other providers refused", () => {
  const rows = [
    { id: 'k1', type: 'kubernetes', body: JSON.stringify({ '@type': 'kubernetes', name: 'k1', serviceAccount: true }), created_at: T },
    { id: 'k2', type: 'kubernetes', body: { '@type': 'kubernetes', serviceAccount: true } },
    { id: 'g1', type: 'google', body: '{"@type":"google","name":"g1"}' },
    { id: 'bad', type: 'kubernetes', body: '{not json' },
  ];
  const candidates = importCandidates([rows]);
  assert.deepEqual(
    candidates.map((c) => [c.name ?? null, c.refused?.code ?? null]),
    [
      ['k1', null],
      ['k2', null],
      ['g1', Errors.ACCOUNT_TYPE_UNSUPPORTED.code],
      ['bad', Errors.ACCOUNT_DEFINITION_INVALID.code],
    ],
  );
  assert.deepEqual(candidates[1]!.account, { serviceAccount: true, name: 'k2' });
});

test("Halyard's providers.kubernetes.accounts, and a document without accounts", () => {
  const halyard = {
    deploymentConfigurations: [{ name: 'default', providers: { kubernetes: { enabled: true, accounts: [{ name: 'h1', serviceAccount: true }] } } }],
  };
  assert.deepEqual(
    importCandidates([halyard]).map((c) => [c.source, c.name]),
    [['deploymentConfigurations[0].providers.kubernetes.accounts[0]', 'h1']],
  );
  assert.throws(
    () => importCandidates([{ spinnaker: {} }]),
    (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCOUNT_DEFINITION_INVALID.code && /no Kubernetes accounts found/.test(err.message),
  );
});

test('an import of more accounts than the bound is refused whole', () => {
  const many = Array.from({ length: MAX_IMPORTED_ACCOUNTS + 1 }, (_, i) => ({ name: `a${i}`, serviceAccount: true }));
  assert.throws(
    () => importCandidates([many]),
    (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.REQUEST_TOO_COMPLEX.code,
  );
});

test('an Account Management body needs @type kubernetes', () => {
  assert.deepEqual(accountFromManagementBody({ '@type': 'kubernetes', name: 'k', serviceAccount: true }), { name: 'k', serviceAccount: true });
  assert.throws(
    () => accountFromManagementBody({ '@type': 'aws', name: 'a' }),
    (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCOUNT_TYPE_UNSUPPORTED.code,
  );
  assert.throws(
    () => accountFromManagementBody({ name: 'k' }),
    (err: unknown) => err instanceof ScaleAgentError && err.code === Errors.ACCOUNT_DEFINITION_INVALID.code && /@type is missing/.test(err.message),
  );
});
