import { create } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError, errorMessage } from '../../common/errors.ts';
import { accountDefaultNamespace, DEFAULT_NAMESPACE_PROPERTY, joinNamespaces, OMIT_NAMESPACES_PROPERTY } from '../../common/account-properties.ts';
import type { KubeObject } from '../../common/kube-object.ts';
import type { Logger } from '../../common/logger.ts';
import { AccountInfoSchema, type AccountInfo, type ResumePoint } from '../../protocol/index.ts';
import { KubeClient } from '../../kube/client.ts';
import { OpenApiV3Documents } from '../../kube/openapi-v3.ts';
import { carryOverFailedGroups, diffResources, discoverResources, hasResourceChanges } from '../../kube/discovery.ts';
import type { ApiResource } from '../../kube/api-resource.ts';
import { Reflector, type ReflectorOptions, type ReflectorStatus } from '../../kube/reflector.ts';
import {
  DEFAULT_FORBIDDEN_RETRY_MS,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REFLECTOR_BACKOFF,
  DEFAULT_STALL_TIMEOUT_MS,
  DEFAULT_WATCH_TIMEOUT_MAX_SECONDS,
  DEFAULT_WATCH_TIMEOUT_MIN_SECONDS,
} from '../../kube/reflector-defaults.ts';
import { slimObject } from '../../kube/slim.ts';
import type { AccountConfig } from '../config.ts';
import { DEFAULT_OMIT_KINDS } from '../config.ts';
import { FeedQueue } from '../sync/feed-queue.ts';
import { WriteJournal } from '../sync/write-journal.ts';
import { feedId, type FeedDescriptor } from '../sync/feed.ts';
import { DEFINITION_CHANGE_DEBOUNCE_MS, DefinitionChangeSink, definitionIdentity, definitionsResource } from './definition-watch.ts';
import { exclusionReason } from './kind-filter.ts';
import type { ListBudget } from './list-budget.ts';
import { accountCredentials } from './account-credentials.ts';
import type { InClusterOptions } from '../../kube/in-cluster.ts';
import type { SecretResolver } from '../secrets/secret-resolver.ts';
import { SpinnakerManagedFilter } from './spinnaker-managed-filter.ts';
import type { SyncProgress } from '../sync/sync-progress.ts';

const KUBE_SYSTEM_NAMESPACE_PATH = '/api/v1/namespaces/kube-system';

/**
 * Reflector state changes (a kind becoming forbidden, or readable again) within this long are reported
 * to the hub in one account update: the first retries of a refused kind flip its state every second.
 */
export const ACCOUNT_INFO_DEBOUNCE_MS = 1000;

export interface ClusterFacts {
  host: string;
  caFingerprint: string;
  kubeSystemUid: string;
  kubernetesVersion: string;
}

/** How every reflector of the agent behaves (`kubernetes.reflector`, in ms). */
export interface ReflectorTuning {
  pageSize: number;
  backoff: { initialMs: number; maxMs: number };
  forbiddenRetryMs: number;
  stallTimeoutMs: number;
  watchTimeoutSeconds: { min: number; max: number };
}

export const DEFAULT_REFLECTOR_TUNING: ReflectorTuning = {
  pageSize: DEFAULT_PAGE_SIZE,
  backoff: { initialMs: DEFAULT_REFLECTOR_BACKOFF.initialMs, maxMs: DEFAULT_REFLECTOR_BACKOFF.maxMs },
  forbiddenRetryMs: DEFAULT_FORBIDDEN_RETRY_MS,
  stallTimeoutMs: DEFAULT_STALL_TIMEOUT_MS,
  watchTimeoutSeconds: { min: DEFAULT_WATCH_TIMEOUT_MIN_SECONDS, max: DEFAULT_WATCH_TIMEOUT_MAX_SECONDS },
};

/** The reflector options a tuning sets. */
export function reflectorTuningOptions(
  tuning: ReflectorTuning,
): Pick<ReflectorOptions, 'pageSize' | 'backoff' | 'forbiddenRetryMs' | 'stallTimeoutMs' | 'watchTimeoutMinSeconds' | 'watchTimeoutMaxSeconds'> {
  return {
    pageSize: tuning.pageSize,
    backoff: { initialMs: tuning.backoff.initialMs, maxMs: tuning.backoff.maxMs },
    forbiddenRetryMs: tuning.forbiddenRetryMs,
    stallTimeoutMs: tuning.stallTimeoutMs,
    watchTimeoutMinSeconds: tuning.watchTimeoutSeconds.min,
    watchTimeoutMaxSeconds: tuning.watchTimeoutSeconds.max,
  };
}

