import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { opsHarness, resultOf, type Harness, type Json } from '../../../test/support/ops-harness.ts';
import { MAX_NESTING_DEPTH } from './bounded-input.ts';

/**
 * Hostile request bodies against the real REST API (buildApiServer over an in-memory store and a fake
 * cluster): deep nesting in a manifest or patch body, YAML alias bombs and deep YAML in an embedded
 * artifact, a 100,000-level array. Each must be a 400 with the stable code REQUEST_TOO_COMPLEX whose
 * message names the field, with no task made and nothing sent to an agent — never a 500 (the walkers
 * used to overflow the stack). Times are not asserted; the bounds are structural (bounded-input.test.ts).
 */
const TOO_COMPLEX = 'REQUEST_TOO_COMPLEX';

/** JSON text of `levels` objects one inside another, `{"a":{"a":…1…}}` (built as text: no recursion). */
const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const b64 = (text: string) => Buffer.from(text).toString('base64');

const LOL_BOMB = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: lol',
  'data:',
  '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...[...'bcdefghi'].map((l, i) => `  ${l}: &${l} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

describe('hostile REST bodies are 400 REQUEST_TOO_COMPLEX, never a 500', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await opsHarness({ account: { namespaces: ['default'] } });
  });
  afterEach(async () => h.close());

  async function postText(url: string, payload: string): Promise<{ status: number; body: Json }> {
    const res = await h.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, body: res.json() };
  }

  async function expectRefused(url: string, payload: string, message: RegExp): Promise<void> {
    const res = await postText(url, payload);
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 500));
    assert.equal(res.body.code, TOO_COMPLEX);
    assert.equal(res.body.error, 'Bad Request');
    assert.match(res.body.message, message);
  }

  async function nothingHappened(): Promise<void> {
    assert.deepEqual((await h.get('/task')).body, []);
    assert.equal(h.cluster.calls.length, 0);
  }

  const deployWith = (manifest: string) => `[{"deployManifest":{"account":"k8s","manifests":[${manifest}]}}]`;
  const patchWith = (strategy: string, patchBody: string) =>
    `[{"patchManifest":{"account":"k8s","manifestName":"configMap c","location":"default","options":{"mergeStrategy":"${strategy}"},"patchBody":${patchBody}}}]`;
  const configMapWith = (field: string) => `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{},"extra":${field}}`;
  const artifactDeploy = (yaml: string) =>
    JSON.stringify([{ deployManifest: { account: 'k8s', source: 'artifact', manifestArtifact: { type: 'embedded/base64', reference: b64(yaml) } } }]);
  const artifactPatch = (yaml: string) =>
    JSON.stringify([
      {
        patchManifest: {
          account: 'k8s',
          manifestName: 'configMap c',
          location: 'default',
          options: { mergeStrategy: 'merge' },
          manifestArtifact: { type: 'embedded/base64', reference: b64(yaml) },
        },
      },
    ]);

  test('(a) a field nested 3,000 levels in a deploy manifest or a patch body', async () => {
    const nested = deepObject(3000);
    await expectRefused(
      '/kubernetes/ops',
      deployWith(configMapWith(nested)),
      /^\[0\]\.deployManifest\.manifests\[0\]\.extra\.a\.a\.a.*…: nests deeper than 200 levels; at most 200 are allowed$/,
    );
    await expectRefused(
      '/kubernetes/ops',
      patchWith('strategic', `{"spec":${nested}}`),
      /^\[0\]\.patchManifest\.patchBody\.spec\.a\.a.*…: nests deeper than 200 levels/,
    );
    await expectRefused(
      '/kubernetes/ops',
      patchWith('json', `[{"op":"add","path":"/x","value":${nested}}]`),
      /^\[0\]\.patchManifest\.patchBody\[0\]\.value\.a\.a.*…: nests deeper than 200 levels/,
    );
    // The single-operation form and a List of Lists (parsed recursively by kind) too.
    await expectRefused(
      '/kubernetes/ops/deployManifest',
      `{"account":"k8s","manifests":[${configMapWith(nested)}]}`,
      /^manifests\[0\]\.extra\.a\.a.*…: nests deeper/,
    );
    const lists = '{"kind":"List","items":['.repeat(3000) + ']}'.repeat(3000);
    await expectRefused('/kubernetes/ops', deployWith(lists), /^\[0\]\.deployManifest\.manifests\[0\]\.items\[0\]\.items\[0\].*…: nests deeper/);
    await nothingHappened();
  });

  test('(b) a YAML alias bomb, or deeply nested YAML, in an embedded/base64 manifestArtifact', async () => {
    await expectRefused(
      '/kubernetes/ops',
      artifactDeploy(LOL_BOMB),
      /^\[0\]\.deployManifest\.manifestArtifact\.reference: the YAML's aliases expand too far \(Excessive alias count/,
    );
    await expectRefused('/kubernetes/ops', artifactPatch(LOL_BOMB), /^\[0\]\.patchManifest\.manifestArtifact\.reference: the YAML's aliases expand too far/);
    const deepFlow = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nextra: ${'['.repeat(3000)}${']'.repeat(3000)}\n`;
    await expectRefused(
      '/kubernetes/ops',
      artifactDeploy(deepFlow),
      /^\[0\]\.deployManifest\.manifestArtifact\.reference: the YAML nests deeper than 200 levels \(at line 4, column \d+\)/,
    );
    const selfReference = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nextra: &x [*x]\n';
    await expectRefused(
      '/kubernetes/ops',
      artifactDeploy(selfReference),
      /^\[0\]\.deployManifest\.manifestArtifact\[0\]\.extra\[0\]\[0\].*…: nests deeper than 200 levels/,
    );
    let anchors = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nextra:\n';
    for (let i = 0; i < 2000; i++) anchors += `- &a${i} x\n- *a${i}\n`;
    await expectRefused('/kubernetes/ops', artifactDeploy(anchors), /manifestArtifact\.reference: the YAML has more than 1000 anchors and aliases/);
    await nothingHappened();
  });

  test('(c) a 100,000-level array: as the body, in a manifest, in a task restart', async () => {
    const array = deepArray(100_000);
    await expectRefused('/kubernetes/ops', array, /^\[0\]\[0\]\[0\].*…: nests deeper than 200 levels; at most 200 are allowed$/);
    await expectRefused('/kubernetes/ops', deployWith(array), /^\[0\]\.deployManifest\.manifests\[0\]\[0\]\[0\].*…: nests deeper/);
    await expectRefused('/kubernetes/ops', deployWith(configMapWith(array)), /^\[0\]\.deployManifest\.manifests\[0\]\.extra\[0\].*…: nests deeper/);
    await expectRefused('/kubernetes/task/01ANY/restart', array, /nests deeper than 200 levels/);
    await nothingHappened();
  });

  test('within the limits, nested manifests and aliased YAML still deploy', async () => {
    // [ { deployManifest { manifests [ { ConfigMap: five levels, and the field's own: exactly the limit.
    const res = await postText('/kubernetes/ops', deployWith(configMapWith(deepObject(MAX_NESTING_DEPTH - 5))));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(resultOf(await h.finished(res.body.id)).manifestNamesByNamespace, { default: ['configMap c-v000'] });
    assert.equal(await postText('/kubernetes/ops', deployWith(configMapWith(deepObject(MAX_NESTING_DEPTH - 4)))).then((r) => r.body.code), TOO_COMPLEX);
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aliased\n  labels: &l {app: web}\n  annotations: *l\ndata: {a: "1"}\n';
    const deployed = await postText('/kubernetes/ops', artifactDeploy(yaml));
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    await h.finished(deployed.body.id);
    assert.equal(h.cluster.calls.filter((c) => c.request.type === 'apply').length, 2);
    const configMap = h.cluster.find('ConfigMap', 'default', 'aliased-v000') as Json;
    assert.equal(configMap.metadata.annotations.app, 'web');
    assert.equal(configMap.metadata.labels.app, 'web');
  });
});
