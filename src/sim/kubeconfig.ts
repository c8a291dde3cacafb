import { stringify } from 'yaml';

/** A kubeconfig for one simulated cluster: server URL, CA (when TLS), bearer token; context named as the cluster. */
export interface KubeconfigInput {
  clusterName: string;
  server: string;
  token: string;
  caPem?: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const cluster: Record<string, unknown> = { server: input.server };
  if (input.caPem !== undefined) cluster['certificate-authority-data'] = Buffer.from(input.caPem).toString('base64');
  const user = `${input.clusterName}-user`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.clusterName, cluster }],
    users: [{ name: user, user: { token: input.token } }],
    contexts: [{ name: input.clusterName, context: { cluster: input.clusterName, user, namespace: 'default' } }],
    'current-context': input.clusterName,
    preferences: {},
  });
}
