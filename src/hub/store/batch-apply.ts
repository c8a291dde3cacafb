import { CompiledQuery, type Transaction } from 'kysely';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { rowsPerStatement, type SqlDialect } from './dialect.ts';
import { deriveObjectColumns } from './moniker.ts';
import { binaryParts, MultiRowInsert, ReusableQuery } from './multi-row-insert.ts';
import { clampText, toNumber } from './rows.ts';
import { KEY_LENGTHS, type Database, type FeedsTable, type ObjectsTable } from './schema.ts';
import type { BatchOutcome, FeedInfo, FeedKey, StoreBatch } from './types.ts';

/**
 * Applies one ingest batch inside the caller's transaction. Changes are folded in order into one
 * pending state per object key (last change wins, as it would if applied one by one), then written
 * with a few multi-row statements; only snapshotEnd and feedDropped, which delete by scope, force the
 * pending state out first. Replaying a batch yields the same rows: upserts replace, deletes of absent
 * rows are no-ops, and a replayed snapshotBegin (same snapshotId) keeps the feed's epoch.
 */

const OBJECT_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace', 'name'] as const;
const OBJECT_UPDATE_COLUMNS = ['version', 'uid', 'resource_version', 'body', 'application', 'cluster', 'created_at', 'epoch', 'updated_at'] as const;
/** The update of a row whose indexed moniker columns (application, cluster) stay as they are. */
const OBJECT_UPDATE_COLUMNS_SAME_MONIKER = OBJECT_UPDATE_COLUMNS.filter((c) => c !== 'application' && c !== 'cluster');
const OBJECT_COLUMNS = [...OBJECT_KEY_COLUMNS, ...OBJECT_UPDATE_COLUMNS] as const;
const FEED_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace'] as const;
const FEED_UPDATE_COLUMNS = ['version', 'resource', 'namespaced', 'resume_rv', 'epoch', 'snapshot_id', 'updated_at'] as const;
/** Object keys per `(namespace, name) IN (…)` statement. */
const KEYS_PER_STATEMENT = 500;
/** Feeds looked up per statement when loading a batch's feeds. */
const FEEDS_PER_LOOKUP = 100;
const SEP = '\u0000';

interface FeedState {
  row: FeedsTable;
  /** The row exists in the database (so a drop must delete it). */
  stored: boolean;
  dirty: boolean;
}

interface ObjectRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

type Pending =
  | { op: 'upsert'; row: ObjectsTable }
  | ({ op: 'delete' } & ObjectRef)
  | ({ op: 'touch'; epoch: number } & ObjectRef);

function feedKey(f: FeedKey): string {
  return f.group + SEP + f.kind + SEP + f.namespace;
}

