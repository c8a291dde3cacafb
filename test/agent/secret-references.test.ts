import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { AccountRuntime } from '../../src/agent/account/account-runtime.ts';
import { ListBudget } from '../../src/agent/account/list-budget.ts';
import { accountSchema } from '../../src/agent/config.ts';
import { KubernetesSecrets } from '../../src/agent/secrets/kubernetes-secrets.ts';
import { DefaultSecretResolver } from '../../src/agent/secrets/secret-resolver.ts';
import { parseSecretReference } from '../../src/agent/secrets/secret-reference.ts';
import { VaultTestServer } from '../../src/agent/secrets/testing/vault-server.ts';
import { vaultSchema } from '../../src/agent/secrets-config.ts';
import { isScaleAgentError } from '../../src/common/errors.ts';
import { silentLogger } from '../../src/common/logger.ts';
import type { ClusterCredentials } from '../../src/kube/credentials.ts';
import { loadKubeconfig } from '../../src/kube/kubeconfig.ts';
import { startSim, type SimServer } from '../../src/sim/index.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/*
 * Secret references against real parts: Kubernetes Secrets read from a sim cluster standing in for the
 * cluster the agent runs in ("home"), and accounts whose kubeconfig comes from a Secret or from Vault
 * (the Vault test server: no Vault can be installed here) reaching another sim cluster ("target").
 */

const AGENT_NAMESPACE = 'spinnaker';
const ROLE = 'spinnaker-agent';
const JWT = 'service-account-jwt';

let sim: SimServer;
let home: ClusterCredentials;
let dir: string;
let jwtPath: string;
const closing: Array<{ close(): Promise<void> | void }> = [];

function putSecret(namespace: string, name: string, values: Record<string, string>): void {
  const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  sim.cluster('home').upsert({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data } as never);
}

/** The agent's own cluster as in-cluster credentials would give it: its namespace is the pod's. */
const inHome = () => ({ ...home, namespace: AGENT_NAMESPACE });

before(async () => {
  sim = await startSim({ clusters: ['home', 'target'] });
  home = await loadKubeconfig({ contents: sim.kubeconfig('home') });
  dir = await mkdtemp(join(tmpdir(), 'secret-references-'));
  jwtPath = join(dir, 'token');
  await writeFile(jwtPath, JWT);
  for (const name of [AGENT_NAMESPACE, 'elsewhere']) sim.cluster('home').upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as never);
  putSecret(AGENT_NAMESPACE, 'kubeconfigs', { target: sim.kubeconfig('target'), other: 'x' });
  putSecret('elsewhere', 'kubeconfigs', { target: 'from elsewhere' });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c.close();
});

