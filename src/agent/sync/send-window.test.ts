import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_SEND_ROOM_BYTES, SendWindow } from './send-window.ts';

const MiB = 1024 * 1024;

test('streams share the window: room up to what is left, then they wait in line', () => {
  const window = new SendWindow(2 * MiB);
  const woken: string[] = [];
  const a = () => woken.push('a');
  const b = () => woken.push('b');
  const c = () => woken.push('c');
  assert.equal(window.room(MiB, a), MiB);
  window.acquire(MiB);
  assert.equal(window.room(MiB, b), MiB);
  window.acquire(MiB);
  assert.equal(window.room(MiB, c), 0, 'full');
  assert.equal(window.room(MiB, a), 0, 'a lines up behind c');
  window.release(MiB);
  assert.deepEqual(woken, ['c', 'a'].slice(0, Math.floor(MiB / MIN_SEND_ROOM_BYTES)));
  assert.equal(window.room(MiB, a), 0, 'c asked first');
  assert.equal(window.room(MiB, c), MiB);
  window.acquire(MiB);
  assert.equal(window.inFlightBytes, 2 * MiB);
});

test('an empty window gives any batch its room, even one larger than the window', () => {
  const window = new SendWindow(MiB);
  const wake = () => undefined;
  assert.equal(window.room(4 * MiB, wake), 4 * MiB);
  window.acquire(4 * MiB);
  assert.equal(window.room(10, wake), 0);
  window.release(4 * MiB);
  assert.equal(window.inFlightBytes, 0);
  assert.equal(window.room(10, wake), 10);
});

test('a stream that closes leaves the line', () => {
  const window = new SendWindow(MiB);
  window.acquire(MiB);
  let woken = 0;
  const wake = () => woken++;
  assert.equal(window.room(MiB, wake), 0);
  window.forget(wake);
  window.release(MiB);
  assert.equal(woken, 0);
});
