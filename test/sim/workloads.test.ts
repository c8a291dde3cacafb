// What Spinnaker's write path needs from the sim, over HTTP: Deployment revisions through ReplicaSets
// (reuse on undo, revision-history, revisionHistoryLimit, pause), the scale subresource of Deployments,
// ReplicaSets and StatefulSets, StatefulSet revisions, Jobs that complete or fail, and pod logs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { waitFor } from '../../src/common/time.ts';
import { SimClient, deployment } from './sim-client.ts';

const WAIT = { timeoutMs: 10_000 };
const NS = '/apis/apps/v1/namespaces/default';
const SMP = 'application/strategic-merge-patch+json';
const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const REVISION = 'deployment.kubernetes.io/revision';
const HISTORY = 'deployment.kubernetes.io/revision-history';

let sim: SimServer;
let api: SimClient;

before(async () => {
  sim = await startSim({ clusters: ['wl'], podStartDelayMs: 20, podTerminationCapMs: 50 });
  api = new SimClient(sim, 'wl');
});

after(async () => {
  api.close();
  await sim.close();
});

async function getBody(path: string): Promise<any> {
  const reply = await api.get(path);
  return reply.status === 200 ? reply.body : undefined;
}

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

async function waitRolledOut(name: string, what = `${name} rolled out`): Promise<any> {
  return waitFor(
    async () => {
      const d = await getBody(`${NS}/deployments/${name}`);
      return rolledOut(d) ? d : undefined;
    },
    { ...WAIT, what },
  );
}

async function replicaSets(app: string): Promise<any[]> {
  return (await api.get(`${NS}/replicasets?labelSelector=app%3D${app}`)).body.items;
}

function setImage(image: string): unknown {
  return { spec: { template: { spec: { containers: [{ name: 'main', image }] } } } };
}

/** GET a streaming response and collect its text as it arrives. */
function stream(path: string): Promise<{ status: number; text: () => string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(`${sim.clusterUrl('wl')}${path}`), { ca: sim.caPem, headers: { authorization: `Bearer ${sim.token}` } });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      const ended = new Promise<void>((done) => res.on('end', () => done()));
      resolve({ status: res.statusCode ?? 0, text: () => text, ended });
    });
    req.end();
  });
}

