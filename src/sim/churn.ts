import type { Logger } from '../common/logger.ts';
import { errorMessage } from '../common/errors.ts';
import { randomInt } from 'node:crypto';
import type { SimCluster } from './sim-cluster.ts';
import { randomSuffix } from './names.ts';
import type { StoredObject } from './stored-object.ts';

/**
 * Background changes for the demo and benchmarks: at `changesPerSecond` (across all clusters) it picks a
 * cluster and does one of: update a ConfigMap's data, scale a Deployment between 1 and maxReplicas,
 * or create a short-lived ConfigMap (deleting the previous one it created there). Work is done in ticks so
 * high rates do not need one timer per change.
 */
export interface ChurnOptions {
  clusters: () => SimCluster[];
  changesPerSecond: number;
  /** Upper bound when scaling Deployments. Default 3. */
  maxReplicas?: number;
  logger?: Logger;
}

const TICK_MS = 50;
const MS_PER_SECOND = 1000;
const DEFAULT_MAX_REPLICAS = 3;
const CHURN_LABEL = 'sim.scale-agent.io/churn';

type Change = (cluster: SimCluster) => void;

export class Churn {
  private timer: NodeJS.Timeout | undefined;
  private owed = 0;
  private done = 0;
  private readonly ephemeral = new Map<string, { namespace: string; name: string }>();

  constructor(private readonly options: ChurnOptions) {}

  /** Changes made so far. */
  get changes(): number {
    return this.done;
  }

  start(): this {
    if (this.timer !== undefined || this.options.changesPerSecond <= 0) return this;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.owed += (this.options.changesPerSecond * TICK_MS) / MS_PER_SECOND;
    const clusters = this.options.clusters();
    if (clusters.length === 0) return;
    const changes: Change[] = [(c) => this.updateConfigMap(c), (c) => this.scaleDeployment(c), (c) => this.cycleConfigMap(c)];
    while (this.owed >= 1) {
      this.owed--;
      const cluster = clusters[randomInt(clusters.length)]!;
      try {
        changes[randomInt(changes.length)]!(cluster);
        this.done++;
      } catch (err) {
        this.options.logger?.debug({ cluster: cluster.name, err: errorMessage(err) }, 'churn change skipped');
      }
    }
  }

  /** Stored objects (unparsed) of a resource: picking one must not parse the whole collection. */
  private stored(cluster: SimCluster, resource: string): StoredObject[] {
    return [...cluster.store.collection(resource).values()];
  }

  private pick<T>(items: T[]): T | undefined {
    return items.length === 0 ? undefined : items[randomInt(items.length)];
  }

  private updateConfigMap(cluster: SimCluster): void {
    const configMap = this.pick(this.stored(cluster, '/configmaps').filter((c) => c.labels?.[CHURN_LABEL] === undefined && c.namespace !== 'kube-system'));
    if (configMap === undefined) return this.cycleConfigMap(cluster);
    cluster.patch('v1', 'ConfigMap', configMap.namespace, configMap.name, { data: { churn: randomSuffix(), updatedAt: new Date().toISOString() } });
  }

  private scaleDeployment(cluster: SimCluster): void {
    const deployment = this.pick(this.stored(cluster, 'apps/deployments'));
    if (deployment === undefined) return this.updateConfigMap(cluster);
    const replicas = 1 + randomInt(this.options.maxReplicas ?? DEFAULT_MAX_REPLICAS);
    cluster.patch('apps/v1', 'Deployment', deployment.namespace, deployment.name, { spec: { replicas } });
  }

  private cycleConfigMap(cluster: SimCluster): void {
    const previous = this.ephemeral.get(cluster.name);
    if (previous !== undefined) {
      this.ephemeral.delete(cluster.name);
      if (cluster.get('v1', 'ConfigMap', previous.namespace, previous.name) !== undefined) cluster.delete('v1', 'ConfigMap', previous.namespace, previous.name);
      return;
    }
    const name = `churn-${randomSuffix()}`;
    cluster.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default', labels: { [CHURN_LABEL]: 'true' } },
      data: { value: randomSuffix() },
    });
    this.ephemeral.set(cluster.name, { namespace: 'default', name });
  }
}
