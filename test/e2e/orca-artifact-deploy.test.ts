// Orca's Deploy (Manifest) stages whose manifests come from artifacts, end to end against the whole system
// (sim + hub + agent), in the order Orca's tasks call Clouddriver (test/support/orca-deploy-stage.ts):
//
// 1. Bake (Manifest) with Helm, then Deploy: the test plays Rosco (fetches the `helm/chart` artifact
//    through the hub's PUT /artifacts/fetch/ from a Helm repository on loopback, as Rosco fetches charts
//    through Clouddriver; runs the real `helm template`; answers an `embedded/base64` artifact), then
//    Orca fetches that artifact, parses the YAML stream, deploys, waits for the task and for stability.
// 2. Deploy from a `github/file`: a loopback server plays GitHub (Enterprise)'s content API (metadata,
//    then download_url) and checks the account's token; the deploy binds a required docker/image and
//    the first stage's ConfigMap, as a pipeline's later stage sees the earlier stage's artifacts.
// 3. A fetch naming an artifact account the hub does not have: 404 in Clouddriver's words, and the
//    stage ends there, before any operation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHelm } from '../../scripts/kubectl.mjs';
import { helmEnv } from '../../scripts/render-manifests.mjs';
import { createNamespace, live, type Json } from '../support/operations.ts';
import {
  fetchArtifact,
  manifestsOfYamlStream,
  runDeployManifestStage,
  StageTerminalError,
  type Artifact,
  type DeployManifestStageResult,
} from '../support/orca-deploy-stage.ts';
import { TestSystem } from '../support/system.ts';

const ACCOUNT = 'cluster-1';
const NAMESPACE = 'orca-artifacts';
const APP = 'orcaart';
const CHART_DIR = join(fileURLToPath(import.meta.url), '..', '..', 'hub', 'fixtures', 'artifact-chart');
const CHART_NAME = 'artifact-demo';
const CHART_VERSION = '0.1.0';
/** Bake (Manifest)'s "name" (helm's release name): the chart names its ConfigMap `<release>-demo`. */
const RELEASE = 'orca-helm';
const CONFIG_MAP = `${RELEASE}-demo`;
/** A Bake (Manifest) override (Rosco passes each as `--set key=value`). */
const BAKED_MESSAGE = 'baked by rosco';
const HELM_ACCOUNT = 'e2e-charts';
const HELM_USER = 'charts';
const HELM_PASSWORD = 'chart-password';
const GITHUB_ACCOUNT = 'e2e-github';
const GITHUB_TOKEN = 'ghe-e2e-token';
const GITHUB_REF = '3f1c0ffee';
const GITHUB_FILE = 'deploy/web.yaml';
const IMAGE = 'orca-e2e/web';
const IMAGE_REFERENCE = `${IMAGE}:1.2.3`;
const HELM_TIMEOUT_MS = 60_000;
const HTTP_OK = 200;
const HTTP_NOT_FOUND = 404;

/** The file the GitHub server holds: a Deployment using an untagged image and the Helm stage's ConfigMap, and its Service. */
const WEB_YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orca-web
spec:
  replicas: 2
  selector:
    matchLabels: {app: orca-web}
  template:
    metadata:
      labels: {app: orca-web}
    spec:
      containers:
        - name: web
          image: ${IMAGE}
          volumeMounts: [{name: config, mountPath: /etc/demo}]
      volumes:
        - name: config
          configMap: {name: ${CONFIG_MAP}}
---
apiVersion: v1
kind: Service
metadata:
  name: orca-web
spec:
  selector: {app: orca-web}
  ports: [{port: 80, targetPort: 8080}]
`;

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
}

interface LoopbackServer {
  server: Server;
  origin: string;
  requests: Recorded[];
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse, origin: string) => void): Promise<LoopbackServer> {
  const requests: Recorded[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    handle(req, res, origin);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, origin, requests };
}

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: HELM_TIMEOUT_MS, env: helmEnv() }, (err, stdout, stderr) =>
      err ? reject(new Error(`helm ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** GitHub's content API path for the file, as GitHub Enterprise serves it (`/api/v3/repos/{owner}/{repo}/contents/{path}`). */
