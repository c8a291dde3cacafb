// helm/chart artifacts against a real Helm repository: two versions of a tiny chart packaged with the
// real `helm package`, indexed with `helm repo index` (relative chart URLs, as it writes them) and served
// behind basic authentication on loopback. The names and versions are the index's; a fetch answers the
// exact .tgz bytes, the highest version when none is named; helm/index answers the index.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHelm } from '../../scripts/kubectl.mjs';
import { helmEnv } from '../../scripts/render-manifests.mjs';
import { Errors, isScaleAgentError } from '../../src/common/errors.ts';
import { artifactsConfigSchema } from '../../src/hub/artifacts/artifact-config.ts';
import { ArtifactService } from '../../src/hub/artifacts/artifact-service.ts';

const CHART = join(fileURLToPath(import.meta.url), '..', 'fixtures', 'artifact-chart');
const CHART_NAME = 'artifact-demo';
const VERSIONS = ['0.1.0', '0.2.0'];
const HELM_TIMEOUT_MS = 60_000;
const USER = 'charts';
const PASSWORD = 'chart-password';

let repoDir = '';
let server: Server;
let service: ArtifactService;
const requests: Array<{ url: string; authorization: string | undefined }> = [];

function helm(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: HELM_TIMEOUT_MS, env: helmEnv() }, (err, _stdout, stderr) =>
      err ? reject(new Error(`helm ${args.join(' ')}: ${stderr}`)) : resolve(),
    );
  });
}

before(async () => {
  const binary = await ensureHelm();
  repoDir = mkdtempSync(join(tmpdir(), 'helm-repo-'));
  for (const version of VERSIONS) await helm(binary, ['package', CHART, '--version', version, '--destination', repoDir]);
  await helm(binary, ['repo', 'index', repoDir]);
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    if (req.headers.authorization !== expected) return void res.writeHead(401).end();
    const file = join(repoDir, basename(req.url ?? ''));
    if (!req.url?.startsWith('/charts/') || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const repository = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
  service = new ArtifactService(
    artifactsConfigSchema.parse({
      network: { allow: ['127.0.0.1'] },
      helm: { accounts: [{ name: 'charts', repository, username: USER, password: PASSWORD }] },
    }),
  );
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(repoDir, { recursive: true, force: true });
});

test('names and versions come from the repository index', async () => {
  assert.deepEqual(await service.names('charts', 'helm/chart'), [CHART_NAME]);
  assert.deepEqual(await service.versions('charts', 'helm/chart', CHART_NAME), ['0.2.0', '0.1.0']);
  assert.ok(requests.every((r) => r.authorization !== undefined && r.url === '/charts/index.yaml'));
});

test('a fetch answers the exact chart archive, the highest version when none is named', async () => {
  for (const version of VERSIONS) {
    const bytes = await service.fetch({ type: 'helm/chart', artifactAccount: 'charts', name: CHART_NAME, version });
    assert.ok(bytes.equals(readFileSync(join(repoDir, `${CHART_NAME}-${version}.tgz`))), version);
  }
  const latest = await service.fetch({ type: 'helm/chart', artifactAccount: 'charts', name: CHART_NAME });
  assert.ok(latest.equals(readFileSync(join(repoDir, `${CHART_NAME}-0.2.0.tgz`))));
  assert.equal(requests.at(-1)!.url, `/charts/${CHART_NAME}-0.2.0.tgz`, 'the relative chart URL is resolved against the repository');
  const index = await service.fetch({ type: 'helm/index', artifactAccount: 'charts' });
  assert.ok(index.equals(readFileSync(join(repoDir, 'index.yaml'))));
});

test('a chart or version the index lacks is ARTIFACT_NOT_FOUND', async () => {
  for (const artifact of [
    { name: 'other', version: '0.1.0' },
    { name: CHART_NAME, version: '9.9.9' },
  ]) {
    await assert.rejects(service.fetch({ type: 'helm/chart', artifactAccount: 'charts', ...artifact }), (err) =>
      isScaleAgentError(err, Errors.ARTIFACT_NOT_FOUND.code),
    );
  }
  await assert.rejects(service.versions('charts', 'helm/chart', 'other'), (err) => isScaleAgentError(err, Errors.ARTIFACT_NOT_FOUND.code));
});