interface Feed {
  descriptor: FeedDescriptor;
  queue: FeedQueue;
  reflector: Reflector;
}

/** One watched feed as /watches, /accounts, /health and the metrics see it. */
export interface WatchView {
  feed: FeedDescriptor;
  pending: number;
  known: number;
  ackedResourceVersion: string;
  reflector: ReflectorStatus;
  /**
   * Anti-entropy: when the hub last found the feed's digest equal to ours, since when it differs, since
   * when a match is awaited after a reconnect, and why a resumed feed cannot be compared (if it cannot).
   */
  digest: { lastMatchAt?: number; divergedSince?: number; divergences: number; unmatchedSince?: number; verifying?: boolean; unverifiable?: string };
}

/** What rediscovery has done for the account (shown at /accounts). */
export interface DiscoveryView {
  lastRunAt?: number;
  lastChangeAt?: number;
  lastError?: string;
  runs: number;
  changes: number;
  /** The CustomResourceDefinition watch, when the cluster serves definitions and caching runs. */
  definitionWatch?: ReflectorStatus;
  /** Group versions the last discovery could not read; their kinds are kept as they were. */
  unavailableGroupVersions: string[];
}

export interface AccountRuntimeOptions {
  config: AccountConfig;
  logger: Logger;
  listBudget: ListBudget;
  requestTimeoutMs: number;
  maxObjectBytes: () => number;
  /** A feed has something to send. */
  onPending: (account: string) => void;
  /** `kubernetes.reflector`; the defaults when absent. */
  reflector?: ReflectorTuning;
  /** Periodic rediscovery while caching; 0 = only on definition changes. */
  discoveryIntervalMs?: number;
  /** What the hub should know of the account changed (kinds discovered or gone, kinds refused): send info(). */
  onInfoChanged?: (account: string) => void;
  /**
   * Anti-entropy runs: every new feed compares its digest once its record is complete, and a feed that
   * resumes its watch from the hub's point (so it knows only what changed since) is completed by a quiet
   * verification list first.
   */
  verifyResumedFeeds?: boolean;
  /**
   * A feed's reflector has stopped: its loop has exited and it sends no more requests (a retired feed's,
   * the one a retargeted feed replaced, every one at stopCaching). Lets tests await that instead of
   * watching for requests that should not come.
   */
  onFeedStopped?: (feed: FeedDescriptor) => void;
  /** Resolves secret references in the account's kubeconfigFile / kubeconfigContents; without it they fail (SECRET_REFERENCE_INVALID). */
  secrets?: SecretResolver;
  /** Where the account's definition comes from (the file, or the hub's dynamic accounts); declared to the hub. */
  source?: 'file' | 'hub';
  /** Where the pod's ServiceAccount credentials are (serviceAccount accounts; kubernetes.serviceAccountDir). */
  inCluster?: InClusterOptions;
  /** Told of the initial sync: caching started and stopped, feeds started, refused and gone, list pages. */
  progress?: SyncProgress;
}

/** The declared property saying where an account's definition comes from (`file`, or `hub` for a dynamic account). */
export const ACCOUNT_SOURCE_PROPERTY = 'accountSource';

/** A verification list that failed is tried again after this long. */
export const VERIFICATION_RETRY_MS = 60_000;

/** Which of a feed's fields name what is watched (the rest is identity). */
function sameTarget(a: FeedDescriptor, b: FeedDescriptor): boolean {
  return a.version === b.version && a.resource === b.resource && a.namespaced === b.namespaced;
}

/**
 * Everything the agent runs for one account (one cluster): the API client, what discovery found, and —
 * while this agent caches the account — one reflector and one queue per feed, kept in step with the
 * cluster's kinds by a CustomResourceDefinition watch and a periodic rediscovery.
 */
