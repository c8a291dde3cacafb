/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): `100m`, `1.5`, `256Mi`, `1e3`.
 * A string that is not one is refused while the request body is decoded, before validation, as a 400.
 */
export const QUANTITY_PATTERN = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const QUANTITY = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$/;

const BINARY = 1024;
const SUFFIXES: Record<string, number> = {
  Ki: BINARY,
  Mi: BINARY ** 2,
  Gi: BINARY ** 3,
  Ti: BINARY ** 4,
  Pi: BINARY ** 5,
  Ei: BINARY ** 6,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value as a number (approximate for huge ones), or undefined when it is not a quantity. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = QUANTITY.exec(value);
  if (match === null) return undefined;
  const base = Number(match[1]);
  const suffix = match[2];
  if (suffix === undefined) return base;
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  return base * SUFFIXES[suffix]!;
}
