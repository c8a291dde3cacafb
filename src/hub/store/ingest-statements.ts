import { CompiledQuery, type Transaction } from 'kysely';
import { rowsPerStatement, type SqlDialect } from './dialect.ts';
import type { FeedRow } from './ingest-fold.ts';
import { objectKey } from './ingest-keys.ts';
import { binaryParts, MultiRowInsert, ReusableQuery } from './multi-row-insert.ts';
import type { Database, ObjectsTable } from './schema.ts';

/**
 * The ingest's statements per dialect (batch-apply.ts runs them), and how a group's rows and keys are
 * split among statements.
 */

const OBJECT_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace', 'name'] as const;
const OBJECT_UPDATE_COLUMNS = ['version', 'uid', 'resource_version', 'body', 'application', 'cluster', 'created_at', 'epoch', 'updated_at'] as const;
/** The update of a row whose indexed moniker columns (application, cluster) stay as they are. */
const OBJECT_UPDATE_COLUMNS_SAME_MONIKER = OBJECT_UPDATE_COLUMNS.filter((c) => c !== 'application' && c !== 'cluster');
const OBJECT_COLUMNS = [...OBJECT_KEY_COLUMNS, ...OBJECT_UPDATE_COLUMNS] as const;
const FEED_KEY_COLUMNS = ['account', 'api_group', 'kind', 'namespace'] as const;
const FEED_UPDATE_COLUMNS = ['version', 'resource', 'namespaced', 'resume_rv', 'epoch', 'snapshot_id', 'updated_at'] as const;
const FEED_COLUMNS = [...FEED_KEY_COLUMNS, ...FEED_UPDATE_COLUMNS] as const;
/** Object keys per `(namespace, name) IN (…)` statement. */
export const KEYS_PER_STATEMENT = 500;
/**
 * Feeds looked up per statement (a power of two): one OR branch each, and SQLite parses a chain of ORs
 * into a tree as deep as it is long (at most 1,000 by default).
 */
export const FEEDS_PER_LOOKUP = 64;
/** Accounts looked up per statement (a power of two). */
export const ACCOUNTS_PER_LOOKUP = 256;
/** Keys per lookup of the rows' current moniker columns (a power of two; 5 parameters each). */
const MONIKER_LOOKUP_KEYS = 512;

/** Object rows per multi-row upsert. */
export const OBJECT_ROWS_PER_STATEMENT = rowsPerStatement(OBJECT_COLUMNS.length);
/** Feed rows per multi-row upsert. */
export const FEED_ROWS_PER_STATEMENT = rowsPerStatement(FEED_COLUMNS.length);

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Splits rows into statements of at most `maxRows` rows and, past the first row of each, at most
 * `maxBytes` of body text (a row larger than the budget goes alone).
 */
export function rowChunks(rows: readonly ObjectsTable[], maxRows: number, maxBytes: number): ObjectsTable[][] {
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

/**
 * `items` in statements of power-of-two sizes of at most `max` (a power of two), as MultiRowInsert
 * writes: a few statement shapes serve every group.
 */
export function powerOfTwoParts<T>(items: readonly T[], max: number): T[][] {
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

const objectUpserts = new Map<string, { full: MultiRowInsert<Database, ObjectsTable>; sameMoniker: MultiRowInsert<Database, ObjectsTable> }>();

/** The objects upsert of a dialect: `full` replaces every column, `sameMoniker` all but application and cluster. */
function objectUpsertFor(dialect: SqlDialect, which: 'full' | 'sameMoniker' = 'full'): MultiRowInsert<Database, ObjectsTable> {
  let statements = objectUpserts.get(dialect.name);
  if (!statements) {
    const upsert = (updateColumns: readonly (keyof ObjectsTable & string)[]) =>
      new MultiRowInsert<Database, ObjectsTable>(OBJECT_COLUMNS, (db, rows) =>
        dialect.upsert(db.insertInto('objects').values(rows), OBJECT_KEY_COLUMNS, updateColumns),
      );
    statements = { full: upsert(OBJECT_UPDATE_COLUMNS), sameMoniker: upsert(OBJECT_UPDATE_COLUMNS_SAME_MONIKER) };
    objectUpserts.set(dialect.name, statements);
  }
  return statements[which];
}

/**
 * Which statement writes which rows. SQLite rewrites an index entry whenever its column is assigned in
 * an UPDATE, even to the value it already had: re-assigning `application` and `cluster` (two indexes)
 * made a changed object cost about three times what the row itself does. So on SQLite the rows whose
 * application and cluster stay as stored are written by an upsert that leaves those two columns alone,
 * found by one primary-key lookup per row; the rest (new rows, changed monikers) by the full upsert. The
 * rows end up exactly as the full upsert alone would leave them. PostgreSQL and MySQL compare values
 * before touching an index, so they take the full upsert for every row.
 */
export async function upsertStatements(
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
    const result = await trx.executeQuery<{
      account: string;
      api_group: string;
      kind: string;
      namespace: string;
      name: string;
      application: string | null;
      cluster: string | null;
    }>(CompiledQuery.raw(sqlText, parameters));
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
export interface BatchStatements {
  accounts: ReusableQuery<Database>;
  feeds: ReusableQuery<Database>;
  feedUpsert: MultiRowInsert<Database, FeedRow>;
  accountEpoch: ReusableQuery<Database>;
  /** The caching epochs of fenced batches' accounts (ingest-fence.ts), locked where rows can be. */
  assignmentEpochs: ReusableQuery<Database>;
}

const batchStatements = new Map<string, BatchStatements>();

export function statementsFor(dialect: SqlDialect): BatchStatements {
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
              eb.and([
                eb('account', '=', markers[4 * i]!),
                eb('api_group', '=', markers[4 * i + 1]!),
                eb('kind', '=', markers[4 * i + 2]!),
                eb('namespace', '=', markers[4 * i + 3]!),
              ]),
            ),
          ),
        ),
    ),
    feedUpsert: new MultiRowInsert<Database, FeedRow>(FEED_COLUMNS, (db, rows) =>
      dialect.upsert(db.insertInto('feeds').values(rows), FEED_KEY_COLUMNS, FEED_UPDATE_COLUMNS),
    ),
    accountEpoch: new ReusableQuery<Database>((db, [epoch, name]) =>
      db
        .updateTable('accounts')
        .set({ snapshot_epoch: epoch as unknown as number })
        .where('name', '=', name!),
    ),
    // Shape = the number of accounts looked up, one marker each.
    assignmentEpochs: new ReusableQuery<Database>((db, accounts) => {
      const query = db.selectFrom('caching_assignments').select(['account', 'epoch']).where('account', 'in', accounts);
      return dialect.lockRows ? query.forUpdate() : query;
    }),
  };
  batchStatements.set(dialect.name, statements);
  return statements;
}
