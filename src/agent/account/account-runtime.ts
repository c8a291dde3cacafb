import { create } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';
import type { KubeObject } from '../../common/kube-object.ts';
import type { Logger } from '../../common/logger.ts';
import { AccountInfoSchema, type AccountInfo, type ResumePoint } from '../../protocol/index.ts';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { inClusterCredentials } from '../../kube/in-cluster.ts';
import { discoverResources } from '../../kube/discovery.ts';
import type { ApiResource } from '../../kube/api-resource.ts';
import { Reflector } from '../../kube/reflector.ts';
import { slimObject } from '../../kube/slim.ts';
import type { AccountConfig } from '../config.ts';
import { DEFAULT_OMIT_KINDS } from '../config.ts';
import { FeedQueue } from '../sync/feed-queue.ts';
import { feedId, type FeedDescriptor } from '../sync/feed.ts';
import { exclusionReason } from './kind-filter.ts';
import type { ListBudget } from './list-budget.ts';
import { SpinnakerManagedFilter } from './spinnaker-managed-filter.ts';

const KUBE_SYSTEM_NAMESPACE_PATH = '/api/v1/namespaces/kube-system';

export interface ClusterFacts {
  host: string;
  caFingerprint: string;
  kubeSystemUid: string;
  kubernetesVersion: string;
}

interface Feed {
  descriptor: FeedDescriptor;
  queue: FeedQueue;
  reflector: Reflector;
}

export interface AccountRuntimeOptions {
  config: AccountConfig;
  logger: Logger;
  listBudget: ListBudget;
  requestTimeoutMs: number;
  maxObjectBytes: () => number;
  /** A feed has something to send. */
  onPending: (account: string) => void;
}

/**
 * Everything the agent runs for one account (one cluster): the API client, what discovery found, and —
 * while this agent caches the account — one reflector and one queue per feed.
 */
export class AccountRuntime {
  readonly name: string;
  client: KubeClient | undefined;
  facts: ClusterFacts | undefined;
  resources: ApiResource[] = [];
  /** Kinds discovered but not watched, with the reason (reported to the hub and at /accounts). */
  excluded: Array<{ resource: ApiResource; reason: string }> = [];
  state: 'initialising' | 'ready' | 'failed' = 'initialising';
  lastError: string | undefined;
  private readonly feeds = new Map<string, Feed>();
  private hubKinds: string[] = [];
  caching = false;

  constructor(private readonly options: AccountRuntimeOptions) {
    this.name = options.config.name;
  }

  private get logger(): Logger {
    return this.options.logger;
  }

