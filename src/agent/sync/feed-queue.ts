import { Errors } from '../../common/errors.ts';
import type { KubeObject } from '../../common/kube-object.ts';
import { ulid } from '../../common/ids.ts';
import type { FeedDescriptor } from './feed.ts';
import type { WriteJournal } from './write-journal.ts';
import { objectJson, type MetadataRange } from './object-json.ts';
import { compareResourceVersions } from '../../kube/resource-version.ts';
import { SlimItem } from '../../kube/slim-item.ts';
import { FeedVerification, isStale } from './feed-verification.ts';
import { KnownObjects } from './known-objects.ts';
import { abandonCarrier, board, carriesState, handOver, settleCarrier, WriteWaiters, type SyncWaiter } from './write-waiters.ts';
import { FeedLease, type LeaseSettlement } from './feed-lease.ts';

/**
 * The pending changes of one feed (one kind in one namespace scope), waiting to be sent to the hub.
 *
 * Changes are coalesced per object: while an object's change is still pending, a newer event replaces
 * it in place (latest state wins, a delete replaces an update), so the queue holds at most one entry per
 * object plus a few snapshot markers. Memory is bounded by the number of objects, never by the event
 * rate. Entries keep the position of their first arrival; that is what lets `progress()` compute a
 * resourceVersion from which a watch can resume without losing anything still pending. The one exception:
 * an object a relist returns while its change is still pending moves behind the relist's snapshotBegin,
 * where the hub stamps it with the new snapshot's epoch (ahead of it, the snapshot's end would prune it).
 *
 * Besides the queue, the feed keeps what the hub has (or is about to have) per object: uid and
 * resourceVersion — never the object (known-objects.ts). During a relist, an object whose
 * resourceVersion the hub already has is sent as a small "touch" instead of its whole body. A pending
 * upsert holds the object as its JSON text (a V8 string, which the batch encoder writes straight into
 * the batch), its UTF-8 size and where its metadata lies in it (src/agent/sync/object-json.ts).
 *
 * Anti-entropy: a running digest of that record (count and order-independent hash of uid and
 * resourceVersion) is kept as it changes. When asked (periodically, after every reconnect), the feed
 * appends it to a batch at a moment when nothing of the feed is pending, so the hub can compare it with
 * what it holds once that batch is committed. A feed that resumed its watch knows only what changed since
 * the hub's resume point; a quiet verification list (feed-verification.ts) completes its record.
 *
 * Entries leave the queue in leases (take(), feed-lease.ts): in flight until the hub acknowledges their
 * batch, or back in the queue when it was lost. Operations waiting to read their writes ride on the
 * entries (write-waiters.ts).
 */
export type PendingEntry =
  | {
      type: 'upsert';
      namespace: string;
      name: string;
      uid: string;
      resourceVersion: string;
      body: string;
      bodyBytes: number;
      metadata: MetadataRange | undefined;
      resumeFrom: string;
      waiters?: SyncWaiter[];
    }
  | { type: 'delete'; namespace: string; name: string; uid: string; resourceVersion: string; resumeFrom: string; waiters?: SyncWaiter[] }
  | { type: 'touch'; namespace: string; name: string; resourceVersion: string; resumeFrom: string; waiters?: SyncWaiter[] }
  | { type: 'skipped'; namespace: string; name: string; resourceVersion: string; code: string; message: string; resumeFrom: string; waiters?: SyncWaiter[] }
  | { type: 'snapshotBegin'; snapshotId: string; resumeFrom: string; waiters?: undefined }
  | { type: 'snapshotEnd'; snapshotId: string; resourceVersion: string; resumeFrom: string; waiters?: undefined }
  | { type: 'feedDropped'; reason: string; resumeFrom: string; waiters?: SyncWaiter[] }
  | { type: 'digest'; count: number; hashHigh: number; hashLow: number; resumeFrom: string; waiters?: undefined };

/** Bytes an entry costs on the wire besides its body (keys, strings, framing) — for batch sizing. */
export const ENTRY_OVERHEAD_BYTES = 64;

export interface FeedQueueOptions {
  feed: FeedDescriptor;
  /** Largest serialised object accepted; bigger ones are reported as skipped. */
  maxObjectBytes: number;
  /** Called when the queue goes from empty to non-empty, or a waiter needs a flush. */
  onPending: () => void;
  /** Called for each object event, after coalescing (metrics). */
  onEvent?: (type: string) => void;
  /** The account's record of versions seen while operations run (read-your-writes). */
  journal?: WriteJournal;
}

