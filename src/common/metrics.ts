import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A Prometheus registry with Node's process collectors (CPU, memory, file descriptors, event loop, GC),
 * one per part. They keep prom-client's standard names (`process_*`, `nodejs_*`), without our prefix:
 * the dashboards and alerts written for every Node service expect those, and Prometheus tells the hub
 * from the agent by the scrape's `job` and `instance` labels.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
