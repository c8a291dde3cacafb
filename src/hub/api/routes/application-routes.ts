import type { FastifyInstance } from 'fastify';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import type { OperationRouter } from '../../router/types.ts';
import { splitFullResourceName } from '../../store/kind-names.ts';
import type { AccountReader, ApplicationClusterRow, CacheReader } from '../../store/types.ts';
import { ResourceGraph } from '../../views/graph.ts';
import { CLUSTER_KINDS, LOAD_BALANCER_KINDS, SECURITY_GROUP_KINDS, SERVER_GROUP_KINDS, SERVER_GROUP_MANAGER_KINDS } from '../../views/kinds.ts';
import { ownOf, resolveFullName, ViewLoader, type LoadedApplication } from '../../views/loader.ts';
import { containerNames } from '../../views/manifest-facts.ts';
import { CLOUD_PROVIDER, ViewModels, securityGroupModel, securityGroupSummary, type SecurityGroupSummary, type ServerGroupSummary } from '../../views/models.ts';
import { byName, compareText, keyOf, parseManifest, ResourceCache, toResources, type Resource } from '../../views/resource.ts';
import { requestInvalid } from '../http-errors.ts';
import { booleanParam, queryOf, type RouteContext } from './route-context.ts';

/**
 * Clouddriver's infrastructure views for Kubernetes accounts, served from the cache: applications,
 * clusters, server groups (and their managers), load balancers, security groups (Deck's firewalls) and
 * instances, in the JSON shapes of Clouddriver's Kubernetes view models (see src/hub/views). Every list
 * comes from a few indexed queries per request; relationships are derived in memory.
 */

/** Lines of each container's log the console shows (Clouddriver shows whole logs; ours travel through the agent). */
const CONSOLE_TAIL_LINES = 5000;

type AppParams = { app: string };
type ClusterParams = AppParams & { account: string; cluster: string };
type ObjectParams = { account: string; region: string; name: string };

function notFound(message: string, details: Record<string, unknown> = {}): ScaleAgentError {
  return new ScaleAgentError(Errors.NOT_FOUND, message, details);
}

/** Clouddriver's CloudProviderNotFoundException is a 400 (`@ResponseStatus(BAD_REQUEST)`). */
function noCloudProvider(provider: string): ScaleAgentError {
  return requestInvalid(`No cloud provider named ${provider} found`, { provider });
}

function isKubernetes(provider: string | undefined): boolean {
  return provider === undefined || provider === '' || provider.toLowerCase() === CLOUD_PROVIDER;
}

/** account → cluster names (sorted), from the clusters index alone. */
function clusterNamesByAccount(rows: readonly ApplicationClusterRow[]): Record<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.cluster === null) continue;
    const set = sets.get(row.account);
    if (set) set.add(row.cluster);
    else sets.set(row.account, new Set([row.cluster]));
  }
  const out: Record<string, string[]> = {};
  for (const account of [...sets.keys()].sort()) out[account] = [...sets.get(account)!].sort();
  return out;
}

function clusterOf(resource: Resource): string | undefined {
  return resource.moniker.cluster;
}

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