export class AccountRuntime {
  readonly name: string;
  /** Versions seen while operations run, so an operation knows when the hub has what it wrote. */
  readonly journal = new WriteJournal();
  client: KubeClient | undefined;
  /** The cluster's OpenAPI v3 documents, for client-side apply's patch metadata; renewed with the client. */
  openApi: OpenApiV3Documents | undefined;
  facts: ClusterFacts | undefined;
  resources: ApiResource[] = [];
  /** Kinds discovered but not watched, with the reason (reported to the hub and at /accounts). */
  excluded: Array<{ resource: ApiResource; reason: string }> = [];
  state: 'initialising' | 'ready' | 'failed' = 'initialising';
  lastError: string | undefined;
  /**
   * Where manifests that name no namespace go (DEFAULT_NAMESPACE_PROPERTY): known once the credentials
   * are read, and declared to the hub, which places and checks such manifests in the same namespace.
   */
  defaultNamespace: string | undefined;
  private readonly feeds = new Map<string, Feed>();
  /** Feeds no longer watched whose feedDropped the hub has not acknowledged yet, by feed id. */
  private readonly retiring = new Map<string, FeedQueue>();
  private hubKinds: string[] = [];
  caching = false;

  private readonly discovery: DiscoveryView = { runs: 0, changes: 0, unavailableGroupVersions: [] };
  private discoveryRun: Promise<void> | undefined;
  private discoveryAgain = false;
  private discoveryDebounce: NodeJS.Timeout | undefined;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private definitionWatch: Reflector | undefined;
  private infoDebounce: NodeJS.Timeout | undefined;
  /** The refused feeds last reported to the hub, as a comparable string. */
  private reportedRefusals = '';

  /** Stops counting this account's pending changes towards the list budget's high-water mark. */
  private readonly untrackPending: () => void;

  constructor(private readonly options: AccountRuntimeOptions) {
    this.name = options.config.name;
    this.untrackPending = options.listBudget.trackPending(() => this.pendingCount());
  }

  /** Changes waiting in this account's queues (watched feeds and dropped ones not yet acknowledged). */
  pendingCount(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.queue.pendingCount;
    for (const queue of this.retiring.values()) n += queue.pendingCount;
    return n;
  }

  private get logger(): Logger {
    return this.options.logger;
  }

  private get tuning(): ReflectorTuning {
    return this.options.reflector ?? DEFAULT_REFLECTOR_TUNING;
  }

