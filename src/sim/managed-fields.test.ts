import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import type { KubeObject } from '../common/kube-object.ts';
import { SimCluster } from './sim-cluster.ts';
import { StatusError } from './status.ts';

function cluster(): SimCluster {
  return new SimCluster({
    name: 'unit',
    historyLimit: 1000,
    podStartDelayMs: 10_000,
    podTerminationCapMs: 10,
    progressNotifyIntervalMs: 0,
    openApiSchemas: true,
    logger: silentLogger(),
  });
}

function deployment(containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } }, ...extra },
  };
}

function apply(c: SimCluster, manager: string, object: KubeObject, force = false): KubeObject {
  const type = c.typeOf('apps/v1', 'Deployment');
  return c.api.patch(type, 'default', 'web', 'apply', object, { fieldManager: manager, force }).object;
}

const containersOf = (o: KubeObject) => ((o.spec as any).template.spec.containers as any[]).map((x) => `${x.name}=${x.image}`);

test('server-side apply: a conflict names the manager and the keyed path; force moves ownership', () => {
  const c = cluster();
  apply(
    c,
    'team',
    deployment(
      [
        { name: 'app', image: 'app:1' },
        { name: 'proxy', image: 'envoy:1' },
      ],
      { replicas: 2 },
    ),
  );
  const attempt = () => apply(c, 'bot', deployment([{ name: 'proxy', image: 'envoy:2' }], { replicas: 3 }));
  assert.throws(attempt, (err: unknown) => {
    assert.ok(err instanceof StatusError);
    assert.equal(err.code, 409);
    assert.equal(err.message, 'Apply failed with 2 conflicts: conflicts with "team":\n- .spec.replicas\n- .spec.template.spec.containers[name="proxy"].image');
    assert.deepEqual(
      err.details?.causes?.map((cause) => [cause.reason, cause.message, cause.field]),
      [
        ['FieldManagerConflict', 'conflict with "team"', '.spec.replicas'],
        ['FieldManagerConflict', 'conflict with "team"', '.spec.template.spec.containers[name="proxy"].image'],
      ],
    );
    return true;
  });
  const forced = apply(c, 'bot', deployment([{ name: 'proxy', image: 'envoy:2' }], { replicas: 3 }), true);
  assert.deepEqual(containersOf(forced), ['app=app:1', 'proxy=envoy:2']);
  assert.equal((forced.spec as any).replicas, 3);
  const team = (forced.metadata!.managedFields as any[]).find((m) => m.manager === 'team');
  assert.equal(team.fieldsV1['f:spec']['f:replicas'], undefined);
  assert.equal(team.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"proxy"}']['f:image'], undefined);
  assert.deepEqual(team.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"proxy"}']['f:name'], {});
  c.close();
});

test('server-side apply: list items and fields an applier drops are removed unless someone else owns them', () => {
  const c = cluster();
  apply(
    c,
    'team',
    deployment(
      [
        { name: 'app', image: 'app:1' },
        { name: 'sidecar', image: 'side:1' },
      ],
      { replicas: 2, minReadySeconds: 5 },
    ),
  );
  apply(c, 'ops', deployment([], { minReadySeconds: 5 }));
  const after = apply(c, 'team', deployment([{ name: 'app', image: 'app:2' }]));
  assert.deepEqual(containersOf(after), ['app=app:2']);
  assert.equal((after.spec as any).replicas, 1, 'replicas was dropped and defaulted again');
  assert.equal((after.spec as any).minReadySeconds, 5, 'ops still owns minReadySeconds');
  const same = apply(c, 'team', deployment([{ name: 'app', image: 'app:2' }]));
  assert.equal(same.metadata!.resourceVersion, after.metadata!.resourceVersion, 'a repeated apply changes nothing');
  c.close();
});
