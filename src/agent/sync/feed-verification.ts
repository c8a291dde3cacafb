import { compareResourceVersions } from '../../kube/resource-version.ts';

/** What the agent records per object of a feed: enough for the digest. */
export interface RecordedVersion {
  uid: string;
  resourceVersion: string;
}

/**
 * A quiet list of a feed that resumed its watch (after an agent restart the agent knows only what
 * changed since the hub's resume point, so it cannot take a digest): the list runs beside the watch,
 * nothing of it is sent, and at its end the feed's complete record is
 *
 *   the list's state at its resourceVersion L,
 *   overlaid with every change the watch delivered meanwhile that is newer than L
 *   (a deletion removes the object; an update or addition sets it).
 *
 * Changes the watch delivers later but that are not newer than L are already in the list's state; the
 * feed must not apply them to its record (`isStale`) until the watch has passed L. Needs resourceVersions
 * that can be ordered (decimal integers, as etcd issues them); otherwise the verification gives up.
 */
export class FeedVerification {
  private readonly listed = new Map<string, RecordedVersion>();
  /** The watch's latest change per object while the list runs; undefined = deleted. */
  private readonly changed = new Map<string, { version: RecordedVersion | undefined; resourceVersion: string }>();

  /** The list restarted (its continue token expired): what it returned so far is moot, the watch's changes still count. */
  restartList(): void {
    this.listed.clear();
  }

  listedObject(key: string, version: RecordedVersion): void {
    this.listed.set(key, version);
  }

  /** The watch delivered a change of `key` at `resourceVersion`; `version` is the record after it (undefined: none). */
  watchedChange(key: string, version: RecordedVersion | undefined, resourceVersion: string): void {
    this.changed.set(key, { version, resourceVersion });
  }

  /** The complete record at the end of a list at `listResourceVersion`, or undefined when versions cannot be ordered. */
  complete(listResourceVersion: string): Map<string, RecordedVersion> | undefined {
    if (compareResourceVersions(listResourceVersion, listResourceVersion) === undefined) return undefined;
    const record = this.listed;
    for (const [key, change] of this.changed) {
      const order = compareResourceVersions(change.resourceVersion, listResourceVersion);
      if (order === undefined) return undefined;
      if (order <= 0) continue;
      if (change.version === undefined) record.delete(key);
      else record.set(key, change.version);
    }
    return record;
  }
}

/** Whether a change at `resourceVersion` is already reflected in a record completed at `floor`. */
export function isStale(resourceVersion: string, floor: string): boolean {
  const order = compareResourceVersions(resourceVersion, floor);
  return order !== undefined && order <= 0;
}
