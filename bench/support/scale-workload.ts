import type { KubeObject } from '../../src/common/kube-object.ts';
import { createDefinition } from '../../src/sim/faults-crd.ts';
import type { SimCluster } from '../../src/sim/sim-cluster.ts';

/**
 * The scale benchmark's workload: per cluster, applications of eight objects each — a Deployment (with
 * Spinnaker moniker annotations), the ReplicaSet and two Pods the sim's controllers make for it, a Service,
 * a ConfigMap, a Secret and one custom resource (a `ServiceMonitor.monitoring.coreos.com`, the custom kind
 * most clusters carry) — in namespaces of about 100 applications. The five written objects are applied
 * with server-side apply (field manager `spinnaker`), so they carry managedFields as on a real API server.
 */
export const SCALE_FIELD_MANAGER = 'spinnaker';
export const CUSTOM_GROUP = 'monitoring.coreos.com';
export const CUSTOM_KIND = 'ServiceMonitor';
/** Applications per namespace. */
const APPS_PER_NAMESPACE = 100;
const REPLICAS = 2;
/** Objects an application ends up as: the five written, the ReplicaSet and the pods. */
export const OBJECTS_PER_APP = 5 + 1 + REPLICAS;
/** Objects a new sim cluster has before seeding: default, kube-system, kube-public and the node. */
const INITIAL_OBJECTS = 4;

/** The kinds the benchmark watches by default: the mix above, in the agent's `kinds` syntax. */
export const SCALE_KINDS = ['Deployment.apps', 'ReplicaSet.apps', 'Pod', 'Service', 'ConfigMap', 'Secret', `${CUSTOM_KIND}.${CUSTOM_GROUP}`];

export interface ScalePlan {
  namespaces: string[];
  apps: number;
  /** Objects of the watched kinds the cluster holds once the controllers are done (namespaces and the node are not watched by default). */
  expectedWatchedObjects: number;
  /** All objects (every kind) the cluster holds. */
  expectedObjects: number;
}

/** How many applications (and namespaces) make about `objects` objects in one cluster. */
export function planScaleWorkload(objects: number): ScalePlan {
  const budget = Math.max(0, objects - INITIAL_OBJECTS);
  let namespaces = Math.max(1, Math.ceil(budget / OBJECTS_PER_APP / APPS_PER_NAMESPACE));
  let apps = Math.floor((budget - namespaces) / OBJECTS_PER_APP);
  if (apps <= 0) {
    apps = 0;
    namespaces = 0;
  }
  return {
    namespaces: Array.from({ length: namespaces }, (_, i) => `team-${i}`),
    apps,
    expectedWatchedObjects: apps * OBJECTS_PER_APP,
    expectedObjects: INITIAL_OBJECTS + namespaces + apps * OBJECTS_PER_APP,
  };
}

export function scaleApp(app: string, namespace: string): KubeObject[] {
  const labels = { app, 'app.kubernetes.io/name': app, 'app.kubernetes.io/managed-by': 'spinnaker' };
  const annotations = { 'moniker.spinnaker.io/application': app, 'moniker.spinnaker.io/cluster': `deployment ${app}` };
  const metadata = (name: string, extra: Record<string, string> = {}) => ({ name, namespace, labels, annotations: { ...annotations, ...extra } });
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(`${app}-config`), data: { 'app.properties': `name=${app}\nlogLevel=info\n`, version: '1' } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(`${app}-secret`),
      type: 'Opaque',
      data: { password: Buffer.from(`${app}-password`).toString('base64') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(app),
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app, 'app.kubernetes.io/name': app }, annotations },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'nginx:1.27',
                ports: [{ containerPort: 8080, name: 'http' }],
                envFrom: [{ configMapRef: { name: `${app}-config` } }],
                env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-secret`, key: 'password' } } }],
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(app, { 'moniker.spinnaker.io/cluster': `service ${app}` }),
      spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: `${CUSTOM_GROUP}/v1`,
      kind: CUSTOM_KIND,
      metadata: metadata(app, { 'moniker.spinnaker.io/cluster': `serviceMonitor ${app}` }),
      spec: { selector: { matchLabels: { app } }, endpoints: [{ port: 'http', interval: '30s', path: '/metrics' }] },
    },
  ];
}

/** Writes the CRD, the namespaces and the applications into a cluster (the controllers add ReplicaSets and Pods). */
export function seedScaleCluster(cluster: SimCluster, plan: ScalePlan, options: { serverSideApply: boolean }): void {
  createDefinition(cluster, { group: CUSTOM_GROUP, kind: CUSTOM_KIND, plural: 'servicemonitors' });
  for (const namespace of plan.namespaces)
    cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'bench.scale-agent.io/workload': 'scale' } } });
  for (let i = 0; i < plan.apps; i++) {
    for (const object of scaleApp(`app-${i}`, plan.namespaces[i % plan.namespaces.length]!)) {
      if (options.serverSideApply) {
        const type = cluster.typeOf(String(object.apiVersion), String(object.kind));
        cluster.api.patch(type, object.metadata!.namespace!, object.metadata!.name!, 'apply', object, { fieldManager: SCALE_FIELD_MANAGER });
      } else {
        cluster.create(object);
      }
    }
  }
}
