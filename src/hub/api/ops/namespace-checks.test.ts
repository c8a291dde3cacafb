import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NAMESPACE_PROPERTY, OMIT_NAMESPACES_PROPERTY } from '../../../common/account-properties.ts';
import { Errors } from '../../../common/errors.ts';
import { accountRecord } from '../../store/testing/fixtures.ts';
import { opsHarness, resultOf, type Harness, type Json } from '../../../../test/support/ops-harness.ts';
import { parseDeployDescription, placeManifests } from './deploy-manifest.ts';

/**
 * Every operation that names a namespace is refused at submission when its account does not serve the
 * namespace (Clouddriver's KubernetesValidationUtil.validateNamespace: `wrongNamespace` outside the
 * account's `namespaces`, `omittedNamespace` in its `omitNamespaces`): a 400 before any task exists,
 * naming the namespace, the account and the operation. Cluster-scoped kinds have no namespace to check.
 */
const deployment = (namespace?: string): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', ...(namespace !== undefined ? { namespace } : {}) },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});
const deploy = (fields: Json): Json[] => [
  { deployManifest: { account: 'k8s', cloudProvider: 'kubernetes', moniker: { app: 'web' }, source: 'text', ...fields } },
];
const op = (name: string, fields: Json): Json[] => [{ [name]: { account: 'k8s', cloudProvider: 'kubernetes', ...fields } }];

/** Each operation that addresses an existing object, pointed at `namespace`. */
function targeting(namespace: string): Array<[string, Json[]]> {
  const target = { manifestName: 'deployment web', location: namespace };
  return [
    ['deleteManifest', op('deleteManifest', { ...target, options: { cascading: true } })],
    [
      'deleteManifest (kinds)',
      op('deleteManifest', { location: namespace, kinds: ['configMap'], labelSelectors: { selectors: [{ kind: 'EQUALS', key: 'app', values: ['web'] }] } }),
    ],
    [
      'patchManifest',
      op('patchManifest', { ...target, patchBody: { metadata: { labels: { a: 'b' } } }, options: { mergeStrategy: 'strategic', record: true } }),
    ],
    ['scaleManifest', op('scaleManifest', { ...target, replicas: 2 })],
    ['undoRolloutManifest', op('undoRolloutManifest', { ...target, revision: 1 })],
    ['pauseRolloutManifest', op('pauseRolloutManifest', target)],
    ['resumeRolloutManifest', op('resumeRolloutManifest', target)],
    ['rollingRestartManifest', op('rollingRestartManifest', target)],
    ['enableManifest', op('enableManifest', target)],
    ['disableManifest', op('disableManifest', target)],
    ['resizeServerGroup', op('resizeServerGroup', { serverGroupName: 'deployment web', region: namespace, capacity: { desired: 2 } })],
    [
      'runJob',
      op('runJob', {
        application: 'jobs',
        namespace,
        manifest: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi' }, spec: { template: { spec: {} } } },
      }),
    ],
    ['deployManifest', deploy({ manifests: [deployment(namespace)] })],
    ['deployManifest (namespaceOverride)', deploy({ namespaceOverride: namespace, manifests: [deployment('team-a')] })],
  ];
}

