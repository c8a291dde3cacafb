import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectJson } from './object-json.ts';

/** The metadata's JSON as the hub cuts it out of the body's UTF-8 bytes. */
function cut(body: string, range: { offset: number; length: number }): unknown {
  return JSON.parse(
    Buffer.from(body, 'utf8')
      .subarray(range.offset, range.offset + range.length)
      .toString('utf8'),
  );
}

describe('objectJson', () => {
  it('writes kind, apiVersion and metadata first, then the rest as the server ordered it', () => {
    // A list item: the reflector added kind and apiVersion after the server's members.
    const object = {
      metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
      spec: { replicas: 2 },
      status: { ready: 1 },
      kind: 'Deployment',
      apiVersion: 'apps/v1',
    };
    const json = objectJson(object);
    assert.deepEqual(Object.keys(JSON.parse(json.body) as object), ['kind', 'apiVersion', 'metadata', 'spec', 'status']);
    assert.deepEqual(JSON.parse(json.body), object);
    assert.equal(json.bodyBytes, Buffer.byteLength(json.body));
    assert.deepEqual(cut(json.body, json.metadata!), object.metadata);
  });

  it('gives the metadata range in bytes when the body is not ASCII', () => {
    const object = { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'ä', annotations: { a: '✓ 🚀' } }, data: { z: 'ünïcödé' } };
    const json = objectJson(object);
    assert.ok(json.bodyBytes > json.body.length);
    assert.deepEqual(cut(json.body, json.metadata!), object.metadata);
    assert.deepEqual(JSON.parse(json.body), object);
  });

  it('keeps objects with missing members intact', () => {
    const cases: Array<Record<string, unknown>> = [
      {},
      { kind: 'X' },
      { metadata: { name: 'a' } },
      { kind: 'X', metadata: { name: 'a' } },
      { spec: { a: 1 } },
      { apiVersion: 'v1', spec: {} },
    ];
    for (const object of cases) {
      const json = objectJson(object);
      assert.deepEqual(JSON.parse(json.body), object, json.body);
      assert.equal(json.metadata === undefined, object.metadata === undefined, json.body);
      if (json.metadata) assert.deepEqual(cut(json.body, json.metadata), object.metadata);
    }
  });

  it('gives no range when metadata is not an object', () => {
    for (const metadata of [null, ['a'], 'text', 7]) {
      const json = objectJson({ kind: 'X', metadata, spec: {} });
      assert.equal(json.metadata, undefined);
      assert.deepEqual(JSON.parse(json.body), { kind: 'X', metadata, spec: {} });
    }
  });
});
