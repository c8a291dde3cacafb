import { CompiledQuery, type Transaction } from 'kysely';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { rowsPerStatement, type SqlDialect } from './dialect.ts';
import { deriveObjectColumns } from './moniker.ts';
import { binaryParts, MultiRowInsert, ReusableQuery } from './multi-row-insert.ts';
import { clampText, toNumber } from './rows.ts';
import { KEY_LENGTHS, type Database, type FeedsTable, type ObjectsTable } from './schema.ts';
import type { BatchOutcome, FeedInfo, FeedKey, StoreBatch } from './types.ts';

/** A feed's row as the ingest reads and writes it: anti-entropy's columns are written elsewhere (recordDigestComparison, markDigestsDue). */
type FeedRow = Omit<FeedsTable, 'digest_checked_at' | 'diverged_since' | 'divergences' | 'digest_due_since'>;

const OBJECT_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace', 'name'] as const;
const OBJECT_UPDATE_COLUMNS = ['version', 'uid', 'resource_version', 'body', 'application', 'cluster', 'created_at', 'epoch', 'updated_at'] as const;
/** The update of a row whose indexed moniker columns (application, cluster) stay as they are. */
const OBJECT_UPDATE_COLUMNS_SAME_MONIKER = OBJECT_UPDATE_COLUMNS.filter((c) => c !== 'application' && c !== 'cluster');
const OBJECT_COLUMNS = [...OBJECT_KEY_COLUMNS, ...OBJECT_UPDATE_COLUMNS] as const;
const FEED_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace'] as const;
const FEED_UPDATE_COLUMNS = ['version', 'resource', 'namespaced', 'resume_rv', 'epoch', 'snapshot_id', 'updated_at'] as const;
/** Object keys per `(namespace, name) IN (…)` statement. */
const KEYS_PER_STATEMENT = 500;
/**
 * Feeds looked up per statement (a power of two): one OR branch each, and SQLite parses a chain of ORs
 * into a tree as deep as it is long (at most 1,000 by default).
 */
const FEEDS_PER_LOOKUP = 64;
/** Accounts looked up per statement (a power of two). */
const ACCOUNTS_PER_LOOKUP = 256;
const SEP = '\u0000';

interface FeedState {
  row: FeedRow;
  /** The row exists in the database (so a drop must delete it). */
  stored: boolean;
  dirty: boolean;
}

