import type { FastifyInstance } from 'fastify';
import { CLUSTER_KINDS } from '../../views/kinds.ts';
import { ownOf } from '../../views/loader.ts';
import { CLOUD_PROVIDER, ViewModels } from '../../views/models.ts';
import { compareText, type Resource } from '../../views/resource.ts';
import { notFound } from '../http-errors.ts';
import { isKubernetes } from './cloud-provider.ts';
import { clusterNamesByAccount, clusterOf } from './cluster-names.ts';
import { booleanParam, queryOf, type RouteContext } from './route-context.ts';
import type { AppParams } from './view-params.ts';

type ClusterParams = AppParams & { account: string; cluster: string };

/** Clouddriver's TargetServerGroup names (`current_asg_dynamic` and friends included). */
function parseTarget(target: string): 'current' | 'previous' | 'oldest' | 'largest' | 'fail' | undefined {
  const base = target.toLowerCase().replace(/_asg(_dynamic)?$/, '');
  switch (base) {
    case 'current':
    case 'newest':
      return 'current';
    case 'previous':
    case 'ancestor':
      return 'previous';
    case 'oldest':
    case 'largest':
    case 'fail':
      return base;
    default:
      return undefined;
  }
}

/**
 * Clouddriver's clusters of an application, served from the cache: the names per account, one cluster
 * (its server groups with instances and the load balancers in front of them, or a summary), its server
 * groups, and the server group a classic stage's dynamic target picks.
 */
