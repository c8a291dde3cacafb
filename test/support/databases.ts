/**
 * Runs a suite once per SQL engine the hub supports: SQLite (in memory), PostgreSQL and MySQL/MariaDB.
 *
 *   forEachEngine('Store', (engine) => {
 *     let store: SqlStore;
 *     beforeEach(async () => (store = await engine.openStore()));
 *     afterEach(() => store.close());
 *     test('…', async () => { … });
 *   });
 *
 * makes the suites "Store [sqlite]", "Store [postgres]" and "Store [mysql]". Each server suite gets its
 * own database (`sa_test_<time>_<random>`), created before its first test and dropped after its last, so
 * test files can run in parallel. `openStore()` returns a migrated store whose tables are empty.
 *
 * The servers: PostgreSQL on 127.0.0.1:5432 (user postgres, else root, trust authentication) and MariaDB
 * or MySQL on 127.0.0.1:3306 (user root, no password), or the admin URLs in TEST_POSTGRES_URL and
 * TEST_MYSQL_URL (a user that may create and drop databases). A server that cannot be reached fails the
 * suite with a message saying so; it is never skipped (CI starts both, see .ci/run).
 */
import { after, before, describe } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import type { DialectName } from '../../src/hub/store/dialect.ts';
import { createStore, redactDatabaseUrl } from '../../src/hub/store/open-store.ts';
import type { SqlStore } from '../../src/hub/store/sql-store.ts';

export type EngineName = DialectName;
export const ENGINES: readonly EngineName[] = ['sqlite', 'postgres', 'mysql'];

/** Connections per test store: enough for concurrency tests, small enough for many parallel files. */
const TEST_POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 5000;
/** Test databases left behind by killed runs are dropped once older than this. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;
const DATABASE_PREFIX = 'sa_test_';
/** The hub's data tables, emptied between tests (schema_migrations stays). */
const DATA_TABLES = ['objects', 'feeds', 'accounts', 'operations', 'tasks'] as const;

export interface TestEngine {
  readonly name: EngineName;
  /** The URL (with credentials) of this suite's database; set once the suite's first hook has run. */
  readonly url: string;
  /**
   * A migrated store on this suite's database with all tables empty (SQLite: a new in-memory database
   * each call). `keepData` skips the emptying, to open a second store on the same data (server engines).
   * Stores left open are closed when the suite ends.
   */
  openStore(options?: { keepData?: boolean; logger?: Logger; poolSize?: number }): Promise<SqlStore>;
  /** The URL of another, empty database (not migrated) on this engine; dropped when the suite ends. */
  createDatabase(): Promise<string>;
}

export interface Server {
  /** Creates a database and returns its URL. */
  create(): Promise<string>;
  drop(url: string): Promise<void>;
  close(): Promise<void>;
}

function databaseName(): string {
  return `${DATABASE_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function isStale(name: string): boolean {
  const stamp = Number.parseInt(name.slice(DATABASE_PREFIX.length).split('_')[0] ?? '', 36);
  return Number.isFinite(stamp) && Date.now() - stamp > STALE_AFTER_MS;
}

function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(reason).join('; ');
  if (err instanceof Error) return err.message || String((err as { code?: unknown }).code ?? err.name);
  return String(err);
}

function unreachable(engine: string, tried: string[], envVar: string, errors: string[]): Error {
  return new Error(
    `${engine} is not reachable for the store tests (tried ${tried.map(redactDatabaseUrl).join(', ')}): ${errors.join(' | ')}. ` +
      `Start the server (CI does so in .ci/run) or point ${envVar} at an admin URL of a user that may create databases. These tests do not skip.`,
  );
}

export async function postgresServer(): Promise<Server> {
  const candidates = process.env.TEST_POSTGRES_URL ? [process.env.TEST_POSTGRES_URL] : ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://root@127.0.0.1:5432/postgres'];
  const errors: string[] = [];
  let admin: pg.Client | undefined;
  let adminUrl = '';
  for (const candidate of candidates) {
    const client = new pg.Client({ connectionString: candidate, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('error', () => {});
    try {
      await client.connect();
      admin = client;
      adminUrl = candidate;
      break;
    } catch (err) {
      errors.push(`${redactDatabaseUrl(candidate)}: ${reason(err)}`);
      await client.end().catch(() => {});
    }
  }
  if (admin === undefined) throw unreachable('PostgreSQL', candidates, 'TEST_POSTGRES_URL', errors);
  const client = admin;
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const drop = async (name: string) => {
    // FORCE ends sessions a failed test left open (PostgreSQL 13+); older servers get the plain form.
    try {
      await client.query(`drop database if exists ${quote(name)} with (force)`);
    } catch (err) {
      if ((err as { code?: string }).code !== '42601') throw err;
      await client.query(`drop database if exists ${quote(name)}`);
    }
  };
  const existing = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'sa\\_test\\_%'`);
  for (const { datname } of existing.rows) if (isStale(datname)) await drop(datname).catch(() => {});
  return {
    async create() {
      const name = databaseName();
      // A linguistic default collation (en-US sorts "a" < "B" < "b"), as production databases often
      // have, so the tests show the schema's byte-wise key columns at work. Servers without ICU
      // (before PostgreSQL 15, or built without it) get their default.
      try {
        await client.query(`create database ${quote(name)} template template0 encoding 'UTF8' locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'`);
      } catch {
        await client.query(`create database ${quote(name)}`);
      }
      return withDatabase(adminUrl, name);
    },
    drop: (url) => drop(databaseOf(url)),
    close: () => client.end(),
  };
}

