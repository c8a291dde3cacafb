import type { ClusterStore } from './cluster-store.ts';
import type { ClusterEvent, WatchEventType } from './event-log.ts';
import { matchesFilter, type ObjectFilter } from './object-filter.ts';
import type { ResourceType } from './resource-type.ts';
import { apiVersionOf, resourceId } from './resource-type.ts';
import { badRequest, expired } from './status.ts';
import type { StoredObject } from './stored-object.ts';
import type { Watcher } from './watch-registry.ts';

/** Where a watch writes its newline-delimited JSON events (an HTTP response, or a test double). */
export interface WatchSink {
  /** Writes one line; returns false when the client cannot keep up and the watch should end. */
  write(line: string): boolean;
  end(): void;
  /** Called once when the client goes away. */
  onClose(listener: () => void): void;
}

export interface WatchRequest {
  filter: ObjectFilter;
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** How often a watch may get a bookmark (the real server: about every minute, `bookmarkFrequency`). */
  bookmarkIntervalMs: number;
}

/** Annotation on the bookmark that ends the initial events of a `sendInitialEvents=true` watch. */
const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';
const MS_PER_SECOND = 1000;
/** The real server also tries a bookmark this long before a watch's `timeoutSeconds` ends it. */
const PRE_TIMEOUT_BOOKMARK_MS = 2000;

function eventLine(type: WatchEventType | 'BOOKMARK' | 'ERROR', objectJson: string): string {
  return `{"type":"${type}","object":${objectJson}}\n`;
}

/** The line for a logged event as every unfiltered watcher sees it; built once per event. */
function sharedLine(event: ClusterEvent): string {
  event.line ??= eventLine(event.type, event.object.json);
  return event.line;
}

/** The previous state re-stamped with the event's resourceVersion, as the real server sends it to a watch whose selector the object left. */
function leftSelectorLine(event: ClusterEvent): string {
  const previous = JSON.parse(event.previous!.json) as { metadata?: Record<string, unknown> };
  previous.metadata = { ...previous.metadata, resourceVersion: String(event.resourceVersion) };
  return eventLine('DELETED', JSON.stringify(previous));
}

/** The line a watcher with `filter` gets for `event`, or undefined when the change is invisible to it. */
export function lineFor(filter: ObjectFilter, event: ClusterEvent): string | undefined {
  const now = event.type !== 'DELETED' && matchesFilter(filter, event.object);
  const before = event.previous !== undefined && matchesFilter(filter, event.previous);
  switch (event.type) {
    case 'ADDED':
      return now ? sharedLine(event) : undefined;
    case 'DELETED':
      return before ? sharedLine(event) : undefined;
    default:
      if (now && before) return sharedLine(event);
      if (now) return eventLine('ADDED', event.object.json);
      if (before) return leftSelectorLine(event);
      return undefined;
  }
}

function bookmarkLine(type: ResourceType, resourceVersion: number, initialEventsEnd: boolean): string {
  const metadata: Record<string, unknown> = { resourceVersion: String(resourceVersion) };
  if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
  return eventLine('BOOKMARK', JSON.stringify({ kind: type.kind, apiVersion: apiVersionOf(type), metadata }));
}

/** Ends a watch with a 410 Expired ERROR event, as the real server does for a resourceVersion it has compacted. */
function sendExpired(sink: WatchSink, store: ClusterStore, resourceVersion: number): void {
  const status = expired(`too old resource version: ${resourceVersion} (${store.events.oldestResumable + 1})`).toStatus();
  sink.write(eventLine('ERROR', JSON.stringify(status)));
  sink.end();
}

/**
 * Starts a watch: replays what the client has not seen (current objects as ADDED for resourceVersion
 * unset/"0", or logged events after a given resourceVersion), then streams live events. The replay and the
 * registration happen in one synchronous step, so no event falls between them.
 */
export function startWatch(store: ClusterStore, type: ResourceType, request: WatchRequest, sink: WatchSink): void {
  const resource = resourceId(type);
  const rvText = request.resourceVersion ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) throw badRequest(`resourceVersion: Invalid value: "${rvText}": must be a non-negative integer`);
  const fromVersion = rvText === '' ? 0 : Number(rvText);
  const replayCurrent = fromVersion === 0 || request.sendInitialEvents === true;
  if (!replayCurrent && !store.events.canResumeFrom(fromVersion)) {
    sendExpired(sink, store, fromVersion);
    return;
  }

  let open = true;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (!open) return;
    open = false;
    store.watches.remove(watcher);
    for (const timer of timers) clearTimeout(timer);
    sink.end();
  };
  const send = (line: string): void => {
    if (open && !sink.write(line)) finish();
  };
  const watcher: Watcher = {
    resource,
    deliver(event) {
      const line = lineFor(request.filter, event);
      if (line !== undefined) send(line);
    },
    close: finish,
  };

  if (replayCurrent) {
    for (const object of store.collection(resource).scan(request.filter.namespace, undefined)) {
      if (matchesFilter(request.filter, object)) send(eventLine('ADDED', (object as StoredObject).json));
    }
    if (request.sendInitialEvents === true && request.allowWatchBookmarks) send(bookmarkLine(type, store.resourceVersion, true));
  } else {
    for (const event of store.events.since(fromVersion)) {
      if (event.resource !== resource) continue;
      const line = lineFor(request.filter, event);
      if (line !== undefined) send(line);
    }
  }
  if (!open) return;
  store.watches.add(watcher);
  sink.onClose(finish);

  // Bookmarks follow the real server's cacher: at each chance (every bookmarkIntervalMs, and shortly
  // before the watch's timeout) a watch gets one only if the watch cache of its type has moved past the
  // version the watch started from — through an event of that type (even one this watch's selector
  // hides) or an etcd progress notification. A quiet type on a quiet cluster gets none for a long time.
  const startVersion = replayCurrent ? store.resourceVersion : fromVersion;
  const bookmark = (): void => {
    const cacheVersion = store.watchCacheVersion(resource);
    if (cacheVersion > startVersion) send(bookmarkLine(type, cacheVersion, false));
  };
  if (request.allowWatchBookmarks && request.bookmarkIntervalMs > 0) {
    const timer = setInterval(bookmark, request.bookmarkIntervalMs);
    timer.unref();
    timers.push(timer);
  }
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    const timeoutMs = request.timeoutSeconds * MS_PER_SECOND;
    if (request.allowWatchBookmarks && timeoutMs > PRE_TIMEOUT_BOOKMARK_MS) {
      const timer = setTimeout(bookmark, timeoutMs - PRE_TIMEOUT_BOOKMARK_MS);
      timer.unref();
      timers.push(timer);
    }
    const timer = setTimeout(finish, timeoutMs);
    timer.unref();
    timers.push(timer);
  }
}
