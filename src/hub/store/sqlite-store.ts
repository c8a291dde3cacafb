import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Logger } from '../../common/logger.ts';
import { sqliteDialect } from './dialect.ts';
import { cachingSqliteDatabase } from './statement-cache.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a private in-memory database (tests). */
  path: string;
  logger: Logger;
  /** How long a statement waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
}

/** Waits out other processes' write locks (e.g. a CLI inspecting the file) instead of failing at once. */
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** SQLite's page cache (negative cache_size = KiB): the hot objects pages stay in memory. */
const PAGE_CACHE_KIB = 64 * 1024;

/**
 * The embedded store: one SQLite file. WAL lets readers run beside the ingest writer; with WAL,
 * synchronous=NORMAL survives process crashes and only an OS crash can lose the last commits — a cache
 * the next relist repairs, which is worth the much cheaper commits on the ingest path.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqlStore {
  const database = new BetterSqlite3(options.path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  database.pragma('temp_store = MEMORY');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingSqliteDatabase(database) }) });
  return new SqlStore(db, sqliteDialect, options.logger);
}
