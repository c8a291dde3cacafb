import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../common/logger.ts';
import { waitFor } from '../../../common/time.ts';
import { opsHarness } from '../../../../test/support/ops-harness.ts';
import { parseOpsRequest } from './parse-request.ts';
import { holdsRedactedSecrets, REDACTED_SECRET_VALUE, redactSecretValues } from './secret-redaction.ts';
import { TaskRunner } from './task-runner.ts';

const VALUE = 'aHVudGVyMg==';
const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'default' },
  data: { password: VALUE },
  stringData: { token: 'plain-token' },
};
const deploy = [
  {
    deployManifest: {
      account: 'k8s',
      cloudProvider: 'kubernetes',
      moniker: { app: 'web' },
      manifests: [secret, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }],
    },
  },
];

test('Secret values are taken out of a request: manifests, patches of a Secret, embedded artifacts holding one; nothing else changes', () => {
  const yaml = Buffer.from(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: ${VALUE}\n`).toString('base64');
  const request = [
    ...deploy,
    {
      patchManifest: {
        account: 'k8s',
        manifestName: 'secret db',
        location: 'default',
        options: { mergeStrategy: 'json' },
        patchBody: [
          { op: 'replace', path: '/data/password', value: VALUE },
          { op: 'add', path: '/metadata/labels/a', value: 'b' },
        ],
      },
    },
    { patchManifest: { account: 'k8s', manifestName: 'Secret db', location: 'default', patchBody: { stringData: { token: 'new' } } } },
    { deployManifest: { account: 'k8s', manifestArtifact: { type: 'embedded/base64', reference: yaml } } },
  ];
  const { request: stored, redacted } = redactSecretValues(request);
  assert.equal(redacted, true);
  const text = JSON.stringify(stored);
  for (const value of [VALUE, 'plain-token', '"new"', yaml]) assert.ok(!text.includes(value), value);
  assert.ok(text.includes('"a":"1"') && text.includes('"value":"b"'), 'other values stay');
  assert.ok(holdsRedactedSecrets(stored));
  assert.equal(JSON.stringify(request).includes(VALUE), true, 'the request itself is not changed');
  const plain = redactSecretValues([{ deployManifest: { manifests: [{ kind: 'ConfigMap', data: { a: REDACTED_SECRET_VALUE.slice(1) } }] } }]);
  assert.equal(plain.redacted, false);
});

test('with operations.redactSecretValues a task deploys the real values but stores none, and never fails retryably', async () => {
  const h = await opsHarness();
  try {
    const runner = new TaskRunner({
      store: h.store,
      router: h.cluster,
      hubId: 'hub-test',
      logger: silentLogger(),
      operationTimeoutMs: 5_000,
      redactSecretValues: true,
    });
    const finished = (id: string) =>
      waitFor(
        async () => {
          const t = await h.store.getTask(id);
          return t && t.state !== 'STARTED' ? t : undefined;
        },
        { timeoutMs: 5_000, what: `task ${id}` },
      );
    const done = await finished((await runner.start(await parseOpsRequest(deploy, h.store), deploy, null)).id);
    assert.equal(done.state, 'COMPLETED');
    const sent = h.cluster.calls.map((c) => c.request).find((r) => r.type === 'apply' && r.manifest.kind === 'Secret');
    assert.equal(sent?.type === 'apply' ? (sent.manifest.data as Record<string, string>).password : undefined, VALUE, 'the agent got the real value');
    assert.ok(!JSON.stringify(done.request).includes(VALUE) && !JSON.stringify(done.request).includes('plain-token'));

    // A failure that would be retryable (no agent) is final: the stored request could not be run again.
    h.cluster.connected = false;
    const failed = await finished((await runner.start(await parseOpsRequest(deploy, h.store), deploy, null)).id);
    assert.equal(failed.state, 'FAILED');
  } finally {
    await h.app.close();
    await h.store.close();
  }
});