const CONTENTS_PATH = `/api/v3/repos/orca-e2e/app/contents/${GITHUB_FILE}`;
const RAW_PATH = `/raw/orca-e2e/app/${GITHUB_REF}/${GITHUB_FILE}`;

/** GitHub answers 404 (not 401) for a private repository the caller may not read. */
function githubContentApi(req: IncomingMessage, res: ServerResponse, origin: string): void {
  const url = new URL(req.url ?? '/', origin);
  const json = (status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  if (req.headers.authorization !== `token ${GITHUB_TOKEN}`) return json(HTTP_NOT_FOUND, { message: 'Not Found' });
  if (url.pathname === CONTENTS_PATH && url.searchParams.get('ref') === GITHUB_REF) {
    return json(HTTP_OK, {
      type: 'file',
      name: basename(GITHUB_FILE),
      path: GITHUB_FILE,
      size: Buffer.byteLength(WEB_YAML),
      encoding: 'base64',
      content: Buffer.from(WEB_YAML).toString('base64'),
      url: `${origin}${CONTENTS_PATH}?ref=${GITHUB_REF}`,
      download_url: `${origin}${RAW_PATH}`,
    });
  }
  if (url.pathname === RAW_PATH) return void res.writeHead(HTTP_OK, { 'content-type': 'text/plain; charset=utf-8' }).end(WEB_YAML);
  json(HTTP_NOT_FOUND, { message: 'Not Found' });
}

describe('Orca Deploy (Manifest) stages with manifests from artifacts', { timeout: 180_000 }, () => {
  let system: TestSystem;
  let helm = '';
  let repoDir = '';
  let workDir = '';
  let helmRepo: LoopbackServer;
  let github: LoopbackServer;
  /** The pipeline's artifacts so far: each stage's `artifacts` output, which later stages get as optionalArtifacts. */
  const pipelineArtifacts: Artifact[] = [];
  let helmStage: DeployManifestStageResult | undefined;

  before(async () => {
    helm = await ensureHelm();
    repoDir = mkdtempSync(join(tmpdir(), 'orca-helm-repo-'));
    workDir = mkdtempSync(join(tmpdir(), 'orca-bake-'));
    await run(helm, ['package', CHART_DIR, '--version', CHART_VERSION, '--destination', repoDir]);
    await run(helm, ['repo', 'index', repoDir]);
    const basic = `Basic ${Buffer.from(`${HELM_USER}:${HELM_PASSWORD}`).toString('base64')}`;
    helmRepo = await serve((req, res) => {
      const file = join(repoDir, basename(req.url ?? ''));
      if (req.headers.authorization !== basic) return void res.writeHead(401).end();
      if (!req.url?.startsWith('/charts/') || !existsSync(file)) return void res.writeHead(HTTP_NOT_FOUND).end();
      res.writeHead(HTTP_OK).end(readFileSync(file));
    });
    github = await serve(githubContentApi);
    system = await new TestSystem({
      clusters: 1,
      hub: {
        artifacts: {
          // The default rules refuse loopback; the artifact servers of this test are there.
          network: { allow: ['127.0.0.1'] },
          helm: { accounts: [{ name: HELM_ACCOUNT, repository: `${helmRepo.origin}/charts`, username: HELM_USER, password: HELM_PASSWORD }] },
          // The loopback server plays GitHub Enterprise: the token may go to it (and only to it).
          github: { accounts: [{ name: GITHUB_ACCOUNT, token: GITHUB_TOKEN, origins: [github.origin] }] },
        },
      },
    }).start();
    await createNamespace(system, ACCOUNT, NAMESPACE);
  });

  after(async () => {
    await system?.stop();
    for (const s of [helmRepo, github]) await new Promise((resolve) => s?.server.close(resolve));
    for (const dir of [repoDir, workDir]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('Bake (Manifest) with Helm from a helm/chart artifact, then Deploy (Manifest) of the embedded/base64 result', async () => {
    // Rosco: the chart through Clouddriver's (the hub's) fetch, the real helm template, the result base64-embedded.
    const chart: Artifact = { type: 'helm/chart', artifactAccount: HELM_ACCOUNT, name: CHART_NAME, version: CHART_VERSION };
    const fetchedChart = await fetchArtifact(system, chart);
    assert.equal(fetchedChart.status, HTTP_OK, `the chart fetch: ${fetchedChart.bytes.toString('utf8')}`);
    assert.match(fetchedChart.contentType, /^application\/octet-stream/);
    assert.ok(fetchedChart.bytes.equals(readFileSync(join(repoDir, `${CHART_NAME}-${CHART_VERSION}.tgz`))), 'the exact chart archive');
    assert.deepEqual(
      helmRepo.requests.map((r) => [r.url, r.authorization !== undefined]),
      [
        ['/charts/index.yaml', true],
        [`/charts/${CHART_NAME}-${CHART_VERSION}.tgz`, true],
      ],
    );
    const chartFile = join(workDir, 'chart.tgz');
    writeFileSync(chartFile, fetchedChart.bytes);
    const rendered = await run(helm, ['template', RELEASE, chartFile, '--namespace', NAMESPACE, '--set', `message=${BAKED_MESSAGE}`]);
    const baked: Artifact = { type: 'embedded/base64', name: 'orca-helm-manifest', reference: Buffer.from(rendered).toString('base64') };
    // Orca binds Rosco's artifact to the stage's expected artifact, whose match artifact names the account.
    const bound: Artifact = { ...baked, artifactAccount: 'embedded-artifact' };
    pipelineArtifacts.push(bound);

    // Orca: the Deploy (Manifest) stage.
    const calls: string[] = [];
    const stage = await runDeployManifestStage(
      system,
      'deploy-helm',
      {
        account: ACCOUNT,
        moniker: { app: APP },
        source: 'artifact',
        manifestArtifact: bound,
        manifestArtifactId: 'baked-manifest',
        namespaceOverride: NAMESPACE,
        skipExpressionEvaluation: true,
      },
      pipelineArtifacts,
      calls,
    );
    assert.equal(calls[0], 'PUT /artifacts/fetch/');
    assert.deepEqual(
      stage.operations[0].deployManifest.manifests.map((m: Json) => [m.kind, m.metadata.name, m.data?.message]),
      [['ConfigMap', CONFIG_MAP, BAKED_MESSAGE]],
      'the manifests are the YAML documents helm rendered',
    );
    assert.deepEqual(stage.outputs.manifestNamesByNamespace, { [NAMESPACE]: [`configMap ${CONFIG_MAP}-v000`] });
    assert.equal(stage.stableManifests[0].status.stable.state, true);
    const configMap = stage.outputs.createdArtifacts.find((a) => a.type === 'kubernetes/configMap');
    assert.deepEqual(
      { name: configMap?.name, reference: configMap?.reference, location: configMap?.location },
      { name: CONFIG_MAP, reference: `${CONFIG_MAP}-v000`, location: NAMESPACE },
    );
    // The deployed object at the hub and at the cluster.
    const cached = await system.rest(`/manifests/${ACCOUNT}/${NAMESPACE}/${encodeURIComponent(`configMap ${CONFIG_MAP}-v000`)}`);
    assert.equal(cached.status, HTTP_OK);
    assert.equal(cached.body.manifest.data.message, BAKED_MESSAGE);
    assert.equal(cached.body.moniker.app, APP);
    assert.ok(await live(system, ACCOUNT, `/api/v1/namespaces/${NAMESPACE}/configmaps/${CONFIG_MAP}-v000`));
    pipelineArtifacts.push(...stage.artifacts);
    helmStage = stage;
  });

  test('Deploy (Manifest) from a github/file, binding a required docker/image and the earlier stage’s ConfigMap', async () => {
    assert.ok(helmStage, 'the Helm stage ran first (its ConfigMap is bound here)');
    const file: Artifact = {
      type: 'github/file',
      artifactAccount: GITHUB_ACCOUNT,
      name: GITHUB_FILE,
      reference: `${github.origin}${CONTENTS_PATH}`,
      version: GITHUB_REF,
    };
    const image: Artifact = { type: 'docker/image', name: IMAGE, reference: IMAGE_REFERENCE };
    pipelineArtifacts.push(file, image);
    const stage = await runDeployManifestStage(
      system,
      'deploy-github',
      {
        account: ACCOUNT,
        moniker: { app: APP },
        source: 'artifact',
        manifestArtifact: file,
        manifestArtifactId: 'web-manifest',
        namespaceOverride: NAMESPACE,
        requiredArtifacts: [image],
        skipExpressionEvaluation: true,
      },
      pipelineArtifacts,
    );
    // The hub read the metadata with the account's token, at the ref, then the download_url.
    assert.deepEqual(
      github.requests.map((r) => [r.url, r.authorization]),
      [
        [`${CONTENTS_PATH}?ref=${GITHUB_REF}`, `token ${GITHUB_TOKEN}`],
        [RAW_PATH, `token ${GITHUB_TOKEN}`],
      ],
    );
    assert.deepEqual(stage.operations[0].deployManifest.manifests, manifestsOfYamlStream(WEB_YAML));
    assert.deepEqual(stage.outputs.manifestNamesByNamespace, { [NAMESPACE]: ['service orca-web', 'deployment orca-web'] });
    assert.ok(stage.stableManifests.every((m) => m.status.stable.state === true));
    assert.deepEqual(stage.outputs.boundArtifacts.map((a) => [a.type, a.name, a.reference]).sort(), [
      ['docker/image', IMAGE, IMAGE_REFERENCE],
      ['kubernetes/configMap', CONFIG_MAP, `${CONFIG_MAP}-v000`],
    ]);
    const deployment = await live(system, ACCOUNT, `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/orca-web`);
    assert.equal(deployment.spec.template.spec.containers[0].image, IMAGE_REFERENCE);
    assert.equal(deployment.spec.template.spec.volumes[0].configMap.name, `${CONFIG_MAP}-v000`);
    assert.equal(deployment.status.availableReplicas, 2, 'stable means rolled out');
  });

  test('a fetch naming an artifact account the hub does not have is a 404 in Clouddriver’s words, and nothing is deployed', async () => {
    const tasksBefore = await system.rest('/task');
    assert.equal(tasksBefore.status, HTTP_OK);
    const githubRequests = github.requests.length;
    const calls: string[] = [];
    const missing: Artifact = { type: 'github/file', artifactAccount: 'no-such-account', reference: `${github.origin}${CONTENTS_PATH}`, version: GITHUB_REF };
    const failure = await runDeployManifestStage(
      system,
      'deploy-missing',
      { account: ACCOUNT, moniker: { app: APP }, source: 'artifact', manifestArtifact: missing, namespaceOverride: NAMESPACE },
      pipelineArtifacts,
      calls,
    ).then(
      () => assert.fail('the stage went on past a failed fetch'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof StageTerminalError, String(failure));
    assert.equal(failure.status, HTTP_NOT_FOUND);
    assert.match(failure.message, /^Credentials 'no-such-account' supporting artifact type 'github\/file' cannot be found/);
    assert.equal(JSON.parse(String(failure.body)).code, 'ARTIFACT_ACCOUNT_NOT_FOUND');
    assert.deepEqual(calls, ['PUT /artifacts/fetch/'], 'the stage ends at the fetch: no operation is sent');
    assert.equal(github.requests.length, githubRequests, 'nothing is fetched for an unknown account');
    const tasksAfter = await system.rest('/task');
    assert.deepEqual(
      tasksAfter.body.map((t: Json) => t.id),
      tasksBefore.body.map((t: Json) => t.id),
      'the hub has no new task',
    );
  });
});