describe('deployment revisions', () => {
  test('a template change makes a new revision; going back reuses the old ReplicaSet with the next revision and records its history', async () => {
    const created = deployment('rev', 'app:1', 1) as any;
    created.metadata.annotations = { 'kubernetes.io/change-cause': 'first', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    assert.equal((await api.post(`${NS}/deployments`, created)).status, 201);
    const first = await waitRolledOut('rev');
    assert.equal(first.metadata.annotations[REVISION], '1');
    const [rs1] = await replicaSets('rev');
    assert.equal(rs1.metadata.annotations[REVISION], '1');
    assert.equal(rs1.metadata.annotations['kubernetes.io/change-cause'], 'first', "the Deployment's annotations are copied");
    assert.equal(rs1.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], undefined, 'last-applied is not copied');
    assert.equal(rs1.metadata.annotations['deployment.kubernetes.io/desired-replicas'], '1');
    assert.equal(rs1.metadata.annotations['deployment.kubernetes.io/max-replicas'], '2');

    await api.patch(`${NS}/deployments/rev`, { metadata: { annotations: { 'kubernetes.io/change-cause': 'second' } }, ...(setImage('app:2') as object) }, SMP);
    const second = await waitFor(
      async () => {
        const d = await getBody(`${NS}/deployments/rev`);
        return rolledOut(d) && d.metadata.annotations[REVISION] === '2' ? d : undefined;
      },
      { ...WAIT, what: 'revision 2' },
    );
    assert.equal(second.status.updatedReplicas, 1);
    let sets = await replicaSets('rev');
    assert.equal(sets.length, 2);
    const rs2 = sets.find((rs) => rs.metadata.uid !== rs1.metadata.uid);
    assert.equal(rs2.metadata.annotations[REVISION], '2');
    assert.equal(rs2.metadata.annotations['kubernetes.io/change-cause'], 'second');

    // Back to app:1 (what `kubectl rollout undo` does): the first ReplicaSet returns as revision 3.
    await api.patch(`${NS}/deployments/rev`, setImage('app:1'), SMP);
    const third = await waitFor(
      async () => {
        const d = await getBody(`${NS}/deployments/rev`);
        return rolledOut(d) && d.metadata.annotations[REVISION] === '3' ? d : undefined;
      },
      { ...WAIT, what: 'revision 3' },
    );
    assert.equal(third.status.replicas, 1);
    sets = await replicaSets('rev');
    assert.equal(sets.length, 2, 'no new ReplicaSet');
    const reused = sets.find((rs) => rs.metadata.uid === rs1.metadata.uid);
    assert.equal(reused.metadata.annotations[REVISION], '3');
    assert.equal(reused.metadata.annotations[HISTORY], '1');
    assert.equal(reused.spec.replicas, 1);
    assert.equal(sets.find((rs) => rs.metadata.uid === rs2.metadata.uid).spec.replicas, 0);

    // And forth again: revision 4 on the second ReplicaSet, with its own history.
    await api.patch(`${NS}/deployments/rev`, setImage('app:2'), SMP);
    await waitFor(async () => (await getBody(`${NS}/deployments/rev`))?.metadata.annotations[REVISION] === '4', { ...WAIT, what: 'revision 4' });
    await waitFor(async () => (await replicaSets('rev')).find((rs) => rs.metadata.uid === rs2.metadata.uid)?.metadata.annotations[HISTORY] === '2', {
      ...WAIT,
      what: 'history of rs2',
    });
  });

  test('revisionHistoryLimit deletes the oldest ReplicaSets scaled to zero', async () => {
    const limited = deployment('limited', 'img:1', 1) as any;
    limited.spec.revisionHistoryLimit = 1;
    await api.post(`${NS}/deployments`, limited);
    await waitRolledOut('limited');
    for (const image of ['img:2', 'img:3', 'img:4']) {
      await api.patch(`${NS}/deployments/limited`, setImage(image), SMP);
      await waitFor(
        async () => {
          const d = await getBody(`${NS}/deployments/limited`);
          return rolledOut(d) && d.status.observedGeneration === d.metadata.generation;
        },
        { ...WAIT, what: `rollout of ${image}` },
      );
    }
    const sets = await waitFor(
      async () => {
        const items = await replicaSets('limited');
        return items.length === 2 ? items : undefined;
      },
      { ...WAIT, what: 'old ReplicaSets pruned to the limit' },
    );
    const byRevision = sets.map((rs) => [rs.metadata.annotations[REVISION], rs.spec.template.spec.containers[0].image, rs.spec.replicas]).sort();
    assert.deepEqual(byRevision, [
      ['3', 'img:3', 0],
      ['4', 'img:4', 1],
    ]);

    await api.patch(`${NS}/deployments/limited`, { spec: { revisionHistoryLimit: 0 } }, MERGE);
    await waitFor(async () => (await replicaSets('limited')).length === 1, { ...WAIT, what: 'every old ReplicaSet deleted with limit 0' });
  });

  test('a paused Deployment starts no rollout but still scales; resuming rolls the new template out', async () => {
    await api.post(`${NS}/deployments`, deployment('paused', 'p:1', 1));
    await waitRolledOut('paused');
    const paused = await api.patch(`${NS}/deployments/paused`, { spec: { paused: true } }, SMP);
    assert.equal(paused.status, 200);
    await api.patch(`${NS}/deployments/paused`, setImage('p:2'), SMP);
    await api.patch(`${NS}/deployments/paused/scale`, { spec: { replicas: 3 } }, MERGE);
    const observed = await waitFor(
      async () => {
        const d = await getBody(`${NS}/deployments/paused`);
        return d.status.observedGeneration === d.metadata.generation && d.status.readyReplicas === 3 ? d : undefined;
      },
      { ...WAIT, what: 'the paused Deployment observed and scaled' },
    );
    const progressing = observed.status.conditions.find((c: any) => c.type === 'Progressing');
    assert.deepEqual([progressing.status, progressing.reason], ['Unknown', 'DeploymentPaused']);
    assert.equal(observed.status.updatedReplicas, 0, 'no ReplicaSet has the new template');
    const sets = await replicaSets('paused');
    assert.equal(sets.length, 1);
    assert.equal(sets[0].spec.replicas, 3);
    assert.equal(sets[0].spec.template.spec.containers[0].image, 'p:1');

    await api.patch(`${NS}/deployments/paused`, { spec: { paused: null } }, SMP);
    const resumed = await waitFor(
      async () => {
        const d = await getBody(`${NS}/deployments/paused`);
        return rolledOut(d) && d.metadata.annotations[REVISION] === '2' ? d : undefined;
      },
      { ...WAIT, what: 'the rollout after resume' },
    );
    assert.equal(resumed.status.updatedReplicas, 3);
    const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Dpaused')).body.items.filter((p: any) => !p.metadata.deletionTimestamp);
    await waitFor(
      async () => {
        const live = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Dpaused')).body.items;
        return live.length === 3 && live.every((p: any) => p.spec.containers[0].image === 'p:2');
      },
      { ...WAIT, what: `pods on p:2 (had ${pods.length})` },
    );
  });

  test('a restart annotation on the template (kubectl rollout restart) rolls out a new revision', async () => {
    await api.post(`${NS}/deployments`, deployment('restart', 'r:1', 1));
    const before = await waitRolledOut('restart');
    const oldPods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Drestart')).body.items.map((p: any) => p.metadata.name);
    await api.patch(
      `${NS}/deployments/restart`,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' } } } } },
      SMP,
    );
    await waitFor(
      async () => {
        const d = await getBody(`${NS}/deployments/restart`);
        return rolledOut(d) && d.metadata.annotations[REVISION] === String(Number(before.metadata.annotations[REVISION]) + 1);
      },
      { ...WAIT, what: 'the restart revision' },
    );
    await waitFor(
      async () => {
        const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Drestart')).body.items;
        return pods.length === 1 && !oldPods.includes(pods[0].metadata.name);
      },
      { ...WAIT, what: 'a new pod' },
    );
  });
});

