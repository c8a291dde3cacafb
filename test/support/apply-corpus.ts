/**
 * Manifest sequences for the client-side apply oracle: each is applied step by step once with real
 * kubectl and once with our apply, and the results must not differ. Steps are either an apply of some
 * manifests or another client's edit in between (a kubectl command such as patch, label or scale).
 * Every builder takes the namespace, so the two runs use two fresh namespaces of one cluster.
 */
export type Json = any;

export type Step =
  | { readonly apply: (ns: string) => Json[] }
  /** Another client's edit: a kubectl command. */
  | { readonly edit: (ns: string) => string[] }
  /** Another client creates an object with a plain POST (no last-applied configuration). */
  | { readonly create: (ns: string) => Json };

export interface Sequence {
  readonly name: string;
  readonly steps: readonly Step[];
  /** Kinds outside the built-in groups need their CRD first: the CustomResourceDefinition to create. */
  readonly crd?: Json;
}

const apply = (...make: Array<(ns: string) => Json>): Step => ({ apply: (ns) => make.map((m) => m(ns)) });
const edit = (make: (ns: string) => string[]): Step => ({ edit: make });
const strategic = (kind: string, name: string, patch: Json) =>
  edit((ns) => ['patch', kind, name, '-n', ns, '--type', 'strategic', '-p', JSON.stringify(patch)]);
const mergePatch = (kind: string, name: string, patch: Json) => edit((ns) => ['patch', kind, name, '-n', ns, '--type', 'merge', '-p', JSON.stringify(patch)]);

interface PodShape {
  containers?: Json[];
  initContainers?: Json[];
  volumes?: Json[];
  extra?: Json;
}

function podSpec(shape: PodShape): Json {
  return {
    ...(shape.initContainers ? { initContainers: shape.initContainers } : {}),
    containers: shape.containers ?? [{ name: 'main', image: 'app:1' }],
    ...(shape.volumes ? { volumes: shape.volumes } : {}),
    ...(shape.extra ?? {}),
  };
}

function deployment(
  name: string,
  shape: PodShape & { replicas?: number | null; strategy?: Json; labels?: Json; annotations?: Json } = {},
): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: shape.labels ?? { app: name }, ...(shape.annotations ? { annotations: shape.annotations } : {}) },
    spec: {
      ...(shape.replicas === null ? {} : { replicas: shape.replicas ?? 2 }),
      selector: { matchLabels: { app: name } },
      ...(shape.strategy ? { strategy: shape.strategy } : {}),
      template: { metadata: { labels: { app: name } }, spec: podSpec(shape) },
    },
  });
}

function statefulSet(name: string, image: string, claims: Json[]): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'db', image, volumeMounts: claims.map((c) => ({ name: c.metadata.name, mountPath: `/data/${c.metadata.name}` })) }] },
      },
      volumeClaimTemplates: claims,
    },
  });
}

function claim(name: string, size: string): Json {
  return { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } };
}

function daemonSet(name: string, shape: PodShape): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec(shape) } },
  });
}

function pod(name: string, shape: PodShape): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: podSpec(shape) });
}

function service(name: string, spec: Json, metadata: Json = {}): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, ...metadata }, spec: { selector: { app: name }, ...spec } });
}

function configMap(name: string, data: Json, metadata: Json = {}): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...metadata }, data });
}

function secret(name: string, data: Json): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', data });
}

function ingress(name: string, spec: Json): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: ns }, spec });
}

function rule(host: string, paths: Array<[string, string, number]>): Json {
  return {
    host,
    http: { paths: paths.map(([path, svc, port]) => ({ path, pathType: 'Prefix', backend: { service: { name: svc, port: { number: port } } } })) },
  };
}

function cronJob(name: string, schedule: string, env: Json[]): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: ns },
    spec: { schedule, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'job:1', env }] } } } } },
  });
}

function hpa(name: string, metrics: Json[]): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: ns },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics },
  });
}

function cpu(utilization: number): Json {
  return { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: utilization } } };
}

function role(name: string, rules: Json[]): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules });
}

function networkPolicy(name: string, ingressRules: Json[]): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: ingressRules },
  });
}

