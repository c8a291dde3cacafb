import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { canonicalJson, MAX_DEFINITION_BYTES, parseDefinition } from './definition-input.ts';

const NEW = { fallback: { zoneId: null, desiredState: 'active' as const } };

function refusal(code: string, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ScaleAgentError, String(err));
    assert.equal(err.code, code, err.message);
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  };
}

test('a definition is stored with its keys sorted, without the hub keys zoneId and state', () => {
  const parsed = parseDefinition(
    { state: 'inactive', namespaces: ['web'], zoneId: 'eu-1', name: 'prod', kubeconfigFile: 'encryptedFile:k8s!n:kc!k:prod' },
    NEW,
  );
  assert.deepEqual(parsed.write, {
    name: 'prod',
    definition: '{"kubeconfigFile":"encryptedFile:k8s!n:kc!k:prod","name":"prod","namespaces":["web"]}',
    zoneId: 'eu-1',
    desiredState: 'inactive',
  });
  assert.deepEqual(parsed.ignored, {});
  assert.equal(canonicalJson({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 0 }), '{"a":0,"b":{"c":[{"e":2,"f":1}],"d":1}}');
});

test('the name comes from the path when the body has none, and must agree with it when it has one', () => {
  assert.equal(parseDefinition({ serviceAccount: true }, { ...NEW, name: 'in-path' }).write.name, 'in-path');
  assert.throws(
    () => parseDefinition({ name: 'other', serviceAccount: true }, { ...NEW, name: 'in-path' }),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /names account other, the path in-path/),
  );
  assert.throws(() => parseDefinition({ serviceAccount: true }, NEW), refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /needs a name/));
  for (const name of ['a b', 'a/b', 'tab\there', 'x'.repeat(254), '.', '..', 'nul\u0000']) {
    assert.throws(() => parseDefinition({ name, serviceAccount: true }, NEW), refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /^name: /), name);
  }
});

test("what the agent's account schema refuses is refused, each problem named by its key", () => {
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigFile: '/k', serviceAccount: true, kinds: ['Pod'], omitKinds: ['Secret'] }, NEW),
    refusal(
      Errors.ACCOUNT_DEFINITION_INVALID.code,
      /account prod is not a valid account definition/,
      /kubeconfigFile: set exactly one/,
      /omitKinds: kinds and omitKinds/,
    ),
  );
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigFile: '/k', namespace: ['web'] }, NEW),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /namespace: unknown key; did you mean "namespaces"\?/),
  );
  assert.throws(() => parseDefinition(['not', 'an', 'object'], NEW), refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /is a JSON \(or YAML\) object/));
});

test('a kubeconfig in the clear is refused with its key named; an encrypted: reference is taken', () => {
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigContents: 'apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cr3t}}]' }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code, /kubeconfigContents holds a kubeconfig in the clear/, /encrypted:/),
  );
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigContents: 'encryptedFile:k8s!n:kc!k:config' }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code),
    'a file reference is a path, not the contents',
  );
  const taken = parseDefinition({ name: 'prod', kubeconfigContents: 'encrypted:k8s!n:kubeconfigs!k:prod' }, NEW);
  assert.match(taken.write.definition, /"kubeconfigContents":"encrypted:k8s!n:kubeconfigs!k:prod"/);
});

test('a kubeconfig behind an encrypted: prefix, or pasted as a kubeconfigFile, is still in the clear: refused, not stored', () => {
  const kubeconfig = 'apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cr3t}}]';
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigContents: `encrypted:${kubeconfig}` }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code, /kubeconfigContents is not a valid secret reference \(kubeconfigContents: unknown secret engine/),
  );
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigContents: 'encrypted:vault!token:s3cr3t' }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code, /unknown parameter "token"/),
  );
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigFile: `encryptedFile:${kubeconfig}` }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code, /kubeconfigFile is not a valid secret reference/),
  );
  assert.throws(
    () => parseDefinition({ name: 'prod', kubeconfigFile: kubeconfig }, NEW),
    refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code, /kubeconfigFile holds line breaks/),
  );
  assert.throws(() => parseDefinition({ name: 'prod', kubeconfigFile: '/k\u0000' }, NEW), refusal(Errors.ACCOUNT_CREDENTIALS_IN_CLEAR.code));
  assert.equal(parseDefinition({ name: 'prod', kubeconfigFile: 'encryptedFile:vault!e:secret!p:kube!k:prod' }, NEW).write.name, 'prod');
});

