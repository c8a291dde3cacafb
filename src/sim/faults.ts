import type { SimCluster } from './sim-cluster.ts';
import type { StatusError } from './status.ts';

/**
 * The place where faults enter the request pipeline. Every cluster API request passes through
 * `beforeRequest` after authentication and before it is served, so per-cluster latency, forced errors
 * (500, 429) or revoked kinds can be added here without touching the handlers. Today it carries the
 * one-shot faults the admin API offers: dropping a cluster's watches and compacting its history.
 */
export interface FaultRequest {
  cluster: SimCluster;
  method: string;
  segments: string[];
}

export class FaultInjector {
  /** Returns an error to answer with instead of serving the request, or undefined to serve it. */
  async beforeRequest(_request: FaultRequest): Promise<StatusError | undefined> {
    return undefined;
  }

  /** Ends every open watch on the cluster cleanly, as an API server restart would; returns how many. */
  dropWatches(cluster: SimCluster): number {
    return cluster.dropWatches();
  }

  /** Forgets the cluster's event history: watches and continues from an older resourceVersion get 410. */
  compact(cluster: SimCluster): number {
    cluster.compact();
    return cluster.resourceVersion;
  }
}
