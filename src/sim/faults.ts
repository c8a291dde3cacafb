import type { KubeObject } from '../common/kube-object.ts';
import type { DeleteResult } from './cluster-api.ts';
import { createDefinition, deleteDefinition } from './faults-crd.ts';
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_REVOKED_VERBS,
  FAULT_VERBS,
  errorFaultFrom,
  latencyFrom,
  revokeFrom,
  type CrdRequest,
  type ErrorFaultRequest,
  type FaultStatus,
  type FaultVerb,
  type LatencyFault,
} from './faults-input.ts';
import { boolParam } from './request-options.ts';
import { parseResourcePath, type ResourcePath } from './request-path.ts';
import type { SimCluster } from './sim-cluster.ts';
import { internalError, StatusError, type StatusReason } from './status.ts';

export {
  FAULT_VERBS,
  FAULT_STATUSES,
  type CrdRequest,
  type ErrorFaultRequest,
  type FaultStatus,
  type FaultVerb,
  type LatencyFault,
  type RevokeRequest,
} from './faults-input.ts';

/**
 * Fault injection: the ways a real API server misbehaves that a client must survive, switched on per
 * cluster from the admin API (/sim/clusters/{name}/faults/...) or in-process from benchmarks (sim.faults).
 *
 * Every cluster API request passes through `beforeRequest` after authentication and before it is served.
 * There, in this order:
 *   1. latency: the request waits `ms` (+ up to `jitterMs`) — every request, discovery included, as a slow
 *      or distant API server would be; for a watch the wait is before the response starts;
 *   2. error budgets: the next N matching resource requests get 500/429/503 (discovery, /version, /openapi
 *      and health are never counted: they are not resource requests, and clients treat them differently);
 *      priority-and-fairness throttling runs before authorization in the real server, so this comes first;
 *   3. revocations: requests whose verb was revoked on their resource get 403 Forbidden, worded like RBAC's.
 * One-shot faults act at once: dropping every watch, compacting history, and (with `revoke`) ending the
 * watches on a resource. State is per cluster, and a cluster without faults costs one Map lookup.
 */
export interface FaultRequest {
  cluster: SimCluster;
  method: string;
  /** Path segments below /clusters/<name>. */
  segments: string[];
  query: URLSearchParams;
}

/** A cluster, or its name when the injector was given a way to look clusters up (the sim's own injector is). */
export type ClusterRef = SimCluster | string;

export interface ErrorBudget {
  status: FaultStatus;
  remaining: number;
  retryAfterSeconds?: number;
  verbs: FaultVerb[];
}

export interface Revocation {
  group: string;
  resource: string;
  verbs: FaultVerb[];
}

/** What is in force on a cluster now (GET /sim/clusters/{name}/faults). */
export interface ActiveFaults {
  /** ms 0 and jitterMs 0 mean no added latency. */
  latency: LatencyFault;
  /** Pending error budgets, oldest (used first) first. */
  errors: ErrorBudget[];
  revoked: Revocation[];
}

/** The identity RBAC errors name; any bearer token the sim accepts authenticates as this user. */
export const SIM_USER = 'sim-user';

const REASONS: Record<FaultStatus, StatusReason> = { 500: 'InternalError', 429: 'TooManyRequests', 503: 'ServiceUnavailable' };
/** Statuses a client is told when to retry: the apiserver sends Retry-After with throttling and unavailability. */
const RETRYABLE_STATUSES = new Set<FaultStatus>([429, 503]);

interface PendingDelay {
  release(): void;
}

interface ClusterFaults {
  latency: LatencyFault;
  errors: ErrorBudget[];
  /** group/resource → revoked verbs. */
  revoked: Map<string, Set<FaultVerb>>;
  /** Requests waiting out the latency, released early when the latency is cleared. */
  delayed: Set<PendingDelay>;
}

/** The verb the apiserver's authorizer would see for a resource request, or undefined for other methods. */
export function requestVerb(method: string, path: ResourcePath, query: URLSearchParams): FaultVerb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (path.name !== undefined) return 'get';
      return boolParam(query, 'watch') ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return path.name === undefined ? 'deletecollection' : 'delete';
    default:
      return undefined;
  }
}

function revocationKey(group: string, resource: string): string {
  return `${group}/${resource}`;
}

/** The 403 RBAC returns, e.g. `deployments.apps is forbidden: User "sim-user" cannot list resource "deployments" in API group "apps" at the cluster scope`. */
export function forbidden(verb: FaultVerb, group: string, path: Pick<ResourcePath, 'namespace' | 'name' | 'subresource'> & { resource: string }): StatusError {
  const qualified = group === '' ? path.resource : `${path.resource}.${group}`;
  const subject = path.name === undefined ? qualified : `${qualified} "${path.name}"`;
  const resource = path.subresource === undefined ? path.resource : `${path.resource}/${path.subresource}`;
  const scope = path.namespace === undefined ? 'at the cluster scope' : `in the namespace "${path.namespace}"`;
  return new StatusError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${SIM_USER}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
    {
      ...(path.name !== undefined ? { name: path.name } : {}),
      group,
      kind: path.resource,
    },
  );
}

