import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../common/kube-object.ts';
import { containerLog, logOptionsFrom, logTimestamp, renderLine, selectLines, withinLimit } from './pod-logs.ts';
import { StatusError } from './status.ts';

const STARTED = '2025-03-01T10:00:00Z';
const FINISHED = '2025-03-01T10:00:05Z';

function pod(
  overrides: { containers?: unknown[]; statuses?: unknown[]; annotations?: Record<string, string>; labels?: Record<string, string>; deletion?: string } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-abc12',
      namespace: 'prod',
      ...(overrides.labels ? { labels: overrides.labels } : {}),
      ...(overrides.annotations ? { annotations: overrides.annotations } : {}),
      ...(overrides.deletion ? { deletionTimestamp: overrides.deletion, deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      nodeName: 'sim-node-1',
      containers: overrides.containers ?? [{ name: 'main', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] }],
    },
    status: {
      phase: 'Running',
      startTime: STARTED,
      containerStatuses: overrides.statuses ?? [{ name: 'main', state: { running: { startedAt: STARTED } } }],
    },
  };
}

const is400 = (pattern: RegExp) => (err: unknown) => err instanceof StatusError && err.code === 400 && pattern.test(err.message);

test('a running container logs its start, image, pod, node and ports; the same pod state gives the same lines', () => {
  const log = containerLog(pod(), undefined);
  assert.equal(log.container, 'main');
  assert.equal(log.finished, false);
  assert.deepEqual(
    log.lines.map((l) => l.text),
    ['[sim] starting container main (image nginx:1.27) in pod prod/web-abc12 on node sim-node-1', '[sim] container main is running (ports 80/TCP)'],
  );
  const start = Date.parse(STARTED);
  assert.deepEqual(
    log.lines.map((l) => l.time),
    [start, start + 1],
    'equal times are spread 1 ms apart',
  );
  assert.deepEqual(containerLog(pod(), 'main'), log);
});

test('a Job pod that succeeded or failed ends with its exit code and a job line; annotations add lines', () => {
  const job = (exitCode: number) =>
    pod({
      labels: { 'batch.kubernetes.io/job-name': 'pi' },
      annotations: { 'sim.scale-agent.io/log': 'SPINNAKER_PROPERTY_RESULT=3.14\nline two', 'sim.scale-agent.io/log.run': 'only run' },
      containers: [{ name: 'run', image: 'perl:5', command: ['perl', '-e'], args: ['print 1'] }],
      statuses: [
        { name: 'run', state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: STARTED, finishedAt: FINISHED } } },
      ],
    });
  const ok = containerLog(job(0), undefined);
  assert.equal(ok.finished, true);
  assert.deepEqual(
    ok.lines.map((l) => l.text),
    [
      '[sim] starting container run (image perl:5) in pod prod/web-abc12 on node sim-node-1',
      '[sim] command: perl -e print 1',
      'SPINNAKER_PROPERTY_RESULT=3.14',
      'line two',
      'only run',
      '[sim] container run terminated: Completed (exit code 0)',
      '[sim] job pi completed successfully',
    ],
  );
  assert.equal(ok.lines[5]!.time, Date.parse(FINISHED));
  const failed = containerLog(job(1), 'run');
  assert.deepEqual(
    failed.lines.slice(-2).map((l) => l.text),
    ['[sim] container run terminated: Error (exit code 1)', '[sim] job pi failed: exit code 1'],
  );
});

test('a pod being deleted logs SIGTERM and is finished', () => {
  const log = containerLog(pod({ deletion: '2025-03-01T10:01:30Z' }), undefined);
  assert.equal(log.finished, true);
  assert.equal(log.lines.at(-1)!.text, '[sim] received SIGTERM, shutting down (grace period 30s)');
  assert.equal(log.lines.at(-1)!.time, Date.parse('2025-03-01T10:01:00Z'));
});

test('container choice: required with several containers, unknown ones and waiting ones are 400', () => {
  const two = pod({
    containers: [
      { name: 'a', image: 'a' },
      { name: 'b', image: 'b' },
    ],
    statuses: [
      { name: 'a', state: { running: { startedAt: STARTED } } },
      { name: 'b', state: { waiting: { reason: 'ContainerCreating' } } },
    ],
  });
  assert.throws(() => containerLog(two, undefined), is400(/^a container name must be specified for pod web-abc12, choose one of: \[a b\]$/));
  assert.throws(() => containerLog(two, 'c'), is400(/^container c is not valid for pod web-abc12$/));
  assert.throws(() => containerLog(two, 'b'), is400(/^container "b" in pod "web-abc12" is waiting to start: ContainerCreating$/));
  assert.equal(containerLog(two, 'a').container, 'a');
  const pending = pod({ statuses: [] });
  assert.throws(() => containerLog(pending, undefined), is400(/is waiting to start: ContainerCreating/));
});

test('tailLines, sinceSeconds, sinceTime, timestamps and limitBytes', () => {
  const lines = [
    { time: Date.parse('2025-03-01T10:00:00Z'), text: 'one' },
    { time: Date.parse('2025-03-01T10:00:10Z'), text: 'two' },
    { time: Date.parse('2025-03-01T10:00:20Z'), text: 'three' },
  ];
  const now = Date.parse('2025-03-01T10:00:25Z');
  const select = (query: string) => selectLines(lines, logOptionsFrom(new URLSearchParams(query)), now).join('');
  assert.equal(select(''), 'one\ntwo\nthree\n');
  assert.equal(select('tailLines=2'), 'two\nthree\n');
  assert.equal(select('tailLines=0'), '');
  assert.equal(select('sinceSeconds=16'), 'two\nthree\n');
  assert.equal(select('sinceTime=2025-03-01T10:00:20Z'), 'three\n');
  assert.equal(select('timestamps=true&tailLines=1'), '2025-03-01T10:00:20.000000000Z three\n');
  assert.equal(logTimestamp(Date.parse('2025-03-01T10:00:20.123Z')), '2025-03-01T10:00:20.123000000Z');
  assert.equal(renderLine(lines[0]!, { timestamps: false }), 'one\n');
  assert.equal(withinLimit('abcdef', 0, 4), 'abcd');
  assert.equal(withinLimit('abcdef', 4, 4), '');
  assert.throws(
    () => logOptionsFrom(new URLSearchParams('tailLines=x')),
    (e: unknown) => e instanceof StatusError && e.code === 400,
  );
  assert.throws(
    () => logOptionsFrom(new URLSearchParams('tailLines=-1')),
    (e: unknown) => e instanceof StatusError && e.code === 422,
  );
  assert.throws(
    () => logOptionsFrom(new URLSearchParams('sinceSeconds=0')),
    (e: unknown) => e instanceof StatusError && e.code === 422,
  );
  assert.throws(
    () => logOptionsFrom(new URLSearchParams('sinceSeconds=5&sinceTime=2025-03-01T10:00:20Z')),
    (e: unknown) => e instanceof StatusError && e.code === 422,
  );
});
