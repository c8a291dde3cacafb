import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MAX_IDLE_PAGE_BUFFERS, MAX_KEPT_PAGE_BUFFER_BYTES, PAGE_BUFFER_INITIAL_BYTES, PageBuffers } from './page-buffers.ts';

function chunksOf(total: number, chunkBytes: number, seed: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < total; at += chunkBytes) {
    const chunk = Buffer.alloc(Math.min(chunkBytes, total - at));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (at + i + seed) % 251;
    chunks.push(chunk);
  }
  return chunks;
}

test('a page is read whole into one buffer, grown while it does not fit', async () => {
  const pages = new PageBuffers();
  const chunks = chunksOf(3 * PAGE_BUFFER_INITIAL_BYTES + 17, 16_384, 1);
  const body = await pages.read(Readable.from(chunks));
  assert.equal(body.bytes, 3 * PAGE_BUFFER_INITIAL_BYTES + 17);
  assert.ok(body.buffer.length >= body.bytes);
  assert.deepEqual(body.buffer.subarray(0, body.bytes), Buffer.concat(chunks));
  // The chunks are copied, not kept: changing them afterwards changes nothing.
  chunks[0]!.fill(0);
  assert.notEqual(body.buffer[1], 0);
});

test("a released buffer is the next page's, and holds that page alone", async () => {
  const pages = new PageBuffers();
  const first = await pages.read(Readable.from(chunksOf(100_000, 7_000, 2)));
  pages.release(first.buffer);
  const secondChunks = chunksOf(5_000, 999, 3);
  const second = await pages.read(Readable.from(secondChunks));
  assert.equal(second.buffer, first.buffer);
  assert.equal(second.bytes, 5_000);
  assert.deepEqual(second.buffer.subarray(0, second.bytes), Buffer.concat(secondChunks));
  const empty = await pages.read(Readable.from([]));
  assert.equal(empty.bytes, 0);
});

test('idle buffers are bounded in number and size', async () => {
  const pages = new PageBuffers();
  const bodies = await Promise.all(Array.from({ length: MAX_IDLE_PAGE_BUFFERS + 3 }, (_, i) => pages.read(Readable.from(chunksOf(10, 10, i)))));
  for (const body of bodies) pages.release(body.buffer);
  assert.equal(pages.idleCount, MAX_IDLE_PAGE_BUFFERS);
  const other = new PageBuffers();
  const large = await other.read(Readable.from(chunksOf(MAX_KEPT_PAGE_BUFFER_BYTES + 1, 1024 * 1024, 4)));
  other.release(large.buffer);
  assert.equal(other.idleCount, 0);
});

test('a stream that fails hands its buffer back and fails the read', async () => {
  const pages = new PageBuffers();
  const failing = new Readable({
    read() {
      this.push(Buffer.from('{"items":['));
      this.destroy(new Error('stream reset'));
    },
  });
  await assert.rejects(pages.read(failing), /stream reset/);
  assert.equal(pages.idleCount, 1);
});
