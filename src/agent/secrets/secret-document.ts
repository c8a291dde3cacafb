/** One secret as a store keeps it: its keys and their values (decoded to text). */
export interface SecretDocument {
  /** Where it was read, for messages (e.g. `k8s secret spinnaker/kubeconfigs`). */
  readonly source: string;
  readonly values: ReadonlyMap<string, string>;
}