function injectedError(budget: ErrorBudget): StatusError {
  const details = budget.retryAfterSeconds !== undefined ? { retryAfterSeconds: budget.retryAfterSeconds } : undefined;
  switch (budget.status) {
    case 500:
      return new StatusError(500, REASONS[500], internalError('fault injected by the sim').message, details);
    case 429:
      // The message priority-and-fairness sends when it rejects a request.
      return new StatusError(429, REASONS[429], 'Too many requests, please try again later.', details);
    case 503:
      return new StatusError(503, REASONS[503], 'The server is currently unable to handle the request (fault injected by the sim)', details);
  }
}

function matches(verbs: readonly FaultVerb[], verb: FaultVerb): boolean {
  return verbs.includes(verb);
}

export class FaultInjector {
  private readonly states = new Map<SimCluster, ClusterFaults>();

  /** `lookup` lets callers name clusters by string; without it they must pass the SimCluster. */
  constructor(private readonly lookup?: (name: string) => SimCluster | undefined) {}

  /** Returns an error to answer with instead of serving the request, or undefined to serve it. */
  async beforeRequest(request: FaultRequest): Promise<StatusError | undefined> {
    const { cluster } = request;
    let state = this.states.get(cluster);
    if (state === undefined) return undefined;
    const { ms, jitterMs } = state.latency;
    if (ms > 0 || jitterMs > 0) {
      await this.wait(state, ms + Math.random() * jitterMs);
      // Faults may have changed (or been cleared) while the request waited: what holds now applies.
      state = this.states.get(cluster);
      if (state === undefined) return undefined;
    }
    const path = parseResourcePath(request.segments);
    if (path === undefined) return undefined;
    const verb = requestVerb(request.method, path, request.query);
    if (verb === undefined) return undefined;

    const budget = state.errors.find((b) => matches(b.verbs, verb));
    if (budget !== undefined) {
      budget.remaining--;
      if (budget.remaining <= 0) state.errors.splice(state.errors.indexOf(budget), 1);
      this.prune(cluster, state);
      return injectedError(budget);
    }
    if (state.revoked.size > 0) {
      // Revocations name the canonical plural; map whatever alias the URL used onto it.
      const type = cluster.store.registry.lookup(path.group, path.version, path.resource);
      const resource = type?.plural ?? path.resource;
      if (state.revoked.get(revocationKey(path.group, resource))?.has(verb)) return forbidden(verb, path.group, { ...path, resource });
    }
    return undefined;
  }

  /** Ends every open watch on the cluster cleanly, as an API server restart would; returns how many. */
  dropWatches(cluster: ClusterRef): number {
    return this.resolve(cluster).dropWatches();
  }

  /** Forgets the cluster's event history: watches and continues from an older resourceVersion get 410. */
  compact(cluster: ClusterRef): number {
    const target = this.resolve(cluster);
    target.compact();
    return target.resourceVersion;
  }

  /** Delays every later API request of the cluster by ms plus up to jitterMs; 0 and 0 clear it (and release waiting requests). */
  setLatency(cluster: ClusterRef, ms: number, jitterMs = 0): ActiveFaults {
    const latency = latencyFrom({ ms, jitterMs });
    const target = this.resolve(cluster);
    const state = this.state(target);
    state.latency = latency;
    if (latency.ms === 0 && latency.jitterMs === 0) this.release(state);
    this.prune(target, state);
    return this.active(target);
  }

