import type { KubeObject } from '../../src/common/kube-object.ts';
import { splitApiVersion } from '../../src/common/kube-object.ts';
import type { ExecuteOptions, OperationOutcome, OperationRequest, OperationRouter, ResourceTarget, WrittenObject } from '../../src/hub/router/types.ts';
import type { FeedInfo, IngestStore } from '../../src/hub/store/types.ts';
import { applyJsonPatch, parseJsonPatch } from '../../src/sim/patch/json-patch.ts';
import { applyMergePatch } from '../../src/sim/patch/merge-patch.ts';
import { applyStrategicMergePatch } from '../../src/sim/patch/strategic-merge-patch.ts';

/**
 * An OperationRouter for unit tests of composed operations: a small in-memory cluster per account that
 * runs the agent's primitives (apply in every strategy, get, list with equality/existence selectors,
 * patch, scale, delete) the way an API server would, and — like the agent's read-your-writes — puts
 * every write into the hub's store before answering, so the cache reads of the next operation see it.
 * Tests script failures with `fail` and watch every call in `calls`.
 */
export interface FakeCall {
  account: string;
  request: OperationRequest;
  options?: ExecuteOptions;
}

type Failure = Partial<OperationOutcome> | ((request: OperationRequest) => Partial<OperationOutcome> | undefined);

const KINDS: Record<string, { resource: string; namespaced: boolean }> = {
  Deployment: { resource: 'deployments', namespaced: true },
  ReplicaSet: { resource: 'replicasets', namespaced: true },
  StatefulSet: { resource: 'statefulsets', namespaced: true },
  DaemonSet: { resource: 'daemonsets', namespaced: true },
  ControllerRevision: { resource: 'controllerrevisions', namespaced: true },
  Job: { resource: 'jobs', namespaced: true },
  Pod: { resource: 'pods', namespaced: true },
  Service: { resource: 'services', namespaced: true },
  ConfigMap: { resource: 'configmaps', namespaced: true },
  Secret: { resource: 'secrets', namespaced: true },
  Namespace: { resource: 'namespaces', namespaced: false },
  CustomResourceDefinition: { resource: 'customresourcedefinitions', namespaced: false },
  HorizontalPodAutoscaler: { resource: 'horizontalpodautoscalers', namespaced: true },
};

const KIND_GROUPS: Record<string, string> = {
  Deployment: 'apps',
  ReplicaSet: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ControllerRevision: 'apps',
  Job: 'batch',
  CustomResourceDefinition: 'apiextensions.k8s.io',
  HorizontalPodAutoscaler: 'autoscaling',
};

function status(code: number, reason: string, message: string): Partial<OperationOutcome> {
  return {
    httpStatus: code,
    errorCode: 'KUBE_API_ERROR',
    message: `${reason}: ${message}`,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code },
  };
}

export class FakeCluster implements OperationRouter {
  readonly calls: FakeCall[] = [];
  readonly objects = new Map<string, KubeObject>();
  connected = true;
  /** The next calls' answers: consumed in order (a function may decline by returning undefined). */
  readonly failures: Failure[] = [];
  private rv = 100;
  private uid = 0;
  private clock = Date.parse('2024-01-01T00:00:00Z');

  constructor(
    private readonly store: IngestStore,
    readonly account = 'k8s',
  ) {}

  isConnected(): boolean {
    return this.connected;
  }

  key(kind: string, namespace: string, name: string): string {
    return `${kind}/${namespace}/${name}`;
  }

  find(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(this.key(kind, namespace, name));
  }