describe('the scale subresource', () => {
  test('ReplicaSet: GET, PUT and merge/strategic/JSON PATCH; stale resourceVersions conflict; negatives are invalid', async () => {
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'bare', labels: { app: 'bare' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'bare' } },
        template: { metadata: { labels: { app: 'bare' } }, spec: { containers: [{ name: 'c', image: 'bare:1' }] } },
      },
    };
    assert.equal((await api.post(`${NS}/replicasets`, rs)).status, 201);
    const path = `${NS}/replicasets/bare/scale`;
    const scale = (await api.get(path)).body;
    assert.deepEqual([scale.kind, scale.apiVersion, scale.spec.replicas, scale.status.selector], ['Scale', 'autoscaling/v1', 1, 'app=bare']);
    assert.equal((await api.patch(path, { spec: { replicas: 2 } }, MERGE)).body.spec.replicas, 2);
    assert.equal((await api.patch(path, { spec: { replicas: 3 } }, SMP)).body.spec.replicas, 3);
    const json = await api.patch(path, [{ op: 'replace', path: '/spec/replicas', value: 2 }], JSON_PATCH);
    assert.equal(json.body.spec.replicas, 2);
    const stale = await api.put(path, { ...json.body, metadata: { ...json.body.metadata, resourceVersion: '1' }, spec: { replicas: 5 } });
    assert.equal(stale.status, 409);
    const negative = await api.put(path, { ...json.body, spec: { replicas: -1 } });
    assert.equal(negative.status, 422);
    const negativeSpec = await api.patch(`${NS}/replicasets/bare`, { spec: { replicas: -2 } }, SMP);
    assert.equal(negativeSpec.status, 422);
    assert.match(negativeSpec.body.message, /spec\.replicas: Invalid value: -2: must be greater than or equal to 0/);
    await waitFor(async () => (await getBody(`${NS}/replicasets/bare`))?.status?.readyReplicas === 2, { ...WAIT, what: 'two ready pods' });
    const afterScale = (await api.get(path)).body;
    assert.equal(afterScale.status.replicas, 2);
    assert.equal((await api.get(`${NS}/daemonsets/none/scale`)).status, 404);
  });

  test('StatefulSet: scaling adds and removes ordinals', async () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1' }] } },
      },
    };
    assert.equal((await api.post(`${NS}/statefulsets`, sts)).status, 201);
    const scaled = await api.patch(`${NS}/statefulsets/db/scale`, { spec: { replicas: 3 } }, MERGE);
    assert.equal(scaled.status, 200);
    await waitFor(
      async () => {
        const pods = (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Ddb')).body.items.map((p: any) => p.metadata.name).sort();
        return JSON.stringify(pods) === JSON.stringify(['db-0', 'db-1', 'db-2']);
      },
      { ...WAIT, what: 'three ordinals' },
    );
    const put = await api.put(`${NS}/statefulsets/db/scale`, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'db' }, spec: { replicas: 1 } });
    assert.equal(put.body.spec.replicas, 1);
    await waitFor(async () => (await api.get('/api/v1/namespaces/default/pods?labelSelector=app%3Ddb')).body.items.length === 1, {
      ...WAIT,
      what: 'scaled down to db-0',
    });
  });

  test('StatefulSet: a template that returns to an earlier one moves that ControllerRevision up', async () => {
    const revisions = async () =>
      (await api.get(`${NS}/controllerrevisions?labelSelector=app%3Ddb`)).body.items
        .map((r: any) => [r.data.spec.template.spec.containers[0].image, r.revision])
        .sort();
    await api.patch(`${NS}/statefulsets/db`, { spec: { template: { spec: { containers: [{ name: 'db', image: 'db:2' }] } } } }, SMP);
    await waitFor(
      async () =>
        JSON.stringify(await revisions()) ===
        JSON.stringify([
          ['db:1', 1],
          ['db:2', 2],
        ]),
      { ...WAIT, what: 'revision 2' },
    );
    await api.patch(`${NS}/statefulsets/db`, { spec: { template: { spec: { containers: [{ name: 'db', image: 'db:1' }] } } } }, SMP);
    await waitFor(
      async () =>
        JSON.stringify(await revisions()) ===
        JSON.stringify([
          ['db:1', 3],
          ['db:2', 2],
        ]),
      { ...WAIT, what: 'db:1 as revision 3' },
    );
    const sts = await waitFor(
      async () => {
        const s = await getBody(`${NS}/statefulsets/db`);
        return s.status.currentRevision === s.status.updateRevision && s.status.readyReplicas === 1 ? s : undefined;
      },
      { ...WAIT, what: 'the StatefulSet back on db:1' },
    );
    assert.match(sts.status.updateRevision, /^db-/);
  });
});

