import type { ExpressionBuilder, Transaction } from 'kysely';
import type { Logger } from '../../common/logger.ts';
import type { SqlDialect } from './dialect.ts';
import { checkFences } from './ingest-fence.ts';
import { foldBatches, type AppliedOutcome, type BatchInput, type FeedScope, type PlanStep } from './ingest-fold.ts';
import { KEY_SEPARATOR as SEP } from './ingest-keys.ts';
import { chunks, FEED_ROWS_PER_STATEMENT, KEYS_PER_STATEMENT, statementsFor, writeObjectRows } from './ingest-statements.ts';
import { loadAccounts, loadFeeds, rememberCommittedState, type IngestCache } from './ingest-state.ts';
import type { Database } from './schema.ts';
import type { FeedKey } from './types.ts';

export type { AppliedOutcome, BatchInput } from './ingest-fold.ts';
export { feedKey } from './ingest-keys.ts';
export type { IngestCache } from './ingest-state.ts';

/**
 * Applies batches, in order, inside the caller's transaction, as if each were applied alone after the
 * one before: a group commit hands over hundreds of small batches from as many accounts, and applying
 * each on its own cost five statements per batch even when it carried one change. Here the group's
 * account rows, feed rows and the stored monikers of its upserts are each read with one statement per
 * few hundred keys, its upserts written with multi-row statements across accounts, and its feeds'
 * resume points in one upsert. What the batches do is decided by the fold (ingest-fold.ts) from the
 * loaded state; this runs its plan and counts what only the database knows (rows deleted, pruned,
 * touched).
 */
export async function applyBatchesInTransaction(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  inputs: readonly BatchInput[],
  logger: Logger,
  /** Updated with the group's final account and feed states once every statement succeeded. */
  cache?: IngestCache,
): Promise<AppliedOutcome[]> {
  // The account rows are the batches' locks (on PostgreSQL and MySQL): two batches of one account (a
  // replaced session still finishing one) apply one after the other and never take the same epoch.
  const epochs = await loadAccounts(trx, dialect, [...new Set(inputs.map((i) => i.batch.account))], cache);
  // Then the fenced batches' assignment rows (always in this order), before anything is written.
  await checkFences(trx, dialect, inputs);
  const feedKeys: Array<FeedKey & { account: string }> = [];
  for (const { batch } of inputs) {
    for (const c of batch.changes) feedKeys.push({ account: batch.account, ...c.feed });
    for (const p of batch.progress) feedKeys.push({ account: batch.account, ...p.feed });
  }
  const feeds = await loadFeeds(trx, dialect, feedKeys, cache);
  const plan = foldBatches(inputs, { epochs, feeds });
  for (const { account, feed, snapshotId, current } of plan.supersededEnds) {
    logger.warn({ account, feed, snapshotId, current }, 'ignoring the end of a superseded snapshot');
  }

  const { outcomes } = plan;
  for (const step of plan.steps) {
    switch (step.step) {
      case 'write':
        await writeObjects(trx, dialect, step, outcomes);
        break;
      case 'prune':
        outcomes[step.batch]!.pruned += await deleteFeedObjects(trx, step, step.olderThanEpoch);
        break;
      case 'dropFeed':
        outcomes[step.batch]!.deleted += await deleteFeedObjects(trx, step, null);
        if (step.deleteRow) {
          await trx
            .deleteFrom('feeds')
            .where('account', '=', step.account)
            .where('api_group', '=', step.group)
            .where('kind', '=', step.kind)
            .where('namespace', '=', step.namespace)
            .execute();
        }
        break;
    }
  }
  for (const part of chunks(plan.feedWrites, FEED_ROWS_PER_STATEMENT)) {
    await statementsFor(dialect).feedUpsert.execute(trx, part);
  }
  for (const [account, state] of plan.accounts) {
    if (state.epoch !== state.startEpoch) await statementsFor(dialect).accountEpoch.execute(trx, 1, [state.epoch, account]);
  }
  if (cache) rememberCommittedState(cache, plan);
  return outcomes;
}

/** `(namespace, name) IN ((…), …)`: the keys of one kind's objects, one statement's share of them. */
function keysIn(keys: ReadonlyArray<{ namespace: string; name: string }>) {
  return (eb: ExpressionBuilder<Database, 'objects'>) =>
    eb(
      eb.refTuple('namespace', 'name'),
      'in',
      keys.map((k) => eb.tuple(k.namespace, k.name)),
    );
}

/**
 * Writes a step's object changes: deletes and touches by key with one statement per batch, kind (and
 * touch epoch) and few hundred keys, so each batch's counts come from its own statements; upserts with
 * multi-row statements across batches and accounts.
 */
async function writeObjects(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  step: Extract<PlanStep, { step: 'write' }>,
  outcomes: AppliedOutcome[],
): Promise<void> {
  for (const group of groupBy(step.deletes, (d) => d.batch + SEP + d.account + SEP + d.group + SEP + d.kind).values()) {
    const { batch, account, group: apiGroup, kind } = group[0]!;
    for (const part of chunks(group, KEYS_PER_STATEMENT)) {
      const result = await trx
        .deleteFrom('objects')
        .where('account', '=', account)
        .where('api_group', '=', apiGroup)
        .where('kind', '=', kind)
        .where(keysIn(part))
        .executeTakeFirst();
      outcomes[batch]!.deleted += Number(result.numDeletedRows);
    }
  }
  await writeObjectRows(
    trx,
    dialect,
    step.upserts.map((u) => u.row),
  );
  for (const group of groupBy(step.touches, (t) => t.batch + SEP + t.account + SEP + t.group + SEP + t.kind + SEP + t.epoch).values()) {
    const { batch, account, group: apiGroup, kind, epoch } = group[0]!;
    for (const part of chunks(group, KEYS_PER_STATEMENT)) {
      const result = await trx
        .updateTable('objects')
        .set({ epoch })
        .where('account', '=', account)
        .where('api_group', '=', apiGroup)
        .where('kind', '=', kind)
        .where(keysIn(part))
        .executeTakeFirst();
      const updated = Number(result.numUpdatedRows);
      outcomes[batch]!.touched += updated;
      outcomes[batch]!.touchesMissed += part.length - updated;
    }
  }
}

/** Deletes the objects of a feed's scope, optionally only those older than an epoch; returns how many. */
async function deleteFeedObjects(trx: Transaction<Database>, scope: FeedScope, olderThanEpoch: number | null): Promise<number> {
  let query = trx.deleteFrom('objects').where('account', '=', scope.account).where('api_group', '=', scope.group).where('kind', '=', scope.kind);
  if (scope.namespace !== '') query = query.where('namespace', '=', scope.namespace);
  if (olderThanEpoch !== null) query = query.where('epoch', '<', olderThanEpoch);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