  all(kind: string, namespace?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && (namespace === undefined || (o.metadata?.namespace ?? '') === namespace));
  }

  /** Puts an object in the cluster (and the cache), as if made outside Spinnaker. */
  async seed(object: KubeObject): Promise<KubeObject> {
    return this.write(structuredClone(object));
  }

  async execute(account: string, request: OperationRequest, options?: ExecuteOptions): Promise<OperationOutcome> {
    this.calls.push({ account, request: structuredClone(request), options });
    const base: OperationOutcome = {
      id: `op-${this.calls.length}`,
      account,
      httpStatus: 200,
      errorCode: null,
      message: '',
      body: null,
      written: [],
      timings: { receivedAt: 0, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: null },
      cacheSynced: true,
    };
    if (!this.connected) return { ...base, httpStatus: 0, errorCode: 'ACCOUNT_NOT_CONNECTED', message: `no agent is connected for account ${account}` };
    while (this.failures.length > 0) {
      const next = this.failures.shift()!;
      const answer = typeof next === 'function' ? next(request) : next;
      if (answer) return { ...base, ...answer };
    }
    return { ...base, ...(await this.run(request)) };
  }

  private async write(object: KubeObject): Promise<KubeObject> {
    const meta = (object.metadata ??= {});
    const existing = this.find(object.kind!, meta.namespace ?? '', meta.name!);
    meta.uid = existing?.metadata?.uid ?? `uid-${++this.uid}`;
    meta.creationTimestamp = existing?.metadata?.creationTimestamp ?? new Date((this.clock += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    meta.resourceVersion = String(++this.rv);
    if (existing && JSON.stringify(existing.spec) !== JSON.stringify(object.spec)) meta.generation = (existing.metadata?.generation ?? 1) + 1;
    this.objects.set(this.key(object.kind!, meta.namespace ?? '', meta.name!), object);
    await this.cache(object);
    return structuredClone(object);
  }

  private feed(kind: string, group: string): FeedInfo {
    const k = KINDS[kind] ?? { resource: `${kind.toLowerCase()}s`, namespaced: true };
    return { group, version: 'v1', kind, resource: k.resource, namespace: '', namespaced: k.namespaced };
  }

  private async cache(object: KubeObject): Promise<void> {
    const { group } = splitApiVersion(object.apiVersion ?? 'v1');
    const meta = object.metadata!;
    const body = structuredClone(object);
    if (body.kind === 'Secret') delete body.data;
    await this.store.applyBatch(
      {
        account: this.account,
        changes: [
          {
            type: 'upsert',
            feed: this.feed(object.kind!, group),
            namespace: meta.namespace ?? '',
            name: meta.name!,
            uid: meta.uid!,
            resourceVersion: meta.resourceVersion!,
            body: JSON.stringify(body),
          },
        ],
        progress: [],
      },
      Date.now(),
    );
  }

  private async uncache(object: KubeObject): Promise<void> {
    const { group } = splitApiVersion(object.apiVersion ?? 'v1');
    await this.store.applyBatch(
      {
        account: this.account,
        changes: [{ type: 'delete', feed: this.feed(object.kind!, group), namespace: object.metadata?.namespace ?? '', name: object.metadata!.name! }],
        progress: [],
      },
      Date.now(),
    );
  }

  private written(object: KubeObject, deleted = false): WrittenObject {
    const { group } = splitApiVersion(object.apiVersion ?? 'v1');
    const m = object.metadata ?? {};
    return { group, kind: object.kind!, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '', deleted };
  }

  private ns(target: ResourceTarget): string {
    return KINDS[target.kind]?.namespaced === false ? '' : target.namespace;
  }

  private async run(request: OperationRequest): Promise<Partial<OperationOutcome>> {
    switch (request.type) {
      case 'apply': {
        const manifest = structuredClone(request.manifest);
        const meta = (manifest.metadata ??= {});
        if (!KINDS[manifest.kind!])
          return { httpStatus: 404, errorCode: 'KUBE_KIND_UNKNOWN', message: `account ${this.account} serves no kind ${manifest.kind}` };
        if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${(++this.uid).toString(36).padStart(5, 'x')}`;
        if (KINDS[manifest.kind!]!.namespaced) meta.namespace ??= 'default';
        const existing = this.find(manifest.kind!, meta.namespace ?? '', meta.name!);
        if (request.strategy === 'create' && existing) return status(409, 'AlreadyExists', `${manifest.kind} "${meta.name}" already exists`);
        if (request.strategy === 'recreate' && existing) this.objects.delete(this.key(manifest.kind!, meta.namespace ?? '', meta.name!));
        const stored =
          request.strategy === 'client-side' || request.strategy === 'server-side'
            ? { ...(existing ?? {}), ...manifest, metadata: { ...(existing?.metadata ?? {}), ...meta } }
            : manifest;
        const out = await this.write(stored);
        return { httpStatus: existing && request.strategy !== 'recreate' ? 200 : 201, body: out, written: [this.written(out)] };
      }
      case 'get': {
        const found = this.find(request.target.kind, this.ns(request.target), request.target.name);
        return found ? { body: structuredClone(found) } : status(404, 'NotFound', `${request.target.kind.toLowerCase()}s "${request.target.name}" not found`);
      }
      case 'list': {
        const selector = request.labelSelector ? request.labelSelector.split(',') : [];
        const items = this.all(request.target.kind, request.target.namespace === '' ? undefined : this.ns(request.target)).filter((o) => {
          const labels = o.metadata?.labels ?? {};
          return selector.every((term) => {
            if (term.startsWith('!')) return !(term.slice(1) in labels);
            const eq = term.indexOf('=');
            return eq < 0 ? term in labels : labels[term.slice(0, eq)] === term.slice(eq + 1);
          });
        });
        return { body: { kind: `${request.target.kind}List`, items: items.map((i) => structuredClone(i)) } };
      }
      case 'patch': {
        const found = this.find(request.target.kind, this.ns(request.target), request.target.name);
        if (!found) return status(404, 'NotFound', `${request.target.kind.toLowerCase()}s "${request.target.name}" not found`);
        let patched: unknown;
        try {
          patched =
            request.patchType === 'json'
              ? applyJsonPatch(structuredClone(found), parseJsonPatch(request.patch))
              : request.patchType === 'merge'
                ? applyMergePatch(structuredClone(found), request.patch)
                : applyStrategicMergePatch(structuredClone(found), request.patch);
        } catch (err) {
          return status(422, 'Invalid', (err as Error).message);
        }
        const out = await this.write(patched as KubeObject);
        return { body: out, written: [this.written(out)] };
      }
      case 'scale': {
        const found = this.find(request.target.kind, this.ns(request.target), request.target.name);
        if (!found) return status(404, 'NotFound', `${request.target.kind.toLowerCase()}s "${request.target.name}" not found`);
        const out = await this.write({ ...found, spec: { ...(found.spec as object), replicas: request.replicas } });
        return { body: { kind: 'Scale', spec: { replicas: request.replicas } }, written: [this.written(out)] };
      }
      case 'delete': {
        const ns = this.ns(request.target);
        const victims = request.target.name
          ? [this.find(request.target.kind, ns, request.target.name)].filter((o): o is KubeObject => o !== undefined)
          : ((await this.run({ type: 'list', target: request.target, labelSelector: request.labelSelector })) as { body: { items: KubeObject[] } }).body.items;
        if (request.target.name && victims.length === 0)
          return status(404, 'NotFound', `${request.target.kind.toLowerCase()}s "${request.target.name}" not found`);
        for (const v of victims) {
          this.objects.delete(this.key(v.kind!, v.metadata?.namespace ?? '', v.metadata!.name!));
          await this.uncache(v);
        }
        return { body: { kind: 'Status', status: 'Success' }, written: victims.map((v) => this.written(v, true)) };
      }
      case 'logs':
        return { body: '' };
    }
  }
}

/** The group of a kind in the fake (for building targets and manifests in tests). */
export function groupOf(kind: string): string {
  return KIND_GROUPS[kind] ?? '';
}
