import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { waitFor } from '../../src/common/time.ts';
import { SimClient, configMap, deployment } from './sim-client.ts';

const WAIT = { timeoutMs: 10_000 };
let sim: SimServer;
let api: SimClient;

before(async () => {
  sim = await startSim({ clusters: ['ctl'], podStartDelayMs: 20, podTerminationCapMs: 50 });
  api = new SimClient(sim, 'ctl');
});

after(async () => {
  api.close();
  await sim.close();
});

async function getBody(path: string): Promise<any> {
  const reply = await api.get(path);
  return reply.status === 200 ? reply.body : undefined;
}

/** What `kubectl rollout status` checks for a Deployment. */
function rolledOut(d: any): boolean {
  const s = d?.status ?? {};
  const replicas = d?.spec?.replicas ?? 1;
  const progressing = (s.conditions ?? []).find((c: any) => c.type === 'Progressing');
  return (
    s.observedGeneration >= d.metadata.generation &&
    s.updatedReplicas === replicas &&
    s.replicas === replicas &&
    s.availableReplicas === replicas &&
    progressing?.reason === 'NewReplicaSetAvailable'
  );
}

describe('deployments', () => {
  test('a Deployment rolls out: ReplicaSet, pods Running and Ready, status complete', async () => {
    const created = await api.post('/apis/apps/v1/namespaces/default/deployments', deployment('web', 'nginx:1', 3));
    assert.equal(created.status, 201);
    assert.equal(created.body.status.replicas, undefined, 'a create returns before the controller reacts');
    const done = await waitFor(
      async () => {
        const d = await getBody('/apis/apps/v1/namespaces/default/deployments/web');
        return rolledOut(d) ? d : undefined;
      },
      { ...WAIT, what: 'rollout' },
    );
    assert.equal(done.status.readyReplicas, 3);
    assert.equal(done.status.unavailableReplicas, undefined);
    assert.equal(done.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    const available = done.status.conditions.find((c: any) => c.type === 'Available');
    assert.deepEqual([available.status, available.reason], ['True', 'MinimumReplicasAvailable']);

    const replicaSets = (await api.get('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).body.items;
    assert.equal(replicaSets.length, 1);
    const rs = replicaSets[0];
    const hash = rs.metadata.labels['pod-template-hash'];
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec.selector.matchLabels['pod-template-hash'], hash);
    assert.equal(rs.metadata.ownerReferences[0].uid, done.metadata.uid);
    assert.equal(rs.metadata.ownerReferences[0].controller, true);
    assert.equal(rs.status.readyReplicas, 3);
    assert.equal(rs.status.observedGeneration, rs.metadata.generation);

    const pods = (await api.get(`/api/v1/namespaces/default/pods?labelSelector=pod-template-hash%3D${hash}`)).body.items;
    assert.equal(pods.length, 3);
    for (const pod of pods) {
      assert.match(pod.metadata.name, new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      assert.equal(pod.status.phase, 'Running');
      assert.equal(pod.status.containerStatuses[0].ready, true);
      assert.equal(pod.metadata.ownerReferences[0].uid, rs.metadata.uid);
    }
    const running = (await api.get('/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning,spec.nodeName%3Dsim-node-1')).body.items;
    assert.ok(running.length >= 3);
  });

  test('a new pod template rolls out a new ReplicaSet and scales the old one to zero', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    const patched = await api.patch(
      path,
      { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:2' }] } } } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(patched.body.metadata.generation, 2);
    const done = await waitFor(
      async () => {
        const d = await getBody(path);
        return rolledOut(d) && d.status.observedGeneration === 2 ? d : undefined;
      },
      { ...WAIT, what: 'second rollout' },
    );
    assert.equal(done.metadata.annotations['deployment.kubernetes.io/revision'], '2');
    const replicaSets = (await api.get('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).body.items;
    assert.equal(replicaSets.length, 2);
    const byImage = Object.fromEntries(replicaSets.map((rs: any) => [rs.spec.template.spec.containers[0].image, rs]));
    assert.equal(byImage['nginx:1'].spec.replicas, 0);
    assert.equal(byImage['nginx:2'].spec.replicas, 3);
    await waitFor(
      async () => {
        const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items;
        return pods.length === 3 && pods.every((p: any) => p.spec.containers[0].image === 'nginx:2');
      },
      { ...WAIT, what: 'old pods gone' },
    );
  });

  test('scaling through the scale subresource changes the pod count', async () => {
    await api.patch('/apis/apps/v1/namespaces/default/deployments/web/scale', { spec: { replicas: 1 } }, 'application/merge-patch+json');
    await waitFor(
      async () => {
        const d = await getBody('/apis/apps/v1/namespaces/default/deployments/web');
        const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items;
        return rolledOut(d) && d.status.replicas === 1 && pods.length === 1;
      },
      { ...WAIT, what: 'scale down to 1' },
    );
  });

  test('deleting a Deployment garbage-collects its ReplicaSets and pods', async () => {
    const reply = await api.delete('/apis/apps/v1/namespaces/default/deployments/web');
    assert.equal(reply.status, 200);
    await waitFor(
      async () => {
        const rs = (await api.get('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).body.items;
        const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body.items;
        return rs.length === 0 && pods.length === 0;
      },
      { ...WAIT, what: 'garbage collection' },
    );
  });

  test('propagationPolicy Orphan keeps dependents and removes their owner reference', async () => {
    await api.post('/apis/apps/v1/namespaces/default/deployments', deployment('orphans', 'nginx:1', 1));
    await waitFor(async () => rolledOut(await getBody('/apis/apps/v1/namespaces/default/deployments/orphans')), { ...WAIT, what: 'rollout' });
    await api.delete('/apis/apps/v1/namespaces/default/deployments/orphans', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
    const rs = (await api.get('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dorphans')).body.items;
    assert.equal(rs.length, 1);
    assert.equal(rs[0].metadata.ownerReferences, undefined);
  });
});

describe('other workloads', () => {
  test('a StatefulSet runs ordinal pods and reports its revisions', async () => {
    const sts = { ...deployment('db', 'postgres:16', 2), kind: 'StatefulSet' } as any;
    sts.spec.serviceName = 'db';
    assert.equal((await api.post('/apis/apps/v1/namespaces/default/statefulsets', sts)).status, 201);
    const done = await waitFor(
      async () => {
        const s = await getBody('/apis/apps/v1/namespaces/default/statefulsets/db');
        return s?.status?.readyReplicas === 2 && s.status.currentRevision === s.status.updateRevision ? s : undefined;
      },
      { ...WAIT, what: 'statefulset ready' },
    );
    assert.equal(done.status.updatedReplicas, 2);
    assert.equal(done.status.observedGeneration, 1);
    const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Ddb')).body.items.map((p: any) => p.metadata.name).sort();
    assert.deepEqual(pods, ['db-0', 'db-1']);
  });

  test('a DaemonSet runs one pod on the simulated node', async () => {
    const ds = { ...deployment('agent', 'agent:1'), kind: 'DaemonSet' } as any;
    delete ds.spec.replicas;
    assert.equal((await api.post('/apis/apps/v1/namespaces/default/daemonsets', ds)).status, 201);
    const done = await waitFor(
      async () => {
        const d = await getBody('/apis/apps/v1/namespaces/default/daemonsets/agent');
        return d?.status?.numberReady === 1 ? d : undefined;
      },
      { ...WAIT, what: 'daemonset ready' },
    );
    assert.equal(done.status.desiredNumberScheduled, 1);
    assert.equal(done.status.updatedNumberScheduled, 1);
  });

  test('a Job completes, and one marked to fail fails', async () => {
    const job = (name: string, fail: boolean) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name },
      spec: {
        template: {
          metadata: fail ? { annotations: { 'sim.scale-agent.io/fail': 'true' } } : {},
          spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'busybox' }] },
        },
      },
    });
    assert.equal((await api.post('/apis/batch/v1/namespaces/default/jobs', job('ok-job', false))).status, 201);
    assert.equal((await api.post('/apis/batch/v1/namespaces/default/jobs', job('bad-job', true))).status, 201);
    const conditionOf = async (name: string, type: string) => {
      const j = await getBody(`/apis/batch/v1/namespaces/default/jobs/${name}`);
      return j?.status?.conditions?.find((c: any) => c.type === type && c.status === 'True') ? j : undefined;
    };
    const ok = await waitFor(() => conditionOf('ok-job', 'Complete'), { ...WAIT, what: 'job complete' });
    assert.equal(ok.status.succeeded, 1);
    const bad = await waitFor(() => conditionOf('bad-job', 'Failed'), { ...WAIT, what: 'job failed' });
    assert.equal(bad.status.failed, 1);
    const invalid = await api.post('/apis/batch/v1/namespaces/default/jobs', {
      ...job('always', false),
      spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    assert.equal(invalid.status, 422);
  });

  test('a pod deleted with a grace period terminates first, then goes', async () => {
    await api.post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'lonely' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const watch = await api.watch('/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3Dlonely');
    const reply = await api.delete('/api/v1/namespaces/default/pods/lonely');
    assert.equal(reply.status, 202);
    assert.ok(reply.body.metadata.deletionTimestamp);
    await watch.next((e) => e.type === 'DELETED');
    assert.ok(watch.events.some((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp));
    watch.close();
  });
});

describe('custom resources', () => {
  const definition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', shortNames: ['wd'], listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } }, subresources: { status: {} } }],
    },
  };

  test('creating a CRD makes its kind discoverable, listable and watchable; deleting it removes them', async () => {
    assert.equal((await api.get('/apis/example.com/v1')).status, 404);
    const created = await api.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', definition);
    assert.equal(created.status, 201);
    assert.ok(created.body.status.conditions.some((c: any) => c.type === 'Established' && c.status === 'True'));
    const resources = (await api.get('/apis/example.com/v1')).body.resources;
    assert.ok(resources.some((r: any) => r.name === 'widgets' && r.kind === 'Widget' && r.shortNames[0] === 'wd'));
    assert.ok(resources.some((r: any) => r.name === 'widgets/status'));
    assert.ok((await api.get('/apis')).body.groups.some((g: any) => g.name === 'example.com'));

    const watch = await api.watch('/apis/example.com/v1/namespaces/default/widgets?watch=true');
    const widget = await api.post('/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec: { size: 1 },
    });
    assert.equal(widget.status, 201);
    assert.equal(widget.body.metadata.generation, 1);
    await watch.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'w1');
    const list = (await api.get('/apis/example.com/v1/widgets')).body;
    assert.equal(list.kind, 'WidgetList');
    assert.equal(list.items.length, 1);
    const smp = await api.patch('/apis/example.com/v1/namespaces/default/widgets/w1', { spec: { size: 2 } }, 'application/strategic-merge-patch+json');
    assert.equal(smp.status, 415);

    await api.delete('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
    await watch.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'w1');
    await watch.ended$();
    assert.equal((await api.get('/apis/example.com/v1/widgets')).status, 404);
    assert.equal((await api.get('/apis/example.com/v1')).status, 404);
  });

  test('in-process access sees the same objects as HTTP clients', async () => {
    const cluster = sim.cluster('ctl');
    cluster.create(configMap('in-process', { a: '1' }));
    const reply = await api.get('/api/v1/namespaces/default/configmaps/in-process');
    assert.equal(reply.body.data.a, '1');
    assert.equal(cluster.get('v1', 'ConfigMap', 'default', 'in-process')?.metadata?.uid, reply.body.metadata.uid);
  });
});
