import type { FeedDigestValue } from '../../../protocol/feed-digest.ts';
import type { FeedInfo, IngestOutcome, IngestStore, StoreBatch } from '../types.ts';

/**
 * An ingest store that holds nothing: no resume points, empty digests, comparisons and due marks
 * ignored, and every batch taken as committed. Tests of the sync path override applyBatch to commit,
 * fence or fail as they need.
 */
export class EmptyIngestStore implements IngestStore {
  async applyBatch(_batch: StoreBatch): Promise<IngestOutcome> {
    return { upserted: 0, deleted: 0, touched: 0, pruned: 0, rejected: [] };
  }

  async resumePoints(): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    return [];
  }

  async feedDigest(): Promise<FeedDigestValue> {
    return { count: 0, hashHigh: 0, hashLow: 0 };
  }

  async recordDigestComparison(): Promise<void> {}

  async markDigestsDue(): Promise<void> {}
}