interface ObjectRef {
  account: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** An object's change waiting to be written, and the index of the batch (in its group) that made it. */
type Pending =
  | { op: 'upsert'; batch: number; row: ObjectsTable }
  | ({ op: 'delete'; batch: number } & ObjectRef)
  | ({ op: 'touch'; batch: number; epoch: number } & ObjectRef);

/** A feed's identity within an account, for maps. */
export function feedKey(f: FeedKey): string {
  return f.group + SEP + f.kind + SEP + f.namespace;
}

function objectKey(account: string, group: string, kind: string, namespace: string, name: string): string {
  return account + SEP + group + SEP + kind + SEP + namespace + SEP + name;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Splits rows into statements of at most `maxRows` rows and, past the first row of each, at most
 * `maxBytes` of body text (a row larger than the budget goes alone).
 */
function rowChunks(rows: readonly ObjectsTable[], maxRows: number, maxBytes: number): ObjectsTable[][] {
  if (!Number.isFinite(maxBytes)) return chunks(rows, maxRows);
  const out: ObjectsTable[][] = [];
  let current: ObjectsTable[] = [];
  let bytes = 0;
  for (const row of rows) {
    // UTF-16 length × 3 bounds the UTF-8 size; a body is almost always ASCII, so use length and a margin.
    const size = row.body.length + 512;
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
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

/** One batch of a group and the time its changes are stamped with. */
export interface BatchInput {
  batch: StoreBatch;
  now: number;
}

export type AppliedOutcome = BatchOutcome & { touchesMissed: number };

/**
 * What committed group commits left per account: its snapshot epoch and the feed rows they read or
 * wrote (keyed by group, kind and namespace). Only for a store that is the database's one writer (the
 * embedded SQLite file): there the next group takes both from here instead of reading them again, which
 * for a thousand accounts sending a change or two each was a third of every group's statements. Its
 * owner clears an account's entry whenever anything else writes its rows (deleteAccount) or a group
 * with it fails.
 */
export type IngestCache = Map<string, { epoch: number; feeds: Map<string, FeedRow> }>;

interface AccountState {
  startEpoch: number;
  epoch: number;
}

/**
 * Applies batches, in order, inside the caller's transaction, as if each were applied alone after the
 * one before: a group commit hands over hundreds of small batches from as many accounts, and applying
 * each on its own cost five statements per batch even when it carried one change. Here the group's
 * account rows, feed rows and the stored monikers of its upserts are each read with one statement per
 * few hundred keys, its upserts written with multi-row statements across accounts, and its feeds'
 * resume points in one upsert. Changes are folded in order into one pending state per object key (last
 * change wins); snapshotEnd and feedDropped, which delete by scope, and a batch changing an object an
 * earlier batch of the group left pending, write the pending state out first, so the rows and each
 * batch's outcome are what applying the batches one by one would give. Replaying a batch yields the same
 * rows: upserts replace, deletes of absent rows are no-ops, and a replayed snapshotBegin (same
 * snapshotId) keeps the feed's epoch.
 */
export async function applyBatchesInTransaction(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  inputs: readonly BatchInput[],
  logger: Logger,
  /** Updated with the group's final account and feed states once every statement succeeded. */
  cache?: IngestCache,
): Promise<AppliedOutcome[]> {
  const outcomes: AppliedOutcome[] = inputs.map(() => ({ upserted: 0, deleted: 0, touched: 0, pruned: 0, touchesMissed: 0 }));
  // The account rows are the batches' locks (on PostgreSQL and MySQL): two batches of one account (a
  // replaced session still finishing one) apply one after the other and never take the same epoch.
  const accounts = await loadAccounts(trx, dialect, [...new Set(inputs.map((i) => i.batch.account))], cache);
  const feedKeys: Array<FeedKey & { account: string }> = [];
  for (const { batch } of inputs) {
    for (const c of batch.changes) feedKeys.push({ account: batch.account, ...c.feed });
    for (const p of batch.progress) feedKeys.push({ account: batch.account, ...p.feed });
  }
  const feeds = await loadFeeds(trx, dialect, feedKeys, cache);
  /** Feeds (account, key) dropped by the group: they leave the cache too. */
  const droppedFeeds: Array<[account: string, key: string]> = [];
  const pending = new Map<string, Pending>();

  async function flush(): Promise<void> {
    if (pending.size === 0) return;
    const deletes: Array<Extract<Pending, { op: 'delete' }>> = [];
    const upserts: Array<Extract<Pending, { op: 'upsert' }>> = [];
    const touches: Array<Extract<Pending, { op: 'touch' }>> = [];
    for (const p of pending.values()) {
      if (p.op === 'upsert') upserts.push(p);
      else if (p.op === 'delete') deletes.push(p);
      else touches.push(p);
    }
    pending.clear();

    for (const group of groupBy(deletes, (d) => d.batch + SEP + d.account + SEP + d.group + SEP + d.kind).values()) {
      const { batch, account, group: apiGroup, kind } = group[0]!;
      for (const part of chunks(group, KEYS_PER_STATEMENT)) {
        const result = await trx
          .deleteFrom('objects')
          .where('account', '=', account)
          .where('api_group', '=', apiGroup)
          .where('kind', '=', kind)
          .where((eb) => eb(eb.refTuple('namespace', 'name'), 'in', part.map((d) => eb.tuple(d.namespace, d.name))))
          .executeTakeFirst();
        outcomes[batch]!.deleted += Number(result.numDeletedRows);
      }
    }
    const rowsPer = rowsPerStatement(OBJECT_COLUMNS.length);
    for (const [statement, rows] of await upsertStatements(trx, dialect, upserts.map((u) => u.row))) {
      for (const part of rowChunks(rows, rowsPer, dialect.maxStatementBytes)) await statement.execute(trx, part);
    }
    for (const u of upserts) outcomes[u.batch]!.upserted++;
    for (const group of groupBy(touches, (t) => t.batch + SEP + t.account + SEP + t.group + SEP + t.kind + SEP + t.epoch).values()) {
      const { batch, account, group: apiGroup, kind, epoch } = group[0]!;
      for (const part of chunks(group, KEYS_PER_STATEMENT)) {
        const result = await trx
          .updateTable('objects')
          .set({ epoch })
          .where('account', '=', account)
          .where('api_group', '=', apiGroup)
          .where('kind', '=', kind)
          .where((eb) => eb(eb.refTuple('namespace', 'name'), 'in', part.map((t) => eb.tuple(t.namespace, t.name))))
          .executeTakeFirst();
        const updated = Number(result.numUpdatedRows);
        outcomes[batch]!.touched += updated;
        outcomes[batch]!.touchesMissed += part.length - updated;
      }
    }
  }

  /** Deletes the objects of a feed's scope, optionally only those older than its current epoch. */
  async function deleteFeedObjects(state: FeedState, olderThanEpoch: number | null): Promise<number> {
    let query = trx.deleteFrom('objects').where('account', '=', state.row.account).where('api_group', '=', state.row.api_group).where('kind', '=', state.row.kind);
    if (state.row.namespace !== '') query = query.where('namespace', '=', state.row.namespace);
    if (olderThanEpoch !== null) query = query.where('epoch', '<', olderThanEpoch);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  for (let index = 0; index < inputs.length; index++) {
    const { batch, now } = inputs[index]!;
    const account = batch.account;
    const accountState = accounts.get(account);
    if (!accountState) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `cannot apply a batch for unregistered account ${account}`, { account });
    const outcome = outcomes[index]!;

    const feedState = (info: FeedInfo): FeedState => {
      const key = account + SEP + feedKey(info);
      let state = feeds.get(key);
      if (!state) {
        state = {
          row: { account, api_group: info.group, kind: info.kind, namespace: info.namespace, version: info.version, resource: info.resource, namespaced: info.namespaced ? 1 : 0, resume_rv: '', epoch: 0, snapshot_id: '', updated_at: now },
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
    /** An earlier batch of the group left this object pending: write that out before this batch changes it. */
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
          if (pendingFromEarlierBatch(key)) await flush();
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
            existing.row.epoch = epoch;
            outcome.touched++;
          } else if (existing?.op === 'delete') {
            outcome.touchesMissed++;
          } else {
            if (pendingFromEarlierBatch(key)) await flush();
            pending.set(key, { op: 'touch', batch: index, epoch, account, group, kind, namespace: change.namespace, name: change.name });
          }
          break;
        }
        case 'delete':
        case 'skipped': {
          // A skipped object (too large, unreadable) must not keep showing an older version.
          feedState(change.feed);
          const key = objectKey(account, group, kind, change.namespace, change.name);
          if (pendingFromEarlierBatch(key)) await flush();
          pending.set(key, { op: 'delete', batch: index, account, group, kind, namespace: change.namespace, name: change.name });
          break;
        }
        case 'snapshotBegin': {
          const state = feedState(change.feed);
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
            logger.warn({ account, feed: change.feed, snapshotId: change.snapshotId, current: state.row.snapshot_id }, 'ignoring the end of a superseded snapshot');
            break;
          }
          await flush();
          outcome.pruned += await deleteFeedObjects(state, state.row.epoch);
          if (change.resourceVersion !== '') {
            state.row.resume_rv = change.resourceVersion;
            markDirty(state);
          }
          break;
        }
        case 'feedDropped': {
          const state = feedState(change.feed);
          await flush();
          outcome.deleted += await deleteFeedObjects(state, null);
          if (state.stored) {
            await trx
              .deleteFrom('feeds')
              .where('account', '=', account)
              .where('api_group', '=', state.row.api_group)
              .where('kind', '=', state.row.kind)
              .where('namespace', '=', state.row.namespace)
              .execute();
          }
          feeds.delete(account + SEP + feedKey(change.feed));
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
  await flush();

  const dirtyFeeds = [...feeds.values()].filter((f) => f.dirty).map((f) => f.row);
  for (const part of chunks(dirtyFeeds, rowsPerStatement(FEED_COLUMNS.length))) {
    await statementsFor(dialect).feedUpsert.execute(trx, part);
  }
  for (const [account, state] of accounts) {
    if (state.epoch !== state.startEpoch) await statementsFor(dialect).accountEpoch.execute(trx, 1, [state.epoch, account]);
  }
  if (cache) rememberCommittedState(cache, accounts, feeds, droppedFeeds);
  return outcomes;
}

const objectUpserts = new Map<string, { full: MultiRowInsert<Database, ObjectsTable>; sameMoniker: MultiRowInsert<Database, ObjectsTable> }>();

/** The objects upsert of a dialect: `full` replaces every column, `sameMoniker` all but application and cluster. */
function objectUpsertFor(dialect: SqlDialect, which: 'full' | 'sameMoniker' = 'full'): MultiRowInsert<Database, ObjectsTable> {
  let statements = objectUpserts.get(dialect.name);
  if (!statements) {
    const upsert = (updateColumns: readonly (keyof ObjectsTable & string)[]) =>
      new MultiRowInsert<Database, ObjectsTable>(OBJECT_COLUMNS, (db, rows) => dialect.upsert(db.insertInto('objects').values(rows), OBJECT_KEY_COLUMNS, updateColumns));
    statements = { full: upsert(OBJECT_UPDATE_COLUMNS), sameMoniker: upsert(OBJECT_UPDATE_COLUMNS_SAME_MONIKER) };
    objectUpserts.set(dialect.name, statements);
  }
  return statements[which];
}

/** Keys per lookup of the rows' current moniker columns (a power of two; 5 parameters each). */
const MONIKER_LOOKUP_KEYS = 512;

/**
 * Which statement writes which rows. SQLite rewrites an index entry whenever its column is assigned in
 * an UPDATE, even to the value it already had: re-assigning `application` and `cluster` (two indexes)
 * made a changed object cost about three times what the row itself does. So on SQLite the rows whose
 * application and cluster stay as stored are written by an upsert that leaves those two columns alone,
 * found by one primary-key lookup per row; the rest (new rows, changed monikers) by the full upsert. The
 * rows end up exactly as the full upsert alone would leave them. PostgreSQL and MySQL compare values
 * before touching an index, so they take the full upsert for every row.
 */
async function upsertStatements(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  rows: ObjectsTable[],
): Promise<Array<[MultiRowInsert<Database, ObjectsTable>, ObjectsTable[]]>> {
  const full = objectUpsertFor(dialect);
  if (dialect.name !== 'sqlite' || rows.length === 0) return [[full, rows]];
  const stored = new Map<string, { application: string | null; cluster: string | null }>();
  for (const part of powerOfTwoParts(rows, MONIKER_LOOKUP_KEYS)) {
    const keys =
      part.length === 1
        ? '"account" = ? and "api_group" = ? and "kind" = ? and "namespace" = ? and "name" = ?'
        : `("account", "api_group", "kind", "namespace", "name") in (values ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')})`;
    const sqlText = `select "account", "api_group", "kind", "namespace", "name", "application", "cluster" from "objects" where ${keys}`;
    const parameters: unknown[] = [];
    for (const r of part) parameters.push(r.account, r.api_group, r.kind, r.namespace, r.name);
    const result = await trx.executeQuery<{ account: string; api_group: string; kind: string; namespace: string; name: string; application: string | null; cluster: string | null }>(
      CompiledQuery.raw(sqlText, parameters),
    );
    for (const r of result.rows) stored.set(objectKey(r.account, r.api_group, r.kind, r.namespace, r.name), { application: r.application, cluster: r.cluster });
  }
  const same: ObjectsTable[] = [];
  const other: ObjectsTable[] = [];
  for (const row of rows) {
    const current = stored.get(objectKey(row.account, row.api_group, row.kind, row.namespace, row.name));
    if (current !== undefined && current.application === row.application && current.cluster === row.cluster) same.push(row);
    else other.push(row);
  }
  return [
    [objectUpsertFor(dialect, 'sameMoniker'), same],
    [full, other],
  ];
}

/**
 * The statements every batch runs, compiled once per dialect (and shape) rather than built by Kysely for
 * each batch: with thousands of accounts sending a change or two each, building them cost more than
 * running them. The SQL is exactly what the builders below produce.
 */
interface BatchStatements {
  accounts: ReusableQuery<Database>;
  feeds: ReusableQuery<Database>;
  feedUpsert: MultiRowInsert<Database, FeedRow>;
  accountEpoch: ReusableQuery<Database>;
}

const FEED_COLUMNS = [...FEED_KEY_COLUMNS, ...FEED_UPDATE_COLUMNS] as const;
const batchStatements = new Map<string, BatchStatements>();

function statementsFor(dialect: SqlDialect): BatchStatements {
  let statements = batchStatements.get(dialect.name);
  if (statements) return statements;
  statements = {
    // Shape = the number of accounts looked up, one marker each.
    accounts: new ReusableQuery<Database>((db, names) => {
      const query = db.selectFrom('accounts').select(['name', 'snapshot_epoch']).where('name', 'in', names);
      return dialect.lockRows ? query.forUpdate() : query;
    }),
    // Shape = the number of feeds looked up; markers: account, group, kind and namespace per feed.
    feeds: new ReusableQuery<Database>((db, markers, count) =>
      db
        .selectFrom('feeds')
        .selectAll()
        .where((eb) =>
          eb.or(
            Array.from({ length: count }, (_, i) =>
              eb.and([eb('account', '=', markers[4 * i]!), eb('api_group', '=', markers[4 * i + 1]!), eb('kind', '=', markers[4 * i + 2]!), eb('namespace', '=', markers[4 * i + 3]!)]),
            ),
          ),
        ),
    ),
    feedUpsert: new MultiRowInsert<Database, FeedRow>(FEED_COLUMNS, (db, rows) => dialect.upsert(db.insertInto('feeds').values(rows), FEED_KEY_COLUMNS, FEED_UPDATE_COLUMNS)),
    accountEpoch: new ReusableQuery<Database>((db, [epoch, name]) => db.updateTable('accounts').set({ snapshot_epoch: epoch as unknown as number }).where('name', '=', name!)),
  };
  batchStatements.set(dialect.name, statements);
  return statements;
}

function rememberCommittedState(cache: IngestCache, accounts: Map<string, AccountState>, feeds: Map<string, FeedState>, droppedFeeds: ReadonlyArray<[string, string]>): void {
  const entryOf = (account: string) => {
    let entry = cache.get(account);
    if (!entry) {
      entry = { epoch: accounts.get(account)!.epoch, feeds: new Map() };
      cache.set(account, entry);
    }
    return entry;
  };
  for (const [account, state] of accounts) entryOf(account).epoch = state.epoch;
  for (const [account, key] of droppedFeeds) cache.get(account)?.feeds.delete(key);
  for (const { row } of feeds.values()) entryOf(row.account).feeds.set(feedKey({ group: row.api_group, kind: row.kind, namespace: row.namespace }), { ...row });
}

/**
 * `items` in statements of power-of-two sizes of at most `max` (a power of two), as MultiRowInsert
 * writes: a few statement shapes serve every group.
 */
function powerOfTwoParts<T>(items: readonly T[], max: number): T[][] {
  const parts: T[][] = [];
  for (const chunk of chunks(items, max)) {
    let offset = 0;
    for (const size of binaryParts(chunk.length)) {
      parts.push(chunk.slice(offset, offset + size));
      offset += size;
    }
  }
  return parts;
}

/** The snapshot epoch of each account, in name order (the order PostgreSQL and MySQL lock the rows in). */
async function loadAccounts(trx: Transaction<Database>, dialect: SqlDialect, names: string[], cache?: IngestCache): Promise<Map<string, AccountState>> {
  const out = new Map<string, AccountState>();
  const unknown: string[] = [];
  for (const name of names) {
    const cached = cache?.get(name);
    if (cached) out.set(name, { startEpoch: cached.epoch, epoch: cached.epoch });
    else unknown.push(name);
  }
  for (const part of powerOfTwoParts(unknown.sort(), ACCOUNTS_PER_LOOKUP)) {
    const { rows } = await statementsFor(dialect).accounts.execute<{ name: string; snapshot_epoch: number | string }>(trx, part.length, part);
    for (const row of rows) {
      const epoch = toNumber(row.snapshot_epoch);
      out.set(row.name, { startEpoch: epoch, epoch });
    }
  }
  return out;
}

async function loadFeeds(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  referenced: Array<FeedKey & { account: string }>,
  cache?: IngestCache,
): Promise<Map<string, FeedState>> {
  const unique = new Map<string, FeedKey & { account: string }>();
  const out = new Map<string, FeedState>();
  for (const f of referenced) {
    const key = f.account + SEP + feedKey(f);
    if (out.has(key) || unique.has(key)) continue;
    const cached = cache?.get(f.account)?.feeds.get(feedKey(f));
    // A copy: the group changes its rows in place, and a failed group must leave the cache as it was.
    if (cached) out.set(key, { row: { ...cached }, stored: true, dirty: false });
    else unique.set(key, f);
  }
  for (const part of powerOfTwoParts([...unique.values()], FEEDS_PER_LOOKUP)) {
    const values: string[] = [];
    for (const f of part) values.push(f.account, f.group, f.kind, f.namespace);
    const { rows } = await statementsFor(dialect).feeds.execute<FeedRow>(trx, part.length, values);
    for (const row of rows) {
      out.set(row.account + SEP + row.api_group + SEP + row.kind + SEP + row.namespace, {
        row: { ...row, namespaced: toNumber(row.namespaced), epoch: toNumber(row.epoch), updated_at: toNumber(row.updated_at) },
        stored: true,
        dirty: false,
      });
    }
  }
  return out;
}
