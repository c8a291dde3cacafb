import { create } from '@bufbuild/protobuf';
import {
  ChangeBatchSchema,
  ChangeSchema,
  FeedSchema,
  type Change,
  type ChangeBatch,
} from '../../protocol/index.ts';
import type { FeedQueue, PendingEntry } from './feed-queue.ts';

/** A batch as sent, with what is needed to acknowledge or requeue it. */
export interface SentBatch {
  seq: bigint;
  message: ChangeBatch;
  parts: Array<{ queue: FeedQueue; entries: PendingEntry[]; progress: string | undefined }>;
  changeCount: number;
  bytes: number;
}

export interface BatchBudget {
  maxBytes: number;
  maxChanges: number;
}

function toChange(feedIndex: number, entry: PendingEntry): Change {
  switch (entry.type) {
    case 'upsert':
      return create(ChangeSchema, {
        feed: feedIndex,
        kind: { case: 'upsert', value: { namespace: entry.namespace, name: entry.name, uid: entry.uid, resourceVersion: entry.resourceVersion, object: entry.body } },
      });
    case 'delete':
      return create(ChangeSchema, {
        feed: feedIndex,
        kind: { case: 'delete', value: { namespace: entry.namespace, name: entry.name, uid: entry.uid, resourceVersion: entry.resourceVersion } },
      });
    case 'touch':
      return create(ChangeSchema, { feed: feedIndex, kind: { case: 'touch', value: { namespace: entry.namespace, name: entry.name, resourceVersion: entry.resourceVersion } } });
    case 'skipped':
      return create(ChangeSchema, {
        feed: feedIndex,
        kind: { case: 'skipped', value: { namespace: entry.namespace, name: entry.name, resourceVersion: entry.resourceVersion, code: entry.code, message: entry.message } },
      });
    case 'snapshotBegin':
      return create(ChangeSchema, { feed: feedIndex, kind: { case: 'snapshotBegin', value: { snapshotId: entry.snapshotId } } });
    case 'snapshotEnd':
      return create(ChangeSchema, { feed: feedIndex, kind: { case: 'snapshotEnd', value: { snapshotId: entry.snapshotId, resourceVersion: entry.resourceVersion } } });
    case 'feedDropped':
      return create(ChangeSchema, { feed: feedIndex, kind: { case: 'feedDropped', value: { reason: entry.reason } } });
  }
}

/**
 * Builds the next batch from the feeds' queues, round-robin from `start` so that one busy kind cannot
 * keep the others waiting. Returns undefined when no feed has anything to send.
 */
export function buildBatch(seq: bigint, queues: FeedQueue[], start: number, budget: BatchBudget): SentBatch | undefined {
  const message = create(ChangeBatchSchema, { seq });
  const parts: SentBatch['parts'] = [];
  let bytes = 0;
  let changeCount = 0;
  for (let i = 0; i < queues.length; i++) {
    const queue = queues[(start + i) % queues.length];
    if (!queue.hasWork()) continue;
    if (bytes >= budget.maxBytes || changeCount >= budget.maxChanges) break;
    const taken = queue.take(budget.maxBytes - bytes, budget.maxChanges - changeCount);
    if (taken.entries.length === 0 && taken.progress === undefined) continue;
    const feedIndex = message.feeds.length;
    const f = queue.feed;
    message.feeds.push(create(FeedSchema, { group: f.group, version: f.version, kind: f.kind, resource: f.resource, namespace: f.namespace, namespaced: f.namespaced }));
    for (const entry of taken.entries) message.changes.push(toChange(feedIndex, entry));
    if (taken.progress !== undefined) message.progress.push({ $typeName: 'scaleagent.v1.FeedProgress', feed: feedIndex, resourceVersion: taken.progress });
    queue.markInFlight(taken.entries);
    parts.push({ queue, entries: taken.entries, progress: taken.progress });
    bytes += taken.bytes;
    changeCount += taken.entries.length;
  }
  if (parts.length === 0) return undefined;
  return { seq, message, parts, changeCount, bytes };
}
