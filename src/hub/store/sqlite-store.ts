import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Logger } from '../../common/logger.ts';
import { errorMessage } from '../../common/errors.ts';
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
 * Page size of a new database file (an existing file keeps its own). Object rows are 1–2 KiB: with 8 KiB
 * pages a page holds several of them and the primary-key and index b-trees split less often, which made
 * the initial ingest markedly cheaper than the 4 KiB default (docs/performance.md, "scale").
 */
const NEW_DATABASE_PAGE_SIZE = 8192;
/** How often the checkpoint thread copies committed WAL frames into the database file. */
const CHECKPOINT_INTERVAL_MS = 250;
/**
 * The writer's own automatic checkpoint, in WAL pages: only a safety net should the checkpoint thread
 * fall behind (a checkpoint on the writer's thread blocks every request while it writes and syncs).
 */
const WRITER_AUTOCHECKPOINT_PAGES = 16_384;

/**
 * Checkpoints on a worker thread with its own connection. With WAL, a commit only appends to the log;
 * the checkpoint that copies the log back into the database file, and the fsync that goes with it under
 * synchronous=NORMAL, is what costs on the ingest path — SQLite runs it on the committing connection,
 * i.e. on the hub's event loop. A PASSIVE checkpoint elsewhere does not block the writer or readers.
 */
const CHECKPOINT_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
let running = true;
const timer = setInterval(() => {
  if (!running) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  running = false;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

function startCheckpointThread(path: string, busyTimeoutMs: number, logger: Logger): () => Promise<void> {
  const worker = new Worker(CHECKPOINT_WORKER_SOURCE, {
    eval: true,
    workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path, busyTimeoutMs, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  let lastError = '';
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined && message.error !== lastError) {
      lastError = message.error;
      logger.warn({ err: message.error }, 'SQLite checkpoint failed; the writer checkpoints instead once the log is long');
    }
  });
  worker.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'SQLite checkpoint thread failed; the writer checkpoints instead once the log is long'));
  worker.unref();
  return async () => {
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Keep the process alive until the thread has made its last checkpoint and closed the file.
    worker.ref();
    worker.postMessage('close');
    await exited;
  };
}

/**
 * The embedded store: one SQLite file. WAL lets readers run beside the ingest writer; with WAL,
 * synchronous=NORMAL survives process crashes and only an OS crash can lose the last commits — a cache
 * the next relist repairs, which is worth the much cheaper commits on the ingest path. Checkpoints run on
 * their own thread (startCheckpointThread).
 */
export function createSqliteStore(options: SqliteStoreOptions): SqlStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const database = new BetterSqlite3(options.path, { timeout: busyTimeoutMs });
  // Takes effect only while the file is still empty (before the first table), so it never rewrites one.
  database.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  database.pragma('temp_store = MEMORY');
  let stopCheckpoints: (() => Promise<void>) | undefined;
  if (options.path !== ':memory:' && options.path !== '' && database.pragma('journal_mode', { simple: true }) === 'wal') {
    database.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    stopCheckpoints = startCheckpointThread(options.path, busyTimeoutMs, options.logger);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingSqliteDatabase(database) }) });
  return new SqlStore(db, sqliteDialect, options.logger, async () => {
    await stopCheckpoints?.();
  });
}
