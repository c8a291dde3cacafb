/*
 * Go's time.Duration as the Armory agent's YAML holds it: a number of nanoseconds, or Go's duration
 * syntax ("1s", "1m30s", "250ms", "1.5h").
 */

const NS_PER_MS = 1_000_000;

const UNIT_MS: Record<string, number> = {
  ns: 1 / NS_PER_MS,
  us: 1 / 1000,
  µs: 1 / 1000,
  μs: 1 / 1000,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;

/** Milliseconds (rounded up to whole ones), or undefined when the value is no non-negative duration. */
export function goDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.ceil(value / NS_PER_MS) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.ceil(Number(text) / NS_PER_MS);
  if (text === '0') return 0;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match !== null; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? Math.ceil(total) : undefined;
}
