import type { FastifyInstance } from 'fastify';
import type { ApplicationClusterRow } from '../../store/types.ts';
import { CLUSTER_KINDS } from '../../views/kinds.ts';
import { CLOUD_PROVIDER } from '../../views/models.ts';
import { byName } from '../../views/resource.ts';
import { notFound } from '../http-errors.ts';
import { clusterNamesByAccount } from './cluster-names.ts';
import type { RouteContext } from './route-context.ts';
import type { AppParams } from './view-params.ts';

/**
 * Clouddriver's applications for Kubernetes accounts, served from the cache: every application the
 * cached objects' monikers name, with its clusters per account (from the clusters index alone). The
 * other infrastructure views (clusters, server groups, load balancers, security groups, instances) have
 * a file each beside this one; their JSON shapes are Clouddriver's Kubernetes view models (src/hub/views).
 */
export function applicationRoutes(app: FastifyInstance, { store }: RouteContext): void {
  app.get('/applications', async () => {
    const rows = await store.listApplicationClusters(CLUSTER_KINDS);
    const byApp = new Map<string, ApplicationClusterRow[]>();
    for (const row of rows) {
      const list = byApp.get(row.application);
      if (list) list.push(row);
      else byApp.set(row.application, [row]);
    }
    return [...byApp.entries()].map(([name, list]) => ({ name, attributes: { name }, clusterNames: clusterNamesByAccount(list) })).sort(byName);
  });

  app.get<{ Params: AppParams }>('/applications/:app', async (request) => {
    const name = request.params.app;
    const names = clusterNamesByAccount(await store.listApplicationClusters(CLUSTER_KINDS, name));
    if (Object.keys(names).length === 0) throw notFound(`Application does not exist (name: ${name})`, { application: name });
    const clusters: Record<string, Array<{ name: string; provider: string; serverGroups: string[]; loadBalancers: string[] }>> = {};
    for (const [account, list] of Object.entries(names))
      clusters[account] = list.map((cluster) => ({ name: cluster, provider: CLOUD_PROVIDER, serverGroups: [], loadBalancers: [] }));
    return { name, attributes: { name, cloudProviders: CLOUD_PROVIDER }, clusters };
  });
}