export async function mysqlServer(): Promise<Server> {
  const candidates = process.env.TEST_MYSQL_URL ? [process.env.TEST_MYSQL_URL] : ['mysql://root@127.0.0.1:3306/'];
  const errors: string[] = [];
  let admin: Connection | undefined;
  let adminUrl = '';
  for (const candidate of candidates) {
    try {
      const url = new URL(candidate);
      admin = await createConnection({
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? 3306 : Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        connectTimeout: CONNECT_TIMEOUT_MS,
      });
      admin.on('error', () => {});
      adminUrl = candidate;
      break;
    } catch (err) {
      errors.push(`${redactDatabaseUrl(candidate)}: ${reason(err)}`);
    }
  }
  if (admin === undefined) throw unreachable('MySQL/MariaDB', candidates, 'TEST_MYSQL_URL', errors);
  const connection = admin;
  const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;
  const [existing] = await connection.query(`show databases like 'sa\\_test\\_%'`);
  for (const row of existing as Array<Record<string, string>>) {
    const name = Object.values(row)[0];
    if (name !== undefined && isStale(name)) await connection.query(`drop database if exists ${quote(name)}`).catch(() => {});
  }
  return {
    async create() {
      const name = databaseName();
      // The server's default character set and collation on purpose: the schema must not depend on them.
      await connection.query(`create database ${quote(name)}`);
      return withDatabase(adminUrl, name);
    },
    drop: async (url) => {
      await connection.query(`drop database if exists ${quote(databaseOf(url))}`);
    },
    close: () => connection.end(),
  };
}

export function sqliteServer(): Server {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-sqlite-'));
  let count = 0;
  return {
    create: async () => `sqlite:${join(dir, `db-${++count}.db`)}`,
    drop: async () => {},
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Empties the hub's tables, leaving the schema (and its migration record) in place. */
async function emptyTables(store: SqlStore): Promise<void> {
  for (const table of DATA_TABLES) await sql`delete from ${sql.table(table)}`.execute(store.db);
}

/** Declares `title [engine]` suites, one per engine, each running `body` against its own database. */
export function forEachEngine(title: string, body: (engine: TestEngine) => void, engines: readonly EngineName[] = ENGINES): void {
  for (const name of engines) {
    describe(`${title} [${name}]`, () => {
      let server: Server | undefined;
      let url = '';
      const databases: string[] = [];
      const stores = new Set<SqlStore>();
      let migrated = false;

      before(async () => {
        server = name === 'postgres' ? await postgresServer() : name === 'mysql' ? await mysqlServer() : sqliteServer();
        url = name === 'sqlite' ? 'sqlite::memory:' : await server.create();
        if (name !== 'sqlite') databases.push(url);
      });

      after(async () => {
        for (const store of stores) await store.close().catch(() => {});
        if (server === undefined) return;
        for (const database of databases) await server.drop(database);
        await server.close();
      });

      const engine: TestEngine = {
        name,
        get url() {
          return url;
        },
        async openStore(options = {}) {
          if (url === '') throw new Error(`the ${name} test database is not ready: call openStore from a hook or test`);
          const store = await createStore({ url, poolSize: options.poolSize ?? TEST_POOL_SIZE, connectTimeoutMs: CONNECT_TIMEOUT_MS }, options.logger ?? silentLogger());
          stores.add(store);
          // A server database is migrated once per suite (a test that migrates again says so itself).
          if (name === 'sqlite' || !migrated) await store.migrate();
          migrated = true;
          if (name !== 'sqlite' && !options.keepData) await emptyTables(store);
          return store;
        },
        async createDatabase() {
          if (server === undefined) throw new Error(`the ${name} test server is not ready: call createDatabase from a hook or test`);
          const created = await server.create();
          databases.push(created);
          return created;
        },
      };
      body(engine);
    });
  }
}
