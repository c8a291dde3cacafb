import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type {
  AccountRecord,
  AccountState,
  CachedObject,
  CachingAssignment,
  KindRecord,
  OperationRecord,
  ReplicaRecord,
  TaskHistoryEntry,
  TaskRecord,
  TaskState,
} from './types.ts';
import {
  KEY_LENGTHS,
  type AccountsTable,
  type CachingAssignmentsTable,
  type HubReplicasTable,
  type ObjectsTable,
  type OperationsTable,
  type TasksTable,
} from './schema.ts';

/**
 * Row ↔ record mapping. Drivers differ in what they return for BIGINT (number, bigint or string), so
 * every numeric column goes through toNumber.
 */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * Cuts a descriptive value (an annotation-derived moniker, an error code) to its column's length.
 * SQLite would store any length, PostgreSQL and MySQL refuse the whole statement; cutting keeps the
 * engines alike and a long annotation from failing a batch. Never splits a surrogate pair.
 */
export function clampText<T extends string | null>(value: T, max: number): T {
  if (value === null || value.length <= max) return value;
  let cut = value.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut as T;
}

/**
 * The stored form of a client request id. Ids are chosen by clients; one longer than the column is
 * kept as its SHA-256, which still finds the same task for the same id.
 */
export function requestIdKey<T extends string | null>(requestId: T, max: number): T {
  if (requestId === null || requestId.length <= max) return requestId;
  return `sha256:${createHash('sha256').update(requestId).digest('hex')}` as T;
}

/** PostgreSQL text cannot hold NUL; messages come from agents and API servers. */
export function withoutNul<T extends string | null>(value: T): T {
  return value === null || !value.includes('\u0000') ? value : (value.replaceAll('\u0000', '\uFFFD') as T);
}

export function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function accountFromRow(row: Selectable<AccountsTable>): AccountRecord {
  return {
    ...accountStateFromRow(row),
    cluster: { apiServerHost: row.api_server_host, caFingerprint: row.ca_fingerprint, kubeSystemUid: row.kube_system_uid },
    kubernetesVersion: row.kubernetes_version,
    namespaces: parseJson<string[]>(row.namespaces, []),
    kinds: parseJson<KindRecord[]>(row.kinds, []),
    permissions: parseJson<Record<string, string[]>>(row.permissions, {}),
    properties: parseJson<Record<string, string>>(row.properties, {}),
    registeredAt: toNumber(row.registered_at),
  };
}

/** An account's state from the columns that hold it (accountFromRow adds the rest of the row). */
export function accountStateFromRow(
  row: Pick<Selectable<AccountsTable>, 'name' | 'status' | 'unreachable_reason' | 'hub_id' | 'agent_id' | 'last_seen_at'>,
): AccountState {
  return {
    name: row.name,
    status: row.status === 'connected' ? 'connected' : 'disconnected',
    ...(row.unreachable_reason ? { unreachableReason: row.unreachable_reason } : {}),
    hubId: row.hub_id,
    agentId: row.agent_id,
    lastSeenAt: toNumber(row.last_seen_at),
  };
}

/** A cached object from its row; the ingest's own column (epoch) is not needed. */
export function objectFromRow(row: Omit<Selectable<ObjectsTable>, 'epoch'>): CachedObject {
  return {
    account: row.account,
    group: row.api_group,
    version: row.version,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    resourceVersion: row.resource_version,
    body: row.body,
    application: row.application,
    cluster: row.cluster,
    createdAt: toNullableNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function taskFromRow(row: Selectable<TasksTable>): TaskRecord {
  return {
    id: row.id,
    requestId: row.request_id,
    account: row.account,
    operationType: row.operation_type,
    state: row.state as TaskState,
    history: parseJson<TaskHistoryEntry[]>(row.history, []),
    resultObjects: parseJson<unknown[]>(row.result_objects, []),
    request: parseJson<unknown>(row.request, null),
    createdBy: row.created_by ?? null,
    ownerHubId: row.owner_hub_id,
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

export function taskToRow(task: TaskRecord): TasksTable {
  return {
    id: task.id,
    request_id: requestIdKey(task.requestId, KEY_LENGTHS.requestId),
    account: task.account,
    operation_type: task.operationType,
    state: task.state,
    history: JSON.stringify(task.history),
    result_objects: JSON.stringify(task.resultObjects),
    request: JSON.stringify(task.request ?? null),
    created_by: requestIdKey(task.createdBy ?? null, KEY_LENGTHS.createdBy),
    owner_hub_id: task.ownerHubId,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  };
}

export function operationFromRow(row: Selectable<OperationsTable>): OperationRecord {
  return {
    id: row.id,
    taskId: row.task_id,
    account: row.account,
    type: row.type,
    status: row.status as OperationRecord['status'],
    httpStatus: toNullableNumber(row.http_status),
    errorCode: row.error_code,
    message: row.message,
    agentId: row.agent_id,
    receivedAt: toNumber(row.received_at),
    routedAt: toNullableNumber(row.routed_at),
    sentAt: toNullableNumber(row.sent_at),
    executedAt: toNullableNumber(row.executed_at),
    resultAt: toNullableNumber(row.result_at),
  };
}

const OPERATION_COLUMNS: Record<keyof OperationRecord, keyof OperationsTable> = {
  id: 'id',
  taskId: 'task_id',
  account: 'account',
  type: 'type',
  status: 'status',
  httpStatus: 'http_status',
  errorCode: 'error_code',
  message: 'message',
  agentId: 'agent_id',
  receivedAt: 'received_at',
  routedAt: 'routed_at',
  sentAt: 'sent_at',
  executedAt: 'executed_at',
  resultAt: 'result_at',
};

/** The columns a partial operation record sets; undefined fields are left alone. */
export function operationPatchToRow(patch: Partial<OperationRecord>): Partial<OperationsTable> {
  const row: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(patch)) {
    const column = OPERATION_COLUMNS[field as keyof OperationRecord];
    if (column === undefined || value === undefined) continue;
    if (column === 'message') row[column] = withoutNul(value as string | null);
    else if (column === 'error_code') row[column] = clampText(value as string | null, KEY_LENGTHS.errorCode);
    else row[column] = value;
  }
  return row as Partial<OperationsTable>;
}

export function replicaFromRow(row: Selectable<HubReplicasTable>): ReplicaRecord {
  return {
    hubId: row.hub_id,
    startedAt: toNumber(row.started_at),
    heartbeatAt: toNumber(row.heartbeat_at),
    restUrl: row.rest_url,
    grpcAddress: row.grpc_address,
  };
}

export function assignmentFromRow(row: Selectable<CachingAssignmentsTable>): CachingAssignment {
  return {
    account: row.account,
    hubId: row.hub_id,
    sessionId: row.session_id,
    agentId: row.agent_id,
    epoch: toNumber(row.epoch),
    leaseExpiresAt: toNumber(row.lease_expires_at),
  };
}