export function applicationRoutes(app: FastifyInstance, { store, router }: RouteContext): void {
  // Derived resources by object version, shared by every request of this server.
  const loader = new ViewLoader(store, new ResourceCache());

  // ---- applications ----

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
    for (const [account, list] of Object.entries(names)) clusters[account] = list.map((cluster) => ({ name: cluster, provider: CLOUD_PROVIDER, serverGroups: [], loadBalancers: [] }));
    return { name, attributes: { name, cloudProviders: CLOUD_PROVIDER }, clusters };
  });

  // ---- clusters ----

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
        return { name, account, moniker: { app: application, cluster: name }, loadBalancers: [...loadBalancers].sort(), serverGroups: serverGroups.map((sg) => sg.fullName).sort() };
      });
  });

  /** One cluster, full (server groups with instances, load balancers in front of them) or as a summary. */
  async function cluster(application: string, account: string, name: string, expand: boolean) {
    if (!expand) {
      const rows = await store.listApplicationClusters(CLUSTER_KINDS, application);
      if (!rows.some((r) => r.account === account && r.cluster === name)) return undefined;
      return { name, moniker: { app: application, cluster: name }, type: CLOUD_PROVIDER, accountName: account, application, serverGroups: [], loadBalancers: [] };
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
    if (!isKubernetes(request.params.type)) throw notFound(`No cluster provider of type: ${request.params.type} found that can handle cluster: ${request.params.cluster}`, { type: request.params.type });
    return requireCluster(request.params, booleanParam(queryOf(request.query).expand, true));
  });

  async function clusterServerGroups(params: ClusterParams & { type: string }, region: string | undefined) {
    if (!isKubernetes(params.type)) throw notFound(`No cluster provider of type: ${params.type} found that can handle cluster: ${params.cluster}`, { type: params.type });
    const found = await requireCluster(params, true);
    return found.serverGroups.filter((sg) => region === undefined || region === '' || sg.region === region);
  }

  app.get<{ Params: ClusterParams & { type: string } }>('/applications/:app/clusters/:account/:cluster/:type/serverGroups', async (request) =>
    clusterServerGroups(request.params, queryOf(request.query).region),
  );

  app.get<{ Params: ClusterParams & { type: string; serverGroup: string } }>('/applications/:app/clusters/:account/:cluster/:type/serverGroups/:serverGroup', async (request) => {
    const region = queryOf(request.query).region;
    const matches = (await clusterServerGroups(request.params, region)).filter((sg) => sg.name === request.params.serverGroup);
    if (matches.length === 0) throw notFound(`Server group not found (account: ${request.params.account}, name: ${request.params.serverGroup}, type: ${request.params.type})`, { ...request.params });
    return region === undefined || region === '' ? matches : matches[0];
  });

  /** Classic stages' dynamic target ("current", "previous", "oldest", "largest", "fail") in one location. */
  async function targetServerGroup(params: ClusterParams & { type: string; scope: string; target: string }, onlyEnabled: boolean, validateOldest: boolean) {
    const { scope, target } = params;
    const kind = parseTarget(target);
    if (!kind) throw notFound(`Target not found (target: ${target})`, { target });
    const candidates = (await clusterServerGroups(params, undefined)).filter((sg) => sg.region === scope && (!onlyEnabled || !sg.disabled) && sg.createdTime !== undefined);
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

  // ---- server groups ----

  /** Every server group of an application (optionally some clusters), with instances and load balancers. */
  async function applicationServerGroups(application: string, clusters?: ReadonlyArray<{ account: string; cluster: string }>): Promise<{ loaded: LoadedApplication; models: ViewModels; serverGroups: Resource[] }> {
    const loaded = await loader.application({ application, kinds: SERVER_GROUP_KINDS, clusters, services: true, instances: true });
    const serverGroups = ownOf(loaded, 'serverGroups').sort((a, b) => byName({ name: a.fullName, account: a.account, namespace: a.namespace }, { name: b.fullName, account: b.account, namespace: b.namespace }));
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
    return serverGroups.map((sg) => (expand ? models.serverGroupExpanded(sg, sg.account, { app: request.params.app, cluster: clusterOf(sg) }) : models.serverGroupSummary(sg, clusterOf(sg) ?? '')));
  });

  app.get('/serverGroups', async (request) => {
    const query = queryOf(request.query);
    const applications = (query.applications ?? '').split(',').filter((a) => a !== '');
    const ids = (query.ids ?? '').split(',').filter((id) => id !== '');
    if ((applications.length > 0) === (ids.length > 0)) throw requestInvalid("Provide either 'applications' or 'ids' parameter (but not both)");
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

  // ---- load balancers ----

  app.get<{ Params: AppParams }>('/applications/:app/loadBalancers', async (request) => {
    // The application's Services and Ingresses, with every server group behind them: Clouddriver relates
    // a Service to the ReplicaSets its selector matches in its namespace, whatever their application.
    const loaded = await loader.application({ application: request.params.app, kinds: LOAD_BALANCER_KINDS, services: true });
    const loadBalancers = ownOf(loaded, 'loadBalancers');
    await loader.addNamespaceServerGroups(loaded.graph, loadBalancers);
    const behind = new Map<string, Resource>();
    for (const lb of loadBalancers) for (const sg of loaded.graph.serverGroupsBehind(lb)) behind.set(keyOf(sg), sg);
    await loader.addPods(loaded.graph, [...behind.values()]);
    const models = new ViewModels(loaded.graph);
    return loadBalancers.map((lb) => models.loadBalancer(lb)).sort(byName);
  });

  app.get<{ Params: { provider: string } }>('/:provider/loadBalancers', async (request) => {
    if (!isKubernetes(request.params.provider)) throw noCloudProvider(request.params.provider);
    return [];
  });

  app.get<{ Params: ObjectParams & { provider: string } }>('/:provider/loadBalancers/:account/:region/:name', async (request) => {
    const { provider, account, region, name } = request.params;
    if (!isKubernetes(provider)) throw noCloudProvider(provider);
    const found = await loader.loadBalancer(account, region, name);
    return found ? [new ViewModels(found.graph).loadBalancer(found.loadBalancer)] : [];
  });

  // ---- security groups (Deck's firewalls) ----

  async function securityGroups(account?: string): Promise<Resource[]> {
    return toResources(await store.listObjects({ ...(account === undefined ? {} : { account }), kinds: [...SECURITY_GROUP_KINDS] }));
  }

  function summariesByRegion(policies: readonly Resource[]): Record<string, SecurityGroupSummary[]> {
    const out: Record<string, SecurityGroupSummary[]> = {};
    for (const p of policies) (out[p.namespace] ??= []).push(securityGroupSummary(p));
    for (const list of Object.values(out)) list.sort(byName);
    return out;
  }

  function sortedSummaries(policies: readonly Resource[]): SecurityGroupSummary[] {
    return policies.map(securityGroupSummary).sort(byName);
  }

  async function allSecurityGroups() {
    const byAccount = new Map<string, Resource[]>();
    for (const p of await securityGroups()) {
      const list = byAccount.get(p.account);
      if (list) list.push(p);
      else byAccount.set(p.account, [p]);
    }
    const out: Record<string, Record<string, Record<string, SecurityGroupSummary[]>>> = {};
    for (const account of [...byAccount.keys()].sort()) out[account] = { [CLOUD_PROVIDER]: summariesByRegion(byAccount.get(account)!) };
    return out;
  }

  /** GET /securityGroups/{account}/{cloudProvider}[?region=]: by namespace, or one namespace's list. */
  async function accountSecurityGroups(account: string, provider: string, region: string | undefined) {
    if (!isKubernetes(provider)) return region === undefined ? {} : [];
    const policies = await securityGroups(account);
    return region === undefined ? summariesByRegion(policies) : sortedSummaries(policies.filter((p) => p.namespace === region));
  }

  async function oneSecurityGroup(account: string, provider: string, region: string, name: string) {
    const policy = isKubernetes(provider) ? (await loader.one(account, region, name, 'securityGroups'))?.resource : undefined;
    if (!policy) throw notFound(`Security group '${name}' does not exist`, { account, region, name });
    return securityGroupModel(policy);
  }

  app.get('/securityGroups', async () => allSecurityGroups());

  app.get<{ Params: { account: string } }>('/securityGroups/:account', async (request) => {
    const region = queryOf(request.query).region;
    const policies = await securityGroups(request.params.account);
    const selected = region === undefined ? policies : policies.filter((p) => p.namespace === region);
    if (selected.length === 0) return {};
    return { [CLOUD_PROVIDER]: region === undefined ? summariesByRegion(selected) : sortedSummaries(selected) };
  });

  app.get<{ Params: { account: string; provider: string } }>('/securityGroups/:account/:provider', async (request) =>
    accountSecurityGroups(request.params.account, request.params.provider, queryOf(request.query).region),
  );

  app.get<{ Params: { account: string; provider: string; name: string } }>('/securityGroups/:account/:provider/:name', async (request) => {
    const { account, provider, name } = request.params;
    if (!isKubernetes(provider)) return {};
    const parts = splitFullResourceName(name);
    const target = parts ? await resolveFullName(store, account, name) : undefined;
    if (!target) return {};
    return summariesByRegion((await securityGroups(account)).filter((p) => p.group === target.group && p.kind === target.kind && p.name === target.name));
  });

  app.get<{ Params: { account: string; provider: string; region: string; name: string } }>('/securityGroups/:account/:provider/:region/:name', async (request) =>
    oneSecurityGroup(request.params.account, request.params.provider, request.params.region, request.params.name),
  );

  // Gate's /firewalls names for the same views (Deck calls them through Gate; direct callers get them too).
  app.get('/firewalls', async () => allSecurityGroups());
  app.get<{ Params: { account: string } }>('/firewalls/:account', async (request) => {
    const query = queryOf(request.query);
    return accountSecurityGroups(request.params.account, query.provider ?? CLOUD_PROVIDER, query.region);
  });
  app.get<{ Params: ObjectParams }>('/firewalls/:account/:region/:name', async (request) =>
    oneSecurityGroup(request.params.account, queryOf(request.query).provider ?? CLOUD_PROVIDER, request.params.region, request.params.name),
  );

  // ---- instances ----

  app.get<{ Params: ObjectParams }>('/instances/:account/:region/:name', async (request) => {
    const { account, region, name } = request.params;
    const pod = (await loader.one(account, region, name, 'instances'))?.resource;
    if (!pod) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    return new ViewModels(new ResourceGraph([pod])).instance(pod);
  });

  app.get<{ Params: ObjectParams }>('/instances/:account/:region/:name/console', async (request) => {
    const { account, region, name } = request.params;
    const query = queryOf(request.query);
    if (!isKubernetes(query.cloudProvider ?? query.provider)) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    const output = await consoleOutput(store, router, account, region, name);
    if (!output) throw notFound(`Instance not found (id: ${name})`, { account, region, name });
    return { output };
  });
}

export interface ContainerLog {
  name: string;
  output: string;
}

/**
 * Clouddriver's console output: the logs of each init and app container, read live. Ours come through
 * the agent holding the account (the `logs` operation); when there is none, or the read fails, the
 * container's entry says why instead of holding logs. Undefined when the account or kind is unknown.
 */
export async function consoleOutput(store: CacheReader & AccountReader, router: OperationRouter, account: string, namespace: string, fullName: string): Promise<ContainerLog[] | undefined> {
  const target = await resolveFullName(store, account, fullName);
  if (!target || target.group !== '' || target.kind !== 'Pod') return undefined;
  const object = await store.getObject(account, '', 'Pod', namespace, target.name);
  if (!object) return [{ name: 'Error', output: 'Failed to retrieve pod data; pod may have been deleted.' }];
  const manifest = parseManifest(object);
  const containers = manifest ? containerNames(manifest) : [];
  return Promise.all(
    containers.map(async (container): Promise<ContainerLog> => {
      const outcome = await router.execute(account, {
        type: 'logs',
        target: { group: '', version: '', kind: 'Pod', namespace, name: target.name },
        container,
        tailLines: CONSOLE_TAIL_LINES,
      });
      if (outcome.errorCode === null && outcome.httpStatus > 0 && outcome.httpStatus < 400) {
        return { name: container, output: typeof outcome.body === 'string' ? outcome.body : outcome.body === null ? '' : JSON.stringify(outcome.body) };
      }
      const reason = outcome.message !== '' ? outcome.message : (outcome.errorCode ?? `HTTP ${outcome.httpStatus}`);
      return { name: container, output: `Logs of container ${container} could not be read through the agent for account ${account}: ${reason}` };
    }),
  );
}