export function clusterRoutes(app: FastifyInstance, { store, views: loader }: RouteContext): void {
  app.get<{ Params: AppParams }>('/applications/:app/clusters', async (request) =>
    clusterNamesByAccount(await store.listApplicationClusters(CLUSTER_KINDS, request.params.app)),
  );

  app.get<{ Params: AppParams & { account: string } }>('/applications/:app/clusters/:account', async (request) => {
    const { app: application, account } = request.params;
    const loaded = await loader.application({ application, account, kinds: CLUSTER_KINDS, services: true });
    const byCluster = new Map<string, Resource[]>();
    for (const r of loaded.own) {
      const cluster = clusterOf(r);
      if (cluster === undefined) continue;
      const list = byCluster.get(cluster) ?? [];
      if (r.spinnakerKind === 'serverGroups') list.push(r);
      byCluster.set(cluster, list);
    }
    if (byCluster.size === 0) throw notFound(`No clusters found (application: ${application}, account: ${account})`, { application, account });
    return [...byCluster.entries()]
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, serverGroups]) => {
        const loadBalancers = new Set<string>();
        for (const sg of serverGroups) for (const service of loaded.graph.servicesOf(sg)) loadBalancers.add(service.fullName);
        return {
          name,
          account,
          moniker: { app: application, cluster: name },
          loadBalancers: [...loadBalancers].sort(),
          serverGroups: serverGroups.map((sg) => sg.fullName).sort(),
        };
      });
  });

  /** One cluster, full (server groups with instances, load balancers in front of them) or as a summary. */
  async function cluster(application: string, account: string, name: string, expand: boolean) {
    if (!expand) {
      const rows = await store.listApplicationClusters(CLUSTER_KINDS, application);
      if (!rows.some((r) => r.account === account && r.cluster === name)) return undefined;
      return {
        name,
        moniker: { app: application, cluster: name },
        type: CLOUD_PROVIDER,
        accountName: account,
        application,
        serverGroups: [],
        loadBalancers: [],
      };
    }
    const loaded = await loader.application({ application, account, cluster: name, kinds: CLUSTER_KINDS, services: true, instances: true });
    if (loaded.own.length === 0) return undefined;
    return new ViewModels(loaded.graph).cluster(account, application, name, ownOf(loaded, 'serverGroups'));
  }

  async function requireCluster(params: ClusterParams, expand: boolean) {
    const found = await cluster(params.app, params.account, params.cluster, expand);
    if (!found) throw notFound(`Cluster not found (application: ${params.app}, account: ${params.account}, name: ${params.cluster})`, { ...params });
    return found;
  }

  app.get<{ Params: ClusterParams }>('/applications/:app/clusters/:account/:cluster', async (request) => [
    await requireCluster(request.params, booleanParam(queryOf(request.query).expand, true)),
  ]);

  app.get<{ Params: ClusterParams & { type: string } }>('/applications/:app/clusters/:account/:cluster/:type', async (request) => {
    if (!isKubernetes(request.params.type))
      throw notFound(`No cluster provider of type: ${request.params.type} found that can handle cluster: ${request.params.cluster}`, {
        type: request.params.type,
      });
    return requireCluster(request.params, booleanParam(queryOf(request.query).expand, true));
  });

  async function clusterServerGroups(params: ClusterParams & { type: string }, region: string | undefined) {
    if (!isKubernetes(params.type))
      throw notFound(`No cluster provider of type: ${params.type} found that can handle cluster: ${params.cluster}`, { type: params.type });
    const found = await requireCluster(params, true);
    return found.serverGroups.filter((sg) => region === undefined || region === '' || sg.region === region);
  }

  app.get<{ Params: ClusterParams & { type: string } }>('/applications/:app/clusters/:account/:cluster/:type/serverGroups', async (request) =>
    clusterServerGroups(request.params, queryOf(request.query).region),
  );

  app.get<{ Params: ClusterParams & { type: string; serverGroup: string } }>(
    '/applications/:app/clusters/:account/:cluster/:type/serverGroups/:serverGroup',
    async (request) => {
      const region = queryOf(request.query).region;
      const matches = (await clusterServerGroups(request.params, region)).filter((sg) => sg.name === request.params.serverGroup);
      if (matches.length === 0)
        throw notFound(`Server group not found (account: ${request.params.account}, name: ${request.params.serverGroup}, type: ${request.params.type})`, {
          ...request.params,
        });
      return region === undefined || region === '' ? matches : matches[0];
    },
  );

  /** Classic stages' dynamic target ("current", "previous", "oldest", "largest", "fail") in one location. */
  async function targetServerGroup(params: ClusterParams & { type: string; scope: string; target: string }, onlyEnabled: boolean, validateOldest: boolean) {
    const { scope, target } = params;
    const kind = parseTarget(target);
    if (!kind) throw notFound(`Target not found (target: ${target})`, { target });
    const candidates = (await clusterServerGroups(params, undefined)).filter(
      (sg) => sg.region === scope && (!onlyEnabled || !sg.disabled) && sg.createdTime !== undefined,
    );
    const newestFirst = [...candidates].sort((a, b) => b.createdTime! - a.createdTime!);
    const none = () => notFound(`No server groups found (account: ${params.account}, location: ${scope}, cluster: ${params.cluster}, type: ${params.type})`);
    switch (kind) {
      case 'current':
        if (newestFirst.length === 0) throw none();
        return newestFirst[0]!;
      case 'previous':
        if (newestFirst.length < 2) throw notFound(`Target not found (target: ${target})`, { target });
        return newestFirst[1]!;
      case 'oldest':
        if (newestFirst.length === 0 || (validateOldest && newestFirst.length === 1)) throw notFound(`Target not found (target: ${target})`, { target });
        return newestFirst[newestFirst.length - 1]!;
      case 'largest': {
        if (newestFirst.length === 0) throw none();
        return newestFirst.reduce((best, sg) => (sg.instances.length > best.instances.length ? sg : best));
      }
      case 'fail':
        if (candidates.length > 1) throw notFound(`More than one target found (scope: ${scope}, serverGroups: ${candidates.map((c) => c.name).join(', ')})`);
        if (candidates.length === 0) throw none();
        return candidates[0]!;
    }
  }

  app.get<{ Params: ClusterParams & { type: string; scope: string; target: string } }>(
    '/applications/:app/clusters/:account/:cluster/:type/:scope/serverGroups/target/:target',
    async (request) => {
      const query = queryOf(request.query);
      return targetServerGroup(request.params, booleanParam(query.onlyEnabled, false), booleanParam(query.validateOldest, true));
    },
  );

  // Orca's getServerGroupSummary (FindImageFromClusterTask asks for "images"): a summary of the target,
  // chosen with validateOldest=false. Kubernetes server groups have no single-image summary, so "image"
  // is Clouddriver's null, an empty 200.
  app.get<{ Params: ClusterParams & { type: string; scope: string; target: string; summaryType: string } }>(
    '/applications/:app/clusters/:account/:cluster/:type/:scope/serverGroups/target/:target/:summaryType',
    async (request, reply) => {
      const serverGroup = await targetServerGroup(request.params, booleanParam(queryOf(request.query).onlyEnabled, false), false);
      const summaryType = request.params.summaryType.toLowerCase();
      if (summaryType === 'images') return serverGroup.imagesSummary;
      if (summaryType === 'image') return reply.code(200).send();
      throw notFound(`Summary not found (type: ${request.params.summaryType})`, { summaryType: request.params.summaryType });
    },
  );
}
