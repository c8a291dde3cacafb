import type { KubeObject } from '../common/kube-object.ts';
import { EventLog, type ClusterEvent, type WatchEventType } from './event-log.ts';
import { ResourceCollection } from './resource-collection.ts';
import { ResourceRegistry } from './resource-registry.ts';
import { resourceId, type ResourceType } from './resource-type.ts';
import { objectKey, toStoredObject, type StoredObject } from './stored-object.ts';
import { WatchRegistry } from './watch-registry.ts';

export type ChangeListener = (event: ClusterEvent) => void;

/** A reference to one stored object: its resource (group/plural) and key. */
export interface ObjectRef {
  resource: string;
  key: string;
}

/**
 * The state of one simulated cluster: its kinds, its objects per resource, its single resourceVersion
 * counter and event log, its open watches, and an index from owner UID to dependents. Every write goes
 * through commit() or remove(), which take the next resourceVersion, log the event, and tell watchers and
 * listeners (controllers, CRD handling) synchronously, in resourceVersion order.
 */
export class ClusterStore {
  readonly registry = new ResourceRegistry();
  readonly watches = new WatchRegistry();
  readonly events: EventLog;
  private counter = 0;
  /** Per resource, the resourceVersion of its latest event: how far the real server's watch cache of that type has got. */
  private readonly latestEventVersion = new Map<string, number>();
  /** The last progress notification (etcd's, which advances every type's watch cache to the current revision). */
  private progressVersion = 0;
  private readonly collections = new Map<string, ResourceCollection>();
  private readonly dependents = new Map<string, Map<string, ObjectRef>>();
  private readonly listeners = new Set<ChangeListener>();

  constructor(
    readonly name: string,
    historyLimit: number,
  ) {
    this.events = new EventLog(historyLimit);
  }

  get resourceVersion(): number {
    return this.counter;
  }

  /**
   * How far the watch cache of `resource` has got, as the real API server's cacher knows it: the
   * resourceVersion of the type's latest event, or of the last progress notification if that is newer.
   * A bookmark can only carry this version, so a quiet type gets none until one of the two advances it.
   */
  watchCacheVersion(resource: string): number {
    return Math.max(this.latestEventVersion.get(resource) ?? 0, this.progressVersion);
  }

  /** An etcd progress notification: every type's watch cache catches up with the current resourceVersion. */
  notifyProgress(): void {
    this.progressVersion = this.counter;
  }

  collection(resource: string): ResourceCollection {
    let collection = this.collections.get(resource);
    if (collection === undefined) this.collections.set(resource, (collection = new ResourceCollection()));
    return collection;
  }

  get(type: ResourceType, namespace: string, name: string): StoredObject | undefined {
    return this.collections.get(resourceId(type))?.get(objectKey(type.namespaced ? namespace : '', name));
  }

  getByRef(ref: ObjectRef): StoredObject | undefined {
    return this.collections.get(ref.resource)?.get(ref.key);
  }

  /** Stores `object` (its metadata complete but for resourceVersion) as the next change. */
  commit(type: ResourceType, object: KubeObject, previous: StoredObject | undefined): StoredObject {
    const resourceVersion = ++this.counter;
    object.metadata = { ...object.metadata, resourceVersion: String(resourceVersion) };
    const stored = toStoredObject(type, object);
    const resource = resourceId(type);
    this.collection(resource).put(stored);
    this.reindexOwners(resource, previous, stored);
    this.emit({ resourceVersion, type: previous === undefined ? 'ADDED' : 'MODIFIED', resource, object: stored, previous });
    return stored;
  }

  /** Removes an object; the DELETED event carries its last state at the deletion's resourceVersion. */
  remove(type: ResourceType, previous: StoredObject, lastState: KubeObject): StoredObject {
    const resourceVersion = ++this.counter;
    lastState.metadata = { ...lastState.metadata, resourceVersion: String(resourceVersion) };
    const stored = toStoredObject(type, lastState);
    const resource = resourceId(type);
    this.collections.get(resource)?.remove(previous.key);
    this.reindexOwners(resource, previous, undefined);
    this.emit({ resourceVersion, type: 'DELETED' satisfies WatchEventType, resource, object: stored, previous });
    return stored;
  }

  private emit(event: ClusterEvent): void {
    this.latestEventVersion.set(event.resource, event.resourceVersion);
    this.events.append(event);
    this.watches.dispatch(event);
    for (const listener of this.listeners) listener(event);
  }

  private reindexOwners(resource: string, previous: StoredObject | undefined, next: StoredObject | undefined): void {
    const id = `${resource}\u0000${(next ?? previous)!.key}`;
    for (const uid of previous?.ownerUids ?? []) {
      const set = this.dependents.get(uid);
      set?.delete(id);
      if (set?.size === 0) this.dependents.delete(uid);
    }
    for (const uid of next?.ownerUids ?? []) {
      let set = this.dependents.get(uid);
      if (set === undefined) this.dependents.set(uid, (set = new Map()));
      set.set(id, { resource, key: next!.key });
    }
  }

  /** Objects whose ownerReferences name `ownerUid`. */
  dependentsOf(ownerUid: string): ObjectRef[] {
    return [...(this.dependents.get(ownerUid)?.values() ?? [])];
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops a resource's collection (its kind is gone); the caller has already removed the objects. */
  dropCollection(resource: string): void {
    this.collections.delete(resource);
  }

  objectCount(): number {
    let count = 0;
    for (const collection of this.collections.values()) count += collection.size;
    return count;
  }

  /** Resources with at least one object, for namespace deletion. */
  resources(): string[] {
    return [...this.collections.keys()];
  }
}
