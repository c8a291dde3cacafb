import type { KubeObject } from '../common/kube-object.ts';
import { WriteAudit } from './write-audit.ts';
import type { Logger } from '../common/logger.ts';
import { ClusterApi, type DeleteOptions, type DeleteResult } from './cluster-api.ts';
import { ClusterStore } from './cluster-store.ts';
import { ControllerManager } from './controllers/controller-manager.ts';
import type { BuiltinTypes, ControllerContext } from './controllers/controller-context.ts';
import { DaemonSetController } from './controllers/daemonset-controller.ts';
import { DeploymentController } from './controllers/deployment-controller.ts';
import { JobController } from './controllers/job-controller.ts';
import { Kubelet } from './controllers/kubelet.ts';
import { ReplicaSetController } from './controllers/replicaset-controller.ts';
import { StatefulSetController } from './controllers/statefulset-controller.ts';
import { customResourceListener } from './custom-resources.ts';
import { kubeTime } from './names.ts';
import type { ResourceType } from './resource-type.ts';
import { Scheduler } from './scheduler.ts';
import { badRequest } from './status.ts';
import { parseStored } from './stored-object.ts';
import { SIM_NODE_NAME } from './strategies.ts';

export interface SimClusterOptions {
  name: string;
  historyLimit: number;
  podStartDelayMs: number;
  podTerminationCapMs: number;
  /** See SimOptions.progressNotifyIntervalMs; 0 = none. */
  progressNotifyIntervalMs: number;
  /** See SimOptions.openApiSchemas. */
  openApiSchemas: boolean;
  logger: Logger;
}

/** The namespaces every new cluster starts with, as kubeadm creates them. */
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public'];
const NODE_CAPACITY = { cpu: '8', memory: '32Gi', pods: '110' };
const KUBELET_VERSION = 'v1.31.0';

/**
 * One simulated cluster: its store, API, controllers and deferred work. Tests and seeding use the methods
 * below to read and write in-process (objects carry apiVersion and kind; namespaced kinds default to the
 * `default` namespace); they go through the same API as HTTP requests, so controllers react alike.
 */
