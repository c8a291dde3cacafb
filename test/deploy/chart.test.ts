// The install artifacts under deploy/: the Helm chart (every example values file: helm lint, helm template),
// the Kustomize bases and overlays (kubectl kustomize) and the plain YAML rendered from the chart (equal to
// a fresh rendering). Every manifest they produce must be one a real API server takes: each is checked
// against the Kubernetes types (strict field validation), its agent.yaml / hub.yaml must load in the agent
// and the hub, and the real kubectl applies it with --dry-run=server against one sim cluster, which
// validates as a real server does and must store nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ensureHelm, ensureKubectl } from '../../scripts/kubectl.mjs';
import { helmEnv, MANIFESTS, renderManifests } from '../../scripts/render-manifests.mjs';
import { parseAgentConfigText } from '../../src/agent/config-loader.ts';
import { DEFAULT_OMIT_KINDS } from '../../src/agent/config.ts';
import { parseConfig, parseConfigText } from '../../src/common/config.ts';
import { parseCidr } from '../../src/hub/auth/sources.ts';
import { grpcSecurityProblems, hubConfigSchema } from '../../src/hub/config.ts';
import type { SimCluster } from '../../src/sim/sim-cluster.ts';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { KubectlRunner } from '../support/kubectl-runner.ts';
import { schemasOfDefinition, strictFieldProblems, type CustomSchemas } from '../support/strict-fields.ts';

