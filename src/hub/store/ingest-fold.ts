import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { ObjectKey } from '../../common/object-key.ts';
import { accountFeedKey, feedKey, objectKey } from './ingest-keys.ts';
import { deriveObjectColumns } from './moniker.ts';
import { clampText } from './rows.ts';
import { KEY_LENGTHS, type FeedsTable, type ObjectsTable } from './schema.ts';
import type { BatchOutcome, FeedInfo, StoreBatch } from './types.ts';

/**
 * The ingest's fold: what a group of batches does to the objects, feeds and account epochs, decided
 * without the database. It turns the batches' changes, the accounts' snapshot epochs and the feeds'
 * rows into a plan of writes (batch-apply.ts runs it); the snapshot contract lives here, where it can be
 * specified without an engine (ingest-fold.test.ts). Synchronous and free of I/O: no Kysely, no dialect.
 */

/** A feed's row as the ingest reads and writes it: anti-entropy's columns are written elsewhere (recordDigestComparison, markDigestsDue). */
export type FeedRow = Omit<FeedsTable, 'digest_checked_at' | 'diverged_since' | 'divergences' | 'digest_due_since'>;

/** One batch of a group and the time its changes are stamped with. */
export interface BatchInput {
  batch: StoreBatch;
  now: number;
}

export type AppliedOutcome = BatchOutcome & { touchesMissed: number };

/** What the group starts from, as loaded from the database or the ingest cache. */
export interface IngestState {
  /**
   * The snapshot epoch of every account the group's batches name, in the order their epoch updates are
   * to run. A batch of an account missing here fails the group (ACCOUNT_NOT_FOUND).
   */
  epochs: ReadonlyMap<string, number>;
  /**
   * The stored rows of the feeds the group names, keyed by accountFeedKey; a feed missing here has no
   * row yet. The fold works on copies: these rows are left as they are.
   */
  feeds: ReadonlyMap<string, Readonly<FeedRow>>;
}

/** An object's key in its account: which row a delete or touch names. */
export interface ObjectRef extends ObjectKey {
  account: string;
}

/** A feed's scope of objects: its kind in its namespace, or in every namespace (namespace ""). */
export interface FeedScope {
  account: string;
  group: string;
  kind: string;
  namespace: string;
}

/** An object's change waiting to be written, and the index of the batch (in its group) that made it. */
export type PendingUpsert = { op: 'upsert'; batch: number; row: ObjectsTable };
export type PendingDelete = { op: 'delete'; batch: number } & ObjectRef;
/** Sets a stored object's epoch; whether the object exists only the database knows. */
export type PendingTouch = { op: 'touch'; batch: number; epoch: number } & ObjectRef;
export type Pending = PendingUpsert | PendingDelete | PendingTouch;

/**
 * One step of a plan, to run in order. `write` holds at most one change per object (the last one its
 * batches made before the step), in the order the objects were first changed, split by kind of write:
 * deletes, then upserts, then touches, the order they are written in.
 */
export type PlanStep =
  | { step: 'write'; deletes: PendingDelete[]; upserts: PendingUpsert[]; touches: PendingTouch[] }
  /** A snapshot's end: delete the feed's objects stamped with an older epoch; the count is `batch`'s `pruned`. */
  | ({ step: 'prune'; batch: number; olderThanEpoch: number } & FeedScope)
  /** feedDropped: delete all the feed's objects (the count is `batch`'s `deleted`), and its row if one is stored. */
  | ({ step: 'dropFeed'; batch: number; deleteRow: boolean } & FeedScope);

/** A feed as the group leaves it. */
export interface FeedState {
  row: FeedRow;
  /** The row exists in the database (so a drop must delete it). */
  stored: boolean;
  /** The group created or changed the row: it is written after the steps. */
  dirty: boolean;
}

export interface AccountEpoch {
  startEpoch: number;
  epoch: number;
}

/** A snapshotEnd that did not prune: a newer snapshot of its feed had begun (or none had). */
export interface SupersededEnd {
  batch: number;
  account: string;
  feed: FeedInfo;
  snapshotId: string;
  /** The snapshot the feed's epoch belongs to. */
  current: string;
}

