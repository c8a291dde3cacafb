/**
 * Which database servers the tests (and the benchmarks' `--database`) use, decided once per test run.
 *
 * PostgreSQL: `TEST_POSTGRES_URL` if set (unreachable is a failure: it was asked for); else the local
 * server (user postgres, else root, trust authentication) if it answers; else a private server started
 * from an npm package (private-postgres.ts).
 * MySQL/MariaDB: `TEST_MYSQL_URL` if set (unreachable is a failure); else the local server as root without
 * a password; else, unless CI is set, its suites are skipped with the reason. With CI set they never skip.
 *
 * The local addresses default to 127.0.0.1:5432 and 127.0.0.1:3306; TEST_LOCAL_POSTGRES_ADDRESS and
 * TEST_LOCAL_MYSQL_ADDRESS (host:port) move them, e.g. to a closed port to try the fallbacks.
 *
 * `npm test` (scripts/test.mjs) resolves before it starts the test files, hands the result to them in
 * SCALE_AGENT_TEST_DATABASES, stops a private server at the end and prints one line saying what ran.
 * A process started any other way (a test file run directly, a benchmark) resolves for itself on first
 * use and stops its private server when it exits.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { redactDatabaseUrl } from '../../src/hub/store/open-store.ts';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.ts';

export type ServerEngine = 'postgres' | 'mysql';

/** What a test run uses for one server engine. */
export type Resolution =
  | { readonly state: 'ready'; readonly adminUrl: string; readonly source: 'configured' | 'local' | 'private'; readonly detail: string }
  | { readonly state: 'skipped'; readonly reason: string }
  | { readonly state: 'failed'; readonly reason: string };

export type Resolutions = Record<ServerEngine, Resolution>;

/** The environment variable through which the test runner hands its resolutions to the test files. */
export const RESOLUTIONS_ENV = 'SCALE_AGENT_TEST_DATABASES';

const CONNECT_TIMEOUT_MS = 5000;
/** Test databases left behind by killed runs are dropped once older than this. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;
const DATABASE_PREFIX = 'sa_test_';
const DEFAULT_POSTGRES_ADDRESS = '127.0.0.1:5432';
const DEFAULT_MYSQL_ADDRESS = '127.0.0.1:3306';

export function isCi(): boolean {
  const value = (process.env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== '0' && value !== 'false';
}

function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(reason).join('; ');
  if (err instanceof Error) return err.message || String((err as { code?: unknown }).code ?? err.name);
  return String(err);
}

function localAddress(variable: string, fallback: string): string {
  return process.env[variable]?.trim() || fallback;
}

// ---- reaching a server ---------------------------------------------------------------------------

async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

async function connectMysql(url: string): Promise<Connection> {
  const parsed = new URL(url);
  const connection = await createConnection({
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  connection.on('error', () => {});
  return connection;
}

/** The first URL that accepts a connection, or why none did (one reason when all failed alike). */
async function firstReachable(
  urls: readonly string[],
  connect: (url: string) => Promise<{ end(): Promise<unknown> }>,
): Promise<{ url: string } | { why: string }> {
  const errors: Array<{ url: string; reason: string }> = [];
  for (const url of urls) {
    try {
      await (await connect(url)).end();
      return { url };
    } catch (err) {
      errors.push({ url: redactDatabaseUrl(url), reason: reason(err) });
    }
  }
  const reasons = new Set(errors.map((e) => e.reason));
  return { why: reasons.size === 1 ? [...reasons][0]! : errors.map((e) => `${e.url}: ${e.reason}`).join(' | ') };
}

// ---- deciding --------------------------------------------------------------------------------------

export async function resolvePostgres(): Promise<{ resolution: Resolution; privateServer?: PrivatePostgres }> {
  const configured = process.env.TEST_POSTGRES_URL;
  if (configured) {
    const found = await firstReachable([configured], connectPostgres);
    return 'url' in found
      ? { resolution: { state: 'ready', adminUrl: configured, source: 'configured', detail: `TEST_POSTGRES_URL ${redactDatabaseUrl(configured)}` } }
      : { resolution: { state: 'failed', reason: `PostgreSQL at TEST_POSTGRES_URL is not reachable: ${found.why}` } };
  }
  const address = localAddress('TEST_LOCAL_POSTGRES_ADDRESS', DEFAULT_POSTGRES_ADDRESS);
  const local = await firstReachable([`postgres://postgres@${address}/postgres`, `postgres://root@${address}/postgres`], connectPostgres);
  if ('url' in local) return { resolution: { state: 'ready', adminUrl: local.url, source: 'local', detail: `server ${redactDatabaseUrl(local.url)}` } };
  const noLocal = `no server answered at ${address} (${local.why})`;
  try {
    const server = await startPrivatePostgres();
    const address = new URL(server.adminUrl).host;
    return {
      resolution: {
        state: 'ready',
        adminUrl: server.adminUrl,
        source: 'private',
        detail: `private server (${server.version} from ${server.binaryPackage} on ${address}, started in ${(server.startMs / 1000).toFixed(1)} s; ${noLocal})`,
      },
      privateServer: server,
    };
  } catch (err) {
    return { resolution: { state: 'failed', reason: `PostgreSQL: ${noLocal}, and a private server did not start: ${reason(err)}` } };
  }
}

