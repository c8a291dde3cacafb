import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../common/kube-object.ts';
import { manifestStatus, UnstableReason } from './stability.ts';

function deployment(spec: object, status?: object, generation = 1): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation }, spec, ...(status ? { status } : {}) };
}

const stable = { state: true, message: '' };

describe('manifestStatus', () => {
  test('no status reported', () => {
    for (const [group, kind] of [
      ['apps', 'Deployment'],
      ['apps', 'ReplicaSet'],
      ['apps', 'DaemonSet'],
      ['batch', 'Job'],
      ['', 'Pod'],
      ['autoscaling', 'HorizontalPodAutoscaler'],
      ['batch', 'CronJob'],
    ] as const) {
      const s = manifestStatus(group, kind, { kind, metadata: { name: 'x' }, spec: {} });
      assert.deepEqual(s.stable, { state: false, message: 'No status reported yet' }, kind);
      assert.deepEqual(s.available, { state: false, message: 'No availability reported' }, kind);
    }
  });

  test('Deployment', () => {
    const full = { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 };
    assert.deepEqual(manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, full)), {
      stable,
      paused: { state: false, message: '' },
      available: stable,
      failed: { state: false, message: '' },
    });
    assert.deepEqual(manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, { ...full, observedGeneration: 0 }, 1)).stable, {
      state: false,
      message: UnstableReason.OLD_GENERATION,
    });
    assert.equal(
      manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, { ...full, updatedReplicas: 1 })).stable.message,
      'Waiting for all replicas to be updated',
    );
    assert.equal(
      manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, { ...full, replicas: 3 })).stable.message,
      'Waiting for old replicas to finish termination',
    );
    assert.equal(
      manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, { ...full, availableReplicas: 1 })).stable.message,
      'Waiting for all replicas to be available',
    );
    assert.equal(
      manifestStatus('apps', 'Deployment', deployment({ replicas: 2 }, { ...full, readyReplicas: 1 })).stable.message,
      'Waiting for all replicas to be ready',
    );
    const paused = manifestStatus(
      'apps',
      'Deployment',
      deployment(
        { replicas: 2 },
        { ...full, conditions: [{ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }] },
      ),
    );
    assert.deepEqual(paused.paused, { state: true, message: 'Deployment is paused' });
    assert.deepEqual(paused.stable, stable);
    const unavailable = manifestStatus(
      'apps',
      'Deployment',
      deployment({ replicas: 2 }, { ...full, conditions: [{ type: 'Available', status: 'False', message: 'Deployment does not have minimum availability.' }] }),
    );
    assert.deepEqual(unavailable.available, { state: false, message: 'Deployment does not have minimum availability.' });
    assert.deepEqual(unavailable.stable, { state: false, message: 'Deployment does not have minimum availability.' });
    const deadline = manifestStatus(
      'apps',
      'Deployment',
      deployment({ replicas: 2 }, { ...full, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }),
    );
    assert.deepEqual(deadline.failed, { state: true, message: 'Deployment exceeded its progress deadline' });
    assert.equal(deadline.stable.message, 'Waiting for all replicas to be updated');
  });

  test('ReplicaSet', () => {
    const rs = (status: object, generation = 1): KubeObject => ({ kind: 'ReplicaSet', metadata: { name: 'r', generation }, spec: { replicas: 2 }, status });
    const full = { observedGeneration: 1, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
    assert.deepEqual(manifestStatus('apps', 'ReplicaSet', rs(full)).stable, stable);
    assert.deepEqual(manifestStatus('apps', 'ReplicaSet', rs({ ...full, fullyLabeledReplicas: 1 })).available, {
      state: false,
      message: 'Waiting for all replicas to be fully-labeled',
    });
    assert.equal(manifestStatus('apps', 'ReplicaSet', rs({ ...full, readyReplicas: 1 })).stable.message, 'Waiting for all replicas to be ready');
    assert.equal(manifestStatus('apps', 'ReplicaSet', rs({ ...full, availableReplicas: 1 })).stable.message, 'Waiting for all replicas to be available');
    assert.equal(manifestStatus('apps', 'ReplicaSet', rs(full, 2)).stable.message, 'Waiting for replicaset spec update to be observed');
  });

  test('StatefulSet', () => {
    const sts = (spec: object, status: object): KubeObject => ({
      kind: 'StatefulSet',
      metadata: { name: 's', generation: 1 },
      spec: { replicas: 2, ...spec },
      status: { observedGeneration: 1, ...status },
    });
    const full = { replicas: 2, readyReplicas: 2, currentReplicas: 2, currentRevision: 'a', updateRevision: 'a' };
    assert.deepEqual(manifestStatus('apps', 'StatefulSet', sts({ updateStrategy: { type: 'OnDelete' } }, { replicas: 0 })).stable, stable);
    assert.deepEqual(manifestStatus('apps', 'StatefulSet', sts({}, full)).stable, stable);
    assert.equal(
      manifestStatus('apps', 'StatefulSet', sts({}, { ...full, replicas: 1 })).stable.message,
      'Waiting for at least the desired replica count to be met',
    );
    assert.equal(manifestStatus('apps', 'StatefulSet', sts({}, { ...full, readyReplicas: 1 })).stable.message, 'Waiting for all updated replicas to be ready');
    assert.equal(
      manifestStatus('apps', 'StatefulSet', sts({}, { ...full, currentReplicas: 1 })).stable.message,
      'Waiting for all updated replicas to be scheduled',
    );
    assert.equal(
      manifestStatus('apps', 'StatefulSet', sts({}, { ...full, updateRevision: 'b' })).stable.message,
      'Waiting for the updated revision to match the current revision',
    );
    const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } };
    assert.equal(
      manifestStatus('apps', 'StatefulSet', sts(partitioned, { ...full, updatedReplicas: 0 })).stable.message,
      'Waiting for partitioned roll out to finish',
    );
    assert.deepEqual(manifestStatus('apps', 'StatefulSet', sts(partitioned, { ...full, updatedReplicas: 1, updateRevision: 'b' })).stable, {
      state: true,
      message: 'Partitioned roll out complete',
    });
  });

  test('DaemonSet', () => {
    const ds = (status: object, strategy = 'RollingUpdate'): KubeObject => ({
      kind: 'DaemonSet',
      metadata: { name: 'd', generation: 1 },
      spec: { updateStrategy: { type: strategy } },
      status: { observedGeneration: 1, ...status },
    });
    const full = { desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3 };
    assert.deepEqual(manifestStatus('apps', 'DaemonSet', ds(full)).stable, stable);
    assert.deepEqual(manifestStatus('apps', 'DaemonSet', ds({ desiredNumberScheduled: 3 }, 'OnDelete')).stable, stable);
    assert.equal(manifestStatus('apps', 'DaemonSet', ds({ ...full, currentNumberScheduled: 2 })).stable.message, 'Waiting for all replicas to be scheduled');
    assert.equal(
      manifestStatus('apps', 'DaemonSet', ds({ ...full, updatedNumberScheduled: 2 })).stable.message,
      'Waiting for all updated replicas to be scheduled',
    );
    assert.equal(manifestStatus('apps', 'DaemonSet', ds({ ...full, numberAvailable: 2 })).stable.message, 'Waiting for all replicas to be available');
    assert.equal(manifestStatus('apps', 'DaemonSet', ds({ ...full, numberReady: 2 })).stable.message, 'Waiting for all replicas to be ready');
    assert.equal(manifestStatus('apps', 'DaemonSet', ds({ ...full, observedGeneration: 0 })).stable.message, UnstableReason.OLD_GENERATION);
  });

  test('Job', () => {
    const job = (spec: object, status: object): KubeObject => ({ kind: 'Job', metadata: { name: 'j' }, spec, status });
    assert.deepEqual(manifestStatus('batch', 'Job', job({}, { succeeded: 1 })).stable, stable);
    assert.equal(manifestStatus('batch', 'Job', job({ completions: 2 }, { succeeded: 1 })).stable.message, 'Waiting for jobs to finish');
    const failed = manifestStatus(
      'batch',
      'Job',
      job({}, { conditions: [{ type: 'Failed', status: 'True', message: 'Job has reached the specified backoff limit' }] }),
    );
    assert.deepEqual(failed.failed, { state: true, message: 'Job has reached the specified backoff limit' });
    assert.deepEqual(failed.stable, stable);
  });

  test('Pod, HPA, CronJob and everything else', () => {
    const pod = (phase?: string): KubeObject => ({ kind: 'Pod', metadata: { name: 'p' }, status: phase ? { phase } : {} });
    assert.deepEqual(manifestStatus('', 'Pod', pod('Running')).stable, stable);
    assert.deepEqual(manifestStatus('', 'Pod', pod('Succeeded')).stable, stable);
    assert.deepEqual(manifestStatus('', 'Pod', pod('Pending')).available, { state: false, message: 'Pod is pending' });
    assert.equal(manifestStatus('', 'Pod', pod('Failed')).stable.message, 'Pod has failed');
    assert.equal(manifestStatus('', 'Pod', pod()).stable.message, 'Pod phase is unknown');
    const hpa = (desiredReplicas: number, currentReplicas: number): KubeObject => ({
      kind: 'HorizontalPodAutoscaler',
      status: { desiredReplicas, currentReplicas },
    });
    assert.equal(
      manifestStatus('autoscaling', 'HorizontalPodAutoscaler', hpa(3, 2)).stable.message,
      'Waiting for HPA to complete a scale up, current: 2 desired: 3',
    );
    assert.equal(
      manifestStatus('autoscaling', 'HorizontalPodAutoscaler', hpa(1, 2)).stable.message,
      'Waiting for HPA to complete a scale down, current: 2 desired: 1',
    );
    assert.deepEqual(manifestStatus('autoscaling', 'HorizontalPodAutoscaler', hpa(2, 2)).stable, stable);
    assert.deepEqual(manifestStatus('batch', 'CronJob', { kind: 'CronJob', status: {} }).stable, stable);
    assert.deepEqual(manifestStatus('', 'Service', { kind: 'Service', spec: { type: 'LoadBalancer' } }).stable, stable);
    assert.deepEqual(manifestStatus('example.com', 'Widget', { kind: 'Widget' }).stable, stable);
  });
});

test('every condition carries a message, "" when there is none (go-clouddriver\'s shape)', () => {
  const withoutRule = manifestStatus('example.com', 'Widget', { kind: 'Widget', metadata: { name: 'w' } });
  assert.deepEqual(withoutRule, {
    stable: { state: true, message: '' },
    paused: { state: false, message: '' },
    available: { state: true, message: '' },
    failed: { state: false, message: '' },
  });
  const failedJob = manifestStatus('batch', 'Job', {
    kind: 'Job',
    metadata: { name: 'j' },
    spec: {},
    status: { succeeded: 0, conditions: [{ type: 'Failed', status: 'True' }] },
  });
  assert.deepEqual(failedJob.failed, { state: true, message: '' });
  for (const c of Object.values(failedJob)) assert.equal(typeof c.message, 'string');
});
