import type { KubeObject } from '../common/kube-object.ts';
import type { SimCluster } from './sim-cluster.ts';

/**
 * Spinnaker-looking sample workloads for the demo and benchmarks: per app a Deployment with Spinnaker
 * moniker annotations, a Service selecting it, a ConfigMap, a Secret, an Ingress and a NetworkPolicy, spread
 * over a few namespaces. Names are deterministic (`app-<n>`), so seeding twice fails with AlreadyExists
 * instead of silently doubling the data.
 */
export interface SampleAppsOptions {
  /** How many apps. */
  apps: number;
  /** Namespaces the apps are spread over, round-robin. Default team-a, team-b, team-c. */
  namespaces?: string[];
  /** Replicas per Deployment. Default 2. */
  replicas?: number;
}

export const DEFAULT_SAMPLE_NAMESPACES = ['team-a', 'team-b', 'team-c'];
const DEFAULT_REPLICAS = 2;
const HTTP_PORT = 80;
const CONTAINER_PORT = 8080;
const SPINNAKER_ANNOTATIONS = {
  application: 'moniker.spinnaker.io/application',
  cluster: 'moniker.spinnaker.io/cluster',
  managedBy: 'app.kubernetes.io/managed-by',
};

/** Returns the number of objects created. */
export function seedSampleApps(cluster: SimCluster, options: SampleAppsOptions): number {
  const namespaces = options.namespaces ?? DEFAULT_SAMPLE_NAMESPACES;
  const replicas = options.replicas ?? DEFAULT_REPLICAS;
  let created = 0;
  for (const namespace of namespaces) {
    if (cluster.get('v1', 'Namespace', '', namespace) === undefined) {
      cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      created++;
    }
  }
  for (let i = 0; i < options.apps; i++) {
    for (const object of sampleApp(`app-${i}`, namespaces[i % namespaces.length]!, replicas)) {
      cluster.create(object);
      created++;
    }
  }
  return created;
}

export function sampleApp(app: string, namespace: string, replicas: number): KubeObject[] {
  const labels = { app, 'app.kubernetes.io/name': app, [SPINNAKER_ANNOTATIONS.managedBy]: 'spinnaker' };
  const annotations = { [SPINNAKER_ANNOTATIONS.application]: app, [SPINNAKER_ANNOTATIONS.cluster]: `deployment ${app}` };
  const metadata = (name: string, extra: Record<string, string> = {}) => ({ name, namespace, labels, annotations: { ...annotations, ...extra } });
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadata(`${app}-config`),
      data: { 'app.properties': `name=${app}\nlogLevel=info\n`, version: '1' },
    },
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
        replicas,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app, 'app.kubernetes.io/name': app }, annotations },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'nginx:1.27',
                ports: [{ containerPort: CONTAINER_PORT, name: 'http' }],
                envFrom: [{ configMapRef: { name: `${app}-config` } }],
                env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-secret`, key: 'password' } } }],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(app, { [SPINNAKER_ANNOTATIONS.cluster]: `service ${app}` }),
      spec: { selector: { app }, ports: [{ name: 'http', port: HTTP_PORT, targetPort: CONTAINER_PORT }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: metadata(app, { [SPINNAKER_ANNOTATIONS.cluster]: `ingress ${app}` }),
      spec: {
        rules: [
          {
            host: `${app}.example.com`,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app, port: { number: HTTP_PORT } } } }] },
          },
        ],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(app, { [SPINNAKER_ANNOTATIONS.cluster]: `networkPolicy ${app}` }),
      spec: { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: CONTAINER_PORT, protocol: 'TCP' }] }] },
    },
  ];
}
