import { CompiledQuery, sql, type Transaction } from 'kysely';
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
/** The most object rows one upsert carries (a power of two). */
const MAX_OBJECT_ROWS_PER_STATEMENT = 512;
/** Keys per lookup of the rows' current moniker columns (a power of two; 5 parameters each). */
const MONIKER_LOOKUP_KEYS = 512;

/**
 * Object rows per multi-row upsert: a power of two, so that a full statement is one prepared shape
 * (MultiRowInsert splits any other count into power-of-two parts: 500 rows were six statements).
 */
export const OBJECT_ROWS_PER_STATEMENT = binaryParts(rowsPerStatement(OBJECT_COLUMNS.length, MAX_OBJECT_ROWS_PER_STATEMENT))[0]!;
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

interface ObjectUpserts {
  /** Replaces every column of a stored row. */
  full: MultiRowInsert<Database, ObjectsTable>;
  /**
   * SQLite only: inserts the new rows and updates the stored rows whose moniker columns already hold the
   * new row's values, without assigning those columns; leaves the other rows as they are.
   */
  sameMoniker: MultiRowInsert<Database, ObjectsTable> | undefined;
}

const objectUpserts = new Map<string, ObjectUpserts>();

function objectUpsertsFor(dialect: SqlDialect): ObjectUpserts {
  let statements = objectUpserts.get(dialect.name);
  if (!statements) {
    statements = {
      full: new MultiRowInsert<Database, ObjectsTable>(OBJECT_COLUMNS, (db, rows) =>
        dialect.upsert(db.insertInto('objects').values(rows), OBJECT_KEY_COLUMNS, OBJECT_UPDATE_COLUMNS),
      ),
      sameMoniker:
        dialect.name !== 'sqlite'
          ? undefined
          : new MultiRowInsert<Database, ObjectsTable>(OBJECT_COLUMNS, (db, rows) =>
              db
                .insertInto('objects')
                .values(rows)
                .onConflict((oc) =>
                  oc
                    .columns(OBJECT_KEY_COLUMNS)
                    .doUpdateSet(Object.fromEntries(OBJECT_UPDATE_COLUMNS_SAME_MONIKER.map((c) => [c, sql.ref(`excluded.${c}`)])))
                    // IS: equal, NULL included.
                    .where(sql<boolean>`"objects"."application" is "excluded"."application" and "objects"."cluster" is "excluded"."cluster"`),
                ),
            ),
    };
    objectUpserts.set(dialect.name, statements);
  }
  return statements;
}

/**
 * Writes the rows of a step's upserts (at most one per object), each as the full upsert alone would
 * leave it. SQLite rewrites an index entry whenever its column is assigned in an UPDATE, even to the
 * value it already had: re-assigning `application` and `cluster` (two of objects_kind_application's
 * columns) made a changed object cost about three times what the row itself does. So on SQLite each
 * statement's rows are first written by the upsert that assigns those columns only by inserting (new
 * rows) and updates only the stored rows whose moniker stays; it reports how many rows it wrote, and
 * only when that falls short (a changed moniker: rare) are the statement's rows looked up and those
 * whose stored moniker differs written by the full upsert. Unlike looking every row up first, this costs
 * the initial sync no extra primary-key search per object and a group of changes no extra statement.
 * PostgreSQL and MySQL compare values before touching an index: they take the full upsert for every row.
 */
export async function writeObjectRows(trx: Transaction<Database>, dialect: SqlDialect, rows: readonly ObjectsTable[]): Promise<void> {
  const { full, sameMoniker } = objectUpsertsFor(dialect);
  for (const part of rowChunks(rows, OBJECT_ROWS_PER_STATEMENT, dialect.maxStatementBytes)) {
    if (sameMoniker === undefined) {
      await full.execute(trx, part);
      continue;
    }
    const written = await sameMoniker.execute(trx, part);
    if (written < part.length) await full.execute(trx, await rowsWithOtherMoniker(trx, part));
  }
}

/** The rows whose stored row has other moniker columns than they have (SQLite: `rows` are at most a statement's). */
async function rowsWithOtherMoniker(trx: Transaction<Database>, rows: readonly ObjectsTable[]): Promise<ObjectsTable[]> {
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
  return rows.filter((row) => {
    const current = stored.get(objectKey(row.account, row.api_group, row.kind, row.namespace, row.name));
    return current !== undefined && (current.application !== row.application || current.cluster !== row.cluster);
  });
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
