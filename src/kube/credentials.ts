/**
 * What the client needs to reach one API server and prove who it is, independent of where it came from
 * (a kubeconfig context, the pod's ServiceAccount, or a test). Secrets are held as PEM text or a path,
 * never logged.
 */
export type ClusterAuth =
  | { type: 'none' }
  | { type: 'token'; token: string }
  /** Re-read periodically: projected ServiceAccount tokens rotate underneath a long-running process. */
  | { type: 'tokenFile'; path: string }
  | { type: 'clientCertificate'; certPem: string; keyPem: string }
  /** A client-go credential plugin (client.authentication.k8s.io ExecCredential). */
  | { type: 'exec'; command: string; args: string[]; env: Record<string, string>; apiVersion: string };

export interface ClusterCredentials {
  /** The API server URL, possibly with a path prefix (the sim serves many clusters under /clusters/<name>). */
  server: string;
  caPem?: string;
  insecureSkipTlsVerify: boolean;
  /** Name to verify the server certificate against when it differs from the URL's host. */
  tlsServerName?: string;
  auth: ClusterAuth;
  proxyUrl?: string;
  /** The context's default namespace, if any. */
  namespace?: string;
}