  /** Connects to the cluster and discovers what it serves; throws with a clear reason on failure. */
  async init(): Promise<void> {
    const config = this.options.config;
    try {
      // A retry after a failure reads secret references again: the secret may have been corrected since.
      const credentials = await accountCredentials(config, {
        secrets: this.options.secrets,
        fresh: this.state === 'failed',
        ...(this.options.inCluster ? { inCluster: this.options.inCluster } : {}),
      });
      this.defaultNamespace = accountDefaultNamespace(credentials.namespace);
      await this.client?.close();
      this.client = new KubeClient(credentials, { requestTimeoutMs: this.options.requestTimeoutMs, logger: this.logger, userAgent: 'scale-agent' });
      this.openApi = new OpenApiV3Documents(this.client, this.logger.child({ account: this.name }));
      const discovery = await discoverResources(this.client);
      for (const failed of discovery.failedGroups) {
        this.logger.warn(
          { account: this.name, groupVersion: failed.groupVersion, err: failed.error },
          'discovery of an API group failed; its kinds are skipped',
        );
      }
      const kubeSystem = await this.client.json<KubeObject>({ path: KUBE_SYSTEM_NAMESPACE_PATH });
      this.resources = discovery.resources;
      this.discovery.unavailableGroupVersions = discovery.failedGroups.map((f) => f.groupVersion);
      this.discovery.lastRunAt = Date.now();
      this.discovery.runs++;
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
      throw err instanceof ScaleAgentError
        ? err
        : new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `account ${this.name}: ${errorMessage(err)}`, { account: this.name }, { cause: err });
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

  /** The hello's (and account updates') description of this account. */
  /** The configuration the account runs with (a change restarts the account with a new runtime). */
  get config(): AccountConfig {
    return this.options.config;
  }

  /**
   * How the hub hears of the account: what discovery found once the cluster was reached, or — before
   * that, while it cannot be reached or its credentials read — why not, so that the hub keeps the
   * account registered (as unreachable) instead of forgetting it.
   */
  declaration(): AccountInfo {
    if (this.state === 'ready') return this.info();
    return create(AccountInfoSchema, {
      name: this.name,
      namespaces: this.options.config.namespaces,
      permissions: Object.entries(this.options.config.permissions).map(([access, roles]) => ({ access, roles })),
      properties: this.properties(),
      unreachableReason: this.lastError ?? 'the cluster has not been reached yet',
    });
  }

  private properties(): Record<string, string> {
    const config = this.options.config;
    const properties: Record<string, string> = {};
    if (config.environment) properties.environment = config.environment;
    if (config.accountType) properties.accountType = config.accountType;
    if (config.onlySpinnakerManaged) properties.onlySpinnakerManaged = 'true';
    if (config.omitNamespaces.length > 0) properties[OMIT_NAMESPACES_PROPERTY] = joinNamespaces(config.omitNamespaces);
    if (this.defaultNamespace !== undefined) properties[DEFAULT_NAMESPACE_PROPERTY] = this.defaultNamespace;
    properties[ACCOUNT_SOURCE_PROPERTY] = this.options.source ?? 'file';
    return properties;
  }

  info(): AccountInfo {
    const config = this.options.config;
    const planned = new Set(this.plannedFeeds().map((f) => `${f.group}/${f.kind}`));
    const refusedByKind = new Map<string, { refused: string[]; total: number }>();
    for (const feed of this.feeds.values()) {
      const key = `${feed.descriptor.group}/${feed.descriptor.kind}`;
      const entry = refusedByKind.get(key) ?? { refused: [], total: 0 };
      entry.total++;
      const reason = feed.reflector.status().forbiddenReason;
      if (reason !== undefined) entry.refused.push(feed.descriptor.namespace === '' ? reason : `namespace ${feed.descriptor.namespace}: ${reason}`);
      refusedByKind.set(key, entry);
    }
    const properties = this.properties();
    return create(AccountInfoSchema, {
      name: this.name,
      cluster: { apiServerHost: this.facts?.host ?? '', caFingerprint: this.facts?.caFingerprint ?? '', kubeSystemUid: this.facts?.kubeSystemUid ?? '' },
      kubernetesVersion: this.facts?.kubernetesVersion ?? '',
      namespaces: config.namespaces,
      kinds: this.resources
        .filter((r) => r.preferred)
        .map((r) => {
          const key = `${r.group}/${r.kind}`;
          let watchable = planned.has(key);
          let reason = watchable ? '' : (this.excluded.find((e) => e.resource === r)?.reason ?? '');
          const refusals = refusedByKind.get(key);
          if (watchable && refusals !== undefined && refusals.refused.length > 0) {
            // Partly readable (some namespaces refused) still counts as watchable; the reason says which part is not.
            watchable = refusals.refused.length < refusals.total;
            reason = `forbidden: ${refusals.refused.join('; ')}`;
          }
          return { group: r.group, version: r.version, kind: r.kind, resource: r.resource, namespaced: r.namespaced, watchable, reason };
        }),
      permissions: Object.entries(config.permissions).map(([access, roles]) => ({ access, roles })),
      properties,
    });
  }

  /**
   * Starts (or reconciles) caching with the hub's committed resume points. `origin` says where they come
   * from: a welcome (a new session — compare every feed with the hub's point and resynchronise those that
   * differ) or the reply to an account update, whose points may lag behind acknowledgements still on the
   * way while the sync stream runs, so feeds already running are left alone.
   */
  startCaching(resume: ResumePoint[], hubKinds: string[], origin: 'welcome' | 'update' = 'welcome'): void {
    // Only a welcome defines the hub's kind list; an update reply without kinds does not clear it.
    if (origin === 'welcome' || hubKinds.length > 0) this.hubKinds = hubKinds;
    const resumeByFeed = new Map<string, string>();
    for (const point of resume) if (point.feed) resumeByFeed.set(feedId(point.feed), point.resourceVersion);
    const fresh = origin === 'welcome' || !this.caching;
    const starting = !this.caching;
    this.caching = true;
    // Joins the initial sync (the agent has already joined it while it waited for its turn) before its feeds start.
    if (starting) this.options.progress?.accountWaiting(this.name);
    this.reconcileFeeds(resumeByFeed, fresh);
    // After the feeds: the sync is done once they are, not before they are known.
    if (starting) this.options.progress?.accountStarted(this.name);
    if (fresh) this.dropFeedsOnlyTheHubHas(resume);
    this.followDiscovery();
  }

  /** Brings the running feeds in line with the planned ones: adds, retires, retargets, resynchronises. */
  private reconcileFeeds(resumeByFeed: Map<string, string>, resync: boolean): void {
    const wanted = this.plannedFeeds();
    const wantedIds = new Set(wanted.map(feedId));
    for (const [id, feed] of this.feeds) {
      if (!wantedIds.has(id)) this.retireFeed(id, feed);
    }
    for (const descriptor of wanted) {
      const id = feedId(descriptor);
      const hubRv = resumeByFeed.get(id);
      const existing = this.feeds.get(id);
      if (!existing) {
        this.addFeed(descriptor, hubRv);
        continue;
      }
      if (!sameTarget(existing.descriptor, descriptor)) {
        this.retarget(id, existing, descriptor);
        continue;
      }
      // Already watching: if the hub's committed point is not ours, it lost (or never had) what we
      // sent. Forget what we think it has and resume from its point, or relist.
      if (resync && (hubRv ?? '') !== existing.queue.ackedProgress) {
        this.logger.info(
          { account: this.name, feed: id, hub: hubRv ?? '(none)', agent: existing.queue.ackedProgress || '(none)' },
          'hub resume point differs from ours; resynchronising the feed',
        );
        existing.queue.forgetKnown();
        existing.queue.recordHubResumePoint(hubRv);
        existing.reflector.restartFrom(hubRv);
      }
    }
  }

  /**
   * Feeds the hub has committed but this agent does not watch (a CRD deleted while no agent ran, a kind
   * excluded since) would keep their objects at the hub forever: drop them. Kinds of group versions that
   * discovery could not read are spared; they are unknown, not gone.
   */
  private dropFeedsOnlyTheHubHas(resume: ResumePoint[]): void {
    const unavailableGroups = new Set(this.discovery.unavailableGroupVersions.map((gv) => (gv.includes('/') ? gv.slice(0, gv.indexOf('/')) : '')));
    for (const point of resume) {
      const feed = point.feed;
      if (!feed) continue;
      const id = feedId(feed);
      if (this.feeds.has(id) || this.retiring.has(id) || unavailableGroups.has(feed.group)) continue;
      const descriptor: FeedDescriptor = {
        group: feed.group,
        version: feed.version,
        kind: feed.kind,
        resource: feed.resource,
        namespace: feed.namespace,
        namespaced: feed.namespaced,
      };
      const queue = this.newQueue(descriptor);
      queue.drop(this.dropReason(descriptor));
      this.retiring.set(id, queue);
      this.logger.info({ account: this.name, feed: id }, 'the hub has a feed this agent does not watch; dropping it');
    }
  }

  private dropReason(descriptor: FeedDescriptor): string {
    const served = this.resources.some((r) => r.group === descriptor.group && r.kind === descriptor.kind && r.preferred);
    return served ? 'no longer watched by the agent configuration' : 'the API server no longer serves this kind';
  }

  /** Stops a feed and tells the hub to drop its objects; the queue stays until the hub acknowledges. */
  private retireFeed(id: string, feed: Feed): void {
    this.feeds.delete(id);
    this.options.progress?.feedRemoved(this.name, id);
    // Never rejects: the reflector's loop catches every attempt's error.
    void feed.reflector.stop();
    const reason = this.dropReason(feed.descriptor);
    feed.queue.drop(reason);
    this.retiring.set(id, feed.queue);
    this.logger.info({ account: this.name, feed: id, reason }, 'feed dropped');
  }

  /** The kind's served version changed (a CRD's): list it again through the new version into the same queue. */
  private retarget(id: string, feed: Feed, descriptor: FeedDescriptor): void {
    const previous = feed.reflector;
    const reflector = this.newReflector(descriptor, feed.queue, undefined);
    if (!reflector) return;
    this.logger.info({ account: this.name, feed: id, from: feed.descriptor.version, to: descriptor.version }, 'kind now served at another version; relisting');
    feed.descriptor = descriptor;
    feed.queue.retarget(descriptor);
    feed.reflector = reflector;
    // The old reflector must be gone before the new one writes to the queue. Never rejects: the
    // reflector's loop catches every attempt's error, and start() only launches the new loop.
    void previous.stop().then(() => {
      if (this.caching && this.feeds.get(id)?.reflector === reflector) reflector.start();
    });
  }

  private newQueue(descriptor: FeedDescriptor): FeedQueue {
    return new FeedQueue({
      feed: descriptor,
      maxObjectBytes: this.options.maxObjectBytes(),
      onPending: () => this.options.onPending(this.name),
      journal: this.journal,
    });
  }

  private addFeed(descriptor: FeedDescriptor, resumeRv: string | undefined): void {
    const id = feedId(descriptor);
    let queue = this.retiring.get(id);
    if (queue) {
      // Its feedDropped is still on the way: the hub will have nothing for this feed, so list afresh.
      this.retiring.delete(id);
      queue.revive(descriptor);
      resumeRv = undefined;
    } else {
      queue = this.newQueue(descriptor);
    }
    queue.recordHubResumePoint(resumeRv);
    const reflector = this.newReflector(descriptor, queue, resumeRv);
    if (!reflector) return;
    this.feeds.set(id, { descriptor, queue, reflector });
    this.options.progress?.feedStarted(this.name, id, resumeRv !== undefined);
    reflector.start();
    if (this.options.verifyResumedFeeds) {
      // A feed that starts after its account's stream opened (accounts start in turn) missed the
      // post-reconnect request: it compares once its record is complete. A resumed one is held to
      // matching within the health bound, as the feeds of a reconnect are.
      queue.requestDigest(resumeRv !== undefined ? Date.now() : undefined);
      if (resumeRv !== undefined) this.verifyFeed(id);
    }
  }

  /** Completes a resumed feed's record with a quiet list beside its watch (FeedQueue.onVerification*). */
  private verifyFeed(id: string): void {
    const feed = this.feeds.get(id);
    if (feed === undefined || feed.queue.isKnownComplete || !this.caching) return;
    feed.queue.verificationWanted = true;
    feed.reflector.verify().then(
      () => {
        const failure = feed.queue.verificationFailure;
        if (failure !== undefined)
          this.logger.warn({ account: this.name, feed: id, reason: failure }, 'cannot verify a resumed feed; its digest is compared from its next relist on');
      },
      (err: unknown) => {
        feed.queue.abandonVerification();
        if (this.feeds.get(id) !== feed || !this.caching) return;
        this.logger.warn({ account: this.name, feed: id, err: errorMessage(err) }, 'the verification list of a resumed feed failed; trying again later');
        setTimeout(() => this.verifyFeed(id), VERIFICATION_RETRY_MS).unref();
      },
    );
  }

  private newReflector(descriptor: FeedDescriptor, queue: FeedQueue, resumeRv: string | undefined): Reflector | undefined {
    const client = this.client;
    if (!client) return undefined;
    const config = this.options.config;
    const resource = this.resources.find((r) => r.group === descriptor.group && r.kind === descriptor.kind && r.preferred);
    if (!resource) return undefined;
    const sink = config.onlySpinnakerManaged ? new SpinnakerManagedFilter(queue) : queue;
    const omitted = config.omitNamespaces;
    const fieldSelector =
      resource.namespaced && descriptor.namespace === '' && omitted.length > 0 ? omitted.map((ns) => `metadata.namespace!=${ns}`).join(',') : undefined;
    return new Reflector({
      client,
      resource,
      namespace: descriptor.namespace,
      sink,
      resumeResourceVersion: resumeRv,
      transform: slimObject,
      listSemaphore: this.options.listBudget.forAccount(this.name),
      pageGate: (signal) => this.options.listBudget.roomForPage(signal),
      fieldSelector,
      ...reflectorTuningOptions(this.tuning),
      onListPage: (page) => this.options.progress?.listPage(this.name, feedId(descriptor), page),
      onStateChange: (state, previous) => {
        if (state === 'forbidden') this.options.progress?.feedRefused(this.name, feedId(descriptor));
        // A list that keeps failing stalls its account's initial sync after a while (sync-progress.ts).
        if (state === 'backoff') this.options.progress?.feedBackingOff(this.name, feedId(descriptor));
        if (state === 'forbidden' || previous === 'forbidden') this.scheduleInfoCheck();
        if (state === 'stopped') this.options.onFeedStopped?.(descriptor);
      },
      logger: this.logger.child({ account: this.name, kind: descriptor.kind, group: descriptor.group, watchedNamespace: descriptor.namespace || undefined }),
    });
  }

  // --- following the cluster's kinds -----------------------------------------------------------------

  /** While caching: watch CustomResourceDefinitions and rediscover periodically. Idempotent. */
  private followDiscovery(): void {
    if (!this.caching) return;
    this.startDefinitionWatch();
    if (this.discoveryTimer === undefined && this.discoveryRun === undefined) this.schedulePeriodicDiscovery();
  }

  private startDefinitionWatch(): void {
    const client = this.client;
    if (this.definitionWatch !== undefined || client === undefined) return;
    const resource = definitionsResource(this.resources);
    if (resource === undefined) return;
    this.definitionWatch = new Reflector({
      client,
      resource,
      namespace: '',
      sink: new DefinitionChangeSink((why) => this.requestRediscovery(why)),
      transform: definitionIdentity,
      ...reflectorTuningOptions(this.tuning),
      logger: this.logger.child({ account: this.name, watch: resource.resource }),
    });
    this.definitionWatch.start();
  }

  private schedulePeriodicDiscovery(): void {
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
    const intervalMs = this.options.discoveryIntervalMs ?? 0;
    if (!this.caching || intervalMs <= 0) return;
    this.discoveryTimer = setTimeout(() => {
      this.discoveryTimer = undefined;
      this.rediscoverInBackground('periodic');
    }, intervalMs);
    this.discoveryTimer.unref();
  }

  /** A definition changed: rediscover once the burst is over. */
  requestRediscovery(why: string): void {
    if (!this.caching || this.discoveryDebounce !== undefined) return;
    this.discoveryDebounce = setTimeout(() => {
      this.discoveryDebounce = undefined;
      this.rediscoverInBackground(why);
    }, DEFINITION_CHANGE_DEBOUNCE_MS);
    this.discoveryDebounce.unref();
  }

  /**
   * A rediscovery nobody awaits. A discovery that fails is logged and kept to itself (rediscoverOnce);
   * what can still reject is applying its result to the feeds, which would otherwise end the agent.
   * Logged; the periodic rediscovery, scheduled again whatever happened, tries again.
   */
  private rediscoverInBackground(why: string): void {
    this.rediscover(why).catch((err: unknown) =>
      this.logger.error({ account: this.name, trigger: why, err: errorMessage(err) }, 'applying a rediscovery failed'),
    );
  }

  /**
   * Runs discovery again and, when the kinds changed, starts feeds for new kinds, drops feeds of kinds
   * that are gone, and tells the hub. Never two at once: a request during a run runs once more after it,
   * and the returned promise settles after a run that started after the request (an operation that
   * meets an unknown kind waits for it).
   */
  rediscover(why: string): Promise<void> {
    const client = this.client;
    if (client === undefined || this.state !== 'ready') return Promise.resolve();
    if (this.discoveryRun !== undefined) {
      this.discoveryAgain = true;
      return this.discoveryRun;
    }
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
    this.discoveryRun = (async () => {
      try {
        do {
          this.discoveryAgain = false;
          await this.rediscoverOnce(client, why);
        } while (this.discoveryAgain && this.client === client);
      } finally {
        this.discoveryRun = undefined;
        this.schedulePeriodicDiscovery();
      }
    })();
    return this.discoveryRun;
  }

  private async rediscoverOnce(client: KubeClient, why: string): Promise<void> {
    let result: Awaited<ReturnType<typeof discoverResources>>;
    try {
      result = await discoverResources(client);
    } catch (err) {
      this.discovery.lastError = errorMessage(err);
      this.logger.warn({ account: this.name, err: this.discovery.lastError, trigger: why }, 'rediscovery failed; keeping the kinds known so far');
      return;
    }
    if (this.client !== client) return;
    this.discovery.runs++;
    this.discovery.lastRunAt = Date.now();
    this.discovery.lastError = undefined;
    this.discovery.unavailableGroupVersions = result.failedGroups.map((f) => f.groupVersion);
    const resources = carryOverFailedGroups(this.resources, result);
    const changes = diffResources(this.resources, resources);
    const version = result.serverVersion.gitVersion;
    const versionChanged = this.facts !== undefined && version !== '' && this.facts.kubernetesVersion !== version;
    if (!hasResourceChanges(changes) && !versionChanged) return;
    this.resources = resources;
    if (versionChanged && this.facts) this.facts.kubernetesVersion = version;
    this.discovery.changes++;
    this.discovery.lastChangeAt = this.discovery.lastRunAt;
    this.logger.info(
      { account: this.name, trigger: why, ...changes, ...(versionChanged ? { kubernetesVersion: version } : {}) },
      "the cluster's kinds changed",
    );
    if (this.caching) {
      this.reconcileFeeds(new Map(), false);
      this.startDefinitionWatch();
    }
    this.options.onInfoChanged?.(this.name);
  }

  /** Tells the hub when the set of refused kinds changed (after the debounce). */
  private scheduleInfoCheck(): void {
    // Reflectors stopping with the account (stopCaching) change state too; nobody needs to hear of it.
    if (!this.caching || this.infoDebounce !== undefined) return;
    this.infoDebounce = setTimeout(() => {
      this.infoDebounce = undefined;
      const refusals = this.refusedFeeds()
        .map((r) => `${feedId(r.feed)}=${r.reason}`)
        .sort()
        .join('\n');
      if (refusals === this.reportedRefusals) return;
      this.reportedRefusals = refusals;
      this.options.onInfoChanged?.(this.name);
    }, ACCOUNT_INFO_DEBOUNCE_MS);
    this.infoDebounce.unref();
  }

  /** Feeds the API server refuses (403) or no longer serves (404), with its message, until they recover. */
  refusedFeeds(): Array<{ feed: FeedDescriptor; reason: string; since: number }> {
    const out: Array<{ feed: FeedDescriptor; reason: string; since: number }> = [];
    for (const feed of this.feeds.values()) {
      const status = feed.reflector.status();
      if (status.forbiddenReason !== undefined)
        out.push({ feed: feed.descriptor, reason: status.forbiddenReason, since: status.lastError?.at ?? status.stateSince });
    }
    return out;
  }

  discoveryView(): DiscoveryView {
    const view: DiscoveryView = { ...this.discovery, unavailableGroupVersions: [...this.discovery.unavailableGroupVersions] };
    if (this.definitionWatch !== undefined) view.definitionWatch = this.definitionWatch.status();
    return view;
  }

  // --- lifecycle and views ---------------------------------------------------------------------------

  /** Stops every reflector (the account is no longer cached here, or the agent stops). */
  async stopCaching(): Promise<void> {
    this.caching = false;
    this.options.progress?.accountStopped(this.name);
    for (const timer of [this.discoveryDebounce, this.discoveryTimer, this.infoDebounce]) clearTimeout(timer);
    this.discoveryDebounce = this.discoveryTimer = this.infoDebounce = undefined;
    const reflectors = [...this.feeds.values()].map((f) => f.reflector);
    if (this.definitionWatch !== undefined) reflectors.push(this.definitionWatch);
    this.definitionWatch = undefined;
    this.feeds.clear();
    this.retiring.clear();
    this.reportedRefusals = '';
    await Promise.all(reflectors.map((r) => r.stop()));
  }

  /** The queues the sync stream drains: every watched feed, and dropped ones until the hub acknowledged the drop. */
  queues(): FeedQueue[] {
    for (const [id, queue] of this.retiring) if (queue.dropAcknowledged) this.retiring.delete(id);
    return [...[...this.feeds.values()].map((f) => f.queue), ...this.retiring.values()];
  }

  /** The feed a write to this object shows up in, if watched. */
  queueFor(group: string, kind: string, namespace: string): FeedQueue | undefined {
    return this.feeds.get(feedId({ group, kind, namespace: '' }))?.queue ?? this.feeds.get(feedId({ group, kind, namespace }))?.queue;
  }

  watches(): WatchView[] {
    return [...this.feeds.values()].map((f) => ({
      feed: f.descriptor,
      pending: f.queue.pendingCount,
      known: f.queue.knownCount,
      ackedResourceVersion: f.queue.ackedProgress,
      reflector: f.reflector.status(),
      digest: {
        ...(f.queue.lastDigestMatchAt !== undefined ? { lastMatchAt: f.queue.lastDigestMatchAt } : {}),
        ...(f.queue.divergedSince !== undefined ? { divergedSince: f.queue.divergedSince } : {}),
        divergences: f.queue.divergences,
        ...(f.queue.unmatchedSince !== undefined ? { unmatchedSince: f.queue.unmatchedSince } : {}),
        ...(f.queue.isVerifying ? { verifying: true } : {}),
        ...(f.queue.verificationFailure !== undefined ? { unverifiable: f.queue.verificationFailure } : {}),
      },
    }));
  }

  /** Anti-entropy: every watched feed sends its digest with its next batch; `reconnectedAt` after a reconnect. */
  requestDigests(reconnectedAt?: number): void {
    for (const feed of this.feeds.values()) feed.queue.requestDigest(reconnectedAt);
  }

  /**
   * The hub's copy of a feed differs from what this agent sent: forget what the hub is believed to hold
   * (so the relist sends whole objects, not touches) and relist. The snapshot's end makes the hub drop
   * what the cluster no longer has; nothing is deleted on the digest alone.
   */
  resyncFeed(queue: FeedQueue, why: string): void {
    const feed = this.feeds.get(feedId(queue.feed));
    if (feed === undefined || feed.queue !== queue) return;
    this.logger.warn({ account: this.name, feed: feedId(queue.feed), reason: why }, 'resynchronising a feed the hub holds differently');
    queue.forgetKnown();
    // Compared again once the relist is sent, so a healed feed shows as healed without waiting for the interval.
    queue.requestDigest();
    feed.reflector.restartFrom(undefined);
  }

  async close(): Promise<void> {
    this.untrackPending();
    await this.stopCaching();
    await this.client?.close();
  }
}