describe('jobs', () => {
  const job = (name: string, fail: boolean, extra: Record<string, string> = {}) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      template: {
        metadata: { annotations: { ...(fail ? { 'sim.scale-agent.io/fail': 'true' } : {}), ...extra } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'perl:5.34', command: ['perl', '-Mbignum=bpi', '-wle', 'print bpi(20)'] }] },
      },
    },
  });

  async function finished(name: string, type: string): Promise<any> {
    return waitFor(
      async () => {
        const j = await getBody(`/apis/batch/v1/namespaces/default/jobs/${name}`);
        return j?.status?.conditions?.some((c: any) => c.type === type && c.status === 'True') ? j : undefined;
      },
      { ...WAIT, what: `job ${name} ${type}` },
    );
  }

  test('a Job completes: Complete condition, succeeded count, its pod Succeeded and terminated, logs with a completion line', async () => {
    await api.post('/apis/batch/v1/namespaces/default/jobs', job('pi', false, { 'sim.scale-agent.io/log': 'SPINNAKER_PROPERTY_PI=3.1415926535897932385' }));
    const done = await finished('pi', 'Complete');
    assert.equal(done.status.succeeded, 1);
    assert.equal(done.status.failed, undefined);
    assert.equal(done.status.active, undefined);
    assert.equal(done.status.ready, 0);
    assert.ok(done.status.completionTime);
    const [pod] = (await api.get('/api/v1/namespaces/default/pods?labelSelector=job-name%3Dpi')).body.items;
    assert.equal(pod.status.phase, 'Succeeded');
    assert.deepEqual([pod.status.containerStatuses[0].state.terminated.exitCode, pod.status.containerStatuses[0].state.terminated.reason], [0, 'Completed']);
    const log = await api.get(`/api/v1/namespaces/default/pods/${pod.metadata.name}/log`);
    assert.equal(log.status, 200);
    assert.match(String(log.headers['content-type']), /^text\/plain/);
    assert.equal(
      log.text,
      [
        `[sim] starting container run (image perl:5.34) in pod default/${pod.metadata.name} on node sim-node-1`,
        '[sim] command: perl -Mbignum=bpi -wle print bpi(20)',
        'SPINNAKER_PROPERTY_PI=3.1415926535897932385',
        '[sim] container run terminated: Completed (exit code 0)',
        '[sim] job pi completed successfully',
        '',
      ].join('\n'),
    );
  });

  test('a Job marked to fail: Failed condition, failed count, the pod Failed with exit code 1 in its log', async () => {
    await api.post('/apis/batch/v1/namespaces/default/jobs', job('broken', true));
    const failed = await finished('broken', 'Failed');
    assert.equal(failed.status.failed, 1);
    assert.equal(failed.status.succeeded, undefined);
    const condition = failed.status.conditions.find((c: any) => c.type === 'Failed');
    assert.equal(condition.reason, 'BackoffLimitExceeded');
    const [pod] = (await api.get('/api/v1/namespaces/default/pods?labelSelector=job-name%3Dbroken')).body.items;
    assert.equal(pod.status.phase, 'Failed');
    const log = await api.get(`/api/v1/namespaces/default/pods/${pod.metadata.name}/log?tailLines=2`);
    assert.equal(log.text, '[sim] container run terminated: Error (exit code 1)\n[sim] job broken failed: exit code 1\n');
  });
});

