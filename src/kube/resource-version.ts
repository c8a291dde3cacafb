/**
 * Ordering of resourceVersions. Kubernetes calls them opaque, but every etcd-backed API server issues
 * them as decimal integers (etcd revisions), and client-go's watch cache relies on that too. Anything
 * else cannot be ordered: callers must then not depend on an order.
 */
const DECIMAL = /^(0|[1-9]\d*)$/;

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`; undefined when either is not a decimal integer. */
export function compareResourceVersions(a: string, b: string): number | undefined {
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
