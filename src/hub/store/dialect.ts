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
  /**
   * A bounded string column usable in primary keys and indexes. It compares and sorts byte by byte on
   * every engine (SQLite's BINARY, PostgreSQL's "C", MySQL's *_bin): Kubernetes names and kinds are
   * case-sensitive, and lists come out in the same order whichever engine holds them.
   */
  key(length: number, charset?: KeyCharset): RawBuilder<unknown>;
  /** An unbounded text column: object bodies and JSON documents. */
  readonly text: RawBuilder<unknown>;
  /** Epoch milliseconds and counters. */
  readonly bigint: RawBuilder<unknown>;
  readonly integer: RawBuilder<unknown>;
  /** Appended to CREATE TABLE (MySQL: engine and character set), or undefined. */
  readonly tableOptions: RawBuilder<unknown> | undefined;
  /** `SELECT … FOR UPDATE` exists (not in SQLite, whose writers are serialized anyway). */
  readonly lockRows: boolean;
  /**
   * The most bytes of row data one multi-row statement should carry (MySQL refuses a statement larger
   * than max_allowed_packet, 4–64 MiB depending on version and setup).
   */
  readonly maxStatementBytes: number;
  /**
   * Turns an INSERT of rows into an upsert: rows whose `keyColumns` already exist get `updateColumns`
   * replaced by the new row's values.
   */
  upsert<DB, TB extends keyof DB & string, O>(
    insert: InsertQueryBuilder<DB, TB, O>,
    keyColumns: ReadonlyArray<keyof DB[TB] & string>,
    updateColumns: ReadonlyArray<keyof DB[TB] & string>,
  ): InsertQueryBuilder<DB, TB, O>;
  /**
   * Turns an INSERT of rows into one that leaves rows whose `keyColumns` already exist as they are
   * (and does not fail on them).
   */
  insertIfAbsent<DB, TB extends keyof DB & string, O>(
    insert: InsertQueryBuilder<DB, TB, O>,
    keyColumns: ReadonlyArray<keyof DB[TB] & string>,
  ): InsertQueryBuilder<DB, TB, O>;
  /** A failure that a retry of the whole transaction can cure: deadlock, serialization failure, busy. */
  isTransient(err: unknown): boolean;
  /**
   * The statement never reached the server: its connection had already broken (a network cut, a
   * database restart) when it was handed over, so nothing of it ran and it can be sent again on another
   * connection. Not a connection that broke while a statement was under way: that one may have run.
   */
  isUnsent(err: unknown): boolean;
  /** CREATE INDEX failed because the index exists (a migration re-run after a partial one). */
  isDuplicateIndex(err: unknown): boolean;
  /** DROP INDEX failed because there is no such index (MySQL, which has no DROP INDEX IF EXISTS). */
  isMissingIndex(err: unknown): boolean;
}

