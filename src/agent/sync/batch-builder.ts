import { preEncoded, SyncRequestSchema, type SyncRequest } from '../../protocol/index.ts';
import { encodeBatchRequest, type BatchPart } from './batch-encoder.ts';
import type { FeedLease } from './feed-lease.ts';
import type { FeedQueue } from './feed-queue.ts';

/** A batch as sent, with what is needed to acknowledge or requeue it. */
export interface SentBatch {
  seq: bigint;
  /** The SyncRequest carrying the batch, already encoded (see batch-encoder.ts). */
  request: SyncRequest;
  /** One per feed in the batch: the lease its entries are in flight under. */
  parts: Array<{ queue: FeedQueue; lease: FeedLease }>;
  /** Entries, counted against the batch's change budget (the hub's limit counts every entry). */
  changeCount: number;
  /** Of those, anti-entropy digests: not changes of the cache (metrics leave them out). */
  digestCount: number;
  bytes: number;
}

export interface BatchBudget {
  maxBytes: number;
  maxChanges: number;
}

/**
 * Builds the next batch from the feeds' queues, round-robin from `start` so that one busy kind cannot
 * keep the others waiting. Returns undefined when no feed has anything to send.
 */
export function buildBatch(seq: bigint, queues: FeedQueue[], start: number, budget: BatchBudget): SentBatch | undefined {
  const parts: SentBatch['parts'] = [];
  const encoded: BatchPart[] = [];
  let bytes = 0;
  let changeCount = 0;
  let digestCount = 0;
  for (let i = 0; i < queues.length; i++) {
    const queue = queues[(start + i) % queues.length]!;
    if (!queue.hasWork()) continue;
    if (bytes >= budget.maxBytes || changeCount >= budget.maxChanges) break;
    const lease = queue.take(budget.maxBytes - bytes, budget.maxChanges - changeCount);
    if (lease.isEmpty) continue;
    encoded.push({ feed: queue.feed, entries: lease.entries, progress: lease.progress });
    parts.push({ queue, lease });
    bytes += lease.bytes;
    changeCount += lease.entries.length;
    for (const entry of lease.entries) if (entry.type === 'digest') digestCount++;
  }
  if (parts.length === 0) return undefined;
  const request = preEncoded(SyncRequestSchema, encodeBatchRequest(seq, encoded));
  return { seq, request, parts, changeCount, digestCount, bytes };
}