export interface IngestPlan {
  steps: PlanStep[];
  /** The feed rows to upsert once the steps ran: every row the group created or changed. */
  feedWrites: FeedRow[];
  /** Every feed the group named and did not drop last, keyed by accountFeedKey, as it leaves them. */
  feeds: ReadonlyMap<string, FeedState>;
  /** Feeds the group dropped, as [account, feedKey]; one it named again afterwards is in `feeds` too. */
  droppedFeeds: ReadonlyArray<[account: string, key: string]>;
  /** Every account's epoch before and after the group, in IngestState.epochs' order. */
  accounts: ReadonlyMap<string, AccountEpoch>;
  /**
   * Each batch's outcome as far as the fold knows it: its upserts, and its touches of objects it or an
   * earlier batch of the group upserted (touched) or deleted (touchesMissed). Executing the plan adds what
   * only the database knows: deleted and pruned rows, touches that found their object or missed it.
   */
  outcomes: AppliedOutcome[];
  supersededEnds: SupersededEnd[];
}

/**
 * Folds batches, in order, as if each were applied alone after the one before. Changes are folded into
 * one pending write per object key (last change wins). A snapshotEnd or feedDropped, which delete by
 * scope, and a batch changing an object an earlier batch of the group left pending, first close the
 * pending writes into a `write` step, so that running the steps in order gives the rows, and each batch
 * the outcome, that applying the batches one by one would give. Replaying a batch yields the same rows:
 * upserts replace, deletes of absent rows are no-ops, and a replayed snapshotBegin (same snapshotId)
 * keeps the feed's epoch.
 */
