import type { KubeObject } from '../../common/kube-object.ts';
import type { ObjectKey } from '../../common/object-key.ts';

/**
 * Kubernetes-level operations the hub asks an agent to run. The Spinnaker layer (src/hub/api) turns
 * Orca's descriptions into these; the router carries them to the agent holding the account.
 *
 * What an operation acts on: an object's key, whose name is empty with a label selector (every
 * matching object), and the version to use.
 */
export interface ResourceTarget extends ObjectKey {
  /** Empty: the agent uses the preferred version it discovered. */
  version: string;
}

export type ApplyStrategy = 'client-side' | 'server-side' | 'replace' | 'create' | 'recreate';
export type PatchType = 'strategic' | 'merge' | 'json';

export type OperationRequest =
  | { type: 'apply'; manifest: KubeObject; strategy: ApplyStrategy; fieldManager?: string; forceConflicts?: boolean }
  | {
      type: 'delete';
      target: ResourceTarget;
      labelSelector?: string;
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      gracePeriodSeconds?: number;
      waitForDeletion: boolean;
    }
  | { type: 'patch'; target: ResourceTarget; patchType: PatchType; patch: unknown }
  | { type: 'get'; target: ResourceTarget }
  | { type: 'list'; target: ResourceTarget; labelSelector?: string; fieldSelector?: string }
  | { type: 'scale'; target: ResourceTarget; replicas: number }
  | { type: 'logs'; target: ResourceTarget; container?: string; tailLines?: number };

/** An object an operation wrote or deleted, at the resourceVersion the API server gave it. */
export interface WrittenObject extends ObjectKey {
  uid: string;
  resourceVersion: string;
  deleted: boolean;
}

export interface OperationTimings {
  receivedAt: number;
  routedAt: number | null;
  sentAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  syncedAt: number | null;
  resultAt: number | null;
}

export interface OperationOutcome {
  id: string;
  account: string;
  /** The API server's HTTP status; 0 when none came (agent gone, deadline, transport error). */
  httpStatus: number;
  /** Set when the operation failed: a stable code such as KUBE_API_ERROR, OPERATION_DEADLINE_EXCEEDED. */
  errorCode: string | null;
  message: string;
  /** Parsed response body: the object written, a Status, a list, or log text. */
  body: unknown;
  written: WrittenObject[];
  timings: OperationTimings;
  /** True when the written objects were in the hub's cache before the result arrived. */
  cacheSynced: boolean;
}

export interface ExecuteOptions {
  taskId?: string;
  /** Default: the hub's configured operation timeout (30 s). */
  timeoutMs?: number;
}

/** Where the router reports every operation it finished, from receipt to outcome (the hub's metrics). */
export interface OperationObserver {
  operationFinished(type: OperationRequest['type'], outcome: OperationOutcome, seconds: number): void;
}

export interface OperationRouter {
  /** Runs one operation through the agent holding the account. Never rejects: failures are outcomes. */
  execute(account: string, request: OperationRequest, options?: ExecuteOptions): Promise<OperationOutcome>;
  /** Whether an agent session currently serves the account. */
  isConnected(account: string): boolean;
}

/**
 * Where the router sends an operation whose account no session of this replica serves but another
 * replica's may (the operation relay, src/hub/relay).
 */
export interface OperationForwarder {
  /** Whether another replica may serve the account now; only then is an operation forwarded. */
  servedElsewhere(account: string): Promise<boolean>;
  /** Forwards the operation and waits for its outcome. Never rejects: failures are outcomes. */
  submit(id: string, account: string, request: OperationRequest, deadlineAt: number, receivedAt: number): Promise<OperationOutcome>;
}

/** An operation another replica forwarded here, as the relay hands it to this replica's router. */
export interface ForwardedOperation {
  id: string;
  account: string;
  deadlineAt: number;
}

/** What the relay asks of the router of the replica that claimed a forwarded operation. */
export interface ForwardedOperationRunner {
  /** 'caching' when a session here caches the account, 'standby' when sessions here only serve it, undefined when none does. */
  serves(account: string): 'caching' | 'standby' | undefined;
  /**
   * Runs the operation on a session of this replica. `beforeSend` is called just before the operation
   * is handed to the agent and must return true (the claim still holds): 'no-session' when no session
   * serves the account any more, 'claim-lost' when `beforeSend` said no. Never rejects.
   */
  runClaimed(op: ForwardedOperation, request: OperationRequest, beforeSend: () => Promise<boolean>): Promise<OperationOutcome | 'no-session' | 'claim-lost'>;
}
