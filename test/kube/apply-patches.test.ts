// Client-side apply, patch by patch against real kubectl 1.34: every step of the apply corpus is
// planned with src/kube/apply from the live object, then applied with `kubectl apply -v=9`, whose log
// shows the request it sent. The create body, or the patch and its type, must equal ours as JSON
// values (key order aside), and "unchanged" must be unchanged for both. The corpus runs twice:
// - the sim publishing OpenAPI v3 schemas, as a real server does: kubectl computes strategic merge
//   patches from them, and so do we (from the same document, pruned as the agent keeps it); neither
//   may fall back to compiled-in types;
// - the sim publishing none, as an older server: kubectl uses its compiled-in types, the reference our
//   built-in patch metadata must reproduce.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubectl } from '../../scripts/kubectl.mjs';
import { splitApiVersion } from '../../src/common/kube-object.ts';
import { planApply, PATCH_CONTENT_TYPES, type ApplyPlan } from '../../src/kube/apply/client-side-apply.ts';
import { pruneOpenApiDocument, type OpenApiDocument } from '../../src/kube/apply/openapi-patch-schema.ts';
import type { JsonMap } from '../../src/kube/apply/json.ts';
import { startSim, type SimServer } from '../../src/sim/sim-server.ts';
import { APPLY_CORPUS, type Json } from '../support/apply-corpus.ts';
import { KubectlRunner, liveObject, objectPaths } from '../support/kubectl-runner.ts';
import { simAccessFromKubeconfig, simRequest, type SimAccess } from '../support/system.ts';

const CLUSTER = 'oracle';

let files = 0;

interface KubectlRequest {
  method: string;
  contentType: string;
  body: unknown;
}

/** The writes in a `-v=9` log: each "Request Body" of helper.go followed by its curl command line. */
function writesIn(log: string): KubectlRequest[] {
  const lines = log.split('\n');
  const out: KubectlRequest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /helper\.go:\d+\] "Request Body" body=(.*)$/.exec(lines[i]!);
    if (!match) continue;
    let text: string;
    if (match[1] === '<') {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== ' >') body.push(lines[i]!.replace(/^\t/, ''));
      text = body.join('\n');
    } else {
      text = JSON.parse(match[1]!) as string;
    }
    if (text === '') continue;
    const curl = lines.slice(i, i + 6).find((l) => l.includes('curl -v -X'));
    assert.ok(curl, `no curl line after a request body in:\n${log}`);
    out.push({ method: /-X(\w+)/.exec(curl)![1]!, contentType: /Content-Type: ([^"]+)"/.exec(curl)?.[1] ?? '', body: JSON.parse(text) });
  }
  return out;
}

/** The sim's document of a group version, as the agent keeps it. */
async function openApiOf(access: SimAccess, group: string, version: string): Promise<OpenApiDocument | undefined> {
  const response = await simRequest(access, 'GET', group === '' ? `/openapi/v3/api/${version}` : `/openapi/v3/apis/${group}/${version}`);
  return response.status === 200 ? pruneOpenApiDocument(response.body) : undefined;
}

for (const schemas of [true, false]) {
  describe(`client-side apply patches equal kubectl's (sim ${schemas ? 'publishing OpenAPI schemas' : 'without OpenAPI schemas'})`, () => {
    let kubectl: KubectlRunner;
    let sim: SimServer;
    let access: SimAccess;
    let dir: string;
    const crds = new Set<string>();

    async function applyBoth(object: Json, where: string): Promise<void> {
      const live = (await liveObject(access, object)) as JsonMap | undefined;
      const { group, version } = splitApiVersion(object.apiVersion);
      const openApi = await openApiOf(access, group, version);
      const ours: ApplyPlan = planApply(object, live, { group, version, kind: object.kind, ...(openApi ? { openApi } : {}) });
      const file = join(dir, `m-${++files}.json`);
      await writeFile(file, JSON.stringify(object));
      const run = await kubectl.run('apply', '-f', file, '-v=9');
      assert.equal(
        run.code,
        0,
        `${where}: kubectl apply failed: ${run.stdout}\n${run.stderr
          .split('\n')
          .filter((l) => /error|Error/.test(l))
          .join('\n')}`,
      );
      if (schemas) assert.doesNotMatch(run.stderr, /error calculating patch from openapi/, `${where}: kubectl fell back from the OpenAPI schema`);
      const writes = writesIn(run.stderr);
      if (ours.action === 'unchanged') {
        assert.deepEqual(writes, [], `${where}: we would send nothing, kubectl sent ${JSON.stringify(writes)}`);
        assert.match(run.stdout, /unchanged/);
        return;
      }
      assert.equal(writes.length, 1, `${where}: kubectl sent ${writes.length} writes: ${JSON.stringify(writes)}; we would ${ours.action}`);
      const [sent] = writes as [KubectlRequest];
      if (ours.action === 'create') {
        assert.equal(sent.method, 'POST', where);
        assert.deepEqual(ours.body, sent.body, `${where}: create body`);
      } else {
        assert.equal(sent.method, 'PATCH', where);
        assert.equal(PATCH_CONTENT_TYPES[ours.patchType], sent.contentType, `${where}: patch type`);
        assert.deepEqual(ours.patch, sent.body, `${where}: patch`);
        if (ours.patchType === 'strategic') assert.equal(ours.metadata, schemas ? 'openapi' : 'builtin', `${where}: patch metadata`);
      }
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'scale-agent-apply-patches-'));
      sim = await startSim({ port: 0, host: '127.0.0.1', clusters: [CLUSTER], podStartDelayMs: 50, podTerminationCapMs: 100, openApiSchemas: schemas });
      const [kubeconfig] = (await sim.writeKubeconfigs(join(dir, 'kubeconfigs'))) as [string];
      access = simAccessFromKubeconfig(kubeconfig);
      kubectl = new KubectlRunner(await ensureKubectl(), kubeconfig, dir);
    });

    after(async () => {
      await sim?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    APPLY_CORPUS.forEach((sequence, index) => {
      test(sequence.name, async () => {
        const ns = `patches-${index}`;
        // kubectl create sends protobuf, which the sim does not speak.
        assert.equal((await simRequest(access, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })).status, 201);
        if (sequence.crd && !crds.has(sequence.crd.metadata.name)) {
          crds.add(sequence.crd.metadata.name);
          const file = join(dir, `crd-${index}.json`);
          await writeFile(file, JSON.stringify(sequence.crd));
          assert.equal((await kubectl.run('apply', '-f', file)).code, 0);
        }
        for (const [number, step] of sequence.steps.entries()) {
          if ('create' in step) {
            const object = step.create(ns);
            const created = await simRequest(access, 'POST', (await objectPaths(access, object)).collection, object);
            assert.equal(created.status, 201, JSON.stringify(created.body));
            continue;
          }
          if ('edit' in step) {
            const run = await kubectl.run(...step.edit(ns));
            assert.equal(run.code, 0, `step ${number + 1}: kubectl ${step.edit(ns).join(' ')}: ${run.stderr}`);
            continue;
          }
          for (const object of step.apply(ns)) await applyBoth(object, `step ${number + 1}, ${object.kind} ${object.metadata.name}`);
        }
      });
    });
  });
}
