import { createPool } from 'mysql2';
import { CompiledQuery, Kysely, MysqlDialect } from 'kysely';
import type { Logger } from '../../common/logger.ts';
import { mysqlDialect } from './dialect.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

export interface MysqlStoreOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS to the server, verifying its certificate against the system's CAs. */
  ssl: boolean;
  /** Connections kept at most. */
  poolSize: number;
  logger: Logger;
  /** How long opening one connection may take. */
  connectTimeoutMs: number;
}

/**
 * Session settings of every connection, whatever the server's defaults:
 * - READ COMMITTED: InnoDB's REPEATABLE READ takes gap locks on the deletes and upserts of a batch,
 *   which lets batches of different accounts block (and deadlock) each other at their key ranges'
 *   edges. Batches of one account are serialized by a lock on the account's row instead.
 * - strict mode: a value too long for its column is an error, not silently cut; and no ANSI_QUOTES or
 *   NO_BACKSLASH_ESCAPES, which would change how the statements Kysely and mysql2 build are read.
 */
const SESSION_SETUP = [
  'set session transaction isolation level read committed',
  "set session sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'",
];

/**
 * The MySQL/MariaDB store: a mysql2 pool behind Kysely. Connections speak utf8mb4 (4-byte characters
 * survive); BIGINT columns come back as numbers (as strings past 2^53, which rows.ts converts).
 */
export function createMysqlStore(options: MysqlStoreOptions): SqlStore {
  const pool = createPool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    connectionLimit: options.poolSize,
    connectTimeout: options.connectTimeoutMs,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    enableKeepAlive: true,
    multipleStatements: false,
    ...(options.ssl ? { ssl: {} } : {}),
  });
  const db = new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (connection) => {
        for (const statement of SESSION_SETUP) await connection.executeQuery(CompiledQuery.raw(statement));
      },
    }),
  });
  return new SqlStore(db, mysqlDialect, options.logger);
}