describe('Kubernetes Secrets of the agent’s own cluster', () => {
  test('found (the namespace defaults to the agent’s), in a named namespace, a missing Secret (404), a missing key', async () => {
    const secrets = new KubernetesSecrets({ credentials: inHome });
    closing.push(secrets);
    assert.equal((await secrets.read({ name: 'kubeconfigs' })).values.get('target'), sim.kubeconfig('target'));
    assert.equal((await secrets.read({ name: 'kubeconfigs', namespace: 'elsewhere' })).values.get('target'), 'from elsewhere');
    await assert.rejects(
      secrets.read({ name: 'nope' }),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && err.message === 'k8s secret spinnaker/nope: not found' && err.details.status === 404,
    );
    const resolver = new DefaultSecretResolver({ kubernetes: { credentials: inHome }, logger: silentLogger() });
    closing.push(resolver);
    await assert.rejects(
      resolver.resolve(parseSecretReference('encryptedFile:k8s!n:kubeconfigs!k:absent')),
      (err) =>
        isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /k8s secret spinnaker\/kubeconfigs has no key "absent" \(its keys: other, target\)/.test(err.message),
    );
  });

  test('without a namespace of its own and none given, a reference is refused', async () => {
    const secrets = new KubernetesSecrets({ credentials: () => ({ ...home, namespace: undefined }) });
    closing.push(secrets);
    await assert.rejects(
      secrets.read({ name: 'kubeconfigs' }),
      (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID') && /no namespace given/.test(err.message),
    );
  });

  test('outside a cluster (no in-cluster credentials), a read fails with SECRET_UNAVAILABLE', async () => {
    const secrets = new KubernetesSecrets({
      credentials: () => {
        throw new Error('not running in a cluster');
      },
    });
    await assert.rejects(
      secrets.read({ name: 'kubeconfigs' }),
      (err) => isScaleAgentError(err, 'SECRET_UNAVAILABLE') && /not running in a cluster/.test(err.message),
    );
  });
});

describe('accounts whose kubeconfig is a secret reference', () => {
  function runtime(kubeconfig: string | Record<string, unknown>, secrets: DefaultSecretResolver): AccountRuntime {
    return new AccountRuntime({
      config: accountSchema.parse({ name: 'target', ...(typeof kubeconfig === 'string' ? { kubeconfigFile: kubeconfig } : kubeconfig) }),
      logger: silentLogger(),
      listBudget: new ListBudget(10, 10),
      requestTimeoutMs: 5000,
      maxObjectBytes: () => 1_000_000,
      onPending: () => undefined,
      secrets,
    });
  }

  async function vault(): Promise<{ server: VaultTestServer; secrets: DefaultSecretResolver }> {
    const server = await VaultTestServer.start({ mounts: { secret: 2 }, kubernetesAuth: { role: ROLE, jwt: JWT } });
    closing.push(server);
    const secrets = new DefaultSecretResolver({
      vault: vaultSchema.parse({ enabled: true, url: server.url, authMethod: 'KUBERNETES', role: ROLE }),
      vaultTuning: { serviceAccountTokenPath: jwtPath },
      kubernetes: { credentials: inHome },
      logger: silentLogger(),
    });
    closing.push(secrets);
    return { server, secrets };
  }

  test('kubeconfigFile: encryptedFile:vault!… reaches the cluster (KUBERNETES login to Vault)', async () => {
    const { server, secrets } = await vault();
    server.put('secret', 'spinnaker/kubernetes', { config: sim.kubeconfig('target') });
    const account = runtime('encryptedFile:vault!e:secret!p:spinnaker/kubernetes!k:config', secrets);
    await account.init();
    assert.equal(account.state, 'ready');
    assert.equal(account.facts?.host, sim.clusterUrl('target'));
    assert.equal(server.logins, 1);
    await account.client?.close();
  });

  test('kubeconfigFile: encryptedFile:k8s!… reaches the cluster', async () => {
    const { secrets } = await vault();
    const account = runtime('encryptedFile:k8s!n:kubeconfigs!k:target', secrets);
    await account.init();
    assert.equal(account.facts?.host, sim.clusterUrl('target'));
    await account.client?.close();
  });

  test('a malformed reference fails with SECRET_REFERENCE_INVALID, not as an unreadable file', async () => {
    const { secrets } = await vault();
    const account = runtime('encryptedFile:vault!e:secret!p:spinnaker/kubernetes', secrets);
    await assert.rejects(account.init(), (err) => isScaleAgentError(err, 'SECRET_REFERENCE_INVALID'));
    assert.equal(account.state, 'failed');
    assert.match(account.lastError ?? '', /^account target: kubeconfigFile: the vault reference has no key/);
  });

  test('an initialisation retried after a failure reads the secret again', async () => {
    const { server, secrets } = await vault();
    // A kubeconfig the cluster refuses (a stale token): read, used, refused with 401.
    server.put('secret', 'spinnaker/kubernetes', { config: sim.kubeconfig('target').replace(sim.token, 'stale-token') });
    const account = runtime('encryptedFile:vault!e:secret!p:spinnaker/kubernetes!k:config', secrets);
    await assert.rejects(account.init(), (err) => isScaleAgentError(err, 'KUBE_API_ERROR') && err.details.status === 401);
    server.put('secret', 'spinnaker/kubernetes', { config: sim.kubeconfig('target') });
    await account.init();
    assert.equal(account.state, 'ready');
    await account.client?.close();
  });

  test("the account's insecure: true reaches a cluster whose certificate the kubeconfig cannot verify", async () => {
    const { secrets } = await vault();
    const doc = parseYaml(sim.kubeconfig('target')) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    delete doc.clusters[0]!.cluster['certificate-authority-data'];
    const kubeconfigContents = stringifyYaml(doc);
    const verifying = runtime({ kubeconfigContents }, secrets);
    await assert.rejects(verifying.init(), (err) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'));
    await verifying.client?.close();
    const account = runtime({ kubeconfigContents, insecure: true }, secrets);
    await account.init();
    assert.equal(account.state, 'ready');
    await account.client?.close();
  });
});
