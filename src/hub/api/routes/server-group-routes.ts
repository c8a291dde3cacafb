import type { FastifyInstance } from 'fastify';
import { SERVER_GROUP_KINDS, SERVER_GROUP_MANAGER_KINDS } from '../../views/kinds.ts';
import { ownOf, type LoadedApplication } from '../../views/loader.ts';
import { ViewModels, type ServerGroupSummary } from '../../views/models.ts';
import { byName, type Resource } from '../../views/resource.ts';
import { notFound, requestInvalid } from '../http-errors.ts';
import { isKubernetes } from './cloud-provider.ts';
import { clusterOf } from './cluster-names.ts';
import { booleanParam, queryOf, type RouteContext } from './route-context.ts';
import type { AppParams, ObjectParams } from './view-params.ts';

/**
 * Clouddriver's server groups (ReplicaSets, StatefulSets, DaemonSets…) and server group managers
 * (Deployments), served from the cache: an application's, by ids, and one with its manifest.
 */
export function serverGroupRoutes(app: FastifyInstance, { views: loader }: RouteContext): void {
  /** Every server group of an application (optionally some clusters), with instances and load balancers. */
  async function applicationServerGroups(
    application: string,
    clusters?: ReadonlyArray<{ account: string; cluster: string }>,
  ): Promise<{ loaded: LoadedApplication; models: ViewModels; serverGroups: Resource[] }> {
    const loaded = await loader.application({ application, kinds: SERVER_GROUP_KINDS, clusters, services: true, instances: true });
    const serverGroups = ownOf(loaded, 'serverGroups').sort((a, b) =>
      byName({ name: a.fullName, account: a.account, namespace: a.namespace }, { name: b.fullName, account: b.account, namespace: b.namespace }),
    );
    return { loaded, models: new ViewModels(loaded.graph), serverGroups };
  }

  async function serverGroupSummaries(application: string): Promise<ServerGroupSummary[]> {
    const { models, serverGroups } = await applicationServerGroups(application);
    return serverGroups.map((sg) => models.serverGroupSummary(sg, clusterOf(sg) ?? ''));
  }

  app.get<{ Params: AppParams }>('/applications/:app/serverGroups', async (request) => {
    const query = queryOf(request.query);
    if (!isKubernetes(query.cloudProvider)) return [];
    const expand = booleanParam(query.expand, false);
    let clusters: Array<{ account: string; cluster: string }> | undefined;
    if (query.clusters !== undefined) {
      clusters = query.clusters
        .split(',')
        .map((entry) => entry.split(':'))
        .filter((parts) => parts.length === 2 && parts[0] !== '' && parts[1] !== '')
        .map(([account, cluster]) => ({ account: account!, cluster: cluster! }));
      if (clusters.length === 0) return [];
    }
    const { models, serverGroups } = await applicationServerGroups(request.params.app, clusters);
    return serverGroups.map((sg) =>
      expand
        ? models.serverGroupExpanded(sg, sg.account, { app: request.params.app, cluster: clusterOf(sg) })
        : models.serverGroupSummary(sg, clusterOf(sg) ?? ''),
    );
  });

  app.get('/serverGroups', async (request) => {
    const query = queryOf(request.query);
    const applications = (query.applications ?? '').split(',').filter((a) => a !== '');
    const ids = (query.ids ?? '').split(',').filter((id) => id !== '');
    if (applications.length > 0 === ids.length > 0) throw requestInvalid("Provide either 'applications' or 'ids' parameter (but not both)");
    if (!isKubernetes(query.cloudProvider)) return [];
    if (applications.length > 0) return (await Promise.all(applications.map(serverGroupSummaries))).flat();
    const parsed = ids.map((id) => id.split(':'));
    const invalid = parsed.filter((p) => p.length !== 3).map((p) => p.join(':'));
    if (invalid.length > 0) throw requestInvalid(`Expected ids in the format <account>:<region>:<name> but got invalid ids: ${invalid.join(', ')}`);
    const out: ServerGroupSummary[] = [];
    for (const [account, region, name] of parsed) {
      const found = await loader.serverGroup(account!, region!, name!);
      if (found) out.push(new ViewModels(found.graph).serverGroupSummary(found.serverGroup, clusterOf(found.serverGroup) ?? ''));
    }
    return out;
  });

  async function serverGroup({ account, region, name }: ObjectParams) {
    const found = await loader.serverGroup(account, region, name);
    if (!found) throw notFound(`Server group not found (account: ${account}, region: ${region}, name: ${name})`, { account, region, name });
    return new ViewModels(found.graph).serverGroupWithManifest(found.serverGroup, found.manifest);
  }

  app.get<{ Params: ObjectParams }>('/serverGroups/:account/:region/:name', async (request) => serverGroup(request.params));
  app.get<{ Params: AppParams & ObjectParams }>('/applications/:app/serverGroups/:account/:region/:name', async (request) => serverGroup(request.params));

  app.get<{ Params: AppParams }>('/applications/:app/serverGroupManagers', async (request) => {
    const loaded = await loader.application({ application: request.params.app, kinds: [...SERVER_GROUP_MANAGER_KINDS, ...SERVER_GROUP_KINDS] });
    const models = new ViewModels(loaded.graph);
    return ownOf(loaded, 'serverGroupManagers')
      .map((m) => models.serverGroupManager(m))
      .sort(byName);
  });
}
