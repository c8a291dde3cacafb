import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_IDLE_RESPONSE_BUFFERS, RESPONSE_BUFFER_BYTES, ResponseBufferPool } from './response-buffers.ts';

function joined(parts: Buffer[]): string {
  return Buffer.concat(parts).toString('utf8');
}

describe('ResponseBufferPool', () => {
  it('encodes chunks as the UTF-8 of their concatenation', () => {
    const pool = new ResponseBufferPool();
    const chunks = ['{"items":[', '{"a":"ü€"}', ',{"b":"😀"}', ']}'];
    const body = pool.encode(chunks);
    assert.equal(joined(body.parts), chunks.join(''));
    assert.equal(body.byteLength, Buffer.byteLength(chunks.join('')));
    assert.equal(body.parts.length, 1);
  });

  it('spans buffers without splitting a character, also for a chunk larger than a buffer', () => {
    const pool = new ResponseBufferPool();
    // Multi-byte characters straddle every buffer boundary somewhere in here.
    const big = '€😀a'.repeat(Math.ceil((RESPONSE_BUFFER_BYTES * 2.5) / 8));
    const chunks = ['[', big, ',"x",', big.slice(0, 1001), ']'];
    const body = pool.encode(chunks);
    assert.ok(body.parts.length >= 3, `${body.parts.length} parts`);
    assert.equal(joined(body.parts), chunks.join(''));
    assert.equal(
      body.byteLength,
      body.parts.reduce((sum, p) => sum + p.length, 0),
    );
    for (const part of body.parts.slice(0, -1)) assert.ok(part.length > RESPONSE_BUFFER_BYTES - 4, 'buffers are filled before the next is taken');
  });

  it('reuses released buffers, each once, and keeps at most MAX_IDLE_RESPONSE_BUFFERS idle', () => {
    const pool = new ResponseBufferPool();
    const first = pool.encode(['x'.repeat(RESPONSE_BUFFER_BYTES * 2 + 1)]);
    assert.equal(first.parts.length, 3);
    first.release(0);
    first.release(0);
    assert.equal(pool.idleCount, 1);
    const second = pool.encode(['hello']);
    assert.equal(pool.idleCount, 0);
    assert.equal(second.parts[0]!.buffer, first.parts[0]!.buffer, 'the released buffer was taken again');
    assert.equal(joined(second.parts), 'hello');

    const many = pool.encode(['y'.repeat(RESPONSE_BUFFER_BYTES * (MAX_IDLE_RESPONSE_BUFFERS + 10))]);
    many.parts.forEach((_, i) => many.release(i));
    assert.equal(pool.idleCount, MAX_IDLE_RESPONSE_BUFFERS);
  });

  it('encodes an empty body as one empty part', () => {
    const body = new ResponseBufferPool().encode([]);
    assert.equal(body.byteLength, 0);
    assert.deepEqual(
      body.parts.map((p) => p.length),
      [0],
    );
  });
});
