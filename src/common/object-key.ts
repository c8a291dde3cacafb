/**
 * Which Kubernetes object: API group ("" for the core group), kind, namespace ("" for a cluster-scoped
 * kind) and name. The store keys a cached object by it (with the account), an operation targets one, a
 * write reports one; the types that add an account, a version, a uid or a resourceVersion extend it
 * rather than spelling the four fields again.
 */
export interface ObjectKey {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}
