import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinPatchSchema } from './builtin-patch-schema.ts';
import { planApply, modifiedConfiguration, LAST_APPLIED_ANNOTATION } from './client-side-apply.ts';
import { goJson } from './go-json.ts';
import { goSliceStable } from './go-sort.ts';
import { createThreeWayJsonMergePatch } from './json-merge-patch.ts';
import { OPEN_SCHEMA } from './patch-meta.ts';
import type { JsonMap } from './json.ts';
import { createThreeWayMergePatch, goString, StrategicMergePatchError } from './strategic-merge-patch.ts';

const deploymentSchema = builtinPatchSchema('apps', 'Deployment')!;

function deployment(spec: JsonMap): JsonMap {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec } } };
}

describe('three-way strategic merge patch', () => {
  test('a container another client added is neither in the patch nor deleted by it', () => {
    const original = deployment({ containers: [{ name: 'hello', image: 'hello:1' }] });
    const current = deployment({
      containers: [
        { name: 'hello', image: 'hello:1' },
        { name: 'sidecar', image: 'side:1' },
      ],
    });
    const modified = deployment({ containers: [{ name: 'hello', image: 'hello:2' }] });
    assert.deepEqual(createThreeWayMergePatch(original, modified, current, deploymentSchema), {
      spec: { template: { spec: { containers: [{ name: 'hello', image: 'hello:2' }], '$setElementOrder/containers': [{ name: 'hello' }] } } },
    });
  });

  test('an element the previous apply set and this one does not is deleted by merge key', () => {
    const original = deployment({
      containers: [
        { name: 'a', image: 'a' },
        { name: 'b', image: 'b' },
      ],
    });
    const modified = deployment({ containers: [{ name: 'a', image: 'a' }] });
    const patch = createThreeWayMergePatch(original, modified, original, deploymentSchema);
    assert.deepEqual(patch, {
      spec: { template: { spec: { containers: [{ name: 'b', $patch: 'delete' }], '$setElementOrder/containers': [{ name: 'a' }] } } },
    });
  });

  test('a removed string of a merged list goes into $deleteFromPrimitiveList', () => {
    const schema = builtinPatchSchema('', 'ConfigMap')!;
    const original: JsonMap = { metadata: { finalizers: ['a', 'b'] } };
    const modified: JsonMap = { metadata: { finalizers: ['a'] } };
    const current: JsonMap = { metadata: { finalizers: ['a', 'b', 'c'] } };
    assert.deepEqual(createThreeWayMergePatch(original, modified, current, schema), {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['a'] },
    });
  });

  test('a retainKeys map lists the keys to keep when one is dropped', () => {
    const original = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const modified = { spec: { strategy: { type: 'Recreate' } } };
    assert.deepEqual(createThreeWayMergePatch(original, modified, original, deploymentSchema), {
      spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } },
    });
  });

  test('a list without a merge strategy is replaced whole; a changed type replaces the value', () => {
    const original = deployment({ tolerations: [{ key: 'a' }, { key: 'b' }], containers: [{ name: 'm', ports: [{ containerPort: 80 }] }] });
    const modified = deployment({ tolerations: [{ key: 'b' }], containers: [{ name: 'm', ports: 'none' }] });
    const patch = createThreeWayMergePatch(original, modified, original, deploymentSchema);
    assert.deepEqual((patch.spec as JsonMap).template, {
      spec: { tolerations: [{ key: 'b' }], containers: [{ name: 'm', ports: 'none' }], '$setElementOrder/containers': [{ name: 'm' }] },
    });
  });

  test('nothing to change gives an empty patch; maps merge key by key without metadata', () => {
    const object = { a: { b: 1 }, list: [1, 2] };
    assert.deepEqual(createThreeWayMergePatch(object, object, object, OPEN_SCHEMA), {});
    assert.deepEqual(createThreeWayMergePatch({ a: { b: 1, c: 2 } }, { a: { b: 1 } }, { a: { b: 1, c: 2, d: 3 } }, OPEN_SCHEMA), { a: { c: null } });
  });

  test('an element without its merge key is refused with a clear error', () => {
    const original = deployment({ containers: [{ name: 'a' }] });
    const modified = deployment({ containers: [{ image: 'nameless' }] });
    assert.throws(
      () => createThreeWayMergePatch(original, modified, original, deploymentSchema),
      (err) => err instanceof StrategicMergePatchError && /does not contain declared merge key: name/.test(err.message),
    );
  });

  test('the inputs are not modified', () => {
    const original = deployment({ containers: [{ name: 'a', image: 'a' }] });
    const modified = deployment({ containers: [{ name: 'b', image: 'b' }] });
    const current = deployment({ containers: [{ name: 'a', image: 'a' }, { name: 'x' }] });
    const copies = structuredClone([original, modified, current]);
    createThreeWayMergePatch(original, modified, current, deploymentSchema);
    assert.deepEqual([original, modified, current], copies);
  });
});