  /**
   * Answers the next `count` matching requests with `status`. Budgets add up: each call queues another one,
   * and a request uses up the oldest budget whose verbs include its verb.
   */
  failNext(cluster: ClusterRef, fault: ErrorFaultRequest): ActiveFaults {
    const checked = errorFaultFrom(fault);
    const target = this.resolve(cluster);
    const retryAfterSeconds = checked.retryAfterSeconds ?? (RETRYABLE_STATUSES.has(checked.status) ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
    this.state(target).errors.push({
      status: checked.status,
      remaining: checked.count,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      verbs: checked.verbs ?? [...FAULT_VERBS],
    });
    return this.active(target);
  }

  /**
   * Forbids `verbs` (default list and watch) on a resource, in every namespace and at the cluster scope.
   * The resource need not exist yet (a CRD's kind can be revoked before it is created). When watch is
   * among the verbs, the open watches on the resource end now, so watching clients notice at once (their
   * next watch is refused); the real server would only refuse the next request.
   */
  revoke(cluster: ClusterRef, group: string, resource: string, verbs?: FaultVerb[]): ActiveFaults {
    const checked = revokeFrom({ group, resource, ...(verbs !== undefined ? { verbs } : {}) });
    const target = this.resolve(cluster);
    const key = revocationKey(checked.group, checked.resource);
    const state = this.state(target);
    let revoked = state.revoked.get(key);
    if (revoked === undefined) state.revoked.set(key, (revoked = new Set()));
    const added = checked.verbs ?? DEFAULT_REVOKED_VERBS;
    for (const verb of added) revoked.add(verb);
    if (added.includes('watch')) target.store.watches.closeAll(key);
    return this.active(target);
  }

  /** Lifts a revocation: the given verbs, or all revoked verbs on the resource when none are given. Lifting what is not revoked is a no-op. */
  restore(cluster: ClusterRef, group: string, resource: string, verbs?: FaultVerb[]): ActiveFaults {
    const checked = revokeFrom({ group, resource, ...(verbs !== undefined ? { verbs } : {}) });
    const target = this.resolve(cluster);
    const state = this.states.get(target);
    if (state !== undefined) {
      const key = revocationKey(checked.group, checked.resource);
      const revoked = state.revoked.get(key);
      if (revoked !== undefined) {
        if (checked.verbs === undefined) revoked.clear();
        else for (const verb of checked.verbs) revoked.delete(verb);
        if (revoked.size === 0) state.revoked.delete(key);
      }
      this.prune(target, state);
    }
    return this.active(target);
  }

  /** Lifts every fault of the cluster; requests waiting out a latency go on at once. Also used when a cluster is removed. */
  clear(cluster: ClusterRef): ActiveFaults {
    const target = this.resolve(cluster);
    const state = this.states.get(target);
    if (state !== undefined) {
      this.states.delete(target);
      this.release(state);
    }
    return this.active(target);
  }

  /** Lifts every fault of every cluster (shutdown). */
  clearAll(): void {
    for (const cluster of [...this.states.keys()]) this.clear(cluster);
  }

  /** Requests of the cluster waiting out its latency now: tests wait for a request to be held rather than sleep. */
  held(cluster: ClusterRef): number {
    return this.states.get(this.resolve(cluster))?.delayed.size ?? 0;
  }

  active(cluster: ClusterRef): ActiveFaults {
    const state = this.states.get(this.resolve(cluster));
    if (state === undefined) return { latency: { ms: 0, jitterMs: 0 }, errors: [], revoked: [] };
    return {
      latency: { ...state.latency },
      errors: state.errors.map((b) => ({ ...b, verbs: [...b.verbs] })),
      revoked: [...state.revoked].map(([key, verbs]) => {
        const slash = key.indexOf('/');
        return { group: key.slice(0, slash), resource: key.slice(slash + 1), verbs: FAULT_VERBS.filter((v) => verbs.has(v)) };
      }),
    };
  }

  /** Creates a CustomResourceDefinition through the cluster's API (see faults-crd.ts). */
  createCrd(cluster: ClusterRef, request: CrdRequest): KubeObject {
    return createDefinition(this.resolve(cluster), request);
  }

  /** Deletes a CustomResourceDefinition by name; the kind's objects go with DELETED events. */
  deleteCrd(cluster: ClusterRef, name: string): DeleteResult {
    return deleteDefinition(this.resolve(cluster), name);
  }

  private resolve(cluster: ClusterRef): SimCluster {
    if (typeof cluster !== 'string') return cluster;
    const found = this.lookup?.(cluster);
    if (found === undefined) throw new Error(`no cluster named ${cluster}`);
    return found;
  }

  private state(cluster: SimCluster): ClusterFaults {
    let state = this.states.get(cluster);
    if (state === undefined) {
      state = { latency: { ms: 0, jitterMs: 0 }, errors: [], revoked: new Map(), delayed: new Set() };
      this.states.set(cluster, state);
    }
    return state;
  }

  /** Drops a cluster's state once nothing is in force, so fault-free clusters stay on the fast path. */
  private prune(cluster: SimCluster, state: ClusterFaults): void {
    const idle = state.latency.ms === 0 && state.latency.jitterMs === 0 && state.errors.length === 0 && state.revoked.size === 0 && state.delayed.size === 0;
    if (idle && this.states.get(cluster) === state) this.states.delete(cluster);
  }

  private wait(state: ClusterFaults, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const pending: PendingDelay = {
        release: () => {
          clearTimeout(timer);
          state.delayed.delete(pending);
          resolve();
        },
      };
      const timer = setTimeout(pending.release, ms);
      state.delayed.add(pending);
    });
  }

  private release(state: ClusterFaults): void {
    for (const pending of [...state.delayed]) pending.release();
  }
}