export class SimCluster {
  readonly store: ClusterStore;
  readonly api: ClusterApi;
  /** Every write request served (the admin API's /audit). */
  readonly audit = new WriteAudit();
  private readonly scheduler: Scheduler;
  private readonly controllers: ControllerManager;
  private readonly progressTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: SimClusterOptions) {
    this.store = new ClusterStore(options.name, options.historyLimit);
    if (options.progressNotifyIntervalMs > 0) {
      this.progressTimer = setInterval(() => this.store.notifyProgress(), options.progressNotifyIntervalMs);
      this.progressTimer.unref();
    }
    const logger = options.logger.child({ cluster: options.name });
    this.scheduler = new Scheduler(logger);
    this.api = new ClusterApi(this.store, this.scheduler, { podTerminationCapMs: options.podTerminationCapMs });
    const context: ControllerContext = {
      api: this.api,
      store: this.store,
      scheduler: this.scheduler,
      logger,
      podStartDelayMs: options.podStartDelayMs,
      types: this.builtinTypes(),
    };
    this.controllers = new ControllerManager(context, [
      new DeploymentController(context),
      new ReplicaSetController(context),
      new StatefulSetController(context),
      new DaemonSetController(context),
      new JobController(context),
      new Kubelet(context),
    ]);
    this.store.onChange(customResourceListener(this.store));
    this.store.onChange((event) => this.controllers.observe(event));
    for (const name of INITIAL_NAMESPACES) this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    this.create(simNode());
  }

  get name(): string {
    return this.options.name;
  }

  /** The kube-system namespace UID: stable for the cluster's life, used as its identity. */
  get uid(): string {
    return this.get('v1', 'Namespace', '', 'kube-system')!.metadata!.uid!;
  }

  get resourceVersion(): number {
    return this.store.resourceVersion;
  }

  objectCount(): number {
    return this.store.objectCount();
  }

  private builtinTypes(): BuiltinTypes {
    const kind = (apiVersion: string, k: string) => this.store.registry.lookupKind(apiVersion, k)!;
    return {
      pod: kind('v1', 'Pod'),
      deployment: kind('apps/v1', 'Deployment'),
      replicaSet: kind('apps/v1', 'ReplicaSet'),
      statefulSet: kind('apps/v1', 'StatefulSet'),
      daemonSet: kind('apps/v1', 'DaemonSet'),
      job: kind('batch/v1', 'Job'),
      controllerRevision: kind('apps/v1', 'ControllerRevision'),
    };
  }

  typeOf(apiVersion: string, kind: string): ResourceType {
    const type = this.store.registry.lookupKind(apiVersion, kind);
    if (type === undefined) throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
    return type;
  }

  private target(object: KubeObject): { type: ResourceType; namespace: string } {
    const type = this.typeOf(String(object.apiVersion), String(object.kind));
    return { type, namespace: type.namespaced ? (object.metadata?.namespace ?? 'default') : '' };
  }

  create(object: KubeObject): KubeObject {
    const { type, namespace } = this.target(object);
    return this.api.create(type, namespace, structuredClone(object));
  }

  /** Replaces the object (ignoring resourceVersion), creating it when absent. */
  upsert(object: KubeObject): KubeObject {
    const { type, namespace } = this.target(object);
    const name = object.metadata?.name ?? '';
    const copy = structuredClone(object);
    if (this.store.get(type, namespace, name) === undefined) return this.api.create(type, namespace, copy);
    delete copy.metadata?.resourceVersion;
    return this.api.update(type, namespace, name, copy);
  }

  update(object: KubeObject): KubeObject {
    const { type, namespace } = this.target(object);
    return this.api.update(type, namespace, object.metadata?.name ?? '', structuredClone(object));
  }

  /** A JSON merge patch. */
  patch(apiVersion: string, kind: string, namespace: string, name: string, patch: Record<string, unknown>): KubeObject {
    const type = this.typeOf(apiVersion, kind);
    return this.api.patch(type, type.namespaced ? namespace : '', name, 'merge', patch).object;
  }

  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    const type = this.typeOf(apiVersion, kind);
    return this.api.find(type, type.namespaced ? namespace : '', name);
  }

  /** Current objects of a kind, in one namespace or all. */
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const type = this.typeOf(apiVersion, kind);
    return [...this.store.collection(`${type.group}/${type.plural}`).scan(namespace, undefined)].map(parseStored);
  }

  delete(apiVersion: string, kind: string, namespace: string, name: string, options: DeleteOptions = {}): DeleteResult {
    const type = this.typeOf(apiVersion, kind);
    return this.api.delete(type, type.namespaced ? namespace : '', name, options);
  }

  /** Ends every open watch on this cluster cleanly (the drop-watches fault); returns how many. */
  dropWatches(): number {
    return this.store.watches.closeAll();
  }

  /** Forgets the event history up to now (the compaction fault): older resumes and continues get 410. */
  compact(): void {
    this.store.events.compact(this.store.resourceVersion);
  }

  close(): void {
    clearInterval(this.progressTimer);
    this.scheduler.stop();
    this.store.watches.closeAll();
  }
}

function simNode(): KubeObject {
  const now = kubeTime();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: SIM_NODE_NAME, labels: { 'kubernetes.io/hostname': SIM_NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
    spec: {},
    status: {
      capacity: NODE_CAPACITY,
      allocatable: NODE_CAPACITY,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
      ],
      addresses: [
        { type: 'InternalIP', address: '10.0.0.1' },
        { type: 'Hostname', address: SIM_NODE_NAME },
      ],
      nodeInfo: { kubeletVersion: KUBELET_VERSION, operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'containerd://1.7.0' },
    },
  };
}
