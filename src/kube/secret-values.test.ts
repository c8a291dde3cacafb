import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretValueRead } from './secret-values.ts';

test("JSON patch operations that read a Secret's values are named; writes and moves within the values are not", () => {
  assert.match(
    secretValueRead([{ op: 'copy', from: '/data/password', path: '/metadata/annotations/x' }]) ?? '',
    /operation 0 \(copy from \/data\/password to \/metadata\/annotations\/x\)/,
  );
  assert.match(
    secretValueRead([
      { op: 'add', path: '/metadata/labels/a', value: 'b' },
      { op: 'move', from: '/stringData/token', path: '/metadata/labels/t' },
    ]) ?? '',
    /operation 1 \(move/,
  );
  assert.match(secretValueRead([{ op: 'test', path: '/data/password', value: 'aHVudGVyMg==' }]) ?? '', /guess/);
  assert.match(secretValueRead([{ op: 'test', path: '', value: {} }]) ?? '', /whole object/);
  assert.match(secretValueRead([{ op: 'copy', from: '', path: '/metadata/annotations/all' }]) ?? '', /the whole object/);
  // The pointer's escapes do not hide the field.
  assert.ok(secretValueRead([{ op: 'copy', from: '/data/a~1b', path: '/metadata/name' }]));
  for (const harmless of [
    [{ op: 'replace', path: '/data/password', value: 'bmV3' }],
    [{ op: 'remove', path: '/data/old' }],
    [{ op: 'copy', from: '/data/a', path: '/data/b' }],
    [{ op: 'move', from: '/stringData/a', path: '/data/a' }],
    [{ op: 'copy', from: '/metadata/labels/app', path: '/metadata/annotations/app' }],
    [{ op: 'test', path: '/metadata/name', value: 's' }],
    [{ op: 'copy', from: '/dataset', path: '/metadata/x' }],
  ]) {
    assert.equal(secretValueRead(harmless), undefined, JSON.stringify(harmless));
  }
});
