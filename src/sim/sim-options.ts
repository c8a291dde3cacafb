import type { Logger } from '../common/logger.ts';

/** Options of startSim(); every one has a documented default. */
export interface SimOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 lets the OS choose. Default 0. */
  port?: number;
  /** Names of the clusters to start with. Default none (add them later with addCluster). */
  clusters?: string[];
  /**
   * Serve HTTPS with a CA and serving certificate generated at start (HTTP/2 with HTTP/1.1 fallback).
   * false serves plain HTTP/1.1. Default true.
   */
  tls?: boolean;
  /**
   * A cluster also served at the root path (/api, /apis, /version …) as a real API server is, for clients
   * that take only a host and port: in-cluster credentials (KUBERNETES_SERVICE_HOST/PORT). Default none.
   */
  rootCluster?: string;
  /** Bearer token every request must carry. Default: random, readable from SimServer.token. */
  token?: string;
  /** Events kept per cluster for watch resumption and consistent paging. Default 10000. */
  historyLimit?: number;
  /**
   * How often a watch that allows bookmarks may get one (the real server's bookmark frequency). As on a
   * real server, it gets one only when its type's watch cache has progressed past the watch's start.
   * Default 60000 ms.
   */
  bookmarkIntervalMs?: number;
  /**
   * Interval of the simulated etcd progress notifications, which advance every type's watch cache to the
   * cluster's current resourceVersion (so quiet types get bookmarks too). 0 = none. Default 600000 ms.
   */
  progressNotifyIntervalMs?: number;
  /**
   * Publish OpenAPI v3 schemas with patch metadata (x-kubernetes-patch-strategy / -merge-key), as a real
   * API server does; clients such as kubectl apply compute strategic merge patches from them. false
   * serves the documents without schemas, so clients fall back to their compiled-in types, as with an
   * older server. Default true.
   */
  openApiSchemas?: boolean;
  /** How long a new pod stays Pending before it runs (or a Job's pod completes). Default 200 ms. */
  podStartDelayMs?: number;
  /** Upper bound on a pod's graceful termination in the sim. Default 1000 ms. */
  podTerminationCapMs?: number;
  /** Bytes a watch may have queued for a slow client before the sim ends that watch. Default 64 MiB. */
  maxWatchBacklogBytes?: number;
  logger?: Logger;
}

export const SIM_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  tls: true,
  historyLimit: 10_000,
  bookmarkIntervalMs: 60_000,
  progressNotifyIntervalMs: 600_000,
  openApiSchemas: true,
  podStartDelayMs: 200,
  podTerminationCapMs: 1_000,
  maxWatchBacklogBytes: 64 * 1024 * 1024,
} as const;

/** HTTP/2 streams one client connection may hold open at once (the kube-apiserver allows 1000). */
export const MAX_CONCURRENT_STREAMS = 1000;