type Json = any;

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const CHART = join(ROOT, 'deploy', 'helm', 'scale-agent');
const EXAMPLES = readdirSync(join(CHART, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const KUSTOMIZATIONS = ['base/agent', 'base/hub', 'overlays/agent-mode', 'overlays/infrastructure-mode', 'overlays/hub'];
const CRD_FILE = join(HERE, 'fixtures', 'servicemonitor-crd.yaml');
/** Where the examples install (the namespaces their comments create), and those agent-mode-namespaced grants. */
const NAMESPACES = ['scale-agent', 'spinnaker', 'team-a', 'team-b'];
const CLUSTER = 'deploy';
const HELM_TIMEOUT_MS = 60_000;
/** kubectl processes at once: enough to overlap their start-up on two cores. */
const KUBECTL_CONCURRENCY = 3;
/** The database URL the hub's configuration reads from the environment (database.urlEnv). */
const DATABASE_URL_ENV = 'SCALE_AGENT_DATABASE_URL';
/** A startup probe must give a process this long to open its port (the hub migrates its database first). */
const MIN_STARTUP_SECONDS = 300;
/** The widest IPv4 block a trusted Gate source may be in an example: a few pods, never a pod network. */
const NARROWEST_GATE_PREFIX_V4 = 24;
const NARROWEST_GATE_PREFIX_V6 = 64;
const READ_VERBS = ['get', 'list', 'watch'];
/**
 * Kinds the agent watches by default (not in DEFAULT_OMIT_KINDS) that Armory's sample RBAC leaves out, as
 * [API group, resource]: cluster-scoped and namespaced built-ins, and a custom resource.
 */
const DEFAULT_WATCHED_RESOURCES: Array<[string, string]> = [
  ['rbac.authorization.k8s.io', 'clusterroles'],
  ['rbac.authorization.k8s.io', 'clusterrolebindings'],
  ['rbac.authorization.k8s.io', 'roles'],
  ['', 'persistentvolumes'],
  ['storage.k8s.io', 'storageclasses'],
  ['networking.k8s.io', 'ingressclasses'],
  ['', 'limitranges'],
  ['', 'resourcequotas'],
  ['', 'replicationcontrollers'],
  ['scheduling.k8s.io', 'priorityclasses'],
  ['apiextensions.k8s.io', 'customresourcedefinitions'],
  ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
  ['example.com', 'widgets'],
];

let helm: string;
let runner: KubectlRunner;
let sim: SimServer;
let cluster: SimCluster;
let dir: string;
let customSchemas: CustomSchemas;

/** Each rendering under test: a name, and the YAML of its manifests. */
const renderings = new Map<string, string>();

function runHelm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(helm, args, { timeout: HELM_TIMEOUT_MS, env: helmEnv(), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(err);
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

function template(values: string[], sets: string[] = [], namespace = 'scale-agent') {
  return runHelm('template', 'scale-agent', CHART, '--namespace', namespace, ...values.flatMap((v) => ['--values', v]), ...sets.flatMap((s) => ['--set', s]));
}

const example = (file: string) => join(CHART, 'examples', file);

/** The objects of a multi-document YAML text, read as kubectl reads it (YAML 1.1: 0440 is octal). */
function objects(yaml: string): Json[] {
  return parseAllDocuments(yaml, { version: '1.1' })
    .map((d) => d.toJS())
    .filter((o) => o !== null && o !== undefined);
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

/** Whether RBAC rules grant a verb on a resource of an API group (wildcards as the API server reads them). */
function rulesAllow(rules: Json[], group: string, resource: string, verb: string): boolean {
  const has = (list: string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);
  return rules.some((rule) => has(rule.apiGroups, group) && has(rule.resources, resource) && has(rule.verbs, verb));
}

/** The Deployments of a rendering whose pod runs the given container (agent or hub). */
function deploymentsOf(yaml: string, container: 'agent' | 'hub'): Json[] {
  return objects(yaml).filter((o) => o.kind === 'Deployment' && o.spec.template.spec.containers.some((c: Json) => c.name === container));
}

/**
 * The Secrets a rendering's objects need to exist: its pods' secret volumes, non-optional secretKeyRefs
 * and envFrom, its ServiceMonitors' credentials, and the `k8s!n:` secret references of its agent
 * configuration; less those the rendering creates itself.
 */
function secretsNeeded(yaml: string): Set<string> {
  const all = objects(yaml);
  const needed = new Set<string>();
  for (const o of all) {
    if (o.kind === 'Deployment') {
      const pod = o.spec.template.spec;
      for (const volume of pod.volumes ?? []) {
        if (volume.secret && volume.secret.optional !== true) needed.add(volume.secret.secretName);
        for (const source of volume.projected?.sources ?? []) if (source.secret && source.secret.optional !== true) needed.add(source.secret.name);
      }
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const env of container.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef;
          if (ref && ref.optional !== true) needed.add(ref.name);
        }
        for (const from of container.envFrom ?? []) if (from.secretRef && from.secretRef.optional !== true) needed.add(from.secretRef.name);
      }
    }
    if (o.kind === 'ServiceMonitor') {
      for (const endpoint of o.spec.endpoints ?? []) {
        if (endpoint.authorization?.credentials) needed.add(endpoint.authorization.credentials.name);
        if (endpoint.bearerTokenSecret) needed.add(endpoint.bearerTokenSecret.name);
      }
    }
    if (o.kind === 'ConfigMap' && o.data?.['agent.yaml'] !== undefined) {
      for (const m of (o.data['agent.yaml'] as string).matchAll(/k8s!n:([^!\s'"]+)/g)) needed.add(m[1]!);
    }
  }
  for (const o of all) if (o.kind === 'Secret') needed.delete(o.metadata.name);
  return needed;
}

/** The Secrets `kubectl create secret` commands in a text create. */
function secretsCreated(text: string): Set<string> {
  return new Set([...text.matchAll(/create secret (?:generic|tls) ([a-z0-9.-]+)/g)].map((m) => m[1]!));
}

async function writeRendering(name: string, yaml: string): Promise<string> {
  const file = join(dir, `${name.replace(/[^a-z0-9.-]/gi, '_')}.yaml`);
  await writeFile(file, yaml);
  return file;
}

before(async () => {
  let kubectl: string;
  [kubectl, helm] = await Promise.all([ensureKubectl(), ensureHelm()]);
  dir = await mkdtemp(join(tmpdir(), 'scale-agent-deploy-test-'));
  sim = await startSim({ port: 0, host: '127.0.0.1', clusters: [CLUSTER] });
  cluster = sim.cluster(CLUSTER);
  const [kubeconfig] = (await sim.writeKubeconfigs(join(dir, 'kubeconfigs'))) as [string];
  runner = new KubectlRunner(kubectl, kubeconfig, dir);
  for (const name of NAMESPACES) cluster.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  customSchemas = schemasOfDefinition(parseYaml(await readFile(CRD_FILE, 'utf8')));
});

after(async () => {
  await sim?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('deploy: Helm chart, Kustomize, plain YAML', () => {
  test('helm lint and helm template succeed for every example values file', async () => {
    assert.ok(EXAMPLES.length >= 6, `examples: ${EXAMPLES.join(', ')}`);
    await Promise.all(
      EXAMPLES.map(async (file) => {
        const lint = await runHelm('lint', CHART, '--strict', '--values', example(file));
        assert.equal(lint.code, 0, `helm lint -f ${file}:\n${lint.stdout}${lint.stderr}`);
        assert.match(lint.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
        const namespace = file.startsWith('hub') ? 'spinnaker' : 'scale-agent';
        const rendered = await template([example(file)], [], namespace);
        assert.equal(rendered.code, 0, `helm template -f ${file}:\n${rendered.stderr}`);
        renderings.set(`helm ${file}`, rendered.stdout);
      }),
    );
    const kinds = (file: string) => objects(renderings.get(`helm ${file}`)!).map((o) => o.kind);
    assert.deepEqual(kinds('agent-mode.yaml').sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    assert.deepEqual(kinds('agent-mode-namespaced.yaml').filter((k) => k === 'Role').length, 3, 'a Role per namespace, and one for the token Secret');
    assert.ok(kinds('hub-postgres-ha.yaml').includes('ServiceMonitor') && kinds('hub-postgres-ha.yaml').includes('PodDisruptionBudget'));
    assert.ok(!kinds('hub-sqlite.yaml').includes('PodDisruptionBudget'), 'one replica: no PodDisruptionBudget');
    assert.ok(kinds('hub-mysql.yaml').includes('Secret'), 'the database URL given in values goes into a Secret');
  });

  test("the chart's README documents every value with its default", async () => {
    const readme = await readFile(join(CHART, 'README.md'), 'utf8');
    const documented = new Map([...readme.matchAll(/^\| `([\w.]+)` \| `([^|]*)` \|/gm)].map((m) => [m[1]!, m[2]!]));
    const values = parseYaml(await readFile(join(CHART, 'values.yaml'), 'utf8'));
    const undocumented: string[] = [];
    const walk = (node: Json, path: string[]): void => {
      const key = path.join('.');
      if (documented.has(key)) return;
      if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0) {
        for (const [child, value] of Object.entries(node)) walk(value, [...path, child]);
      } else undocumented.push(key);
    };
    walk(values, []);
    assert.deepEqual(undocumented, [], 'values missing from the README tables');
    const scalarDefault = (path: string): string => {
      const value = path.split('.').reduce((v: Json, k) => v?.[k], values);
      return value === '' ? '""' : String(value);
    };
    for (const [key, shown] of documented) {
      const value = key.split('.').reduce((v: Json, k) => v?.[k], values);
      assert.notEqual(value, undefined, `the README documents ${key}, which values.yaml does not have`);
      if (value === null || typeof value !== 'object') assert.equal(shown, scalarDefault(key), `README default of ${key}`);
    }
  });

  test('helm template refuses values that would not run, naming what to set', async () => {
    const hub = ['agent.enabled=false', 'hub.enabled=true', 'hub.grpc.insecure=true', 'hub.allowAnyIdentity=true'];
    const cases: Array<[string[], RegExp]> = [
      [[...hub, 'hub.replicaCount=2'], /hub\.replicaCount is 2, but the embedded SQLite serves one hub replica/],
      [[], /agent\.hub\.address is required/],
      [['agent.enabled=false', 'hub.enabled=true', 'hub.allowAnyIdentity=true'], /hub\.grpc\.tls\.secretName is required .* or hub\.grpc\.insecure: true/],
      [['agent.enabled=false', 'hub.enabled=true', 'hub.grpc.insecure=true'], /hub\.identities is required/],
      [
        [...hub, 'hub.replicaCount=2', 'hub.database.existingSecret=db', 'hub.podDisruptionBudget.maxUnavailable=1'],
        /set minAvailable or maxUnavailable, not both/,
      ],
      [['agent.hub.address=hub:9091', 'agent.serviceMonitor.enabled=true'], /agent\.serviceMonitor\.enabled needs agent\.metricsService\.enabled/],
      [['agent.hub.address=hub:9091', 'agent.mode=cluster'], /at '\/agent\/mode': value must be one of 'agent', 'infrastructure'/],
      [['agent.hub.address=hub:9091', 'agent.hubb=x'], /at '\/agent': additional properties 'hubb' not allowed/],
    ];
    await Promise.all(
      cases.map(async ([sets, expected]) => {
        const result = await template([], sets);
        assert.notEqual(result.code, 0, `helm template --set ${sets.join(',')} succeeded`);
        assert.match(result.stderr, expected);
      }),
    );
  });

  test('the hub PodDisruptionBudget keeps minAvailable 0, and defaults to 1 when neither bound is set', async () => {
    const hub = [
      'agent.enabled=false',
      'hub.enabled=true',
      'hub.grpc.insecure=true',
      'hub.allowAnyIdentity=true',
      'hub.replicaCount=2',
      'hub.database.existingSecret=db',
    ];
    const budget = async (...sets: string[]) => {
      const rendered = await template([], [...hub, ...sets], 'spinnaker');
      assert.equal(rendered.code, 0, rendered.stderr);
      return objects(rendered.stdout).find((o) => o.kind === 'PodDisruptionBudget').spec;
    };
    const [zero, neither, max] = await Promise.all([
      budget('hub.podDisruptionBudget.minAvailable=0'),
      budget('hub.podDisruptionBudget.minAvailable=null'),
      budget('hub.podDisruptionBudget.minAvailable=null', 'hub.podDisruptionBudget.maxUnavailable=0'),
    ]);
    assert.equal(zero.minAvailable, 0);
    assert.equal(neither.minAvailable, 1);
    assert.deepEqual([max.maxUnavailable, max.minAvailable], [0, undefined]);
  });

  test('kubectl kustomize builds every base and overlay', async () => {
    await Promise.all(
      KUSTOMIZATIONS.map(async (path) => {
        const built = await runner.run('kustomize', join(ROOT, 'deploy', 'kustomize', path));
        assert.equal(built.code, 0, `kubectl kustomize ${path}: ${built.stderr}`);
        renderings.set(`kustomize ${path}`, built.stdout);
      }),
    );
    const agentMode = objects(renderings.get('kustomize overlays/agent-mode')!);
    const config = agentMode.find((o) => o.kind === 'ConfigMap');
    assert.equal(config.metadata.name, 'scale-agent-agent', 'a fixed name: the agent reloads the mounted file instead of rolling');
    assert.equal(agentMode.find((o) => o.kind === 'ClusterRoleBinding').subjects[0].namespace, 'scale-agent');
  });

  test('the plain YAML equals a fresh rendering of the chart', async () => {
    for (const { path, content } of await renderManifests()) {
      assert.equal(await readFile(path, 'utf8'), content, `${path} is stale: run node scripts/render-manifests.mjs`);
      renderings.set(`plain ${basename(path)}`, content);
    }
    assert.deepEqual(
      [...renderings.keys()].filter((k) => k.startsWith('plain')).sort(),
      Object.keys(MANIFESTS)
        .map((m) => `plain ${m}.yaml`)
        .sort(),
    );
  });

  test("each example's header creates every Secret its objects need; the HA hub's also the README and install.md", async () => {
    const readme = await readFile(join(CHART, 'README.md'), 'utf8');
    const install = await readFile(join(ROOT, 'docs', 'install.md'), 'utf8');
    const missing: Record<string, string[]> = {};
    for (const file of EXAMPLES) {
      const text = await readFile(example(file), 'utf8');
      const created = secretsCreated(text.slice(0, text.search(/^[^#\n]/m)));
      const notCreated = [...secretsNeeded(renderings.get(`helm ${file}`)!)].filter((name) => !created.has(name));
      if (notCreated.length > 0) missing[file] = notCreated;
    }
    assert.deepEqual(missing, {}, "Secrets an example needs that its header's commands do not create");
    const ha = secretsNeeded(renderings.get('helm hub-postgres-ha.yaml')!);
    assert.ok(ha.size >= 4, [...ha].join(', '));
    for (const [doc, text] of [
      ['README.md', readme],
      ['docs/install.md', install],
    ] as const) {
      const created = secretsCreated(text);
      assert.deepEqual(
        [...ha].filter((name) => !created.has(name)),
        [],
        `${doc}: Secrets examples/hub-postgres-ha.yaml needs that it does not create`,
      );
    }
  });

  test('hub-postgres-ha: Prometheus scrapes with a token the hub takes as an admin; users have roles; Gate is trusted from a narrow range', async () => {
    const all = objects(renderings.get('helm hub-postgres-ha.yaml')!);
    const auth = parseYaml(all.find((o) => o.kind === 'ConfigMap').data['hub.yaml']).auth;
    assert.equal(auth.enabled, true);
    const endpoint = all.find((o) => o.kind === 'ServiceMonitor').spec.endpoints[0];
    const credentials = endpoint.authorization?.credentials;
    assert.ok(credentials, 'the ServiceMonitor sends a bearer token');
    const env = deploymentsOf(renderings.get('helm hub-postgres-ha.yaml')!, 'hub')[0].spec.template.spec.containers[0].env as Json[];
    const variable = env.find((e) => e.valueFrom?.secretKeyRef?.name === credentials.name && e.valueFrom.secretKeyRef.key === credentials.key);
    assert.ok(variable, `the hub reads the ServiceMonitor's Secret ${credentials.name}/${credentials.key} into a variable`);
    const token = (auth.tokens ?? []).find((t: Json) => t.tokenEnv === variable.name);
    assert.ok(token, `auth.tokens has a token from ${variable.name}`);
    const adminRoles = new Set<string>((auth.adminRoles ?? []).map((r: string) => r.toLowerCase()));
    assert.ok(
      (token.roles as string[]).some((r) => adminRoles.has(r.toLowerCase())),
      `the scrape token's roles ${token.roles} include an admin role (${[...adminRoles]})`,
    );
    assert.ok((auth.users ?? []).length > 0 || auth.trustedGate.rolesHeader, 'Spinnaker users get roles (auth.users or trustedGate.rolesHeader)');
    for (const source of auth.trustedGate.sources as string[]) {
      const { cidr } = parseCidr(source);
      assert.ok(cidr, source);
      const narrowest = cidr.family === 'ipv4' ? NARROWEST_GATE_PREFIX_V4 : NARROWEST_GATE_PREFIX_V6;
      assert.ok(cidr.prefix >= narrowest, `trustedGate source ${source} is wider than /${narrowest}: any pod in it could act as any user`);
    }
    assert.match(await readFile(example('hub-postgres-ha.yaml'), 'utf8'), /sharedSecret/, 'the example explains the shared secret');
  });

  test("the plain hub.yaml leaves Spinnaker's namespace alone; the agent files say that delete removes theirs", () => {
    const hub = renderings.get('plain hub.yaml')!;
    assert.deepEqual(
      objects(hub).filter((o) => o.kind === 'Namespace'),
      [],
      'kubectl delete -f hub.yaml would delete Spinnaker',
    );
    assert.match(hub.slice(0, hub.indexOf('\n---')), /must exist already/);
    for (const name of ['agent', 'infrastructure']) {
      const yaml = renderings.get(`plain ${name}.yaml`)!;
      assert.equal(objects(yaml)[0].kind, 'Namespace', name);
      assert.match(yaml.slice(0, yaml.indexOf('\n---')), /`kubectl delete -f deploy\/manifests\/\w+\.yaml`\n# deletes the namespace scale-agent/, name);
    }
  });

  test('every agent Deployment replaces a pod without a surge (its readiness needs the hub and every cluster)', async () => {
    let agents = 0;
    for (const [name, yaml] of renderings) {
      for (const deployment of deploymentsOf(yaml, 'agent')) {
        assert.deepEqual(
          deployment.spec.strategy,
          { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
          `${name}: ${deployment.metadata.name}`,
        );
        agents++;
      }
    }
    assert.ok(agents >= 8, `${agents} agent Deployments`);
    const recreate = await template([example('agent-mode.yaml')], ['agent.strategy.type=Recreate']);
    assert.equal(recreate.code, 0, recreate.stderr);
    assert.deepEqual(deploymentsOf(recreate.stdout, 'agent')[0].spec.strategy, { type: 'Recreate' }, 'no rollingUpdate with Recreate');
  });

  test('the agent pods roll when a setting only a restart applies changes, not when only accounts change', async () => {
    const annotations = async (...sets: string[]) => {
      const rendered = await template([example('agent-mode.yaml')], sets);
      assert.equal(rendered.code, 0, rendered.stderr);
      return deploymentsOf(rendered.stdout, 'agent')[0].spec.template.metadata.annotations ?? {};
    };
    const [base, otherAccount, otherPermissions, otherTasks, otherHub, rollAll, rollAllOtherAccount] = await Promise.all([
      annotations(),
      annotations('agent.accountName=prod-eu-2'),
      annotations('agent.account.permissions.WRITE={ops,dev}'),
      annotations('agent.config.tasks.totalBudget=7'),
      annotations('agent.hub.address=other-hub.example.com:9091'),
      annotations('agent.rollOnConfigChange=true'),
      annotations('agent.rollOnConfigChange=true', 'agent.accountName=prod-eu-2'),
    ]);
    const key = 'checksum/config-without-accounts';
    assert.match(base[key] ?? '', /^[0-9a-f]{64}$/, 'the pods carry a checksum of the restart-only settings');
    assert.equal(otherAccount[key], base[key], 'an account change is applied by the running agent');
    assert.equal(otherPermissions[key], base[key], 'an account change is applied by the running agent');
    assert.notEqual(otherTasks[key], base[key], 'tasks apply at a restart only');
    assert.notEqual(otherHub[key], base[key], 'the hub address applies at a restart only');
    assert.equal(base['checksum/config'], undefined);
    assert.match(rollAll['checksum/config'] ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(rollAllOtherAccount['checksum/config'], rollAll['checksum/config'], 'rollOnConfigChange rolls on any change');
  });

  test('the default agent RBAC lets the agent read every kind it watches by default, and write only what Spinnaker deploys', () => {
    const omitted = new Set(DEFAULT_OMIT_KINDS);
    assert.ok(!omitted.has('ClusterRole.rbac.authorization.k8s.io') && !omitted.has('PersistentVolume'));
    let roles = 0;
    for (const name of ['helm agent-mode.yaml', 'kustomize overlays/agent-mode', 'plain agent.yaml']) {
      const role = objects(renderings.get(name)!).find((o) => o.kind === 'ClusterRole' && !o.metadata.name.endsWith('-identity'));
      assert.ok(role, name);
      for (const [group, resource] of DEFAULT_WATCHED_RESOURCES) {
        for (const verb of READ_VERBS) assert.ok(rulesAllow(role.rules, group, resource, verb), `${name}: ${verb} ${resource}.${group}`);
      }
      assert.ok(rulesAllow(role.rules, 'apps', 'deployments', 'patch'), `${name}: Spinnaker deploys Deployments`);
      assert.ok(!rulesAllow(role.rules, 'rbac.authorization.k8s.io', 'clusterroles', 'create'), `${name}: reading everything grants no write`);
      roles++;
    }
    assert.equal(roles, 3);
  });

  test('hub and agent containers have a startup probe long enough for a slow start (the hub migrates first)', () => {
    let containers = 0;
    for (const [name, yaml] of renderings) {
      for (const role of ['agent', 'hub'] as const) {
        for (const deployment of deploymentsOf(yaml, role)) {
          const container = deployment.spec.template.spec.containers.find((c: Json) => c.name === role);
          const probe = container.startupProbe;
          assert.ok(probe, `${name}: ${deployment.metadata.name} has no startupProbe`);
          assert.equal(probe.httpGet?.path, '/health/liveness', name);
          assert.ok((probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3) >= MIN_STARTUP_SECONDS, `${name}: ${JSON.stringify(probe)}`);
          containers++;
        }
      }
    }
    assert.ok(containers >= 14, `${containers} containers`);
  });

  test('every manifest has only fields of its Kubernetes type (what strict field validation takes)', () => {
    assert.ok(renderings.size >= EXAMPLES.length + KUSTOMIZATIONS.length + Object.keys(MANIFESTS).length, [...renderings.keys()].join(', '));
    for (const [name, yaml] of renderings) {
      for (const object of objects(yaml)) {
        assert.deepEqual(strictFieldProblems(object, customSchemas), [], `${name}: ${object.kind} ${object.metadata?.name}`);
      }
    }
    assert.deepEqual(
      strictFieldProblems({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: { template: { spec: { containers: [{ name: 'a', imagePullPolcy: 'Always' }] } } },
      }),
      ['unknown field "spec.template.spec.containers[0].imagePullPolcy"'],
    );
  });

  test('the agent and hub configurations they render load in the agent and the hub', () => {
    const previous = process.env[DATABASE_URL_ENV];
    process.env[DATABASE_URL_ENV] = 'postgres://hub:secret@postgres.spinnaker.svc:5432/spinnaker';
    try {
      let agents = 0;
      let hubs = 0;
      for (const [name, yaml] of renderings) {
        for (const config of objects(yaml).filter((o) => o.kind === 'ConfigMap')) {
          const source = `${name}: ConfigMap ${config.metadata.name}`;
          if (config.data?.['agent.yaml'] !== undefined) {
            const { warnings } = parseAgentConfigText(config.data['agent.yaml'], source);
            assert.deepEqual(warnings, [], source);
            agents++;
          }
          if (config.data?.['hub.yaml'] !== undefined) {
            const hub = parseConfig(hubConfigSchema, parseConfigText(config.data['hub.yaml'], source), source);
            assert.deepEqual(grpcSecurityProblems(hub), [], source);
            hubs++;
          }
        }
      }
      assert.ok(agents >= 8 && hubs >= 6, `${agents} agent and ${hubs} hub configurations`);
    } finally {
      if (previous === undefined) delete process.env[DATABASE_URL_ENV];
      else process.env[DATABASE_URL_ENV] = previous;
    }
  });

  test('kubectl apply --dry-run=server takes every manifest and creates nothing; a ServiceMonitor needs its CRD first', async () => {
    const withMonitor = await writeRendering('monitor-first', renderings.get('helm hub-postgres-ha.yaml')!);
    const refused = await runner.run('apply', '--dry-run=server', '-f', withMonitor);
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /no matches for kind "ServiceMonitor" in version "monitoring.coreos.com\/v1"\nensure CRDs are installed first/);
    await runner.ok('apply', '-f', CRD_FILE);

    const before = { version: cluster.resourceVersion, objects: cluster.objectCount() };
    const files = await Promise.all([...renderings].map(async ([name, yaml]) => ({ name, yaml, file: await writeRendering(name, yaml) })));
    await pooled(files, KUBECTL_CONCURRENCY, async ({ name, yaml, file }) => {
      const applied = await runner.run('apply', '--dry-run=server', '-f', file);
      assert.equal(applied.code, 0, `${name}: kubectl apply --dry-run=server exited ${applied.code}\n${applied.stdout}${applied.stderr}`);
      const lines = applied.stdout.trim().split('\n');
      assert.equal(lines.length, objects(yaml).length, applied.stdout);
      for (const line of lines) assert.match(line, /^\S+ (created|configured|unchanged) \(server dry run\)$/, `${name}: ${line}`);
      // Nothing is there afterwards but the namespaces made before.
      const found = await runner.ok('get', '-f', file, '--ignore-not-found', '-o', 'name');
      assert.deepEqual(
        found.split('\n').filter((l) => l !== '' && !l.startsWith('namespace/')),
        [],
        `${name}: created by a dry run`,
      );
    });
    assert.deepEqual({ version: cluster.resourceVersion, objects: cluster.objectCount() }, before, 'a dry run stores nothing and bumps no resourceVersion');
  });

  test('a rendering a real API server would refuse is refused by the sim, naming the field', async () => {
    const broken = await template(
      [example('agent-mode.yaml')],
      ['agent.extraVolumeMounts[0].name=cache', 'agent.extraVolumeMounts[0].mountPath=/cache', 'agent.metricsService.enabled=false'],
    );
    assert.equal(broken.code, 0, broken.stderr);
    const refused = await runner.run('apply', '--dry-run=server', '-f', await writeRendering('broken', broken.stdout));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /The Deployment "scale-agent-agent" is invalid: spec\.template\.spec\.containers\[0\]\.volumeMounts\[5\]\.name: Not found: "cache"/,
    );
  });
});
