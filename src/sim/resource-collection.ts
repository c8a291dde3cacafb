import type { StoredObject } from './stored-object.ts';

/**
 * All objects of one resource in one cluster: a map for lookups plus the keys kept sorted, so that a page
 * of a list starts with a binary search instead of sorting the collection on every request.
 */
export class ResourceCollection {
  private readonly objects = new Map<string, StoredObject>();
  private readonly sortedKeys: string[] = [];

  get size(): number {
    return this.objects.size;
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  put(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.sortedKeys.splice(lowerBound(this.sortedKeys, object.key), 0, object.key);
    this.objects.set(object.key, object);
  }

  remove(key: string): StoredObject | undefined {
    const existing = this.objects.get(key);
    if (existing === undefined) return undefined;
    this.objects.delete(key);
    const index = lowerBound(this.sortedKeys, key);
    if (this.sortedKeys[index] === key) this.sortedKeys.splice(index, 1);
    return existing;
  }

  /** Objects in key order with keys > `after` (all when undefined), limited to `namespace` when given. */
  *scan(namespace: string | undefined, after: string | undefined): Generator<StoredObject> {
    const prefix = namespace === undefined || namespace === '' ? '' : `${namespace}/`;
    let index = after === undefined ? lowerBound(this.sortedKeys, prefix) : upperBound(this.sortedKeys, after);
    if (after !== undefined && prefix !== '' && after < prefix) index = lowerBound(this.sortedKeys, prefix);
    for (; index < this.sortedKeys.length; index++) {
      const key = this.sortedKeys[index]!;
      if (prefix !== '' && !key.startsWith(prefix)) return;
      const object = this.objects.get(key);
      if (object !== undefined) yield object;
    }
  }

  /** How many keys sort after `after` within the namespace (for remainingItemCount). */
  countAfter(namespace: string | undefined, after: string): number {
    const prefix = namespace === undefined || namespace === '' ? '' : `${namespace}/`;
    const start = upperBound(this.sortedKeys, after);
    // Keys of one namespace are contiguous: they end where the prefix with its last character bumped begins.
    const end =
      prefix === '' ? this.sortedKeys.length : lowerBound(this.sortedKeys, prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
    return Math.max(0, end - start);
  }

  values(): IterableIterator<StoredObject> {
    return this.objects.values();
  }
}

/** First index whose key is >= `key`. */
export function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
export function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
