import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metadataSlice } from './metadata-slice.ts';

test('metadataSlice cuts the metadata by byte range, ASCII or not', () => {
  for (const body of ['{"kind":"X","metadata":{"name":"a"},"spec":{}}', '{"kind":"ü","metadata":{"name":"ä🚀"},"spec":{}}']) {
    const object = Buffer.from(body, 'utf8');
    const start = object.indexOf('"metadata":') + '"metadata":'.length;
    const end = object.indexOf('},"spec"') + 1;
    assert.equal(metadataSlice(object, body, start, end - start), body.slice(body.indexOf('{"name"'), body.indexOf('},"spec"') + 1));
  }
});

test('metadataSlice gives nothing for a missing, out-of-bounds or non-object range', () => {
  const body = '{"kind":"X","metadata":{"name":"a"},"spec":{}}';
  const object = Buffer.from(body, 'utf8');
  const start = body.indexOf('{"name"');
  assert.equal(metadataSlice(object, body, 0, 0), undefined, 'not given');
  assert.equal(metadataSlice(object, body, start, object.length), undefined, 'past the end');
  assert.equal(metadataSlice(object, body, 2 ** 32 - 1, 4), undefined, 'far past the end');
  assert.equal(metadataSlice(object, body, start + 1, 5), undefined, 'not between braces');
});
