// The packfile guard on packs built here: a blob and a delta, each judged by what it inflates to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { GIT_MAX_PACK_OBJECTS, GIT_OBJECT_OVERHEAD_BYTES, checkPackSize } from './git-pack-limits.ts';

const BLOB = 3;
const REF_DELTA = 7;
const LIMIT = { limit: 4096, key: 'test.limit' };

/** A pack object's header: type and size, size in 4 bits then 7 per byte. */
function objectHeader(type: number, size: number): Buffer {
  const bytes = [(type << 4) | (size & 0x0f)];
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(rest & 0x7f);
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.push((value & 0x7f) | (value >= 128 ? 0x80 : 0));
    value = Math.floor(value / 128);
  } while (value > 0);
  return Buffer.from(bytes);
}

function pack(objects: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  return Buffer.concat([header, ...objects, Buffer.alloc(20)]);
}

function blob(content: Buffer, declared = content.length): Buffer {
  return Buffer.concat([objectHeader(BLOB, declared), deflateSync(content)]);
}

/** A delta against a 20-byte base id that builds `result` bytes (one insert of 1 byte stands for the instructions). */
function delta(result: number): Buffer {
  const instructions = Buffer.concat([varint(1), varint(result), Buffer.from([1, 0x41])]);
  return Buffer.concat([objectHeader(REF_DELTA, instructions.length), Buffer.alloc(20), deflateSync(instructions)]);
}

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(isScaleAgentError(err), String(err));
    return err.code;
  }
}

test('objects within the limit pass, whatever the pack weighs', () => {
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(1500)), blob(Buffer.alloc(1500)), delta(96)]), LIMIT)),
    undefined,
  );
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(0))]), LIMIT)),
    undefined,
    'an empty blob',
  );
});

test('a pack that unpacks beyond the limit is ARTIFACT_TOO_LARGE, by blobs or by what a delta builds', () => {
  // 1 MiB of zeros deflates to about 1 KiB.
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(1024 * 1024))]), LIMIT)),
    Errors.ARTIFACT_TOO_LARGE.code,
  );
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(3000)), blob(Buffer.alloc(3000))]), LIMIT)),
    Errors.ARTIFACT_TOO_LARGE.code,
  );
  assert.equal(
    code(() => checkPackSize(pack([delta(16 * 1024 * 1024)]), LIMIT)),
    Errors.ARTIFACT_TOO_LARGE.code,
  );
});

test('a header that lies about the size, or a truncated pack, is ARTIFACT_FETCH_FAILED', () => {
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(100_000), 10)]), LIMIT)),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
  assert.equal(
    code(() => checkPackSize(pack([blob(Buffer.alloc(10), 100)]), LIMIT)),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
  assert.equal(
    code(() => checkPackSize(Buffer.from('not a pack at all, but long enough to be read'), LIMIT)),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
  const whole = pack([blob(Buffer.from('content'))]);
  const truncated = Buffer.concat([whole.subarray(0, 14), Buffer.alloc(20)]);
  assert.equal(
    code(() => checkPackSize(truncated, LIMIT)),
    Errors.ARTIFACT_FETCH_FAILED.code,
  );
});

test('many tiny objects: each counts GIT_OBJECT_OVERHEAD_BYTES, and more than GIT_MAX_PACK_OBJECTS are refused before any is read', () => {
  const empties = (n: number) => pack(Array.from({ length: n }, () => blob(Buffer.alloc(0))));
  const fitting = Math.floor(LIMIT.limit / GIT_OBJECT_OVERHEAD_BYTES);
  assert.equal(
    code(() => checkPackSize(empties(fitting), LIMIT)),
    undefined,
  );
  assert.equal(
    code(() => checkPackSize(empties(fitting + 1), LIMIT)),
    Errors.ARTIFACT_TOO_LARGE.code,
    'empty blobs are not free',
  );
  // Only the header's count is read: the objects themselves need not be there.
  const header = pack([]);
  header.writeUInt32BE(GIT_MAX_PACK_OBJECTS + 1, 8);
  assert.throws(
    () => checkPackSize(header, { limit: Number.MAX_SAFE_INTEGER, key: 'test.limit' }),
    (err: unknown) => isScaleAgentError(err, Errors.ARTIFACT_TOO_LARGE.code) && /10001 objects; at most 10000/.test(err.message),
  );
});