/** The driver's error code (pg: SQLSTATE `code`; mysql2: `code` name and `errno`; better-sqlite3: `code`). */
function driverCode(err: unknown): { code?: string; errno?: number } {
  if (typeof err !== 'object' || err === null) return {};
  const e = err as { code?: unknown; errno?: unknown; cause?: unknown };
  if (e.code === undefined && e.errno === undefined && e.cause !== undefined) return driverCode(e.cause);
  return { code: typeof e.code === 'string' ? e.code : undefined, errno: typeof e.errno === 'number' ? e.errno : undefined };
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

function onConflictDoNothing<DB, TB extends keyof DB & string, O>(
  insert: InsertQueryBuilder<DB, TB, O>,
  keyColumns: ReadonlyArray<string>,
): InsertQueryBuilder<DB, TB, O> {
  return (insert as LooseInsert).onConflict((oc) => oc.columns([...keyColumns]).doNothing()) as InsertQueryBuilder<DB, TB, O>;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  // SQLite compares text with BINARY unless told otherwise.
  key: (length) => sql.raw(`varchar(${length})`),
  text: sql.raw('text'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('integer'),
  tableOptions: undefined,
  lockRows: false,
  maxStatementBytes: Number.POSITIVE_INFINITY,
  upsert: onConflictUpsert,
  insertIfAbsent: onConflictDoNothing,
  isTransient: (err) => {
    const { code } = driverCode(err);
    return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
  },
  // An embedded database has no connection to lose.
  isUnsent: () => false,
  isDuplicateIndex: () => false,
  isMissingIndex: () => false,
};

/** The driver's message, or that of the error it wraps. */
function messages(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') out.push(message);
  }
  return out;
}

/** node-postgres refuses a query on a client whose connection already failed or was closed. */
const POSTGRES_UNSENT = ['Client has encountered a connection error and is not queryable', 'Client was closed and is not queryable'];
/** mysql2 refuses a command on a connection already closed. */
const MYSQL_UNSENT = ["Can't add new command when connection is in closed state"];

/** SQLSTATEs worth a retry: serialization_failure, deadlock_detected. */
const POSTGRES_TRANSIENT = new Set(['40001', '40P01']);

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  // The database's default collation may be a locale (en_US.UTF-8 sorts "B" after "a"); "C" is bytes.
  key: (length) => sql.raw(`varchar(${length}) collate "C"`),
  text: sql.raw('text'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('integer'),
  tableOptions: undefined,
  lockRows: true,
  maxStatementBytes: 256 * 1024 * 1024,
  upsert: onConflictUpsert,
  insertIfAbsent: onConflictDoNothing,
  isTransient: (err) => POSTGRES_TRANSIENT.has(driverCode(err).code ?? ''),
  isUnsent: (err) => messages(err).some((m) => POSTGRES_UNSENT.includes(m)),
  // 42P07 duplicate_table covers indexes too; CREATE INDEX IF NOT EXISTS avoids it anyway.
  isDuplicateIndex: (err) => driverCode(err).code === '42P07',
  isMissingIndex: () => false,
};

/** ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_CHECKREAD (MariaDB: record changed since read). */
const MYSQL_TRANSIENT = new Set([1213, 1205, 1020]);
/** ER_DUP_KEYNAME */
const MYSQL_DUPLICATE_INDEX = 1061;
/** ER_CANT_DROP_FIELD_OR_KEY: DROP INDEX of an index that does not exist. */
const MYSQL_MISSING_INDEX = 1091;

/**
 * MySQL/MariaDB: InnoDB limits an index to 3072 bytes and utf8mb4 counts 4 bytes a character, so the
 * five-column objects key (account 253 + group 253 + kind 100 + namespace 63 + name 253) would not fit.
 * Groups, kinds and namespaces are ASCII by Kubernetes validation, so they are stored as ASCII
 * (1 byte a character): 253·4 + 253 + 100 + 63 + 253·4 = 2440 bytes. Every table states its character
 * set and a binary collation, so the server's defaults (often utf8mb4_general_ci, case-insensitive, or
 * latin1) do not matter: "Nginx" and "nginx" are different objects here as they are in Kubernetes.
 */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  key: (length, charset = 'unicode') =>
    sql.raw(charset === 'ascii' ? `varchar(${length}) character set ascii collate ascii_bin` : `varchar(${length}) character set utf8mb4 collate utf8mb4_bin`),
  text: sql.raw('longtext character set utf8mb4 collate utf8mb4_bin'),
  bigint: sql.raw('bigint'),
  integer: sql.raw('int'),
  tableOptions: sql.raw('engine = InnoDB default character set utf8mb4 collate utf8mb4_bin'),
  lockRows: true,
  // Half of MySQL 5.7's 4 MiB max_allowed_packet default (MariaDB: 16 MiB, MySQL 8: 64 MiB): room for
  // the escaping mysql2 adds to quoted JSON and for multi-byte characters.
  maxStatementBytes: 2 * 1024 * 1024,
  upsert: (insert, _keyColumns, updateColumns) => {
    const set = Object.fromEntries(updateColumns.map((c) => [c, sql`values(${sql.ref(c)})`]));
    return (insert as LooseInsert).onDuplicateKeyUpdate(set) as typeof insert;
  },
  // Not INSERT IGNORE, which would also turn a value too long for its column into a warning and a cut
  // value: a key column assigned itself changes nothing.
  insertIfAbsent: (insert, keyColumns) => {
    const key = keyColumns[0]!;
    return (insert as LooseInsert).onDuplicateKeyUpdate({ [key]: sql.ref(key) }) as typeof insert;
  },
  isTransient: (err) => MYSQL_TRANSIENT.has(driverCode(err).errno ?? -1),
  isUnsent: (err) => messages(err).some((m) => MYSQL_UNSENT.includes(m)),
  isDuplicateIndex: (err) => driverCode(err).errno === MYSQL_DUPLICATE_INDEX,
  isMissingIndex: (err) => driverCode(err).errno === MYSQL_MISSING_INDEX,
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
