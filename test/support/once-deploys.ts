/**
 * Deploys whose second run would show in the sim's audit of write requests: a ConfigMap with
 * Spinnaker's replace strategy (not versioned), so the first run creates it (POST 201) and any later run
 * replaces it (PUT) or races a create (POST 409). HA tests and the ha benchmark count runs with them.
 */
export function onceDeploy(account: string, namespace: string, name: string, app: string): unknown[] {
  return [
    {
      deployManifest: {
        cloudProvider: 'kubernetes',
        account,
        source: 'text',
        moniker: { app },
        manifests: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name, namespace, annotations: { 'strategy.spinnaker.io/replace': 'true', 'strategy.spinnaker.io/versioned': 'false' } },
            data: { name },
          },
        ],
      },
    },
  ];
}

/** A write request as the sim's audit lists it. */
export interface AuditedWrite {
  method: string;
  path: string;
  status: number;
}

/** The namespace's ConfigMap writes: `creates` (POST 201), and every other write, each a second run of some deploy. */
export function configMapWrites(writes: readonly AuditedWrite[], namespace: string): { creates: AuditedWrite[]; repeats: AuditedWrite[] } {
  const mine = writes.filter((w) => w.path.startsWith(`/api/v1/namespaces/${namespace}/configmaps`));
  return { creates: mine.filter((w) => w.method === 'POST' && w.status === 201), repeats: mine.filter((w) => w.method !== 'POST' || w.status !== 201) };
}