export const CRONTAB_CRD: Json = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'crontabs.oracle.example.com' },
  spec: {
    group: 'oracle.example.com',
    scope: 'Namespaced',
    names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'] },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

function cronTab(name: string, spec: Json, metadata: Json = {}): (ns: string) => Json {
  return (ns) => ({ apiVersion: 'oracle.example.com/v1', kind: 'CronTab', metadata: { name, namespace: ns, ...metadata }, spec });
}

/** A CRD is cluster-scoped: each run gets its own, named after its namespace. */
function widgetCrd(description: string, versions: string[]): (ns: string) => Json {
  return (ns) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${ns}.example.com`, annotations: { description } },
    spec: {
      group: `${ns}.example.com`,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      })),
    },
  });
}

const main = (image: string, extra: Json = {}): Json => ({ name: 'main', image, ...extra });
const env = (...pairs: Array<[string, string]>): Json[] => pairs.map(([name, value]) => ({ name, value }));

export const APPLY_CORPUS: readonly Sequence[] = [
  {
    name: 'a sidecar another client added survives a redeploy of the same manifest',
    steps: [
      apply(deployment('web', { containers: [{ name: 'hello', image: 'hello:1' }] })),
      strategic('deployment', 'web', { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'sidecar:1' }] } } } }),
      apply(deployment('web', { containers: [{ name: 'hello', image: 'hello:1' }] })),
      apply(deployment('web', { containers: [{ name: 'hello', image: 'hello:2' }] })),
    ],
  },
  { name: 'an image change', steps: [apply(deployment('img', { containers: [main('app:1')] })), apply(deployment('img', { containers: [main('app:2')] }))] },
  {
    name: 'an env var removed from the manifest is removed, one another client added stays',
    steps: [
      apply(deployment('envs', { containers: [main('app:1', { env: env(['A', '1'], ['B', '2']) })] })),
      strategic('deployment', 'envs', { spec: { template: { spec: { containers: [{ name: 'main', env: [{ name: 'INJECTED', value: 'x' }] }] } } } }),
      apply(deployment('envs', { containers: [main('app:1', { env: env(['A', '1']) })] })),
    ],
  },
  {
    name: 'env vars reordered',
    steps: [
      apply(deployment('order', { containers: [main('app:1', { env: env(['A', '1'], ['B', '2'], ['C', '3']) })] })),
      apply(deployment('order', { containers: [main('app:1', { env: env(['C', '3'], ['A', '1'], ['B', '2']) })] })),
    ],
  },
  {
    name: 'an env var changing from value to valueFrom',
    steps: [
      apply(deployment('valuefrom', { containers: [main('app:1', { env: env(['MODE', 'a']) })] })),
      apply(deployment('valuefrom', { containers: [main('app:1', { env: [{ name: 'MODE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] })] })),
    ],
  },
  {
    name: 'container ports: one removed, one added',
    steps: [
      apply(
        deployment('ports', {
          containers: [
            main('app:1', {
              ports: [
                { containerPort: 80, name: 'http' },
                { containerPort: 443, name: 'https' },
              ],
            }),
          ],
        }),
      ),
      apply(
        deployment('ports', {
          containers: [
            main('app:1', {
              ports: [
                { containerPort: 80, name: 'http' },
                { containerPort: 9090, name: 'metrics' },
              ],
            }),
          ],
        }),
      ),
    ],
  },
  {
    name: 'a container removed from the manifest while another client added one',
    steps: [
      apply(
        deployment('two', {
          containers: [
            { name: 'a', image: 'a:1' },
            { name: 'b', image: 'b:1' },
          ],
        }),
      ),
      strategic('deployment', 'two', { spec: { template: { spec: { containers: [{ name: 'c', image: 'c:1' }] } } } }),
      apply(deployment('two', { containers: [{ name: 'a', image: 'a:1' }] })),
    ],
  },
  {
    name: 'volumes and volumeMounts: added, then a volume source switched (retainKeys), then removed',
    steps: [
      apply(
        deployment('vols', {
          containers: [main('app:1', { volumeMounts: [{ name: 'conf', mountPath: '/etc/conf' }] })],
          volumes: [{ name: 'conf', configMap: { name: 'conf' } }],
        }),
      ),
      apply(
        deployment('vols', {
          containers: [
            main('app:1', {
              volumeMounts: [
                { name: 'conf', mountPath: '/etc/conf' },
                { name: 'scratch', mountPath: '/tmp' },
              ],
            }),
          ],
          volumes: [
            { name: 'conf', secret: { secretName: 'conf' } },
            { name: 'scratch', emptyDir: {} },
          ],
        }),
      ),
      apply(
        deployment('vols', {
          containers: [main('app:1', { volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }] })],
          volumes: [{ name: 'scratch', emptyDir: {} }],
        }),
      ),
    ],
  },
  {
    name: 'deployment strategy from RollingUpdate with parameters to Recreate (retainKeys)',
    steps: [
      apply(deployment('strat', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } })),
      apply(deployment('strat', { strategy: { type: 'Recreate' } })),
    ],
  },
  {
    name: 'labels: one removed from the manifest, one another client added stays',
    steps: [
      apply(deployment('labels', { labels: { app: 'labels', tier: 'web', team: 'a' } })),
      edit((ns) => ['label', 'deployment', 'labels', '-n', ns, 'owner=ops']),
      apply(deployment('labels', { labels: { app: 'labels', tier: 'web' } })),
    ],
  },
  {
    name: "annotations: removed from the manifest, another client's kept",
    steps: [
      apply(deployment('annot', { annotations: { 'example.com/a': '1', 'example.com/b': '2' } })),
      edit((ns) => ['annotate', 'deployment', 'annot', '-n', ns, 'example.com/by-hand=yes']),
      apply(deployment('annot', { annotations: { 'example.com/a': '1' } })),
    ],
  },
  {
    name: 'replicas scaled by another client are reset by the manifest',
    steps: [
      apply(deployment('scaled', { replicas: 2 })),
      edit((ns) => ['scale', 'deployment', 'scaled', '-n', ns, '--replicas=5']),
      apply(deployment('scaled', { replicas: 2 })),
    ],
  },
  {
    name: 'replicas removed from the manifest after a scale',
    steps: [
      apply(deployment('unscaled', { replicas: 3 })),
      edit((ns) => ['scale', 'deployment', 'unscaled', '-n', ns, '--replicas=4']),
      apply(deployment('unscaled', { replicas: null })),
    ],
  },
  {
    name: 'resources: a limit removed, a request changed',
    steps: [
      apply(
        deployment('res', { containers: [main('app:1', { resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } })] }),
      ),
      apply(deployment('res', { containers: [main('app:1', { resources: { requests: { cpu: '200m', memory: '64Mi' }, limits: { memory: '128Mi' } } })] })),
    ],
  },
  {
    name: 'init containers added and changed',
    steps: [
      apply(deployment('init', { initContainers: [{ name: 'migrate', image: 'migrate:1' }] })),
      apply(
        deployment('init', {
          initContainers: [
            { name: 'wait', image: 'busybox:1' },
            { name: 'migrate', image: 'migrate:2' },
          ],
        }),
      ),
    ],
  },
  {
    name: 'tolerations and node selector (lists without a merge key are replaced)',
    steps: [
      apply(
        deployment('tol', {
          extra: {
            nodeSelector: { disk: 'ssd' },
            tolerations: [
              { key: 'a', operator: 'Exists' },
              { key: 'b', operator: 'Exists' },
            ],
          },
        }),
      ),
      apply(deployment('tol', { extra: { tolerations: [{ key: 'b', operator: 'Exists' }] } })),
    ],
  },
  {
    name: 'imagePullSecrets, hostAliases and topologySpreadConstraints (merge keys name, ip, topologyKey)',
    steps: [
      apply(
        deployment('podlists', {
          extra: {
            imagePullSecrets: [{ name: 'reg-a' }, { name: 'reg-b' }],
            hostAliases: [{ ip: '10.0.0.1', hostnames: ['a.local'] }],
            topologySpreadConstraints: [
              { topologyKey: 'zone', maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'podlists' } } },
            ],
          },
        }),
      ),
      apply(
        deployment('podlists', {
          extra: {
            imagePullSecrets: [{ name: 'reg-b' }],
            hostAliases: [
              { ip: '10.0.0.1', hostnames: ['a.local', 'b.local'] },
              { ip: '10.0.0.2', hostnames: ['c.local'] },
            ],
          },
        }),
      ),
    ],
  },
  {
    name: 'a StatefulSet with volumeClaimTemplates: image changed',
    steps: [apply(statefulSet('db', 'db:1', [claim('data', '1Gi')])), apply(statefulSet('db', 'db:2', [claim('data', '1Gi')]))],
  },
  {
    name: 'a DaemonSet gains a toleration and an env var',
    steps: [
      apply(daemonSet('agent', { containers: [main('agent:1')] })),
      apply(daemonSet('agent', { containers: [main('agent:1', { env: env(['NODE', 'x']) })], extra: { tolerations: [{ operator: 'Exists' }] } })),
    ],
  },
  {
    name: 'a Pod: image changed (the only mutable container field) after another client labelled it',
    steps: [
      apply(pod('single', { containers: [main('app:1', { env: env(['A', '1']) })], initContainers: [{ name: 'init', image: 'init:1' }] })),
      edit((ns) => ['label', 'pod', 'single', '-n', ns, 'checked=true']),
      apply(pod('single', { containers: [main('app:2', { env: env(['A', '1']) })], initContainers: [{ name: 'init', image: 'init:1' }] })),
    ],
  },
  {
    name: 'Service ports: one removed, one renamed, targetPort from number to name',
    steps: [
      apply(
        service('svc', {
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
        }),
      ),
      apply(service('svc', { ports: [{ name: 'web', port: 80, targetPort: 'http' }] })),
    ],
  },
  {
    name: 'Service selector, type and an annotation another client added',
    steps: [
      apply(service('front', { ports: [{ port: 80 }] })),
      edit((ns) => ['annotate', 'service', 'front', '-n', ns, 'example.com/lb=internal']),
      apply(service('front', { type: 'NodePort', ports: [{ port: 80 }], selector: { app: 'front', track: 'stable' } })),
    ],
  },
  {
    name: 'ConfigMap data: keys added and removed, one added by another client stays',
    steps: [
      apply(configMap('conf', { a: '1', b: '2' })),
      mergePatch('configmap', 'conf', { data: { manual: 'yes' } }),
      apply(configMap('conf', { a: '1', c: '3' })),
    ],
  },
  {
    name: 'ConfigMap finalizers (a merged list of strings)',
    steps: [
      apply(configMap('fin', { a: '1' }, { finalizers: ['example.com/a', 'example.com/b'] })),
      edit((ns) => [
        'patch',
        'configmap',
        'fin',
        '-n',
        ns,
        '--type',
        'json',
        '-p',
        '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/manual"}]',
      ]),
      apply(configMap('fin', { a: '1' }, { finalizers: ['example.com/a'] })),
    ],
  },
  { name: 'a Secret loses a key', steps: [apply(secret('creds', { user: 'dXNlcg==', pass: 'cGFzcw==' })), apply(secret('creds', { user: 'dXNlcg==' }))] },
  {
    name: 'Ingress rules: a path added, a rule removed, TLS added',
    steps: [
      apply(ingress('ing', { rules: [rule('a.example.com', [['/', 'a', 80]]), rule('b.example.com', [['/', 'b', 80]])] })),
      apply(
        ingress('ing', {
          tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
          rules: [
            rule('a.example.com', [
              ['/', 'a', 80],
              ['/api', 'api', 8080],
            ]),
          ],
        }),
      ),
    ],
  },
  {
    name: "a CronJob: schedule and the job template's env",
    steps: [apply(cronJob('nightly', '0 1 * * *', env(['MODE', 'full'], ['DRY', 'no']))), apply(cronJob('nightly', '0 2 * * *', env(['MODE', 'fast'])))],
  },
  {
    name: "a HorizontalPodAutoscaler's metrics replaced",
    steps: [
      apply(hpa('web', [cpu(50)])),
      apply(hpa('web', [cpu(70), { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } }])),
    ],
  },
  {
    name: "a Role's rules narrowed",
    steps: [
      apply(
        role('reader', [
          { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] },
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
        ]),
      ),
      apply(role('reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }])),
    ],
  },
  {
    name: "a NetworkPolicy's ingress rules changed",
    steps: [
      apply(networkPolicy('allow', [{ from: [{ podSelector: { matchLabels: { role: 'front' } } }], ports: [{ port: 80, protocol: 'TCP' }] }])),
      apply(networkPolicy('allow', [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }])),
    ],
  },
  {
    name: "a custom resource: a list replaced, a field removed, another client's field kept (JSON merge patch)",
    crd: CRONTAB_CRD,
    steps: [
      apply(cronTab('backup', { cronSpec: '* * * * */5', image: 'backup:1', targets: ['a', 'b'], retries: 3 })),
      mergePatch('crontab', 'backup', { spec: { paused: true } }),
      apply(cronTab('backup', { cronSpec: '* * * * */10', image: 'backup:1', targets: ['b'] })),
    ],
  },
  {
    name: "a custom resource's nested maps and a label",
    crd: CRONTAB_CRD,
    steps: [
      apply(cronTab('nested', { config: { a: { x: 1, y: 2 }, b: { z: 3 } } }, { labels: { tier: 'batch' } })),
      apply(cronTab('nested', { config: { a: { x: 1 }, c: { w: 4 } } })),
    ],
  },
  {
    name: 'a CustomResourceDefinition: an annotation and a version added',
    steps: [apply(widgetCrd('first', ['v1'])), apply(widgetCrd('second', ['v1', 'v2']))],
  },
  {
    name: 'an object created by another client, then applied (no last-applied configuration yet)',
    steps: [
      { create: configMap('adopted', { old: '1', keep: '2' }) },
      apply(configMap('adopted', { keep: '2', new: '3' })),
      apply(configMap('adopted', { new: '3' })),
    ],
  },
  {
    name: 'values with characters Go escapes in JSON (<, >, &) and unicode',
    steps: [apply(configMap('escapes', { html: '<a href="x">&amp;</a>', text: 'snow ❄ and 雪' })), apply(configMap('escapes', { html: '<b>&</b>' }))],
  },
];