describe('namespaces an account does not serve are refused at submission', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function refused(body: Json[], what: string): Promise<string> {
    const res = await h!.post('/kubernetes/ops', body);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, Errors.NAMESPACE_NOT_ALLOWED.code, what);
    assert.equal(res.body.error, 'Bad Request');
    return res.body.message as string;
  }

  async function assertNothingRan(): Promise<void> {
    assert.equal(h!.cluster.calls.length, 0, 'nothing reached the cluster');
    assert.deepEqual((await h!.get('/task')).body, [], 'no task was created');
  }

  test("outside the account's namespaces: every operation naming one, before any task (wrongNamespace)", async () => {
    h = await opsHarness({ account: { namespaces: ['team-a'] } });
    for (const [what, body] of targeting('team-b')) {
      const message = await refused(body, what);
      const operation = Object.keys(body[0])[0]!;
      assert.match(message, new RegExp(`^\\[0\\]\\.${operation}\\.`), `${what}: the path starts with the operation`);
      assert.match(message, /namespace "team-b" is not one of account k8s's namespaces \(team-a\)/, what);
      assert.match(message, /\.team-b\.wrongNamespace\)$/, what);
    }
    const deployMessage = await refused(deploy({ manifests: [deployment('team-b')] }), 'deploy');
    assert.match(
      deployMessage,
      /\(deployKubernetesManifest\.deployKubernetesManifest\.team-b\.wrongNamespace\)$/,
      "Clouddriver's validation error, as it spells it",
    );
    await assertNothingRan();
  });

  test("a manifest without a namespace goes to the account's default namespace (declared by its agent), and is checked there", async () => {
    // The kubeconfig context's namespace is team-a: Clouddriver deploys a manifest without one there.
    h = await opsHarness({ account: { namespaces: ['team-a'], properties: { [DEFAULT_NAMESPACE_PROPERTY]: 'team-a' } } });
    const deployed = await h.run(deploy({ manifests: [deployment()] }));
    assert.equal(deployed.status.failed, false, deployed.status.status);
    assert.deepEqual(resultOf(deployed).manifestNamesByNamespace, { 'team-a': ['deployment web'] });
    assert.equal(h.cluster.find('Deployment', 'team-a', 'web')?.metadata?.namespace, 'team-a', 'applied in the default namespace');
    await h.close();

    // A default namespace the agent does not watch: the write would never reach the cache.
    h = await opsHarness({ account: { namespaces: ['team-a'], properties: { [DEFAULT_NAMESPACE_PROPERTY]: 'default' } } });
    const message = await refused(deploy({ manifests: [deployment()] }), 'no namespace');
    assert.match(
      message,
      /^\[0\]\.deployManifest\.manifests\[0\]\.metadata\.namespace: no namespace is given, so the account's default namespace "default" would be used, but it is not one of account k8s's namespaces \(team-a\)/,
    );
    await assertNothingRan();
    await h.close();

    h = await opsHarness({ account: { properties: { [DEFAULT_NAMESPACE_PROPERTY]: 'kube-system', [OMIT_NAMESPACES_PROPERTY]: 'kube-system' } } });
    assert.match(await refused(deploy({ manifests: [deployment()] }), 'omitted default'), /\.kube-system\.omittedNamespace\)$/);
  });

  test('an agent that declares no default namespace (older): a manifest without one is not checked, as Clouddriver, and goes to "default"', async () => {
    h = await opsHarness({ account: { namespaces: ['team-a'] } });
    const res = await h.post('/kubernetes/ops', deploy({ manifests: [deployment()] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const done = await h.finished(res.body.id);
    assert.deepEqual(resultOf(done).manifestNamesByNamespace, { default: ['deployment web'] }, 'where such an agent puts it');
  });

  test('a custom resource shipped with its CustomResourceDefinition is placed as the CRD scopes it', async () => {
    h = await opsHarness({ account: { namespaces: ['team-a'], properties: { [DEFAULT_NAMESPACE_PROPERTY]: 'team-a' } } });
    const crd = (scope: string, kind: string, plural: string): Json => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.new.example.com` },
      spec: { group: 'new.example.com', scope, names: { kind, plural }, versions: [{ name: 'v1', served: true, storage: true }] },
    });
    const clusterWidget = { apiVersion: 'new.example.com/v1', kind: 'ClusterWidget', metadata: { name: 'w', namespace: 'team-b' } };
    const widget = (namespace?: string): Json => ({
      apiVersion: 'new.example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', ...(namespace !== undefined ? { namespace } : {}) },
    });
    const description = parseDeployDescription(
      { account: 'k8s', manifests: [crd('Cluster', 'ClusterWidget', 'clusterwidgets'), clusterWidget, crd('Namespaced', 'Widget', 'widgets'), widget()] },
      'deployManifest',
    );
    const placed = placeManifests(description, {
      ...accountRecord('k8s', { namespaces: ['team-a'], properties: { [DEFAULT_NAMESPACE_PROPERTY]: 'team-a' } }),
      registeredAt: 0,
      lastSeenAt: 0,
    });
    assert.deepEqual(
      placed.map((p) => [p.kind, p.namespaced, p.namespace, p.manifest.metadata?.namespace]),
      [
        ['CustomResourceDefinition', false, '', undefined],
        ['ClusterWidget', false, '', undefined],
        ['CustomResourceDefinition', false, '', undefined],
        ['Widget', true, 'team-a', 'team-a'],
      ],
      'cluster-scoped: no namespace to check or keep; namespaced: in the default namespace',
    );
    const accepted = await h.post('/kubernetes/ops', deploy({ manifests: [crd('Cluster', 'ClusterWidget', 'clusterwidgets'), clusterWidget] }));
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    await h.finished(accepted.body.id);
    const message = await refused(deploy({ manifests: [crd('Namespaced', 'Widget', 'widgets'), widget('team-b')] }), 'namespaced custom resource');
    assert.match(message, /\.team-b\.wrongNamespace\)$/);
  });

  test("the account's omitNamespaces (declared by its agent) are refused (omittedNamespace); others and cluster-scoped kinds pass", async () => {
    h = await opsHarness({ account: { properties: { [OMIT_NAMESPACES_PROPERTY]: 'kube-system,secret-team' } } });
    for (const [what, body] of targeting('secret-team')) {
      const message = await refused(body, what);
      assert.match(message, /namespace "secret-team" is one of account k8s's omitted namespaces \(omitNamespaces: kube-system, secret-team\)/, what);
      assert.match(message, /\.secret-team\.omittedNamespace\)$/, what);
    }
    await assertNothingRan();
    const elsewhere = await h.run(deploy({ manifests: [deployment('team-a'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'secret-team' } }] }));
    assert.equal(elsewhere.status.failed, false, elsewhere.status.status);
    assert.deepEqual(resultOf(elsewhere).manifestNamesByNamespace, { '': ['namespace secret-team'], 'team-a': ['deployment web'] });
    const clusterScoped = await h.post('/kubernetes/ops', op('deleteManifest', { manifestName: 'namespace other', location: 'secret-team' }));
    assert.equal(clusterScoped.status, 200, 'a cluster-scoped kind has no namespace to check, whatever the location');
  });

  test('an account that serves every namespace accepts any', async () => {
    h = await opsHarness();
    const res = await h.post('/kubernetes/ops', deploy({ manifests: [deployment('anywhere')] }));
    assert.equal(res.status, 200);
  });
});
