import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAST_APPLIED_ANNOTATION, slimObject } from './slim.ts';

describe('slimObject', () => {
  it('drops managedFields and the last-applied annotation, in place', () => {
    const obj = {
      kind: 'ConfigMap',
      metadata: { name: 'x', managedFields: [{ manager: 'kubectl' }], annotations: { [LAST_APPLIED_ANNOTATION]: '{}', keep: 'me' } },
      data: { a: 'b' },
    };
    assert.equal(slimObject(obj), obj);
    assert.deepEqual(obj, { kind: 'ConfigMap', metadata: { name: 'x', annotations: { keep: 'me' } }, data: { a: 'b' } });
  });

  it('removes an annotations map left empty', () => {
    const obj = slimObject({ kind: 'Pod', metadata: { name: 'p', annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } } });
    assert.deepEqual(obj.metadata, { name: 'p' });
  });

  it('leaves no Secret value anywhere in the object', () => {
    const secretValue = 'c3VwZXItc2VjcmV0';
    const plain = 'super-secret-plain';
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 's',
        annotations: { [LAST_APPLIED_ANNOTATION]: JSON.stringify({ data: { password: secretValue }, stringData: { token: plain } }) },
        managedFields: [{ fieldsV1: { 'f:data': { 'f:password': {} } } }],
      },
      data: { password: secretValue },
      stringData: { token: plain },
    };
    const slim = slimObject(secret);
    const text = JSON.stringify(slim);
    assert.doesNotMatch(text, new RegExp(`${secretValue}|${plain}`));
    assert.equal(slim.type, 'Opaque');
    assert.equal(slim.metadata.name, 's');
    assert.equal('data' in slim, false);
    assert.equal('stringData' in slim, false);
  });

  it('tolerates objects without metadata', () => {
    assert.deepEqual(slimObject({ kind: 'Thing' }), { kind: 'Thing' });
  });
});
