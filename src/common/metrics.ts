import { Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry with the process collectors (memory, CPU, event loop), one per part. */
export function createMetricsRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  return registry;
}
