import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindow } from './rate-window.ts';

const START = 1_700_000_000_000;
const WINDOW_MS = 10_000;
const BUCKET_MS = 1000;

test('the rate is over the time since counting began until the window is full, then over the window', () => {
  const rate = new RateWindow(START, WINDOW_MS, BUCKET_MS);
  assert.equal(rate.perSecond(START), 0);
  rate.add(100, START + 500);
  assert.equal(rate.perSecond(START + 500), 100, 'less than a bucket since the start counts as one bucket');
  rate.add(100, START + 1500);
  assert.equal(rate.perSecond(START + 2000), 100, '200 objects in 2 s');
  for (let s = 2; s < 20; s++) rate.add(100, START + s * 1000 + 500);
  assert.equal(Math.round(rate.perSecond(START + 20_000)), 100, 'steady 100 objects/s');
});

test('what was counted before the window no longer counts: a sync that slowed down shows its rate now', () => {
  const rate = new RateWindow(START, WINDOW_MS, BUCKET_MS);
  for (let s = 0; s < 10; s++) rate.add(1000, START + s * 1000);
  assert.ok(rate.perSecond(START + 10_000) >= 900);
  for (let s = 10; s < 30; s++) rate.add(10, START + s * 1000);
  assert.equal(Math.round(rate.perSecond(START + 30_000)), 10);
  assert.equal(rate.perSecond(START + 60_000), 0, 'nothing in the window');
});