export function foldBatches(inputs: readonly BatchInput[], state: IngestState): IngestPlan {
  const outcomes: AppliedOutcome[] = inputs.map(() => ({ upserted: 0, deleted: 0, touched: 0, pruned: 0, touchesMissed: 0 }));
  const accounts = new Map<string, AccountEpoch>();
  for (const [account, epoch] of state.epochs) accounts.set(account, { startEpoch: epoch, epoch });
  const feeds = new Map<string, FeedState>();
  for (const [key, row] of state.feeds) feeds.set(key, { row: { ...row }, stored: true, dirty: false });
  const steps: PlanStep[] = [];
  const droppedFeeds: Array<[account: string, key: string]> = [];
  const supersededEnds: SupersededEnd[] = [];
  const pending = new Map<string, Pending>();

  /** Closes the pending writes into a step. */
  function flush(): void {
    if (pending.size === 0) return;
    const deletes: PendingDelete[] = [];
    const upserts: PendingUpsert[] = [];
    const touches: PendingTouch[] = [];
    for (const p of pending.values()) {
      if (p.op === 'upsert') upserts.push(p);
      else if (p.op === 'delete') deletes.push(p);
      else touches.push(p);
    }
    pending.clear();
    for (const u of upserts) outcomes[u.batch]!.upserted++;
    steps.push({ step: 'write', deletes, upserts, touches });
  }

  for (let index = 0; index < inputs.length; index++) {
    const { batch, now } = inputs[index]!;
    const account = batch.account;
    const accountState = accounts.get(account);
    if (!accountState) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `cannot apply a batch for unregistered account ${account}`, { account });
    const outcome = outcomes[index]!;

    const feedState = (info: FeedInfo): FeedState => {
      const key = accountFeedKey(account, info.group, info.kind, info.namespace);
      let state = feeds.get(key);
      if (!state) {
        state = {
          row: {
            account,
            api_group: info.group,
            kind: info.kind,
            namespace: info.namespace,
            version: info.version,
            resource: info.resource,
            namespaced: info.namespaced ? 1 : 0,
            resume_rv: '',
            epoch: 0,
            snapshot_id: '',
            updated_at: now,
          },
          stored: false,
          dirty: true,
        };
        feeds.set(key, state);
      } else if (state.row.version !== info.version || state.row.resource !== info.resource || state.row.namespaced !== (info.namespaced ? 1 : 0)) {
        Object.assign(state.row, { version: info.version, resource: info.resource, namespaced: info.namespaced ? 1 : 0, updated_at: now });
        state.dirty = true;
      }
      return state;
    };
    const markDirty = (state: FeedState): void => {
      state.dirty = true;
      state.row.updated_at = now;
    };
    /** An earlier batch of the group left this object pending: close that write before this batch changes it. */
    const pendingFromEarlierBatch = (key: string): boolean => {
      const existing = pending.get(key);
      return existing !== undefined && existing.batch !== index;
    };

    for (const change of batch.changes) {
      const { group, kind } = change.feed;
      switch (change.type) {
        case 'upsert': {
          const state = feedState(change.feed);
          const derived = deriveObjectColumns(group, kind, change.name, change.body, change.metadata);
          const key = objectKey(account, group, kind, change.namespace, change.name);
          if (pendingFromEarlierBatch(key)) flush();
          pending.set(key, {
            op: 'upsert',
            batch: index,
            row: {
              account,
              api_group: group,
              kind,
              namespace: change.namespace,
              name: change.name,
              version: change.feed.version,
              uid: change.uid,
              resource_version: change.resourceVersion,
              body: change.body,
              application: clampText(derived.application, KEY_LENGTHS.application),
              cluster: clampText(derived.cluster, KEY_LENGTHS.cluster),
              created_at: derived.createdAt,
              epoch: state.row.epoch,
              updated_at: now,
            },
          });
          break;
        }
        case 'touch': {
          const epoch = feedState(change.feed).row.epoch;
          const key = objectKey(account, group, kind, change.namespace, change.name);
          const existing = pending.get(key);
          if (existing?.op === 'upsert') {
            // The object is about to be written: stamp the write, whichever batch of the group made it.
            existing.row.epoch = epoch;
            outcome.touched++;
          } else if (existing?.op === 'delete') {
            outcome.touchesMissed++;
          } else {
            if (pendingFromEarlierBatch(key)) flush();
            pending.set(key, { op: 'touch', batch: index, epoch, account, group, kind, namespace: change.namespace, name: change.name });
          }
          break;
        }
        case 'delete':
        case 'skipped': {
          // A skipped object (too large, unreadable) must not keep showing an older version.
          feedState(change.feed);
          const key = objectKey(account, group, kind, change.namespace, change.name);
          if (pendingFromEarlierBatch(key)) flush();
          pending.set(key, { op: 'delete', batch: index, account, group, kind, namespace: change.namespace, name: change.name });
          break;
        }
        case 'snapshotBegin': {
          const state = feedState(change.feed);
          // A replayed begin (same id) keeps the epoch its first delivery took; an empty id is never a replay.
          if (state.row.snapshot_id !== change.snapshotId || change.snapshotId === '') {
            accountState.epoch++;
            state.row.epoch = accountState.epoch;
            state.row.snapshot_id = change.snapshotId;
            markDirty(state);
          }
          break;
        }
        case 'snapshotEnd': {
          const state = feedState(change.feed);
          if (state.row.snapshot_id !== change.snapshotId) {
            // A newer snapshot began since: pruning now would delete objects it has not re-sent yet.
            supersededEnds.push({ batch: index, account, feed: change.feed, snapshotId: change.snapshotId, current: state.row.snapshot_id });
            break;
          }
          // Objects the snapshot sent must carry its epoch before the older ones are pruned.
          flush();
          steps.push({
            step: 'prune',
            batch: index,
            account,
            group: state.row.api_group,
            kind: state.row.kind,
            namespace: state.row.namespace,
            olderThanEpoch: state.row.epoch,
          });
          if (change.resourceVersion !== '') {
            state.row.resume_rv = change.resourceVersion;
            markDirty(state);
          }
          break;
        }
        case 'feedDropped': {
          const state = feedState(change.feed);
          flush();
          steps.push({
            step: 'dropFeed',
            batch: index,
            account,
            group: state.row.api_group,
            kind: state.row.kind,
            namespace: state.row.namespace,
            deleteRow: state.stored,
          });
          feeds.delete(accountFeedKey(account, group, kind, change.feed.namespace));
          droppedFeeds.push([account, feedKey(change.feed)]);
          break;
        }
      }
    }

    for (const p of batch.progress) {
      const state = feedState(p.feed);
      if (state.row.resume_rv !== p.resourceVersion) {
        state.row.resume_rv = p.resourceVersion;
        markDirty(state);
      }
    }
  }
  flush();

  const feedWrites: FeedRow[] = [];
  for (const f of feeds.values()) if (f.dirty) feedWrites.push(f.row);
  return { steps, feedWrites, feeds, droppedFeeds, accounts, outcomes, supersededEnds };
}
