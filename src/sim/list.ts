import type { ClusterStore } from './cluster-store.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { hasSelectors, matchesFilter, type ObjectFilter } from './object-filter.ts';
import type { ResourceCollection } from './resource-collection.ts';
import { badRequest, expired, StatusError } from './status.ts';
import type { StoredObject } from './stored-object.ts';

/**
 * Lists with the real API server's consistency: a paged list is a snapshot at its first page's
 * resourceVersion even when objects change between page requests. The collection holds only the current
 * state, so an older snapshot is rebuilt from the event log: for each key changed since the snapshot,
 * the state at the snapshot is the `previous` of its first later event (nothing, if that event was ADDED).
 */
export interface ListRequest {
  filter: ObjectFilter;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  resourceVersion: number;
  items: string[];
  continueToken?: string;
  remainingItemCount?: number;
}

const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function parseResourceVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`resourceVersion: Invalid value: "${text}": must be a non-negative integer`);
  return Number(text);
}

/** Objects of the collection as they were at `resourceVersion`, keyed by the keys that changed since. */
function snapshotOverlay(store: ClusterStore, resource: string, resourceVersion: number): Map<string, StoredObject | null> {
  const overlay = new Map<string, StoredObject | null>();
  for (const event of store.events.since(resourceVersion)) {
    if (event.resource !== resource || overlay.has(event.object.key)) continue;
    overlay.set(event.object.key, event.type === 'ADDED' ? null : (event.previous ?? null));
  }
  return overlay;
}

/** Keys in order, merging the current collection with the snapshot overlay. */
function* snapshotScan(
  collection: ResourceCollection,
  overlay: Map<string, StoredObject | null>,
  namespace: string | undefined,
  after: string | undefined,
): Generator<StoredObject> {
  const prefix = namespace === undefined || namespace === '' ? '' : `${namespace}/`;
  const overlayKeys = [...overlay.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort();
  let o = 0;
  for (const current of collection.scan(namespace, after)) {
    while (o < overlayKeys.length && overlayKeys[o]! < current.key) {
      const old = overlay.get(overlayKeys[o++]!);
      if (old) yield old;
    }
    if (o < overlayKeys.length && overlayKeys[o] === current.key) {
      const old = overlay.get(overlayKeys[o++]!);
      if (old) yield old;
    } else if (!overlay.has(current.key)) yield current;
  }
  while (o < overlayKeys.length) {
    const old = overlay.get(overlayKeys[o++]!);
    if (old) yield old;
  }
}

export function listObjects(store: ClusterStore, resource: string, request: ListRequest): ListResult {
  const current = store.resourceVersion;
  let snapshotAt = current;
  let after: string | undefined;
  if (request.continueToken !== undefined && request.continueToken !== '') {
    const token = decodeContinue(request.continueToken);
    if (!store.events.canResumeFrom(token.resourceVersion)) throw new StatusError(410, 'Expired', EXPIRED_CONTINUE_MESSAGE);
    snapshotAt = token.resourceVersion;
    after = token.after;
  } else if (request.resourceVersionMatch === 'Exact' && request.resourceVersion !== undefined) {
    const wanted = parseResourceVersion(request.resourceVersion);
    if (wanted > current) throw new StatusError(504, 'Timeout', `Too large resource version: ${wanted}, current: ${current}`);
    if (!store.events.canResumeFrom(wanted)) throw expired(`too old resource version: ${wanted} (${store.events.oldestResumable + 1})`);
    snapshotAt = wanted;
  } else if (request.resourceVersion !== undefined && request.resourceVersion !== '') {
    parseResourceVersion(request.resourceVersion);
  }

  const collection = store.collection(resource);
  const overlay = snapshotAt === current ? undefined : snapshotOverlay(store, resource, snapshotAt);
  const source =
    overlay === undefined || overlay.size === 0
      ? collection.scan(request.filter.namespace, after)
      : snapshotScan(collection, overlay, request.filter.namespace, after);
  const limit = request.limit !== undefined && request.limit > 0 ? request.limit : Infinity;
  const items: string[] = [];
  let lastKey: string | undefined;
  let more = false;
  for (const object of source) {
    if (!matchesFilter(request.filter, object)) continue;
    if (items.length >= limit) {
      more = true;
      break;
    }
    items.push(object.json);
    lastKey = object.key;
  }
  const result: ListResult = { resourceVersion: snapshotAt, items };
  if (more && lastKey !== undefined) {
    result.continueToken = encodeContinue({ resourceVersion: snapshotAt, after: lastKey });
    if (!hasSelectors(request.filter) && (overlay === undefined || overlay.size === 0)) {
      result.remainingItemCount = collection.countAfter(request.filter.namespace, lastKey);
    }
  }
  return result;
}

/**
 * Characters of item JSON joined into one chunk of a list response. A page rendered as one string (often
 * a megabyte) lands in V8's large-object space, and a simulator holding a million objects then ran a full
 * garbage collection of its whole heap every few pages; chunks this size are short-lived young objects
 * (docs/performance.md, "scale").
 */
export const LIST_CHUNK_CHARS = 32 * 1024;

/** Renders a list response as chunks whose concatenation is the list's JSON (the stored items' JSON, joined). */
export function renderListChunks(kind: string, apiVersion: string, result: ListResult): string[] {
  const metadata: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
  if (result.continueToken !== undefined) metadata.continue = result.continueToken;
  if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
  const chunks: string[] = [];
  let current = `{"kind":${JSON.stringify(`${kind}List`)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[`;
  const items = result.items;
  for (let i = 0; i < items.length; i++) {
    const item = i === 0 ? items[i]! : `,${items[i]!}`;
    if (current.length > 0 && current.length + item.length > LIST_CHUNK_CHARS) {
      chunks.push(current);
      current = '';
    }
    current += item;
  }
  chunks.push(`${current}]}`);
  return chunks;
}
