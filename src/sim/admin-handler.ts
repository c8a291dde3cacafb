import type { FaultInjector } from './faults.ts';
import { sendObject, type SimHttpResponse } from './http-io.ts';
import type { SimCluster } from './sim-cluster.ts';
import { alreadyExists, badRequest, methodNotAllowed, notFound, pathNotFound } from './status.ts';
import { nameProblem } from './validation.ts';
import { BUILTIN_RESOURCES } from './builtin-resources.ts';

/**
 * The sim's own admin API under /sim/ (same bearer token as the clusters):
 *   GET    /sim/clusters                               names, object counts and resourceVersions
 *   POST   /sim/clusters/{name}                        add a cluster (201; 409 if it exists)
 *   DELETE /sim/clusters/{name}                        remove a cluster (its watches end)
 *   GET    /sim/clusters/{name}/kubeconfig             the cluster's kubeconfig (YAML)
 *   POST   /sim/clusters/{name}/faults/drop-watches    end all of the cluster's watches now
 *   POST   /sim/clusters/{name}/faults/compact         forget history: older resourceVersions get 410
 */
export interface AdminTarget {
  clusters(): SimCluster[];
  cluster(name: string): SimCluster | undefined;
  addCluster(name: string): SimCluster;
  removeCluster(name: string): boolean;
  kubeconfig(name: string): string;
  faults: FaultInjector;
}

const CLUSTER_SUBJECT = { group: 'sim.scale-agent.io', resource: 'clusters' };
const namespaceType = BUILTIN_RESOURCES.find((t) => t.kind === 'Namespace')!;

function summary(cluster: SimCluster): Record<string, unknown> {
  return { name: cluster.name, objects: cluster.objectCount(), resourceVersion: String(cluster.resourceVersion), uid: cluster.uid, watches: cluster.store.watches.size };
}

export function handleAdminRequest(target: AdminTarget, method: string, segments: string[], response: SimHttpResponse): void {
  if (segments[0] !== 'clusters') throw pathNotFound(`/sim/${segments.join('/')}`);
  const name = segments[1];
  if (name === undefined) {
    if (method !== 'GET') throw methodNotAllowed(method);
    return sendObject(response, 200, { clusters: target.clusters().map(summary) });
  }
  const rest = segments.slice(2);
  if (rest.length === 0) {
    switch (method) {
      case 'GET': {
        const cluster = target.cluster(name);
        if (cluster === undefined) throw notFound(CLUSTER_SUBJECT, name);
        return sendObject(response, 200, summary(cluster));
      }
      case 'POST': {
        // Cluster names become URL segments and file names: the same rule as namespace names.
        const problem = nameProblem(namespaceType, name);
        if (problem !== undefined) throw badRequest(`invalid cluster name "${name}": ${problem}`);
        if (target.cluster(name) !== undefined) throw alreadyExists(CLUSTER_SUBJECT, name);
        return sendObject(response, 201, summary(target.addCluster(name)));
      }
      case 'DELETE':
        if (!target.removeCluster(name)) throw notFound(CLUSTER_SUBJECT, name);
        return sendObject(response, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: 'clusters' } });
      default:
        throw methodNotAllowed(method);
    }
  }
  const cluster = target.cluster(name);
  if (cluster === undefined) throw notFound(CLUSTER_SUBJECT, name);
  const action = rest.join('/');
  if (action === 'kubeconfig' && method === 'GET') {
    const text = target.kubeconfig(name);
    response.writeHead(200, { 'content-type': 'application/yaml', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return;
  }
  if (method !== 'POST') throw methodNotAllowed(method);
  if (action === 'faults/drop-watches') return sendObject(response, 200, { cluster: name, droppedWatches: target.faults.dropWatches(cluster) });
  if (action === 'faults/compact') return sendObject(response, 200, { cluster: name, compactedThrough: String(target.faults.compact(cluster)) });
  throw pathNotFound(`/sim/${segments.join('/')}`);
}
