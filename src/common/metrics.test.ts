import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsRegistry } from './metrics.ts';

test("the process metrics keep prom-client's standard names, which Node dashboards expect", async () => {
  const names = (await createMetricsRegistry().getMetricsAsJSON()).map((metric) => metric.name);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'])
    assert.ok(names.includes(name), `${name} is exported`);
  assert.deepEqual(
    names.filter((name) => name.startsWith('scale_agent')),
    [],
    'no default metric carries our prefix',
  );
});