export async function resolveMysql(): Promise<Resolution> {
  const configured = process.env.TEST_MYSQL_URL;
  if (configured) {
    const found = await firstReachable([configured], connectMysql);
    return 'url' in found
      ? { state: 'ready', adminUrl: configured, source: 'configured', detail: `TEST_MYSQL_URL ${redactDatabaseUrl(configured)}` }
      : { state: 'failed', reason: `MySQL/MariaDB at TEST_MYSQL_URL is not reachable: ${found.why}` };
  }
  const address = localAddress('TEST_LOCAL_MYSQL_ADDRESS', DEFAULT_MYSQL_ADDRESS);
  const local = await firstReachable([`mysql://root@${address}/`], connectMysql);
  if ('url' in local) return { state: 'ready', adminUrl: local.url, source: 'local', detail: `server ${redactDatabaseUrl(local.url)}` };
  const looked = `no MySQL/MariaDB server answered as root without a password at ${address} (${local.why})`;
  if (isCi()) return { state: 'failed', reason: `${looked}; with CI set these suites do not skip: start the server (.ci/run does) or set TEST_MYSQL_URL` };
  return { state: 'skipped', reason: `${looked}; to run them set TEST_MYSQL_URL to an admin URL (a user that may create databases) or install mariadb-server` };
}

export interface ResolvedRun {
  readonly resolutions: Resolutions;
  /** Stops a private server this process started (no-op otherwise). */
  stop(): Promise<void>;
  /** The same, for `process.on('exit')`: without waiting. */
  stopNow(): void;
}

/**
 * `TEST_ENGINES` (a comma-separated list, e.g. `sqlite` for `npm run test:unit`) limits a run to those
 * engines; the others' suites are skipped, saying so. Unset: every engine.
 */
function engineSelected(engine: ServerEngine): boolean {
  const selected = process.env.TEST_ENGINES;
  return (
    selected === undefined ||
    selected === '' ||
    selected
      .split(',')
      .map((e) => e.trim())
      .includes(engine)
  );
}

const notSelected = (engine: ServerEngine): Resolution => ({ state: 'skipped', reason: `${engine} is not in TEST_ENGINES (${process.env.TEST_ENGINES})` });

export async function resolveTestDatabases(): Promise<ResolvedRun> {
  const [postgres, mysql] = await Promise.all([
    engineSelected('postgres') ? resolvePostgres() : ({ resolution: notSelected('postgres') } as { resolution: Resolution; privateServer?: PrivatePostgres }),
    engineSelected('mysql') ? resolveMysql() : notSelected('mysql'),
  ]);
  return {
    resolutions: { postgres: postgres.resolution, mysql },
    stop: async () => postgres.privateServer?.stop(),
    stopNow: () => postgres.privateServer?.stopNow(),
  };
}

/** One line saying which engines a run used, e.g. for the end of `npm test`. */
export function describeResolutions(resolutions: Resolutions): string {
  const part = (engine: ServerEngine) => {
    const resolution = resolutions[engine];
    if (resolution.state === 'ready') return `${engine}: ${resolution.detail}`;
    if (resolution.state === 'skipped') return `${engine}: SKIPPED, ${resolution.reason}`;
    return `${engine}: FAILED, ${resolution.reason}`;
  };
  return `test databases: sqlite: in process; ${part('postgres')}; ${part('mysql')}`;
}

// ---- this process's view ---------------------------------------------------------------------------

let ownRun: Promise<Resolutions> | undefined;

/** This process's resolutions: the test runner's, or resolved here once (a private server stops at exit). */
export function testDatabases(): Promise<Resolutions> {
  const handed = process.env[RESOLUTIONS_ENV];
  if (handed) return Promise.resolve(JSON.parse(handed) as Resolutions);
  ownRun ??= resolveTestDatabases().then((run) => {
    process.once('exit', () => run.stopNow());
    return run.resolutions;
  });
  return ownRun;
}

// ---- databases on a server ---------------------------------------------------------------------

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

async function adminUrlOf(engine: ServerEngine): Promise<string> {
  const resolution = (await testDatabases())[engine];
  if (resolution.state === 'ready') return resolution.adminUrl;
  throw new Error(resolution.state === 'skipped' ? `the ${engine} tests are skipped in this run: ${resolution.reason}` : resolution.reason);
}

export async function postgresServer(): Promise<Server> {
  const adminUrl = await adminUrlOf('postgres');
  const client = await connectPostgres(adminUrl);
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
  const adminUrl = await adminUrlOf('mysql');
  const connection = await connectMysql(adminUrl);
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
