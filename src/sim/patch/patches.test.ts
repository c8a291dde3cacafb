import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch } from './merge-patch.ts';
import { applyJsonPatch } from './json-patch.ts';
import { applyStrategicMergePatch } from './strategic-merge-patch.ts';
import { StatusError } from '../status.ts';

test('merge patch: maps merge, null deletes, lists replace', () => {
  const target = { a: { b: 1, c: 2 }, list: [1, 2], keep: true };
  assert.deepEqual(applyMergePatch(target, { a: { b: null, d: 3 }, list: [3] }), { a: { c: 2, d: 3 }, list: [3], keep: true });
  assert.deepEqual(target.a, { b: 1, c: 2 }, 'the target is not mutated');
});

test('JSON patch: add, remove, replace, move, copy, test', () => {
  const doc = { a: { b: 1 }, list: ['x', 'y'] };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/list/1', value: 'inserted' },
    { op: 'add', path: '/list/-', value: 'end' },
    { op: 'replace', path: '/a/b', value: 2 },
    { op: 'copy', from: '/a', path: '/c' },
    { op: 'move', from: '/c/b', path: '/moved' },
    { op: 'remove', path: '/list/0' },
    { op: 'test', path: '/moved', value: 2 },
    { op: 'add', path: '/with~1slash', value: 1 },
  ]);
  assert.deepEqual(out, { a: { b: 2 }, list: ['inserted', 'y', 'end'], c: {}, moved: 2, 'with/slash': 1 });
  assert.deepEqual(doc, { a: { b: 1 }, list: ['x', 'y'] });
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'test', path: '/a/b', value: 9 }]),
    (e: unknown) => e instanceof StatusError && e.code === 422,
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }]),
    (e: unknown) => e instanceof StatusError && e.code === 422,
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'frobnicate', path: '/a' }]),
    (e: unknown) => e instanceof StatusError && e.code === 400,
  );
});

test('strategic merge patch merges lists by their Kubernetes merge keys', () => {
  const target = {
    spec: {
      containers: [
        {
          name: 'a',
          image: 'a:1',
          env: [{ name: 'X', value: '1' }],
          ports: [{ containerPort: 80, name: 'http' }],
          volumeMounts: [{ mountPath: '/data', name: 'v' }],
        },
        { name: 'b', image: 'b:1' },
      ],
      tolerations: [{ key: 'k' }],
    },
    metadata: { finalizers: ['one'] },
  };
  const out = applyStrategicMergePatch(target, {
    '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
    spec: {
      containers: [
        {
          name: 'a',
          image: 'a:2',
          env: [{ name: 'Y', value: '2' }],
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          volumeMounts: [{ mountPath: '/data', readOnly: true }],
        },
        { name: 'c', image: 'c:1' },
      ],
      tolerations: [{ key: 'other' }],
    },
    metadata: { finalizers: ['two'] },
  }) as any;
  const [a, b, c] = out.spec.containers;
  assert.equal(a.image, 'a:2');
  assert.deepEqual(
    a.env.map((e: any) => e.name),
    ['X', 'Y'],
  );
  assert.deepEqual(a.ports, [{ containerPort: 80, name: 'http', protocol: 'TCP' }]);
  assert.deepEqual(a.volumeMounts, [{ mountPath: '/data', name: 'v', readOnly: true }]);
  assert.equal(b.image, 'b:1');
  assert.equal(c.image, 'c:1');
  assert.deepEqual(out.spec.tolerations, [{ key: 'other' }], 'lists without a merge strategy are replaced');
  assert.deepEqual(out.metadata.finalizers, ['one', 'two']);
});

test('strategic merge patch directives', () => {
  const target = {
    spec: {
      containers: [
        { name: 'a', image: 'a' },
        { name: 'b', image: 'b' },
      ],
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
      selector: { a: '1', b: '2' },
    },
    metadata: { finalizers: ['x', 'y'] },
  };
  const deleted = applyStrategicMergePatch(target, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }) as any;
  assert.deepEqual(
    deleted.spec.containers.map((c: any) => c.name),
    ['b'],
  );
  const replacedList = applyStrategicMergePatch(target, { spec: { containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] } }) as any;
  assert.deepEqual(replacedList.spec.containers, [{ name: 'z', image: 'z' }]);
  const replacedMap = applyStrategicMergePatch(target, { spec: { selector: { $patch: 'replace', c: '3' } } }) as any;
  assert.deepEqual(replacedMap.spec.selector, { c: '3' });
  const deletedMap = applyStrategicMergePatch(target, { spec: { selector: { $patch: 'delete' } } }) as any;
  assert.equal(deletedMap.spec.selector, undefined);
  const retained = applyStrategicMergePatch(target, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }) as any;
  assert.deepEqual(retained.spec.strategy, { type: 'Recreate' });
  const fromPrimitive = applyStrategicMergePatch(target, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }) as any;
  assert.deepEqual(fromPrimitive.metadata.finalizers, ['y']);
  const nulled = applyStrategicMergePatch(target, { spec: { strategy: null } }) as any;
  assert.equal(nulled.spec.strategy, undefined);
});