describe('pod logs', () => {
  const twoContainers = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'duo' },
    spec: {
      containers: [
        { name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] },
        { name: 'proxy', image: 'envoy:1' },
      ],
    },
  };

  test('404 for a missing pod, 400 for an unknown or unnamed container of several, 400 while waiting to start', async () => {
    const missing = await api.get('/api/v1/namespaces/default/pods/ghost/log');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'pods "ghost" not found');
    assert.equal((await api.post('/api/v1/namespaces/default/pods', twoContainers)).status, 201);
    const early = await api.get('/api/v1/namespaces/default/pods/duo/log?container=web');
    // The kubelet may already have started it: either way a well-formed answer.
    assert.ok(early.status === 200 || (early.status === 400 && /is waiting to start: ContainerCreating/.test(early.body.message)), early.text);
    await waitFor(async () => (await getBody('/api/v1/namespaces/default/pods/duo'))?.status?.phase === 'Running', { ...WAIT, what: 'duo running' });
    const unnamed = await api.get('/api/v1/namespaces/default/pods/duo/log');
    assert.equal(unnamed.status, 400);
    assert.equal(unnamed.body.message, 'a container name must be specified for pod duo, choose one of: [web proxy]');
    const unknown = await api.get('/api/v1/namespaces/default/pods/duo/log?container=nope');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.message, 'container nope is not valid for pod duo');
    assert.equal((await api.get('/api/v1/namespaces/default/pods/duo/log?container=web&previous=true')).status, 400);
    assert.equal((await api.request('POST', '/api/v1/namespaces/default/pods/duo/log', {})).status, 405);
  });

  test('container, tailLines, timestamps and sinceSeconds select what a running container logged', async () => {
    const web = await api.get('/api/v1/namespaces/default/pods/duo/log?container=web');
    assert.equal(web.status, 200);
    assert.equal(
      web.text,
      '[sim] starting container web (image web:1) in pod default/duo on node sim-node-1\n[sim] container web is running (ports 8080/TCP)\n',
    );
    const proxy = await api.get('/api/v1/namespaces/default/pods/duo/log?container=proxy&tailLines=1&timestamps=true');
    assert.match(proxy.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \[sim\] container proxy is running\n$/);
    const recent = await api.get('/api/v1/namespaces/default/pods/duo/log?container=web&sinceSeconds=3600');
    assert.equal(recent.text, web.text);
    const limited = await api.get('/api/v1/namespaces/default/pods/duo/log?container=web&limitBytes=5');
    assert.equal(limited.text, '[sim]');
  });

  test('follow streams what is there, then new lines until the pod goes', async () => {
    const followed = await stream('/api/v1/namespaces/default/pods/duo/log?container=web&follow=true');
    assert.equal(followed.status, 200);
    await waitFor(() => followed.text().includes('is running'), { ...WAIT, what: 'the first lines' });
    assert.equal(followed.text().includes('SIGTERM'), false);
    const deleted = await api.delete('/api/v1/namespaces/default/pods/duo', { gracePeriodSeconds: 1 });
    assert.ok(deleted.status === 200 || deleted.status === 202, deleted.text);
    await followed.ended;
    assert.match(followed.text(), /\[sim\] container web is running \(ports 8080\/TCP\)\n\[sim\] received SIGTERM, shutting down \(grace period 1s\)\n$/);

    // A follow is ended like a watch: by the drop-watches fault (an API server restart), a removed cluster, shutdown.
    await api.post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'solo' },
      spec: { containers: [{ name: 'c', image: 'solo:1' }] },
    });
    await waitFor(async () => (await getBody('/api/v1/namespaces/default/pods/solo'))?.status?.phase === 'Running', { ...WAIT, what: 'solo running' });
    const dropped = await stream('/api/v1/namespaces/default/pods/solo/log?follow=true');
    await waitFor(() => dropped.text().includes('is running'), { ...WAIT, what: 'solo lines' });
    assert.ok(sim.faults.dropWatches('wl') >= 1);
    await dropped.ended;
    assert.equal(dropped.text(), '[sim] starting container c (image solo:1) in pod default/solo on node sim-node-1\n[sim] container c is running\n');
  });
});
