import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountSchema } from '../../common/account-config.ts';
import { DEFAULT_IN_CLUSTER_ACCOUNT_NAME, inClusterAccount } from './in-cluster-account.ts';

const POD_ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

function serviceAccountDir(withToken: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-sa-'));
  if (withToken) writeFileSync(join(dir, 'token'), 'token');
  return dir;
}

test('in a pod with no accounts configured, the agent registers its own cluster under the default name', () => {
  const account = inClusterAccount({
    configured: [],
    mode: 'auto',
    name: DEFAULT_IN_CLUSTER_ACCOUNT_NAME,
    serviceAccountDir: serviceAccountDir(true),
    env: POD_ENV,
  });
  assert.equal(account?.name, 'in-cluster');
  assert.equal(account?.serviceAccount, true);
});

test('auto registers nothing outside a pod, nor when accounts are configured; always and never do as they say', () => {
  const dir = serviceAccountDir(true);
  const configured = [accountSchema.parse({ name: 'prod', kubeconfigFile: '/k/prod.yaml' })];
  assert.equal(inClusterAccount({ configured: [], mode: 'auto', name: 'x', serviceAccountDir: dir, env: {} }), undefined, 'no service variables');
  assert.equal(inClusterAccount({ configured: [], mode: 'auto', name: 'x', serviceAccountDir: serviceAccountDir(false), env: POD_ENV }), undefined, 'no token');
  assert.equal(inClusterAccount({ configured, mode: 'auto', name: 'x', serviceAccountDir: dir, env: POD_ENV }), undefined, 'accounts configured');
  assert.equal(inClusterAccount({ configured, mode: 'always', name: 'here', serviceAccountDir: dir, env: {} })?.name, 'here');
  assert.equal(
    inClusterAccount({ configured, mode: 'always', name: 'prod', serviceAccountDir: dir, env: {} }),
    undefined,
    'the name is taken by a configured account',
  );
  assert.equal(inClusterAccount({ configured: [], mode: 'never', name: 'x', serviceAccountDir: dir, env: POD_ENV }), undefined);
});
