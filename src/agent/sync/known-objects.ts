import { FeedDigestAccumulator, type FeedDigestValue } from '../../protocol/feed-digest.ts';

/** What a feed records per object the hub has (or is about to have): never the object itself. */
export interface KnownObject {
  readonly uid: string;
  readonly resourceVersion: string;
  /** The snapshot generation that last saw it; older ones are gone after a relist. */
  generation: number;
}

/**
 * A feed's record of the objects the hub has, by object key, with the anti-entropy digest of its
 * (uid, resourceVersion) pairs kept in step: every change of uid or resourceVersion goes through set()
 * or delete(), so the digest never has to be recomputed from the whole record.
 */
export class KnownObjects {
  private readonly objects = new Map<string, KnownObject>();
  private readonly digest = new FeedDigestAccumulator();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): KnownObject | undefined {
    return this.objects.get(key);
  }

  set(key: string, value: KnownObject): void {
    const previous = this.objects.get(key);
    if (previous) this.digest.remove(previous.uid, previous.resourceVersion);
    this.objects.set(key, value);
    this.digest.add(value.uid, value.resourceVersion);
  }

  delete(key: string): void {
    const previous = this.objects.get(key);
    if (!previous) return;
    this.digest.remove(previous.uid, previous.resourceVersion);
    this.objects.delete(key);
  }

  clear(): void {
    this.objects.clear();
    this.digest.clear();
  }

  /** Forgets the objects no snapshot since `generation` saw, and returns their keys. */
  pruneOlderThan(generation: number): string[] {
    const pruned: string[] = [];
    for (const [key, known] of this.objects) {
      if (known.generation < generation) {
        this.delete(key);
        pruned.push(key);
      }
    }
    return pruned;
  }

  digestValue(): FeedDigestValue {
    return this.digest.value();
  }
}
