import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { SessionRegistry } from './grpc/session-registry.ts';
import { HubMetrics, OTHER_CODE } from './hub-metrics.ts';
import type { ReplicaStatus } from './replicas/replica-liveness.ts';
import type { OperationOutcome } from './router/types.ts';
import type { AccountRecord } from './store/types.ts';

const NOW = 1_700_000_000_000;
const SECOND = 1000;

function lines(text: string, family: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `));
}

/** The sessions as the metrics read them: none, or one caching `cached` whose last message was at `heardAt`. */
function sessions(cached: Record<string, number> = {}): SessionRegistry {
  return {
    all: () => [],
    cachingSession: (account: string) => (account in cached ? { lastMessageAt: cached[account] } : undefined),
  } as unknown as SessionRegistry;
}

function outcome(errorCode: string | null, httpStatus: number): OperationOutcome {
  return {
    id: 'op',
    account: 'a',
    httpStatus,
    errorCode,
    message: '',
    body: null,
    written: [],
    timings: { receivedAt: NOW, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: null },
    cacheSynced: false,
  };
}

function account(name: string, overrides: Partial<AccountRecord> = {}): AccountRecord {
  return {
    name,
    cluster: { server: '', caFingerprint: '', kubeSystemUid: '' },
    kubernetesVersion: '',
    namespaces: [],
    kinds: [],
    permissions: {},
    properties: {},
    agentId: 'agent',
    hubId: 'hub-a',
    status: 'connected',
    registeredAt: NOW - 3600 * SECOND,
    lastSeenAt: NOW - 3600 * SECOND,
    ...overrides,
  } as AccountRecord;
}

test('operations are timed by type and result; failures are counted by code, unknown codes as OTHER', async () => {
  const registry = new Registry();
  const metrics = new HubMetrics(registry, sessions());
  metrics.operationFinished('apply', outcome(null, 200), 0.2);
  metrics.operationFinished('apply', outcome('OPERATION_DEADLINE_EXCEEDED', 0), 30);
  metrics.operationFinished('delete', outcome('made up by an agent', 500), 0.01);
  const text = await registry.metrics();
  assert.ok(
    lines(text, 'scale_agent_hub_operation_duration_seconds_count').includes(
      'scale_agent_hub_operation_duration_seconds_count{type="apply",result="success"} 1',
    ),
  );
  assert.ok(
    lines(text, 'scale_agent_hub_operation_duration_seconds_count').includes(
      'scale_agent_hub_operation_duration_seconds_count{type="apply",result="failure"} 1',
    ),
  );
  assert.deepEqual(lines(text, 'scale_agent_hub_operation_failures_total'), [
    'scale_agent_hub_operation_failures_total{type="apply",code="OPERATION_DEADLINE_EXCEEDED"} 1',
    `scale_agent_hub_operation_failures_total{type="delete",code="${OTHER_CODE}"} 1`,
  ]);
});

test('tasks are timed by operation and result; REST requests by method, route template and status class', async () => {
  const registry = new Registry();
  const metrics = new HubMetrics(registry, sessions());
  metrics.taskFinished('deployManifest', 'completed', 1.5);
  metrics.requestServed('GET', '/applications/:application', 200, 0.003);
  metrics.requestServed('GET', '/applications/:application', 404, 0.001);
  const text = await registry.metrics();
  assert.deepEqual(lines(text, 'scale_agent_hub_task_duration_seconds_count'), [
    'scale_agent_hub_task_duration_seconds_count{operation="deployManifest",result="completed"} 1',
  ]);
  assert.deepEqual(lines(text, 'scale_agent_hub_http_request_duration_seconds_count'), [
    'scale_agent_hub_http_request_duration_seconds_count{method="GET",route="/applications/:application",status_class="2xx"} 1',
    'scale_agent_hub_http_request_duration_seconds_count{method="GET",route="/applications/:application",status_class="4xx"} 1',
  ]);
});

test('accounts by status, their freshness and the replicas are read at scrape time', async () => {
  const registry = new Registry();
  let now = NOW;
  const metrics = new HubMetrics(registry, sessions({ cached: NOW - 4 * SECOND }), () => now);
  const rows = [
    account('cached'),
    account('unreachable', { unreachableReason: 'connection refused', lastSeenAt: NOW - 60 * SECOND }),
    account('gone', { status: 'disconnected', hubId: null, lastSeenAt: NOW - 120 * SECOND }),
    account('elsewhere', { hubId: 'hub-b' }),
  ];
  const replicas = [{ live: true }, { live: true }, { live: false }] as ReplicaStatus[];
  metrics.watchAccounts(registry, { hubId: 'hub-a', listAccountStates: async () => rows, listReplicas: async () => replicas, now: () => now });
  metrics.batchCommitted('cached', 10, 2);
  now = NOW + 1 * SECOND;
  const text = await registry.metrics();
  assert.deepEqual(lines(text, 'scale_agent_hub_accounts'), [
    'scale_agent_hub_accounts{status="connected"} 2',
    'scale_agent_hub_accounts{status="unreachable"} 1',
    'scale_agent_hub_accounts{status="disconnected"} 1',
  ]);
  assert.deepEqual(lines(text, 'scale_agent_hub_account_freshness_seconds'), [
    'scale_agent_hub_account_freshness_seconds{account="cached"} 1',
    'scale_agent_hub_account_freshness_seconds{account="unreachable"} 61',
    'scale_agent_hub_account_freshness_seconds{account="gone"} 121',
  ]);
  assert.deepEqual(lines(text, 'scale_agent_hub_replicas'), ['scale_agent_hub_replicas{state="live"} 2', 'scale_agent_hub_replicas{state="dead"} 1']);
});

test('a database that does not answer empties the account gauges for that scrape and fails nothing else', async () => {
  const registry = new Registry();
  const metrics = new HubMetrics(registry, sessions());
  const down = async (): Promise<never> => {
    throw new Error('connection refused');
  };
  metrics.watchAccounts(registry, { hubId: 'hub-a', listAccountStates: down, listReplicas: down });
  const text = await registry.metrics();
  assert.deepEqual(lines(text, 'scale_agent_hub_account_freshness_seconds'), []);
  assert.deepEqual(lines(text, 'scale_agent_hub_replicas'), []);
  assert.deepEqual(lines(text, 'scale_agent_hub_agent_sessions'), ['scale_agent_hub_agent_sessions 0']);
});