const MARKER_PREFIX = '\u0000';

/**
 * The key of an object in a feed's maps. Built with join, which makes one flat string: `${a}/${b}` makes
 * a V8 cons string that keeps its two halves apart — in the map of known objects, one per watched
 * object, that cost about 60 bytes each.
 */
function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : [namespace, name].join('/');
}

/** What a feed keys and records an object by. */
interface ObjectIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/** A SlimItem carries its identity (its metadata is not parsed for it); other objects have it in their metadata. */
function identityOf(obj: KubeObject): ObjectIdentity {
  if (obj instanceof SlimItem) return obj;
  const meta = obj.metadata ?? {};
  return { namespace: meta.namespace ?? '', name: meta.name ?? '', uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' };
}

export class FeedQueue {
  private descriptor: FeedDescriptor;
  /** Dropped (feedDropped queued): sink calls are ignored until revive(). */
  private dropped = false;
  /** The latest feedDropped marker, until the hub acknowledges it. */
  private dropMarker: PendingEntry | undefined;
  private dropAcked = false;
  private pending = new Map<string, PendingEntry>();
  private readonly known = new KnownObjects();
  /** A digest was asked for and has not been handed to a batch yet. */
  private digestDue = false;
  /**
   * Whether `known` holds the whole feed: only after a list (snapshot) or a verification list completed
   * since the record was last cleared. A feed that resumed a watch from the hub's point knows only what
   * changed since, and a digest of that would always differ.
   */
  private knownComplete = false;
  /** The feed resumed its watch and a verification list is to complete its record (AccountRuntime sets it). */
  verificationWanted = false;
  /** Why the last verification list could not complete the record, if it could not. */
  verificationFailure: string | undefined;
  /** Set from a reconnect until the hub finds a digest of the feed equal (health: it must, within a bound). */
  unmatchedSince: number | undefined;
  /** A verification list in progress (onVerification*). */
  private verification: FeedVerification | undefined;
  /**
   * The resourceVersion a verification completed the record at, until the watch has passed it: changes
   * not newer are already in the record (they must not roll it back), and no digest is taken before.
   */
  private verifiedFloor: string | undefined;
  /** Epoch ms of the last digest the hub found equal / different (anti-entropy status). */
  lastDigestMatchAt: number | undefined;
  divergedSince: number | undefined;
  divergences = 0;
  private readonly waiters = new WriteWaiters();
  /** The resourceVersion of the last event, bookmark or list the reflector delivered. */
  private lastResourceVersion = '';
  /** Last progress handed to a batch, so that unchanged progress is not re-sent. */
  private sentProgress = '';
  /** The resume point the hub has committed for this feed (from acks, or from its welcome). */
  private acked = '';
  /** Leases taken and not settled yet, in take order (see take()). */
  private outstanding: Array<{ lease: FeedLease; resets: number; keys: string[] }> = [];
  /** The newest entry per object in an outstanding lease, by object key (read-your-writes). */
  private inFlightKeys = new Map<string, PendingEntry>();
  /** How many times drop() reset the queue: a lease taken before the last reset no longer moves `acked`. */
  private resets = 0;
  private readonly settlement: LeaseSettlement = {
    acknowledge: (lease) => this.acknowledgeThrough(lease),
    requeue: (lease) => this.requeueFrom(lease),
  };
  private generation = 0;
  private inSnapshot = false;
  private snapshotId = '';
  /** While a snapshot is open: the resume point of its entries (see onSnapshotBegin). */
  private snapshotResumeFrom = '';
  private markerCounter = 0;

  constructor(private readonly options: FeedQueueOptions) {
    this.descriptor = options.feed;
  }

  /** What the feed watches; its version and resource may change (a CRD's served version), never its identity. */
  get feed(): FeedDescriptor {
    return this.descriptor;
  }

  retarget(feed: FeedDescriptor): void {
    this.descriptor = feed;
  }

  // --- ReflectorSink -------------------------------------------------------------------------------

  onSnapshotBegin(_reason?: string): void {
    if (this.dropped) return;
    // A relist rebuilds the whole record: a verification list in flight is moot.
    this.verification = undefined;
    this.verifiedFloor = undefined;
    this.generation++;
    this.inSnapshot = true;
    this.snapshotId = ulid();
    // Objects of the list still pending from before it are moved behind this marker (onSnapshotObject),
    // after entries that arrived later: until the snapshot is sent, every entry resumes from the oldest
    // point still pending, so that the progress sent with a batch never passes a change left behind.
    const head = this.pending.values().next();
    this.snapshotResumeFrom = head.done ? this.lastResourceVersion : head.value.resumeFrom;
    for (const entry of this.pending.values()) entry.resumeFrom = this.snapshotResumeFrom;
    this.pushMarker({ type: 'snapshotBegin', snapshotId: this.snapshotId, resumeFrom: this.snapshotResumeFrom });
  }

  onSnapshotObject(obj: KubeObject): void {
    if (this.dropped) return;
    const identity = identityOf(obj);
    const { namespace, name, uid } = identity;
    const rv = identity.resourceVersion;
    const key = objectKey(namespace, name);
    const earlier = this.pending.get(key);
    if (earlier !== undefined) {
      // Pending since before the list began (a list returns each object once). Coalesced where it stands,
      // it would reach the hub ahead of the snapshotBegin marker, keep the previous snapshot's epoch there
      // and be pruned at snapshot end, while this feed counts it as sent. Move it behind the marker.
      this.pending.delete(key);
      this.pending.set(key, earlier);
      this.acceptObject(obj, namespace, name, uid, rv, key, this.snapshotResumeFrom);
      return;
    }
    const known = this.known.get(key);
    if (known && known.resourceVersion === rv && known.uid === uid) {
      known.generation = this.generation;
      this.enqueue(key, { type: 'touch', namespace, name, resourceVersion: rv, resumeFrom: this.snapshotResumeFrom });
      return;
    }
    this.acceptObject(obj, namespace, name, uid, rv, key, this.snapshotResumeFrom);
  }

  onSnapshotEnd(resourceVersion: string): void {
    if (this.dropped) return;
    // Objects the list did not return are gone: forget them (the hub prunes them at snapshot end).
    for (const key of this.known.pruneOlderThan(this.generation)) this.waiters.gone(key);
    this.inSnapshot = false;
    this.knownComplete = true;
    this.pushMarker({ type: 'snapshotEnd', snapshotId: this.snapshotId, resourceVersion, resumeFrom: this.snapshotResumeFrom });
    this.lastResourceVersion = resourceVersion;
  }

  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    if (this.dropped) return;
    const { namespace, name, uid, resourceVersion: rv } = identityOf(obj);
    const key = objectKey(namespace, name);
    // Already in a record a verification completed: sent to the hub all the same, but the record keeps its newer state.
    const stale = this.verifiedFloor !== undefined && isStale(rv, this.verifiedFloor);
    const recorded = stale ? this.known.get(key) : undefined;
    if (type === 'DELETED') {
      this.known.delete(key);
      this.enqueue(key, { type: 'delete', namespace, name, uid, resourceVersion: rv, resumeFrom: this.lastResourceVersion });
      this.waiters.observed(key, undefined, this.pending.get(key));
    } else {
      this.acceptObject(obj, namespace, name, uid, rv, key, this.lastResourceVersion);
    }
    if (stale) {
      if (recorded) this.known.set(key, recorded);
      else this.known.delete(key);
    }
    if (this.verification !== undefined) {
      const now = this.known.get(key);
      this.verification.watchedChange(key, now ? { uid: now.uid, resourceVersion: now.resourceVersion } : undefined, rv);
    }
    if (rv !== '') this.advanceTo(rv);
    this.options.onEvent?.(type);
  }

  /** The watch has delivered everything up to `resourceVersion`. */
  private advanceTo(resourceVersion: string): void {
    this.lastResourceVersion = resourceVersion;
    if (this.verifiedFloor !== undefined && (compareResourceVersions(resourceVersion, this.verifiedFloor) ?? 0) >= 0) {
      this.verifiedFloor = undefined;
      if (this.digestReady()) this.options.onPending();
    }
  }

  onProgress(resourceVersion: string): void {
    if (this.dropped) return;
    this.advanceTo(resourceVersion);
    if (this.pending.size === 0 && resourceVersion !== this.sentProgress) this.options.onPending();
  }

  // --- VerificationSink -----------------------------------------------------------------------------

  /**
   * A quiet list is about to be requested (or requested again); only a feed whose record is incomplete
   * (it resumed its watch) needs one. From here on the watch's changes are recorded beside it. The list
   * is read at exactly the point the watch has delivered (or resumed from), so the record it completes
   * is the one the hub should hold once what is pending is committed.
   */
  onVerificationBegin(): string {
    if (this.dropped || this.knownComplete || this.inSnapshot) {
      this.verification = undefined;
      return '';
    }
    if (this.verification !== undefined) this.verification.restartList();
    else this.verification = new FeedVerification();
    return this.lastResourceVersion || this.acked;
  }

  onVerificationObject(obj: KubeObject): void {
    if (this.verification === undefined) return;
    const { namespace, name, uid, resourceVersion } = identityOf(obj);
    // Objects too large to send are not in the record (acceptObject): not in the verified one either.
    if (objectJson(obj).bodyBytes > this.options.maxObjectBytes) return;
    this.verification.listedObject(objectKey(namespace, name), { uid, resourceVersion });
  }

  onVerificationEnd(resourceVersion: string): void {
    const verification = this.verification;
    this.verification = undefined;
    if (verification === undefined) return;
    const record = verification.complete(resourceVersion);
    if (record === undefined) {
      this.verificationFailure = `resourceVersions that cannot be ordered (${resourceVersion})`;
      return;
    }
    this.clearKnown();
    for (const [key, version] of record) this.known.set(key, { ...version, generation: this.generation });
    this.knownComplete = true;
    this.verificationFailure = undefined;
    const order = compareResourceVersions(this.lastResourceVersion || this.acked, resourceVersion);
    this.verifiedFloor = order !== undefined && order >= 0 ? undefined : resourceVersion;
    // A digest asked for after the reconnect can go out now.
    if (this.digestReady()) this.options.onPending();
  }

  /** Whether the record holds the whole feed (after a list, or a verification), so a digest of it means something. */
  get isKnownComplete(): boolean {
    return this.knownComplete;
  }

  /** A verification list failed part-way: forget it (the caller may try again). */
  abandonVerification(): void {
    this.verification = undefined;
  }

  /**
   * The feed is no longer watched: tell the hub to drop its objects and its resume point. What was still
   * pending is moot (the hub deletes the feed's objects anyway), and no progress may follow the marker:
   * it would give the hub a resume point for a feed that no longer exists. This resets the queue for
   * the leases taken before it (see take()).
   *
   * Waiters on the discarded entries (write-waiters.ts, "which commit satisfies a waiter"): the marker
   * deletes every object of the feed at the hub, so those following a deletion (or an earlier marker)
   * ride on it; the state the others follow will never reach the hub, so they are answered now rather
   * than at their timeout.
   */
  drop(reason: string): void {
    const marker: PendingEntry = { type: 'feedDropped', reason, resumeFrom: '' };
    for (const entry of this.pending.values()) {
      if (entry.type === 'delete' || entry.type === 'feedDropped') handOver(entry, marker);
      else abandonCarrier(entry);
    }
    this.clearKnown();
    this.pending.clear();
    this.inSnapshot = false;
    this.lastResourceVersion = '';
    this.sentProgress = '';
    this.acked = '';
    this.resets++;
    this.dropped = true;
    this.dropAcked = false;
    this.dropMarker = marker;
    this.pushMarker(marker);
  }

  /** Whether drop() was called (and not undone by revive()). */
  get isDropped(): boolean {
    return this.dropped;
  }

  /** The hub has committed the feedDropped marker: the queue can be let go. */
  get dropAcknowledged(): boolean {
    return this.dropped && this.dropAcked;
  }

  /**
   * The feed is watched again (a deleted CRD came back) before its drop was acknowledged. Reusing the
   * queue keeps the feedDropped marker ahead of the new list, so the hub never applies them out of order.
   */
  revive(feed: FeedDescriptor): void {
    this.descriptor = feed;
    this.dropped = false;
    this.dropAcked = false;
  }

  // --- batching ------------------------------------------------------------------------------------

  get pendingCount(): number {
    return this.pending.size;
  }

  get knownCount(): number {
    return this.known.size;
  }

  /** Whether a batch would carry something for this feed (entries, or progress the hub lacks). */
  hasWork(): boolean {
    return (
      this.pending.size > 0 || (this.lastResourceVersion !== '' && this.lastResourceVersion !== this.sentProgress && !this.inSnapshot) || this.digestReady()
    );
  }

  // --- anti-entropy --------------------------------------------------------------------------------

  /**
   * Sends the feed's digest with the next batch that leaves nothing of the feed pending. `reconnectedAt`
   * (after a reconnect) starts the clock of "not matched since the reconnect" unless it already runs.
   */
  requestDigest(reconnectedAt?: number): void {
    if (this.dropped) return;
    this.digestDue = true;
    if (reconnectedAt !== undefined) this.unmatchedSince ??= reconnectedAt;
    this.options.onPending();
  }

  /** A verification list is running or will be retried: a resumed feed completing its record. */
  get isVerifying(): boolean {
    return this.verification !== undefined || (this.verificationWanted && !this.knownComplete && this.verificationFailure === undefined);
  }

  /** A digest can go out now: asked for, the record complete and not being rebuilt by a relist, not dropped. */
  private digestReady(): boolean {
    return this.digestDue && this.knownComplete && this.verifiedFloor === undefined && !this.inSnapshot && !this.dropped;
  }

  /** The hub compared a digest of this feed: equal, or not (then the caller resyncs the feed). */
  digestCompared(matched: boolean, now: number): void {
    if (matched) {
      this.lastDigestMatchAt = now;
      this.divergedSince = undefined;
      this.unmatchedSince = undefined;
    } else {
      this.divergences++;
      this.divergedSince ??= now;
    }
  }

  // --- leases --------------------------------------------------------------------------------------

  /**
   * Removes entries from the head of the queue, up to the byte and count budget, and hands them out in a
   * lease with the progress that is safe once they are committed: every event before the first entry
   * still pending. The entries count as in flight until the lease is settled.
   *
   * A feed's batches travel in take order on one ordered stream, and the hub commits them in that order.
   * Hence the rules for settling:
   * - ack() acknowledges the lease and every earlier one still outstanding, in take order: their waiters
   *   are resolved and the acked progress moves to the latest progress among them.
   * - requeue() puts back the lease and every later one still outstanding (none of them can be committed
   *   once it is lost), all together ahead of what is pending now (see putBack()): an object in several of
   *   them comes back once, in its newest state, where it first stood.
   * - A lease settled already, by its holder or through another lease, ignores further calls. A second
   *   ack() must not move the acked progress back, a late ack() of a requeued lease must not resolve
   *   waiters whose entries are pending again, a requeue() of an acknowledged lease must not send it again.
   * - drop() resets the queue. A lease taken before it still settles its entries — an ack resolves their
   *   waiters, since the hub did commit them; a requeue puts them back ahead of the feedDropped marker,
   *   which deletes them at the hub anyway — but its progress belongs to the feed before the drop and no
   *   longer moves the acked progress.
   * - A lease with nothing in it (isEmpty) is never outstanding; settling it does nothing.
   */
  take(maxBytes: number, maxEntries: number): FeedLease {
    const entries: PendingEntry[] = [];
    /** Each entry's key in `pending` ('' for a digest): an object's is its object key, not built again. */
    const keys: string[] = [];
    let bytes = 0;
    for (const [key, entry] of this.pending) {
      const size = ENTRY_OVERHEAD_BYTES + (entry.type === 'upsert' ? entry.bodyBytes : 0);
      if (entries.length > 0 && (bytes + size > maxBytes || entries.length >= maxEntries)) break;
      entries.push(entry);
      keys.push(key);
      bytes += size;
      this.pending.delete(key);
    }
    const head = this.pending.values().next();
    if (head.done && this.digestReady()) {
      // Everything of the feed before this point is in this batch or an earlier one: the digest describes
      // exactly what the hub holds once they are committed.
      const { count, hashHigh, hashLow } = this.known.digestValue();
      entries.push({ type: 'digest', count, hashHigh, hashLow, resumeFrom: this.lastResourceVersion });
      keys.push('');
      bytes += ENTRY_OVERHEAD_BYTES;
      this.digestDue = false;
    }
    let progress: string | undefined = head.done ? this.lastResourceVersion : head.value.resumeFrom;
    if (progress === '' || progress === this.sentProgress) progress = undefined;
    else this.sentProgress = progress;
    const lease = new FeedLease(entries, bytes, progress, this.settlement);
    if (lease.isEmpty) return lease;
    this.outstanding.push({ lease, resets: this.resets, keys });
    this.markInFlight(entries, keys);
    return lease;
  }

  /** The resume point the hub has committed for this feed: from acknowledged leases, or from its welcome. */
  get ackedProgress(): string {
    return this.acked;
  }

  /** The hub's committed resume point for this feed (from its welcome; undefined: it has none). */
  recordHubResumePoint(resourceVersion: string | undefined): void {
    this.acked = resourceVersion ?? '';
  }

  private acknowledgeThrough(lease: FeedLease): void {
    const index = this.outstanding.findIndex((o) => o.lease === lease);
    if (index < 0) return;
    for (const { lease: committed, resets, keys } of this.outstanding.splice(0, index + 1)) {
      const entries = committed.entries;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if ('name' in entry) {
          const key = keys[i]!;
          if (this.inFlightKeys.get(key) === entry) this.inFlightKeys.delete(key);
        }
        if (entry === this.dropMarker) this.dropAcked = true;
        settleCarrier(entry);
      }
      if (committed.progress !== undefined && resets === this.resets) this.acked = committed.progress;
    }
  }

  private requeueFrom(lease: FeedLease): void {
    const index = this.outstanding.findIndex((o) => o.lease === lease);
    if (index < 0) return;
    const lost = this.outstanding.splice(index);
    // The lost entries are pending again; in flight stays only what the earlier leases still hold.
    this.inFlightKeys = new Map();
    for (const { lease: still, keys } of this.outstanding) this.markInFlight(still.entries, keys);
    this.putBack(lost.flatMap((o) => o.lease.entries));
  }

  private markInFlight(entries: readonly PendingEntry[], keys: readonly string[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if ('name' in entry) this.inFlightKeys.set(keys[i]!, entry);
    }
  }

  /**
   * Puts back entries of batches that were sent but never acknowledged (the stream broke), ahead of
   * what is pending now. An object lost in several batches comes back once, where it first stood (with
   * that entry's resume point, as when coalescing), in its newest state. Entries superseded by a newer
   * pending change for the same object are dropped; a pending touch that stood for a lost upsert becomes
   * that upsert. The waiters of an entry that does not come back follow the entry that stands for its
   * object now (write-waiters.ts: a newer state's commit satisfies them).
   */
  private putBack(entries: PendingEntry[]): void {
    if (entries.length === 0) return;
    const rebuilt = new Map<string, PendingEntry>();
    const replaced = new Map<string, PendingEntry>();
    /** Entries that do not come back, by object key: their waiters follow the object's surviving entry. */
    const superseded: Array<[string, PendingEntry]> = [];
    for (const entry of entries) {
      // A digest describes the record when it was taken; after a requeue (which may drop superseded
      // entries) it is asked for again instead.
      if (entry.type === 'digest') {
        this.digestDue = true;
        continue;
      }
      const key = 'name' in entry ? objectKey(entry.namespace, entry.name) : MARKER_PREFIX + (this.markerCounter++).toString(36);
      const current = this.pending.get(key);
      const earlier = rebuilt.get(key) ?? replaced.get(key);
      if (current === undefined) {
        if (earlier !== undefined) {
          // Lost in an earlier batch too: this newer state takes that entry's place and resume point.
          entry.resumeFrom = earlier.resumeFrom;
          superseded.push([key, earlier]);
        }
        rebuilt.set(key, entry);
      } else if (current.type === 'touch' && entry.type === 'upsert' && current.resourceVersion === entry.resourceVersion) {
        // A relist touched the object because this upsert was believed sent; it never was committed. The
        // object goes where the touch stands (inside the snapshot, so the snapshot's end keeps it).
        const restored: PendingEntry = { ...entry, resumeFrom: current.resumeFrom, waiters: undefined };
        handOver(current, restored);
        handOver(entry, restored);
        if (earlier !== undefined) superseded.push([key, earlier]);
        replaced.set(key, restored);
      } else {
        superseded.push([key, entry]);
      }
    }
    for (const [key, entry] of this.pending) rebuilt.set(key, replaced.get(key) ?? entry);
    for (const [key, entry] of superseded) {
      const survivor = rebuilt.get(key);
      if (survivor !== undefined && survivor !== entry) handOver(entry, survivor);
    }
    this.pending = rebuilt;
    this.sentProgress = '';
    this.options.onPending();
  }

  /**
   * Forgets what the hub has (it lost or never had it): the next relist sends whole objects, not touches.
   */
  forgetKnown(): void {
    this.clearKnown();
    this.sentProgress = '';
  }

  // --- read-your-writes ----------------------------------------------------------------------------

  /**
   * Resolves true once the hub has committed the object at `resourceVersion` (or its deletion when
   * undefined), false when `timeoutMs` passes first.
   */
  waitForSync(namespace: string, name: string, resourceVersion: string | undefined, timeoutMs: number): Promise<boolean> {
    const key = objectKey(namespace, name);
    const pending = this.pending.get(key);
    const known = this.known.get(key);
    if (!pending) {
      // Not known and no deletion still on its way: the hub no longer has the object either.
      if (resourceVersion === undefined && !known && this.inFlightKeys.get(key)?.type !== 'delete') return Promise.resolve(true);
      if (resourceVersion !== undefined && known?.resourceVersion === resourceVersion && !this.inFlightKeys.has(key)) return Promise.resolve(true);
    }
    // The written version already passed through and may have been replaced by a newer one: the object's
    // current entry (pending, then in flight) covers it, and with neither the hub already has it or later.
    const seen = resourceVersion !== undefined && this.options.journal?.seen(this, key, resourceVersion) === true;
    if (seen && !pending && !this.inFlightKeys.has(key)) return Promise.resolve(true);
    return this.waiters.wait(key, resourceVersion, timeoutMs, (waiter) => {
      // Already observed and waiting in the queue or in flight: ride along with that entry.
      if (pending && (seen || carriesState(pending, resourceVersion))) {
        board(pending, waiter);
        this.options.onPending();
        return true;
      }
      const inFlight = this.inFlightKeys.get(key);
      if (inFlight && (seen || carriesState(inFlight, resourceVersion))) {
        board(inFlight, waiter);
        return true;
      }
      return false;
    });
  }

  // --- internals -----------------------------------------------------------------------------------

  /** Forgets the record and what was completing it. */
  private clearKnown(): void {
    this.known.clear();
    this.knownComplete = false;
    this.verification = undefined;
    this.verifiedFloor = undefined;
  }

  private acceptObject(obj: KubeObject, namespace: string, name: string, uid: string, rv: string, key: string, resumeFrom: string): void {
    const { body, bodyBytes, metadata } = objectJson(obj);
    if (bodyBytes > this.options.maxObjectBytes) {
      this.known.delete(key);
      this.enqueue(key, {
        type: 'skipped',
        namespace,
        name,
        resourceVersion: rv,
        code: Errors.OBJECT_TOO_LARGE.code,
        message: `object is ${bodyBytes} bytes, more than the limit of ${this.options.maxObjectBytes}`,
        resumeFrom,
      });
    } else {
      this.known.set(key, { uid, resourceVersion: rv, generation: this.generation });
      this.enqueue(key, { type: 'upsert', namespace, name, uid, resourceVersion: rv, body, bodyBytes, metadata, resumeFrom });
    }
    this.options.journal?.record(this, key, rv);
    this.waiters.observed(key, rv, this.pending.get(key));
  }

  private enqueue(key: string, entry: PendingEntry): void {
    const existing = this.pending.get(key);
    if (existing) {
      // Coalesce in place: keep the first arrival's position and resume point, carry its waiters.
      entry.resumeFrom = existing.resumeFrom;
      if (existing.type === 'upsert' && entry.type === 'touch') return;
      handOver(existing, entry);
      this.pending.set(key, entry);
      return;
    }
    const wasEmpty = this.pending.size === 0;
    this.pending.set(key, entry);
    if (wasEmpty) this.options.onPending();
  }

  private pushMarker(entry: PendingEntry): void {
    const wasEmpty = this.pending.size === 0;
    this.pending.set(MARKER_PREFIX + (this.markerCounter++).toString(36), entry);
    if (wasEmpty) this.options.onPending();
  }
}