function objectKey(group: string, kind: string, namespace: string, name: string): string {
  return group + SEP + kind + SEP + namespace + SEP + name;
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

export async function applyBatchInTransaction(
  trx: Transaction<Database>,
  dialect: SqlDialect,
  batch: StoreBatch,
  now: number,
  logger: Logger,
): Promise<BatchOutcome & { touchesMissed: number }> {
  const account = batch.account;
  const outcome = { upserted: 0, deleted: 0, touched: 0, pruned: 0, touchesMissed: 0 };

  // The account row is the batch's lock: two batches of one account (a replaced session still
  // finishing one) apply one after the other and never take the same snapshot epoch.
  const accountRow = (await statementsFor(dialect).account.execute<{ snapshot_epoch: number | string }>(trx, 1, [account])).rows[0];
  if (!accountRow) throw new ScaleAgentError(Errors.ACCOUNT_NOT_FOUND, `cannot apply a batch for unregistered account ${account}`, { account });
  const startEpoch = toNumber(accountRow.snapshot_epoch);
  let epochCounter = startEpoch;

  const feeds = await loadFeeds(trx, dialect, account, [...batch.changes.map((c) => c.feed), ...batch.progress.map((p) => p.feed)]);

  function feedState(info: FeedInfo): FeedState {
    const key = feedKey(info);
    let state = feeds.get(key);
    if (!state) {
      state = {
        row: { account, api_group: info.group, kind: info.kind, namespace: info.namespace, version: info.version, resource: info.resource, namespaced: info.namespaced ? 1 : 0, resume_rv: '', epoch: 0, snapshot_id: '', updated_at: now },
        stored: false,
        dirty: true,
      };
      feeds.set(key, state);
    } else if (state.row.version !== info.version || state.row.resource !== info.resource || state.row.namespaced !== (info.namespaced ? 1 : 0)) {
      Object.assign(state.row, { version: info.version, resource: info.resource, namespaced: info.namespaced ? 1 : 0 });
      state.dirty = true;
    }
    return state;
  }

  const pending = new Map<string, Pending>();

  async function flush(): Promise<void> {
    if (pending.size === 0) return;
    const deletes: ObjectRef[] = [];
    const upserts: ObjectsTable[] = [];
    const touches: Array<ObjectRef & { epoch: number }> = [];
    for (const p of pending.values()) {
      if (p.op === 'upsert') upserts.push(p.row);
      else if (p.op === 'delete') deletes.push(p);
      else touches.push(p);
    }
    pending.clear();

    for (const group of groupBy(deletes, (d) => d.group + SEP + d.kind).values()) {
      for (const part of chunks(group, KEYS_PER_STATEMENT)) {
        const result = await trx
          .deleteFrom('objects')
          .where('account', '=', account)
          .where('api_group', '=', part[0].group)
          .where('kind', '=', part[0].kind)
          .where((eb) => eb(eb.refTuple('namespace', 'name'), 'in', part.map((d) => eb.tuple(d.namespace, d.name))))
          .executeTakeFirst();
        outcome.deleted += Number(result.numDeletedRows);
      }
    }
    const rowsPer = rowsPerStatement(OBJECT_COLUMNS.length);
    for (const [statement, rows] of await upsertStatements(trx, dialect, account, upserts)) {
      for (const part of rowChunks(rows, rowsPer, dialect.maxStatementBytes)) {
        await statement.execute(trx, part);
        outcome.upserted += part.length;
      }
    }
    for (const group of groupBy(touches, (t) => t.group + SEP + t.kind + SEP + t.epoch).values()) {
      for (const part of chunks(group, KEYS_PER_STATEMENT)) {
        const result = await trx
          .updateTable('objects')
          .set({ epoch: part[0].epoch })
          .where('account', '=', account)
          .where('api_group', '=', part[0].group)
          .where('kind', '=', part[0].kind)
          .where((eb) => eb(eb.refTuple('namespace', 'name'), 'in', part.map((t) => eb.tuple(t.namespace, t.name))))
          .executeTakeFirst();
        const updated = Number(result.numUpdatedRows);
        outcome.touched += updated;
        outcome.touchesMissed += part.length - updated;
      }
    }
  }

  /** Deletes the objects of a feed's scope, optionally only those older than its current epoch. */
  async function deleteFeedObjects(state: FeedState, olderThanEpoch: number | null): Promise<number> {
    let query = trx.deleteFrom('objects').where('account', '=', account).where('api_group', '=', state.row.api_group).where('kind', '=', state.row.kind);
    if (state.row.namespace !== '') query = query.where('namespace', '=', state.row.namespace);
    if (olderThanEpoch !== null) query = query.where('epoch', '<', olderThanEpoch);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  for (const change of batch.changes) {
    switch (change.type) {
      case 'upsert': {
        const state = feedState(change.feed);
        const derived = deriveObjectColumns(change.feed.group, change.feed.kind, change.name, change.body, change.metadata);
        pending.set(objectKey(change.feed.group, change.feed.kind, change.namespace, change.name), {
          op: 'upsert',
          row: {
            account,
            api_group: change.feed.group,
            kind: change.feed.kind,
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
        const key = objectKey(change.feed.group, change.feed.kind, change.namespace, change.name);
        const existing = pending.get(key);
        if (existing?.op === 'upsert') {
          existing.row.epoch = epoch;
          outcome.touched++;
        } else if (existing?.op === 'delete') {
          outcome.touchesMissed++;
        } else {
          pending.set(key, { op: 'touch', epoch, group: change.feed.group, kind: change.feed.kind, namespace: change.namespace, name: change.name });
        }
        break;
      }
      case 'delete':
      case 'skipped': {
        // A skipped object (too large, unreadable) must not keep showing an older version.
        feedState(change.feed);
        pending.set(objectKey(change.feed.group, change.feed.kind, change.namespace, change.name), {
          op: 'delete',
          group: change.feed.group,
          kind: change.feed.kind,
          namespace: change.namespace,
          name: change.name,
        });
        break;
      }
      case 'snapshotBegin': {
        const state = feedState(change.feed);
        if (state.row.snapshot_id !== change.snapshotId || change.snapshotId === '') {
          epochCounter++;
          state.row.epoch = epochCounter;
          state.row.snapshot_id = change.snapshotId;
          state.dirty = true;
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
          state.dirty = true;
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
        feeds.delete(feedKey(change.feed));
        break;
      }
    }
  }
  await flush();

  for (const p of batch.progress) {
    const state = feedState(p.feed);
    if (state.row.resume_rv !== p.resourceVersion) {
      state.row.resume_rv = p.resourceVersion;
      state.dirty = true;
    }
  }

  const dirtyFeeds = [...feeds.values()].filter((f) => f.dirty).map((f) => ({ ...f.row, updated_at: now }));
  for (const part of chunks(dirtyFeeds, rowsPerStatement(FEED_COLUMNS.length))) {
    await statementsFor(dialect).feedUpsert.execute(trx, part);
  }
  if (epochCounter !== startEpoch) {
    await statementsFor(dialect).accountEpoch.execute(trx, 1, [epochCounter, account]);
  }
  return outcome;
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

/** Keys per lookup of the rows' current moniker columns (4 parameters each). */
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
  account: string,
  rows: ObjectsTable[],
): Promise<Array<[MultiRowInsert<Database, ObjectsTable>, ObjectsTable[]]>> {
  const full = objectUpsertFor(dialect);
  if (dialect.name !== 'sqlite' || rows.length === 0) return [[full, rows]];
  const stored = new Map<string, { application: string | null; cluster: string | null }>();
  // Power-of-two lookups, as MultiRowInsert writes: a few statement shapes serve every batch.
  const parts: ObjectsTable[][] = [];
  for (const chunk of chunks(rows, MONIKER_LOOKUP_KEYS)) {
    let offset = 0;
    for (const size of binaryParts(chunk.length)) {
      parts.push(chunk.slice(offset, offset + size));
      offset += size;
    }
  }
  for (const part of parts) {
    const keys = part.length === 1 ? '"api_group" = ? and "kind" = ? and "namespace" = ? and "name" = ?' : `("api_group", "kind", "namespace", "name") in (values ${part.map(() => '(?, ?, ?, ?)').join(', ')})`;
    const sqlText = `select "api_group", "kind", "namespace", "name", "application", "cluster" from "objects" where "account" = ? and ${keys}`;
    const parameters: unknown[] = [account];
    for (const r of part) parameters.push(r.api_group, r.kind, r.namespace, r.name);
    const result = await trx.executeQuery<{ api_group: string; kind: string; namespace: string; name: string; application: string | null; cluster: string | null }>(CompiledQuery.raw(sqlText, parameters));
    for (const r of result.rows) stored.set(objectKey(r.api_group, r.kind, r.namespace, r.name), { application: r.application, cluster: r.cluster });
  }
  const same: ObjectsTable[] = [];
  const other: ObjectsTable[] = [];
  for (const row of rows) {
    const current = stored.get(objectKey(row.api_group, row.kind, row.namespace, row.name));
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
  account: ReusableQuery<Database>;
  feeds: ReusableQuery<Database>;
  feedUpsert: MultiRowInsert<Database, FeedsTable>;
  accountEpoch: ReusableQuery<Database>;
}

const FEED_COLUMNS = [...FEED_KEY_COLUMNS, ...FEED_UPDATE_COLUMNS] as const;
const batchStatements = new Map<string, BatchStatements>();

function statementsFor(dialect: SqlDialect): BatchStatements {
  let statements = batchStatements.get(dialect.name);
  if (statements) return statements;
  statements = {
    account: new ReusableQuery<Database>((db, [name]) => {
      const query = db.selectFrom('accounts').select('snapshot_epoch').where('name', '=', name!);
      return dialect.lockRows ? query.forUpdate() : query;
    }),
    // Shape = the number of feeds looked up; markers: the account, then group, kind and namespace per feed.
    feeds: new ReusableQuery<Database>((db, markers, count) =>
      db
        .selectFrom('feeds')
        .selectAll()
        .where('account', '=', markers[0]!)
        .where((eb) => eb.or(Array.from({ length: count }, (_, i) => eb.and([eb('api_group', '=', markers[1 + 3 * i]!), eb('kind', '=', markers[2 + 3 * i]!), eb('namespace', '=', markers[3 + 3 * i]!)])))),
    ),
    feedUpsert: new MultiRowInsert<Database, FeedsTable>(FEED_COLUMNS, (db, rows) => dialect.upsert(db.insertInto('feeds').values(rows), FEED_KEY_COLUMNS, FEED_UPDATE_COLUMNS)),
    accountEpoch: new ReusableQuery<Database>((db, [epoch, name]) => db.updateTable('accounts').set({ snapshot_epoch: epoch as unknown as number }).where('name', '=', name!)),
  };
  batchStatements.set(dialect.name, statements);
  return statements;
}

async function loadFeeds(trx: Transaction<Database>, dialect: SqlDialect, account: string, referenced: FeedKey[]): Promise<Map<string, FeedState>> {
  const unique = new Map<string, FeedKey>();
  for (const f of referenced) unique.set(feedKey(f), f);
  const out = new Map<string, FeedState>();
  for (const part of chunks([...unique.values()], FEEDS_PER_LOOKUP)) {
    const values: string[] = [account];
    for (const f of part) values.push(f.group, f.kind, f.namespace);
    const { rows } = await statementsFor(dialect).feeds.execute<FeedsTable>(trx, part.length, values);
    for (const row of rows) {
      out.set(row.api_group + SEP + row.kind + SEP + row.namespace, {
        row: { ...row, namespaced: toNumber(row.namespaced), epoch: toNumber(row.epoch), updated_at: toNumber(row.updated_at) },
        stored: true,
        dirty: false,
      });
    }
  }
  return out;
}
