/**
 * Which resourceVersions each object passed through while operations were running, so that an
 * operation can tell that the version it wrote was already seen, even when a newer one replaced it in
 * the queue (a controller reacting at once) before the operation asked. Without it the operation would
 * wait for a version that will never arrive again and answer "not cached" after its timeout.
 *
 * It records only while at least one operation runs on the account, and forgets everything when the
 * last one ends, so an idle agent keeps nothing.
 */

/** Versions recorded per account at most; past it recording stops and waits fall back to exact matches. */
export const MAX_JOURNAL_VERSIONS = 50_000;

export class WriteJournal {
  private running = 0;
  private recorded = 0;
  private readonly versions = new Map<object, Map<string, Set<string>>>();

  /** Starts recording for one operation; call the returned function when the operation ends. */
  begin(): () => void {
    this.running++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running--;
      if (this.running === 0) {
        this.versions.clear();
        this.recorded = 0;
      }
    };
  }

  /** Notes that `queue` accepted object `key` at `resourceVersion`. */
  record(queue: object, key: string, resourceVersion: string): void {
    if (this.running === 0 || this.recorded >= MAX_JOURNAL_VERSIONS) return;
    let byKey = this.versions.get(queue);
    if (byKey === undefined) this.versions.set(queue, (byKey = new Map()));
    let seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, (seen = new Set()));
    if (!seen.has(resourceVersion)) {
      seen.add(resourceVersion);
      this.recorded++;
    }
  }

  /** Whether `queue` has accepted object `key` at `resourceVersion` since recording began. */
  seen(queue: object, key: string, resourceVersion: string): boolean {
    return this.versions.get(queue)?.get(key)?.has(resourceVersion) ?? false;
  }
}