describe('three-way JSON merge patch', () => {
  test('changes from the live object plus deletions since the last apply; lists replaced', () => {
    const original = { spec: { a: 1, list: [1, 2], gone: true } };
    const current = { spec: { a: 1, list: [1, 2], gone: true, theirs: 'x' } };
    const modified = { spec: { a: 2, list: [2] } };
    assert.deepEqual(createThreeWayJsonMergePatch(original, modified, current), { spec: { a: 2, list: [2], gone: null } });
  });

  test('an explicitly empty map is a value; keys another client added to it stay', () => {
    assert.deepEqual(createThreeWayJsonMergePatch({}, { spec: { m: {} } }, { spec: { m: { x: 1 } } }), {});
    assert.deepEqual(createThreeWayJsonMergePatch({}, { spec: { m: {} } }, { spec: {} }), { spec: { m: {} } });
  });
});

describe("kubectl's encodings", () => {
  test("the last-applied configuration: sorted keys, Go's HTML escapes, an annotations map, a final newline", () => {
    const modified = modifiedConfiguration({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { name: 'c', annotations: { [LAST_APPLIED_ANNOTATION]: 'old' } },
      data: { z: '<&>', a: '\u2028' },
    });
    assert.equal(
      (modified.metadata as JsonMap & { annotations: JsonMap }).annotations[LAST_APPLIED_ANNOTATION],
      '{"apiVersion":"v1","data":{"a":"\\u2028","z":"\\u003c\\u0026\\u003e"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c"}}\n',
    );
  });

  test('goJson sorts keys byte-wise as UTF-8, as Go does', () => {
    assert.equal(goJson({ b: 1, '\u{1F600}': 2, '\uFF01': 3, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1,"！":3,"😀":2}');
  });

  test('goString prints numbers as fmt %v prints a float64', () => {
    assert.deepEqual([8080, 0.5, 1e21, 1e-7, -2, true, 'x', null].map(goString), ['8080', '0.5', '1e+21', '1e-07', '-2', 'true', 'x', '<nil>']);
  });

  test('goSliceStable keeps equal elements in order and reproduces Go for a less that is not a strict order', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ key: i % 7, i }));
    const sorted = goSliceStable(items, (a, b) => a.key < b.key);
    assert.deepEqual(
      sorted,
      [...items].sort((a, b) => a.key - b.key || a.i - b.i),
    );
    // Go's insertion sort moves an element the order does not know in front of everything.
    const order = ['a', 'b', 'c'];
    const less = (x: string, y: string) => (order.includes(x) && order.includes(y) ? order.indexOf(x) < order.indexOf(y) : true);
    assert.deepEqual(goSliceStable(['c', 'a', 'x', 'b'], less), ['x', 'a', 'b', 'c']);
  });
});

describe('planApply', () => {
  const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: '1' } };

  test('creates a missing object with the annotation, patches an existing one, leaves an equal one alone', () => {
    const created = planApply(manifest, undefined, { group: '', version: 'v1', kind: 'ConfigMap' });
    assert.equal(created.action, 'create');
    const live = created.action === 'create' ? { ...created.body, metadata: { ...(created.body.metadata as JsonMap), uid: 'u', resourceVersion: '1' } } : {};
    assert.deepEqual(planApply(manifest, live, { group: '', version: 'v1', kind: 'ConfigMap' }), { action: 'unchanged' });
    const changed = planApply({ ...manifest, data: { a: '2' } }, live, { group: '', version: 'v1', kind: 'ConfigMap' });
    assert.equal(changed.action === 'patch' && changed.patchType, 'strategic');
  });

  test('a kind outside the built-in groups gets a JSON merge patch', () => {
    const custom = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { list: [1] } };
    const live = { ...custom, spec: { list: [1, 2] } };
    const plan = planApply(custom, live, { group: 'example.com', version: 'v1', kind: 'Widget' });
    assert.equal(plan.action === 'patch' && plan.patchType, 'merge');
  });
});
