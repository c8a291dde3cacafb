/**
 * Reading the Prometheus text a process's /metrics serves, for assertions: the value of an unlabelled
 * series, or the sum of a metric's series (optionally those whose labels contain a fragment).
 */
import assert from 'node:assert/strict';

function sampleValue(line: string): number {
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The sum of every series of `name` whose label set contains `labels` (all of them when omitted); 0 when there is none. */
export function metricSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const series = line.startsWith(`${name}{`) || (labels === '' && line.startsWith(`${name} `));
    if (series && line.includes(labels)) sum += sampleValue(line);
  }
  return sum;
}

/** The value of the unlabelled series `name`, which must be there. */
export function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `the process exports ${name}`);
  return sampleValue(line);
}
