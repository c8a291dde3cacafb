import { sql } from 'kysely';
import { FeedDigestAccumulator, type FeedDigestValue } from '../../protocol/feed-digest.ts';
import { applyBatchesInTransaction, type IngestCache } from './batch-apply.ts';
import { toNumber } from './rows.ts';
import type { SqlContext } from './sql-context.ts';
import { asciiKeys, screenBatch } from './storable-keys.ts';
import type { BatchOutcome, FeedInfo, FeedKey, IngestOutcome, IngestStore, StoreBatch } from './types.ts';

/** A group commit takes at most this many batches, or changes, at once. */
const MAX_GROUP_BATCHES = 512;
const MAX_GROUP_CHANGES = 8000;
/**
 * Group commits in progress at once on PostgreSQL and MySQL. The database server runs them on its own
 * cores while the hub prepares the next: with one at a time the initial sync of 300 accounts took 100
 * instead of 68 s there (docs/performance.md). A group never holds two batches of one account (each
 * account's channel waits for its batch's commit before it hands over the next), so concurrent groups
 * touch disjoint accounts and lock in one order (ingest-fence.ts). SQLite has one writer: one group.
 */
const SERVER_GROUP_COMMITS = 4;

interface QueuedBatch {
  batch: StoreBatch;
  now: number;
  resolve: (outcome: BatchOutcome) => void;
  reject: (err: unknown) => void;
}

/** The ingest path over SQL: batches (group-committed on SQLite), resume points, feed digests. */
export class SqlIngestStore implements IngestStore {
  /**
   * The accounts' snapshot epochs and feed rows as the last group commits left them (batch-apply.ts):
   * only on SQLite, where this store is the database's one writer and its statements run one at a time.
   */
  private readonly ingestCache: IngestCache | undefined;
  private readonly ingestQueue: QueuedBatch[] = [];
  /** Groups committing now, and how many may at once (SERVER_GROUP_COMMITS; 1 on SQLite). */
  private drains = 0;
  private readonly maxDrains: number;

  constructor(private readonly ctx: SqlContext) {
    this.ingestCache = ctx.dialect.name === 'sqlite' ? new Map() : undefined;
    this.maxDrains = ctx.dialect.name === 'sqlite' ? 1 : SERVER_GROUP_COMMITS;
  }

  /**
   * Commits one batch in one transaction, without the entries whose keys the store cannot hold
   * (storable-keys.ts; listed in the outcome). Batches that arrive while a transaction runs are committed
   * together in the next one — a group commit: each batch is still applied whole and in arrival order,
   * and each caller gets its own outcome, but a commit's fixed cost (journal pages and locks on SQLite, a
   * round trip and a WAL flush on PostgreSQL and MySQL) is paid once per group rather than once per
   * batch. That is what lets thousands of accounts with a few changes each stay current: with protocol
   * version 2 the batches of many accounts arrive in one message, and on PostgreSQL one transaction per
   * batch had left 500 changes/s across 300 accounts seconds behind (docs/performance.md). A replica's
   * groups hold only accounts it caches (leases), so groups of replicas sharing a database do not
   * contend for rows. Should the
   * group's transaction fail, its batches are retried one transaction each, so only a batch that fails
   * on its own fails its caller (a batch whose fence is stale, CACHING_EPOCH_STALE, among them).
   */
  async applyBatch(batch: StoreBatch, now: number): Promise<IngestOutcome> {
    const { held, rejected } = screenBatch(batch);
    return { ...(await this.commit(held, now)), rejected };
  }

  /** Forgets what the ingest keeps in memory of an account: called inside the transaction that deletes it. */
  forgetAccount(name: string): void {
    this.ingestCache?.delete(name);
  }

  private commit(batch: StoreBatch, now: number): Promise<BatchOutcome> {
    return new Promise<BatchOutcome>((resolve, reject) => {
      this.ingestQueue.push({ batch, now, resolve, reject });
      // Never rejects: every group's commit is caught and answered to its callers.
      if (this.drains < this.maxDrains) void this.drainIngestQueue();
    });
  }

