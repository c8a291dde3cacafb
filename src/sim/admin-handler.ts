import type { FaultInjector } from './faults.ts';
import type { CrdRequest, ErrorFaultRequest } from './faults-input.ts';
import { fieldError, latencyFrom, revokeFrom } from './faults-input.ts';
import { decodeBody, readBody, sendObject, type SimHttpRequest, type SimHttpResponse } from './http-io.ts';
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
 *   GET    /sim/clusters/{name}/audit                  the write requests served, oldest first: {writes: [{at, method, path, status, dryRun}], dropped}
 *   POST   /sim/clusters/{name}/faults/drop-watches    end all of the cluster's watches now
 *   POST   /sim/clusters/{name}/faults/compact         forget history: older resourceVersions get 410
 *   GET    /sim/clusters/{name}/faults                 the faults in force (latency, error budgets, revocations)
 *   DELETE /sim/clusters/{name}/faults                 lift them all
 *   POST   /sim/clusters/{name}/faults/latency         {"ms", "jitterMs"?}: delay every API request ({"ms":0} clears)
 *   POST   /sim/clusters/{name}/faults/errors          {"status": 500|429|503, "count", "retryAfterSeconds"?, "verbs"?}
 *   POST   /sim/clusters/{name}/faults/revoke          {"group", "resource", "verbs"?}: 403 for those verbs (default list, watch)
 *   POST   /sim/clusters/{name}/faults/restore         {"group", "resource", "verbs"?}: lift a revocation (all its verbs by default)
 *   POST   /sim/clusters/{name}/crds                   {"group", "kind", "plural"?, "scope"?, "versions"?}: create a CRD (201; 409)
 *   DELETE /sim/clusters/{name}/crds/{crdName}         delete a CRD, its kind and its objects (404 if missing)
 * Bodies are JSON; a bad one is a 400 Status naming the field. The fault endpoints answer with the faults
 * now in force, as GET does.
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
  return {
    name: cluster.name,
    objects: cluster.objectCount(),
    resourceVersion: String(cluster.resourceVersion),
    uid: cluster.uid,
    watches: cluster.store.watches.size,
  };
}

export async function handleAdminRequest(
  target: AdminTarget,
  method: string,
  segments: string[],
  request: SimHttpRequest,
  response: SimHttpResponse,
): Promise<void> {
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
  const faults = target.faults;
  const body = async (): Promise<unknown> => {
    const bytes = await readBody(request);
    try {
      return decodeBody(bytes, 'application/json');
    } catch (err) {
      throw fieldError('body', (err as Error).message);
    }
  };
  const faultsReply = (active: ReturnType<FaultInjector['active']>): void => sendObject(response, 200, { cluster: name, ...active });

  if (action === 'kubeconfig') {
    if (method !== 'GET') throw methodNotAllowed(method);
    const text = target.kubeconfig(name);
    response.writeHead(200, { 'content-type': 'application/yaml', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return;
  }
  if (action === 'audit') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return sendObject(response, 200, { cluster: name, ...cluster.audit.snapshot() });
  }
  if (action === 'faults') {
    if (method === 'GET') return faultsReply(faults.active(cluster));
    if (method === 'DELETE') return faultsReply(faults.clear(cluster));
    throw methodNotAllowed(method);
  }
  if (rest[0] === 'crds' && rest.length <= 2) {
    const crdName = rest[1];
    if (crdName === undefined && method === 'POST') return sendObject(response, 201, faults.createCrd(cluster, (await body()) as CrdRequest));
    if (crdName !== undefined && method === 'DELETE') return sendObject(response, 200, faults.deleteCrd(cluster, crdName).object);
    throw methodNotAllowed(method);
  }
  if (rest[0] !== 'faults' || rest.length !== 2) throw pathNotFound(`/sim/${segments.join('/')}`);
  if (method !== 'POST') throw methodNotAllowed(method);
  switch (rest[1]) {
    case 'drop-watches':
      return sendObject(response, 200, { cluster: name, droppedWatches: faults.dropWatches(cluster) });
    case 'compact':
      return sendObject(response, 200, { cluster: name, compactedThrough: String(faults.compact(cluster)) });
    case 'latency': {
      const { ms, jitterMs } = latencyFrom(await body());
      return faultsReply(faults.setLatency(cluster, ms, jitterMs));
    }
    case 'errors':
      // The injector checks the body field by field (400 naming the field).
      return faultsReply(faults.failNext(cluster, (await body()) as ErrorFaultRequest));
    case 'revoke': {
      const { group, resource, verbs } = revokeFrom(await body());
      return faultsReply(faults.revoke(cluster, group, resource, verbs));
    }
    case 'restore': {
      const { group, resource, verbs } = revokeFrom(await body());
      return faultsReply(faults.restore(cluster, group, resource, verbs));
    }
    default:
      throw pathNotFound(`/sim/${segments.join('/')}`);
  }
}
