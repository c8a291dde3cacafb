import { create } from '@bufbuild/protobuf';
import {
  ApplyStrategy as WireApplyStrategy,
  OperationSchema,
  PatchType as WirePatchType,
  type Operation,
  type OperationResult,
  type ResourceTarget as WireTarget,
} from '../../protocol/index.ts';
import type { ApplyStrategy, OperationOutcome, OperationRequest, PatchType, ResourceTarget } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const APPLY_STRATEGIES: Record<ApplyStrategy, WireApplyStrategy> = {
  'client-side': WireApplyStrategy.UNSPECIFIED,
  'server-side': WireApplyStrategy.SERVER_SIDE,
  replace: WireApplyStrategy.REPLACE,
  create: WireApplyStrategy.CREATE,
  recreate: WireApplyStrategy.RECREATE,
};

const PATCH_TYPES: Record<PatchType, WirePatchType> = {
  strategic: WirePatchType.STRATEGIC,
  merge: WirePatchType.MERGE,
  json: WirePatchType.JSON,
};

function target(t: ResourceTarget): WireTarget {
  return { $typeName: 'scaleagent.v1.ResourceTarget', group: t.group, version: t.version, kind: t.kind, namespace: t.namespace, name: t.name };
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** The wire form of an operation the REST layer asked for. */
export function encodeOperation(id: string, account: string, deadlineUnixMs: number, request: OperationRequest): Operation {
  const base = { id, account, deadlineUnixMs: BigInt(deadlineUnixMs) };
  switch (request.type) {
    case 'apply':
      return create(OperationSchema, {
        ...base,
        request: {
          case: 'apply',
          value: {
            manifest: json(request.manifest),
            strategy: APPLY_STRATEGIES[request.strategy],
            fieldManager: request.fieldManager ?? '',
            forceConflicts: request.forceConflicts ?? false,
          },
        },
      });
    case 'delete':
      return create(OperationSchema, {
        ...base,
        request: {
          case: 'delete',
          value: {
            target: target(request.target),
            labelSelector: request.labelSelector ?? '',
            propagationPolicy: request.propagationPolicy ?? '',
            ...(request.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: BigInt(request.gracePeriodSeconds) } : {}),
            waitForDeletion: request.waitForDeletion,
          },
        },
      });
    case 'patch':
      return create(OperationSchema, {
        ...base,
        request: { case: 'patch', value: { target: target(request.target), type: PATCH_TYPES[request.patchType], patch: json(request.patch) } },
      });
    case 'get':
      return create(OperationSchema, { ...base, request: { case: 'get', value: { target: target(request.target) } } });
    case 'list':
      return create(OperationSchema, {
        ...base,
        request: {
          case: 'list',
          value: { target: target(request.target), labelSelector: request.labelSelector ?? '', fieldSelector: request.fieldSelector ?? '' },
        },
      });
    case 'scale':
      return create(OperationSchema, { ...base, request: { case: 'scale', value: { target: target(request.target), replicas: request.replicas } } });
    case 'logs':
      return create(OperationSchema, {
        ...base,
        request: { case: 'logs', value: { target: target(request.target), container: request.container ?? '', tailLines: BigInt(request.tailLines ?? 0) } },
      });
  }
}

function parseBody(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return null;
  const text = decoder.decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function ms(value: bigint | undefined): number | null {
  return value === undefined || value === 0n ? null : Number(value);
}

/** The REST layer's view of an agent's result. */
export function decodeResult(result: OperationResult, timings: Pick<OperationOutcome['timings'], 'receivedAt' | 'routedAt' | 'sentAt'>): OperationOutcome {
  return {
    id: result.id,
    account: result.account,
    httpStatus: result.httpStatus,
    errorCode: result.errorCode === '' ? null : result.errorCode,
    message: result.message,
    body: parseBody(result.body),
    written: result.written.map((w) => ({
      group: w.group,
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      uid: w.uid,
      resourceVersion: w.resourceVersion,
      deleted: w.deleted,
    })),
    timings: {
      ...timings,
      startedAt: ms(result.timings?.startedUnixMs),
      finishedAt: ms(result.timings?.finishedUnixMs),
      syncedAt: ms(result.timings?.syncedUnixMs),
      resultAt: Date.now(),
    },
    cacheSynced: result.cacheSynced,
  };
}