  private async drainIngestQueue(): Promise<void> {
    this.drains++;
    try {
      while (this.ingestQueue.length > 0) {
        let changes = 0;
        let take = 0;
        while (
          take < this.ingestQueue.length &&
          take < MAX_GROUP_BATCHES &&
          (take === 0 || changes + this.ingestQueue[take]!.batch.changes.length <= MAX_GROUP_CHANGES)
        ) {
          changes += this.ingestQueue[take]!.batch.changes.length;
          take++;
        }
        const group = this.ingestQueue.splice(0, take);
        try {
          const outcomes = await this.applyBatches(group);
          group.forEach((g, i) => g.resolve(outcomes[i]!));
        } catch (err) {
          if (group.length === 1) {
            group[0]!.reject(err);
            continue;
          }
          for (const g of group) {
            try {
              g.resolve((await this.applyBatches([g]))[0]!);
            } catch (alone) {
              g.reject(alone);
            }
          }
        }
      }
    } finally {
      this.drains--;
    }
  }

  /** Applies batches in order in one transaction. */
  private async applyBatches(batches: ReadonlyArray<{ batch: StoreBatch; now: number }>): Promise<BatchOutcome[]> {
    const { db, dialect, logger } = this.ctx;
    const outcomes = await this.ctx.guard(
      'applyBatch',
      async () => {
        try {
          return await db.transaction().execute((trx) => applyBatchesInTransaction(trx, dialect, batches, logger, this.ingestCache));
        } catch (err) {
          // The group may have written its states into the cache before a commit that then failed: forget
          // them before guard() retries it or gives up.
          for (const { batch } of batches) this.ingestCache?.delete(batch.account);
          throw err;
        }
      },
      { transaction: true },
    );
    outcomes.forEach((outcome, i) => {
      if (outcome.touchesMissed > 0) {
        logger.debug({ account: batches[i]!.batch.account, touchesMissed: outcome.touchesMissed }, 'touched objects the store does not hold');
      }
    });
    return outcomes;
  }

  async resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    const rows = await this.ctx.guard('resumePoints', () =>
      this.ctx.db
        .selectFrom('feeds')
        .selectAll()
        .where('account', '=', account)
        .where('resume_rv', '<>', '')
        .orderBy('api_group')
        .orderBy('kind')
        .orderBy('namespace')
        .execute(),
    );
    return rows.map((r) => ({
      feed: { group: r.api_group, kind: r.kind, namespace: r.namespace, version: r.version, resource: r.resource, namespaced: toNumber(r.namespaced) === 1 },
      resourceVersion: r.resume_rv,
    }));
  }

  /**
   * The digest (count and order-independent hash of uid and resourceVersion) of what the store holds for
   * a feed: every object of its kind in its namespace, or in all of them for a feed without one. Read
   * from the rows themselves, so that a cache changed behind the hub's back shows.
   */
  async feedDigest(account: string, feed: FeedKey): Promise<FeedDigestValue> {
    const digest = new FeedDigestAccumulator();
    if (!asciiKeys(feed.group, feed.kind, feed.namespace)) return digest.value();
    const rows = await this.ctx.guard('feedDigest', () => {
      let query = this.ctx.db
        .selectFrom('objects')
        .select(['uid', 'resource_version'])
        .where('account', '=', account)
        .where('api_group', '=', feed.group)
        .where('kind', '=', feed.kind);
      if (feed.namespace !== '') query = query.where('namespace', '=', feed.namespace);
      return query.execute();
    });
    for (const row of rows) digest.add(row.uid, row.resource_version);
    return digest.value();
  }

  async recordDigestComparison(account: string, feed: FeedKey, diverged: boolean, now: number): Promise<void> {
    if (!asciiKeys(feed.group, feed.kind, feed.namespace)) return;
    await this.ctx.guard('recordDigestComparison', () =>
      this.ctx.db
        .updateTable('feeds')
        .set({
          digest_checked_at: now,
          diverged_since: diverged ? sql<number>`COALESCE(diverged_since, ${now})` : null,
          divergences: sql<number>`COALESCE(divergences, 0) + ${diverged ? 1 : 0}`,
          ...(diverged ? {} : { digest_due_since: null }),
        })
        .where('account', '=', account)
        .where('api_group', '=', feed.group)
        .where('kind', '=', feed.kind)
        .where('namespace', '=', feed.namespace)
        .execute(),
    );
  }

  async markDigestsDue(account: string, now: number): Promise<void> {
    await this.ctx.guard('markDigestsDue', () =>
      this.ctx.db
        .updateTable('feeds')
        .set({ digest_due_since: sql<number>`COALESCE(digest_due_since, ${now})` })
        .where('account', '=', account)
        .execute(),
    );
  }
}
