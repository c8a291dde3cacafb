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
 * Which servers are used, and when a MySQL suite is skipped instead, is decided once per run
 * (database-servers.ts): a suite whose engine is skipped is declared skipped with the reason; one whose
 * server failed fails in its first hook with the reason.
 */
import { after, before, describe } from 'node:test';
import { sql } from 'kysely';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import type { DialectName } from '../../src/hub/store/dialect.ts';
import { createStore } from '../../src/hub/store/open-store.ts';
import type { SqlStore } from '../../src/hub/store/sql-store.ts';
import { mysqlServer, postgresServer, sqliteServer, testDatabases, type Server } from './database-servers.ts';

export type EngineName = DialectName;
export const ENGINES: readonly EngineName[] = ['sqlite', 'postgres', 'mysql'];

/** Connections per test store: enough for concurrency tests, small enough for many parallel files. */
const TEST_POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 5000;
/** The hub's data tables, emptied between tests (schema_migrations stays). */
const DATA_TABLES = [
  'objects',
  'feeds',
  'accounts',
  'operations',
  'tasks',
  'hub_replicas',
  'caching_assignments',
  'relayed_operations',
  'account_definitions',
] as const;

// Top-level: node:test needs to know whether a suite is skipped when the suite is declared.
const resolutions = await testDatabases();

/** Why `engine`'s suites are skipped in this run, or undefined when they run; for `describe(…, { skip })`. */
export function engineSkip(engine: EngineName): string | undefined {
  if (engine === 'sqlite') return undefined;
  const resolution = resolutions[engine];
  return resolution.state === 'skipped' ? resolution.reason : undefined;
}

/** The admin URL of `engine`'s server in this run (undefined when skipped or failed). */
export function serverAdminUrl(engine: 'postgres' | 'mysql'): string | undefined {
  const resolution = resolutions[engine];
  return resolution.state === 'ready' ? resolution.adminUrl : undefined;
}

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

/** Empties the hub's tables, leaving the schema (and its migration record) in place. */
async function emptyTables(store: SqlStore): Promise<void> {
  for (const table of DATA_TABLES) await sql`delete from ${sql.table(table)}`.execute(store.db);
}

/** Declares `title [engine]` suites, one per engine, each running `body` against its own database. */
export function forEachEngine(title: string, body: (engine: TestEngine) => void, engines: readonly EngineName[] = ENGINES): void {
  for (const name of engines) {
    let server: Server | undefined;
    let url = '';
    const databases: string[] = [];
    const stores = new Set<SqlStore>();
    let cleanedUp = false;
    const cleanUp = async (): Promise<void> => {
      if (cleanedUp) return;
      cleanedUp = true;
      for (const store of stores) await store.close().catch(() => {});
      if (server === undefined) return;
      for (const database of databases) await server.drop(database);
      await server.close();
    };
    describe(`${title} [${name}]`, { skip: engineSkip(name) }, () => {
      let migrated = false;

      before(async () => {
        server = name === 'postgres' ? await postgresServer() : name === 'mysql' ? await mysqlServer() : sqliteServer();
        url = name === 'sqlite' ? 'sqlite::memory:' : await server.create();
        if (name !== 'sqlite') databases.push(url);
      });

      const engine: TestEngine = {
        name,
        get url() {
          return url;
        },
        async openStore(options = {}) {
          if (url === '') throw new Error(`the ${name} test database is not ready: call openStore from a hook or test`);
          const store = await createStore(
            { url, poolSize: options.poolSize ?? TEST_POOL_SIZE, connectTimeoutMs: CONNECT_TIMEOUT_MS },
            options.logger ?? silentLogger(),
          );
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

      // Registered after the body's hooks, so it runs after them (a suite's after hooks run in the order
      // they were added): the body's after stops its hubs before their database is dropped under them.
      after(cleanUp);
    });
    // A suite's after hooks stop at the first that fails (a body's `store.close()` once its before failed
    // and left no store): the enclosing suite's (or the file's) after hooks still run, so this one closes
    // the connections and drops the database then. Left open, the admin connection would keep the test
    // file's process from ever exiting.
    after(cleanUp);
  }
}
