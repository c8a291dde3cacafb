/**
 * The digest of a feed for anti-entropy: how many objects it holds and an order-independent 64-bit hash
 * of their (uid, resourceVersion) pairs, the sum modulo 2^32 of two independent 32-bit hashes per
 * object. A sum can be kept up to date as objects come and go (the agent does), and computed from rows
 * in any order (the hub reads them from SQL). Equal digests mean equal sets with overwhelming
 * probability; a mismatch says only that the feed differs, which a resync then repairs.
 */
export interface FeedDigestValue {
  count: number;
  hashHigh: number;
  hashLow: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** A second, unrelated starting point for the other lane. */
const SECOND_LANE_SEED = 0x9e3779b9;

/** FNV-1a over UTF-16 code units, finished with murmur3's avalanche so that nearby inputs spread. */
function hash32(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function termOf(uid: string, resourceVersion: string): [number, number] {
  const text = `${uid}\u0000${resourceVersion}`;
  return [hash32(text, FNV_OFFSET), hash32(text, SECOND_LANE_SEED)];
}

/** A running digest: add and remove objects in any order. */
export class FeedDigestAccumulator {
  private count = 0;
  private high = 0;
  private low = 0;

  add(uid: string, resourceVersion: string): void {
    const [h, l] = termOf(uid, resourceVersion);
    this.count++;
    this.high = (this.high + h) >>> 0;
    this.low = (this.low + l) >>> 0;
  }

  remove(uid: string, resourceVersion: string): void {
    const [h, l] = termOf(uid, resourceVersion);
    this.count--;
    this.high = (this.high - h) >>> 0;
    this.low = (this.low - l) >>> 0;
  }

  clear(): void {
    this.count = 0;
    this.high = 0;
    this.low = 0;
  }

  value(): FeedDigestValue {
    return { count: this.count, hashHigh: this.high, hashLow: this.low };
  }
}

export function digestOf(objects: Iterable<{ uid: string; resourceVersion: string }>): FeedDigestValue {
  const digest = new FeedDigestAccumulator();
  for (const o of objects) digest.add(o.uid, o.resourceVersion);
  return digest.value();
}

export function sameDigest(a: FeedDigestValue, b: FeedDigestValue): boolean {
  return a.count === b.count && a.hashHigh === b.hashHigh && a.hashLow === b.hashLow;
}
