import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { postgresDialect } from './dialect.ts';
import { NoNulPlugin } from './no-nul-plugin.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?sslmode=…`, as libpq and node-postgres read it. */
  connectionString: string;
  /** Connections kept at most. */
  poolSize: number;
  logger: Logger;
  /** How long opening one connection may take. */
  connectTimeoutMs: number;
}

/** How long an unused connection stays open. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * The PostgreSQL store: a node-postgres pool behind Kysely. BIGINT (int8) columns come back as strings
 * (rows.ts converts them); every key column is collated "C", so comparisons are case-sensitive and
 * sorting is by bytes, whatever the database's locale.
 */
export function createPostgresStore(options: PostgresStoreOptions): SqlStore {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    application_name: 'scale-agent-hub',
  });
  // An idle connection that breaks (server restart, network) is dropped by the pool; without a
  // listener the 'error' event would end the process.
  pool.on('error', (err) => options.logger.warn({ err: errorMessage(err) }, 'an idle PostgreSQL connection failed; the pool opens a new one when needed'));
  // A connection that breaks while checked out (a query under way: network cut, database failover) also
  // emits 'error' on its client, which the pool listens to only while the client is idle: unheard, it
  // would end the process. The query itself fails (STORE_ERROR, retried by its caller) and the pool
  // discards the client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (err) =>
      options.logger.warn({ err: errorMessage(err) }, 'a PostgreSQL connection in use failed; its statement fails and the pool replaces it'),
    );
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new NoNulPlugin()] });
  return new SqlStore(db, postgresDialect, options.logger);
}