test('Clouddriver-only keys are left out and reported with why; requiredGroupMembership stays (the agent makes it the permissions)', () => {
  const parsed = parseDefinition(
    { name: 'prod', kubeconfigFile: '/k', cacheThreads: 4, namingStrategy: 'kubernetesAnnotations', requiredGroupMembership: ['ops'] },
    NEW,
  );
  assert.deepEqual(Object.keys(parsed.ignored).sort(), ['cacheThreads', 'namingStrategy']);
  assert.match(parsed.ignored.cacheThreads!, /watches/);
  assert.deepEqual(parsed.account, { kubeconfigFile: '/k', name: 'prod', requiredGroupMembership: ['ops'] });
});

test('zoneId and state: validated; left out, they take the fallback (an update keeps the definition’s); zoneId null or "" removes the zone', () => {
  const keep = { fallback: { zoneId: 'eu-1', desiredState: 'inactive' as const } };
  assert.deepEqual((({ zoneId, desiredState }) => ({ zoneId, desiredState }))(parseDefinition({ name: 'p', serviceAccount: true }, keep).write), {
    zoneId: 'eu-1',
    desiredState: 'inactive',
  });
  assert.equal(parseDefinition({ name: 'p', serviceAccount: true, zoneId: null }, keep).write.zoneId, null);
  assert.equal(parseDefinition({ name: 'p', serviceAccount: true, zoneId: '' }, keep).write.zoneId, null);
  assert.equal(parseDefinition({ name: 'p', serviceAccount: true, state: 'Active' }, keep).write.desiredState, 'active');
  assert.throws(
    () => parseDefinition({ name: 'p', serviceAccount: true, state: 'DELETING' }, keep),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /^state: /),
  );
  assert.throws(() => parseDefinition({ name: 'p', serviceAccount: true, zoneId: 7 }, keep), refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /^zoneId: /));
});

test('the body GET /admin/accounts/{name} answers can be sent back: the account under definition, read-only keys ignored', () => {
  const view = {
    name: 'prod',
    dynamic: true,
    status: 'ACTIVE',
    state: 'INACTIVE',
    zoneId: 'eu-1',
    revision: 3,
    definition: { name: 'prod', kubeconfigFile: '/k', namespaces: ['web'] },
    createdAt: '2024-01-01T00:00:00.000Z',
    agent: { id: 'a1' },
  };
  assert.deepEqual(parseDefinition(view, { ...NEW, name: 'prod' }).write, {
    name: 'prod',
    definition: '{"kubeconfigFile":"/k","name":"prod","namespaces":["web"]}',
    zoneId: 'eu-1',
    desiredState: 'inactive',
  });
});

test('a definition larger than the bound is refused', () => {
  const namespaces = Array.from({ length: MAX_DEFINITION_BYTES / 8 }, (_, i) => `ns-${i}`);
  assert.throws(
    () => parseDefinition({ name: 'big', serviceAccount: true, namespaces }, NEW),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /at most 65536/),
  );
});

test("a GET's body sent back: its read-only keys are ignored, but an account key beside definition or a second name is refused", () => {
  const fromGet = { name: 'a', dynamic: true, status: 'ACTIVE', revision: 3, zoneId: 'eu', definition: { name: 'a', kubeconfigFile: '/k/a.yaml' } };
  assert.equal(parseDefinition(fromGet, { ...NEW, name: 'a' }).write.zoneId, 'eu');
  assert.throws(
    () => parseDefinition({ name: 'a', definition: { name: 'b', kubeconfigFile: '/k' } }, { ...NEW, name: 'a' }),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /^name: the body names account a, its definition b$/),
  );
  assert.throws(
    () => parseDefinition({ name: 'a', namespaces: ['web'], definition: { kubeconfigFile: '/k' } }, { ...NEW, name: 'a' }),
    refusal(Errors.ACCOUNT_DEFINITION_INVALID.code, /^namespaces: an account key beside "definition"/),
  );
});
