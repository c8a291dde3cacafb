import { sql, type InsertQueryBuilder, type RawBuilder } from 'kysely';

/**
 * Everything that differs between the SQL engines the hub supports, in one place: column types and
 * the "insert or update" statement. Every query elsewhere in the store is plain Kysely and portable.
 */
export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/** Which characters a key column holds: Kubernetes groups, kinds and namespaces are ASCII by validation. */
export type KeyCharset = 'ascii' | 'unicode';

export interface SqlDialect {
  readonly name: DialectName;
  /** A bounded string column usable in primary keys and indexes. */
  key(length: number, charset?: KeyCharset): RawBuilder<unknown>;
  /** An unbounded text column: object bodies and JSON documents. */
  readonly text: RawBuilder<unknown>;
  /** Epoch milliseconds and counters. */
  readonly bigint: RawBuilder<unknown>;
  readonly integer: RawBuilder<unknown>;
  /**
   * Turns an INSERT of rows into an upsert: rows whose `keyColumns` already exist get `updateColumns`
   * replaced by the new row's values.
   */
  upsert<DB, TB extends keyof DB & string, O>(
    insert: InsertQueryBuilder<DB, TB, O>,
    keyColumns: ReadonlyArray<keyof DB[TB] & string>,
    updateColumns: ReadonlyArray<keyof DB[TB] & string>,
  ): InsertQueryBuilder<DB, TB, O>;
}

// The typed builders cannot express "these columns of whatever table", so the callbacks below are
// typed loosely; the public signature above keeps callers honest about column names.
type LooseInsert = InsertQueryBuilder<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function onConflictUpsert<DB, TB extends keyof DB & string, O>(
  insert: InsertQueryBuilder<DB, TB, O>,
  keyColumns: ReadonlyArray<string>,
  updateColumns: ReadonlyArray<string>,
): InsertQueryBuilder<DB, TB, O> {
  const set = Object.fromEntries(updateColumns.map((c) => [c, sql.ref(`excluded.${c}`)]));
  return (insert as LooseInsert).onConflict((oc) => oc.columns([...keyColumns]).doUpdateSet(set)) as InsertQueryBuilder<DB, TB, O>;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  key: (length) => sql.raw(`varchar(${length})`),
  text: sql.raw('text'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('integer'),
  upsert: onConflictUpsert,
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  key: (length) => sql.raw(`varchar(${length})`),
  text: sql.raw('text'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('integer'),
  upsert: onConflictUpsert,
};

/**
 * MySQL/MariaDB: InnoDB limits an index to 3072 bytes and utf8mb4 counts 4 bytes a character, so the
 * five-column objects key (account 253 + group 253 + kind 100 + namespace 63 + name 253) would not fit.
 * Groups, kinds and namespaces are ASCII by Kubernetes validation, so they are stored as ASCII
 * (1 byte a character): 253·4 + 253 + 100 + 63 + 253·4 = 2440 bytes.
 */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  key: (length, charset = 'unicode') => sql.raw(charset === 'ascii' ? `varchar(${length}) character set ascii collate ascii_bin` : `varchar(${length})`),
  text: sql.raw('longtext'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('int'),
  upsert: (insert, _keyColumns, updateColumns) => {
    const set = Object.fromEntries(updateColumns.map((c) => [c, sql`values(${sql.ref(c)})`]));
    return (insert as LooseInsert).onDuplicateKeyUpdate(set) as typeof insert;
  },
};

export function dialectFor(name: DialectName): SqlDialect {
  switch (name) {
    case 'sqlite':
      return sqliteDialect;
    case 'postgres':
      return postgresDialect;
    case 'mysql':
      return mysqlDialect;
  }
}

/**
 * Most parameters one statement may carry. SQLite allows 32766 (since 3.32), PostgreSQL and MySQL 65535;
 * staying well below keeps statements small enough to prepare quickly.
 */
export const MAX_STATEMENT_PARAMETERS = 8000;

/** Rows per multi-row statement for a table of `columns` columns. */
export function rowsPerStatement(columns: number, cap = 500): number {
  return Math.max(1, Math.min(cap, Math.floor(MAX_STATEMENT_PARAMETERS / columns)));
}
