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
import { parseConfig, parseConfigText } from '../../src/common/config.ts';
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