  /** Connects to the cluster and discovers what it serves; throws with a clear reason on failure. */
  async init(): Promise<void> {
    const config = this.options.config;
    try {
      const credentials = config.serviceAccount
        ? inClusterCredentials()
        : await loadKubeconfig({ path: config.kubeconfigFile, contents: config.kubeconfigContents, context: config.context });
      this.client?.close();
      this.client = new KubeClient(credentials, { requestTimeoutMs: this.options.requestTimeoutMs, logger: this.logger, userAgent: 'scale-agent' });
      const discovery = await discoverResources(this.client);
      for (const failed of discovery.failedGroups) {
        this.logger.warn({ account: this.name, groupVersion: failed.groupVersion, err: failed.error }, 'discovery of an API group failed; its kinds are skipped');
      }
      const kubeSystem = await this.client.json<KubeObject>({ path: KUBE_SYSTEM_NAMESPACE_PATH });
      this.resources = discovery.resources;
      this.facts = {
        host: this.client.host,
        caFingerprint: this.client.caFingerprint(),
        kubeSystemUid: kubeSystem.metadata?.uid ?? '',
        kubernetesVersion: discovery.serverVersion.gitVersion,
      };
      this.state = 'ready';
      this.lastError = undefined;
    } catch (err) {
      this.state = 'failed';
      this.lastError = errorMessage(err);
      throw err instanceof ScaleAgentError ? err : new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `account ${this.name}: ${errorMessage(err)}`, { account: this.name }, { cause: err });
    }
  }

  /** The feeds this account should watch, and why the other kinds are not watched. */
  private plannedFeeds(): FeedDescriptor[] {
    const config = this.options.config;
    const selection = {
      kinds: config.kinds,
      omitKinds: config.omitKinds,
      defaultOmitKinds: DEFAULT_OMIT_KINDS,
      onlyNamespacedResources: config.onlyNamespacedResources,
      hubKinds: this.hubKinds,
    };
    const feeds: FeedDescriptor[] = [];
    this.excluded = [];
    for (const resource of this.resources) {
      if (!resource.preferred) continue;
      const reason = exclusionReason(resource, selection);
      if (reason) {
        this.excluded.push({ resource, reason });
        continue;
      }
      const base = { group: resource.group, version: resource.version, kind: resource.kind, resource: resource.resource, namespaced: resource.namespaced };
      if (resource.namespaced && config.namespaces.length > 0) {
        for (const namespace of config.namespaces) feeds.push({ ...base, namespace });
      } else {
        feeds.push({ ...base, namespace: '' });
      }
    }
    return feeds;
  }

  /** The hello's description of this account. */
  info(): AccountInfo {
    const config = this.options.config;
    const planned = new Set(this.plannedFeeds().map((f) => `${f.group}/${f.kind}`));
    const properties: Record<string, string> = {};
    if (config.environment) properties.environment = config.environment;
    if (config.accountType) properties.accountType = config.accountType;
    if (config.onlySpinnakerManaged) properties.onlySpinnakerManaged = 'true';
    return create(AccountInfoSchema, {
      name: this.name,
      cluster: { apiServerHost: this.facts?.host ?? '', caFingerprint: this.facts?.caFingerprint ?? '', kubeSystemUid: this.facts?.kubeSystemUid ?? '' },
      kubernetesVersion: this.facts?.kubernetesVersion ?? '',
      namespaces: config.namespaces,
      kinds: this.resources
        .filter((r) => r.preferred)
        .map((r) => {
          const watched = planned.has(`${r.group}/${r.kind}`);
          const reason = watched ? '' : (this.excluded.find((e) => e.resource === r)?.reason ?? '');
          return { group: r.group, version: r.version, kind: r.kind, resource: r.resource, namespaced: r.namespaced, watchable: watched, reason };
        }),
      permissions: Object.entries(config.permissions).map(([access, roles]) => ({ access, roles })),
      properties,
    });
  }

  /** Starts (or reconciles) caching with the hub's committed resume points. */
  startCaching(resume: ResumePoint[], hubKinds: string[]): void {
    this.hubKinds = hubKinds;
    const resumeByFeed = new Map<string, string>();
    for (const point of resume) if (point.feed) resumeByFeed.set(feedId(point.feed), point.resourceVersion);
    const wanted = this.plannedFeeds();
    const wantedIds = new Set(wanted.map(feedId));

    for (const [id, feed] of this.feeds) {
      if (!wantedIds.has(id)) {
        void feed.reflector.stop();
        feed.queue.drop('no longer watched by the agent configuration');
      }
    }
    for (const descriptor of wanted) {
      const id = feedId(descriptor);
      const hubRv = resumeByFeed.get(id);
      const existing = this.feeds.get(id);
      if (existing) {
        // Already watching: if the hub's committed point is not ours, it lost (or never had) what we
        // sent. Forget what we think it has and resume from its point, or relist.
        if ((hubRv ?? '') !== existing.queue.ackedProgress) {
          this.logger.info({ account: this.name, feed: id, hub: hubRv ?? '(none)', agent: existing.queue.ackedProgress || '(none)' }, 'hub resume point differs from ours; resynchronising the feed');
          existing.queue.forgetKnown();
          existing.queue.ackedProgress = hubRv ?? '';
          existing.reflector.restartFrom(hubRv);
        }
        continue;
      }
      this.addFeed(descriptor, hubRv);
    }
    this.caching = true;
  }

  private addFeed(descriptor: FeedDescriptor, resumeRv: string | undefined): void {
    const client = this.client;
    if (!client) return;
    const config = this.options.config;
    const resource = this.resources.find((r) => r.group === descriptor.group && r.kind === descriptor.kind && r.preferred);
    if (!resource) return;
    const queue = new FeedQueue({ feed: descriptor, maxObjectBytes: this.options.maxObjectBytes(), onPending: () => this.options.onPending(this.name) });
    queue.ackedProgress = resumeRv ?? '';
    const sink = config.onlySpinnakerManaged ? new SpinnakerManagedFilter(queue) : queue;
    const omitted = config.omitNamespaces;
    const fieldSelector = resource.namespaced && descriptor.namespace === '' && omitted.length > 0 ? omitted.map((ns) => `metadata.namespace!=${ns}`).join(',') : undefined;
    const reflector = new Reflector({
      client,
      resource,
      namespace: descriptor.namespace,
      sink,
      resumeResourceVersion: resumeRv,
      transform: slimObject,
      listSemaphore: this.options.listBudget.forAccount(this.name),
      fieldSelector,
      logger: this.logger.child({ account: this.name, kind: descriptor.kind, group: descriptor.group, watchedNamespace: descriptor.namespace || undefined }),
    });
    this.feeds.set(feedId(descriptor), { descriptor, queue, reflector });
    reflector.start();
  }

  /** Stops every reflector (the account is no longer cached here, or the agent stops). */
  async stopCaching(): Promise<void> {
    this.caching = false;
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.all(feeds.map((f) => f.reflector.stop()));
  }

  queues(): FeedQueue[] {
    return [...this.feeds.values()].map((f) => f.queue);
  }

  /** The feed a write to this object shows up in, if watched. */
  queueFor(group: string, kind: string, namespace: string): FeedQueue | undefined {
    return this.feeds.get(feedId({ group, kind, namespace: '' }))?.queue ?? this.feeds.get(feedId({ group, kind, namespace }))?.queue;
  }

  watches(): Array<{ feed: FeedDescriptor; pending: number; known: number; ackedResourceVersion: string; reflector: ReturnType<Reflector['status']> }> {
    return [...this.feeds.values()].map((f) => ({
      feed: f.descriptor,
      pending: f.queue.pendingCount,
      known: f.queue.knownCount,
      ackedResourceVersion: f.queue.ackedProgress,
      reflector: f.reflector.status(),
    }));
  }

  async close(): Promise<void> {
    await this.stopCaching();
    this.client?.close();
  }
}
