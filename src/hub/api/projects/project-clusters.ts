import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { instanceCounts as countStates, type InstanceCounts } from '../../views/health.ts';
import { SERVER_GROUP_KINDS } from '../../views/kinds.ts';
import { ownOf, type ViewLoader } from '../../views/loader.ts';
import { ViewModels, type ServerGroupModel } from '../../views/models.ts';
import { compareText } from '../../views/resource.ts';
import type { Front50Project, ProjectClusterConfig } from './front50-client.ts';
import { mapLimited } from '../../../common/map-limited.ts';

/**
 * GET /projects/{project}/clusters in Clouddriver's shape (clouddriver-core ProjectClustersService's
 * ClusterModel, ApplicationClusterModel, RegionClusterModel, DeployedBuild), built from the cache: for
 * each cluster of the project's configuration, each of its applications' server groups in the
 * cluster's account whose moniker stack and detail match, enabled and with instances, grouped by
 * region (namespace). Kubernetes server groups carry no Jenkins build, so each region has one build
 * numbered "0" holding every image, as in Clouddriver (and go-clouddriver, internal/api/core/project.go).
 */
export interface DeployedBuild {
  buildNumber: string;
  /** The newest creation time of the region's server groups (epoch ms). */
  deployed: number;
  images: string[];
}

export interface RegionCluster {
  region: string;
  builds: DeployedBuild[];
  instanceCounts: InstanceCounts;
  lastPush: number;
}

export interface ApplicationClusters {
  application: string;
  clusters: RegionCluster[];
  lastPush: number;
}

export interface ProjectCluster {
  account: string;
  /** As the project configures it; left out when it does not (Clouddriver drops nulls). */
  stack?: string;
  detail?: string;
  applications: ApplicationClusters[];
  instanceCounts: InstanceCounts;
}

/** Kubernetes server groups have no Jenkins build info; Clouddriver's JenkinsBuildInfo defaults to "0". */
const NO_BUILD_NUMBER = '0';

/**
 * Clouddriver's nameMatches: a project value of `*` matches anything, another value only itself, and
 * no value only a server group without one (an empty string counts as none).
 */
export function nameMatches(value: string | undefined, wanted: string | undefined): boolean {
  const have = value === '' ? undefined : value;
  const want = wanted === '' ? undefined : wanted;
  if (want === undefined) return have === undefined;
  return want === '*' || want === have;
}

function zeroCounts(): InstanceCounts {
  return countStates([]);
}

function addCounts(into: InstanceCounts, from: InstanceCounts): void {
  into.total += from.total;
  into.up += from.up;
  into.down += from.down;
  into.unknown += from.unknown;
  into.outOfService += from.outOfService;
  into.starting += from.starting;
}

/** Oldest first, then by name: the order images are gathered in (Clouddriver's is a HashSet's). */
function byCreation(a: ServerGroupModel, b: ServerGroupModel): number {
  return (a.createdTime ?? 0) - (b.createdTime ?? 0) || compareText(a.name, b.name);
}

/** The applications a project cluster shows: its own list when it has one, else the project's. */
function applicationsOf(cluster: ProjectClusterConfig, project: Front50Project): string[] {
  return cluster.applications ?? project.config.applications;
}

function regionClusters(serverGroups: readonly ServerGroupModel[], cluster: ProjectClusterConfig): RegionCluster[] {
  const regions = new Map<string, RegionCluster>();
  const matching = serverGroups
    .filter(
      (sg) =>
        sg.account === cluster.account &&
        nameMatches(sg.moniker.stack, cluster.stack) &&
        nameMatches(sg.moniker.detail, cluster.detail) &&
        !sg.disabled &&
        sg.instanceCounts.total > 0,
    )
    .sort(byCreation);
  for (const sg of matching) {
    let region = regions.get(sg.region);
    if (!region) {
      region = { region: sg.region, builds: [{ buildNumber: NO_BUILD_NUMBER, deployed: 0, images: [] }], instanceCounts: zeroCounts(), lastPush: 0 };
      regions.set(sg.region, region);
    }
    addCounts(region.instanceCounts, sg.instanceCounts);
    const build = region.builds[0]!;
    build.deployed = Math.max(build.deployed, sg.createdTime ?? 0);
    for (const image of sg.buildInfo.images) if (!build.images.includes(image)) build.images.push(image);
    region.lastPush = build.deployed;
  }
  return [...regions.values()].sort((a, b) => compareText(a.region, b.region));
}

/**
 * Applications whose server groups (with their Services and pods) are read at once: a few overlap the
 * database's round trips without one dashboard taking every connection of the pool.
 */
export const PROJECT_LOAD_CONCURRENCY = 4;

/**
 * The most applications one project's clusters may name. Each costs a few indexed reads, and Front50's
 * answer (front50.maxResponseBytes, 1 MiB by default) could name tens of thousands: beyond this the
 * dashboard is refused with PROJECT_TOO_LARGE rather than shown in part. Clouddriver has no such bound.
 */
export const MAX_PROJECT_APPLICATIONS = 500;

/**
 * The clusters of `project`, from the server groups of its applications in the cache `loader` reads:
 * each application only in the accounts of the project clusters that show it (the index's ranges, not
 * every account's), PROJECT_LOAD_CONCURRENCY at a time, at most MAX_PROJECT_APPLICATIONS of them.
 */
export async function projectClusters(project: Front50Project, loader: ViewLoader): Promise<ProjectCluster[]> {
  const accountsOf = new Map<string, Set<string>>();
  for (const cluster of project.config.clusters) {
    for (const application of applicationsOf(cluster, project)) {
      const accounts = accountsOf.get(application) ?? new Set<string>();
      accounts.add(cluster.account);
      accountsOf.set(application, accounts);
    }
  }
  if (accountsOf.size > MAX_PROJECT_APPLICATIONS) {
    throw new ScaleAgentError(
      Errors.PROJECT_TOO_LARGE,
      `project ${project.name}: its clusters show ${accountsOf.size} applications, more than the ${MAX_PROJECT_APPLICATIONS} the hub loads for one project; split it, or name fewer applications per cluster`,
      { project: project.name, applications: accountsOf.size, limit: MAX_PROJECT_APPLICATIONS },
    );
  }
  const loaded = await mapLimited([...accountsOf], PROJECT_LOAD_CONCURRENCY, async ([application, accounts]) => {
    const scopes = [...accounts].map((account) => ({ account }));
    const app = await loader.application({ application, kinds: SERVER_GROUP_KINDS, clusters: scopes, services: true, instances: true });
    const models = new ViewModels(app.graph);
    return [application, ownOf(app, 'serverGroups').map((sg) => models.serverGroup(sg))] as const;
  });
  const serverGroups = new Map<string, ServerGroupModel[]>(loaded);
  return project.config.clusters.map((cluster): ProjectCluster => {
    const apps = applicationsOf(cluster, project).map((application): ApplicationClusters => {
      const clusters = regionClusters(serverGroups.get(application) ?? [], cluster);
      return { application, clusters, lastPush: Math.max(0, ...clusters.map((c) => c.lastPush)) };
    });
    const counts = zeroCounts();
    for (const app of apps) for (const region of app.clusters) addCounts(counts, region.instanceCounts);
    return {
      account: cluster.account,
      ...(cluster.stack !== undefined ? { stack: cluster.stack } : {}),
      ...(cluster.detail !== undefined ? { detail: cluster.detail } : {}),
      applications: apps,
      instanceCounts: counts,
    };
  });
}
