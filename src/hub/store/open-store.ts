import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { DialectName } from './dialect.ts';
import type { SqlStore } from './sql-store.ts';
import { createSqliteStore } from './sqlite-store.ts';

/**
 * `database.url` → a store. The URL names the engine:
 *   sqlite:<file> | sqlite::memory:                       embedded (the default)
 *   postgres://user:password@host:5432/database            also postgresql://; query parameters
 *                                                          (sslmode, …) go to node-postgres as is
 *   mysql://user:password@host:3306/database?ssl=true      also mariadb://
 * Passwords never reach a log line or an error message: use redactDatabaseUrl to show a URL.
 */

/** Connections per hub replica to PostgreSQL or MySQL (SQLite uses one). */
export const DEFAULT_POOL_SIZE = 10;
/** How long opening one connection may take before the start fails. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export type DatabaseTarget =
  | { engine: 'sqlite'; path: string }
  | { engine: 'postgres'; connectionString: string; host: string; port: number; user: string; password: string; database: string }
  | { engine: 'mysql'; host: string; port: number; user: string; password: string; database: string; ssl: boolean };

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  connectTimeoutMs?: number;
}

const ENGINE_TITLES: Record<DialectName, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' };
const EXPECTED = 'expected sqlite:<file>, sqlite::memory:, postgres://user:password@host:5432/database or mysql://user:password@host:3306/database';
const MYSQL_PARAMETERS = new Set(['ssl']);

class UrlProblem extends Error {}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UrlProblem(`the ${what} is not valid percent-encoding`);
  }
}

function parseTarget(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new UrlProblem('sqlite: needs a file path (sqlite:.scale-agent/hub.db) or :memory:');
    return { engine: 'sqlite', path };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new UrlProblem(`not a database URL; ${EXPECTED}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UrlProblem(`not a valid URL; ${EXPECTED}`);
  }
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database name');
  const user = decode(parsed.username, 'user name');
  const password = decode(parsed.password, 'password');
  switch (scheme) {
    case 'postgres':
    case 'postgresql': {
      // A Unix socket directory may come as ?host=/var/run/postgresql instead of the authority.
      const host = parsed.hostname || parsed.searchParams.get('host') || '';
      if (host === '') throw new UrlProblem('name the server: postgres://user:password@host:5432/database');
      if (database === '' || database.includes('/')) throw new UrlProblem('name the database: postgres://user:password@host:5432/<database>');
      return { engine: 'postgres', connectionString: url, host, port: parsed.port === '' ? 5432 : Number(parsed.port), user, password, database };
    }
    case 'mysql':
    case 'mariadb': {
      if (parsed.hostname === '') throw new UrlProblem('name the server: mysql://user:password@host:3306/database');
      if (database === '' || database.includes('/')) throw new UrlProblem('name the database: mysql://user:password@host:3306/<database>');
      for (const key of parsed.searchParams.keys()) {
        if (!MYSQL_PARAMETERS.has(key)) throw new UrlProblem(`unknown parameter "${key}" (supported: ${[...MYSQL_PARAMETERS].join(', ')})`);
      }
      const ssl = parsed.searchParams.get('ssl');
      if (ssl !== null && ssl !== 'true' && ssl !== 'false') throw new UrlProblem('ssl must be true or false');
      const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
      return { engine: 'mysql', host, port: parsed.port === '' ? 3306 : Number(parsed.port), user, password, database, ssl: ssl === 'true' };
    }
    default:
      throw new UrlProblem(`unsupported database "${scheme}:"; ${EXPECTED}`);
  }
}

/** What is wrong with a database URL, or undefined when it is usable (for configuration checks). */
export function databaseUrlProblem(url: string): string | undefined {
  try {
    parseTarget(url);
    return undefined;
  } catch (err) {
    if (err instanceof UrlProblem) return err.message;
    throw err;
  }
}

/** Reads `database.url`; CONFIG_INVALID naming the key when it is not a supported URL. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  try {
    return parseTarget(url);
  } catch (err) {
    if (!(err instanceof UrlProblem)) throw err;
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `database.url: ${err.message} (got ${redactDatabaseUrl(url)})`, {
      key: 'database.url',
      url: redactDatabaseUrl(url),
    });
  }
}

/** The URL with its password replaced by ***, for logs and messages. */
export function redactDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of ['password', 'sslpassword']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    // Not parseable: hide whatever sits between "user:" and "@".
    return url.replace(/^([^:]+:\/\/[^:@/]*):[^@]*@/, '$1:***@');
  }
}

/** Where a server store points, for messages: engine, host, port, database and user; never the password. */
export function describeTarget(target: DatabaseTarget): string {
  if (target.engine === 'sqlite') return `SQLite database ${target.path}`;
  const user = target.user === '' ? '' : ` as user "${target.user}"`;
  return `${ENGINE_TITLES[target.engine]} database "${target.database}" at ${target.host}:${target.port}${user}`;
}

/**
 * Builds the store for a URL without connecting or migrating. The PostgreSQL and MySQL drivers load
 * only when named, so parts that never use them (agent, sim, CLI) do not pay for them at start.
 */
export async function createStore(database: DatabaseOptions, logger: Logger): Promise<SqlStore> {
  const target = parseDatabaseUrl(database.url);
  const poolSize = database.poolSize ?? DEFAULT_POOL_SIZE;
  const connectTimeoutMs = database.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  switch (target.engine) {
    case 'sqlite':
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      return createSqliteStore({ path: target.path, logger });
    case 'postgres': {
      const { createPostgresStore } = await import('./postgres-store.ts');
      return createPostgresStore({ connectionString: target.connectionString, poolSize, connectTimeoutMs, logger });
    }
    case 'mysql': {
      const { createMysqlStore } = await import('./mysql-store.ts');
      return createMysqlStore({ ...target, poolSize, connectTimeoutMs, logger });
    }
  }
}

/** A driver error as one line: Node's connection errors can be AggregateErrors with an empty message. */
function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return [...new Set(err.errors.map(reason))].join('; ');
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (err.message !== '') return err.message;
    if (typeof code === 'string') return code;
  }
  return String(err);
}

function scrub(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('***');
}

/**
 * Opens the store named by `database.url` (a string is the URL with default pool settings): connects,
 * and migrates the schema to the latest version. An unreachable server or refused credentials fail with
 * STORE_UNAVAILABLE naming the host, port, database and user.
 */
export async function openStore(database: string | DatabaseOptions, logger: Logger): Promise<SqlStore> {
  const options = typeof database === 'string' ? { url: database } : database;
  const target = parseDatabaseUrl(options.url);
  let store: SqlStore | undefined;
  try {
    store = await createStore(options, logger);
    await store.ping();
  } catch (err) {
    await store?.close().catch(() => {});
    const password = target.engine === 'sqlite' ? '' : target.password;
    // The driver's error is not attached as the cause: some carry their connection settings.
    throw new ScaleAgentError(
      Errors.STORE_UNAVAILABLE,
      `cannot connect to the ${describeTarget(target)}: ${scrub(reason(err), password)}`,
      target.engine === 'sqlite'
        ? { engine: target.engine, path: target.path }
        : { engine: target.engine, host: target.host, port: target.port, database: target.database, user: target.user },
    );
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  logger.info(
    { engine: target.engine, database: redactDatabaseUrl(options.url), poolSize: target.engine === 'sqlite' ? 1 : (options.poolSize ?? DEFAULT_POOL_SIZE) },
    'store opened',
  );
  return store;
}
