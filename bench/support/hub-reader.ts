import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';

/**
 * Read access to the hub's database from the benchmark process (never through the hub): how many objects
 * it holds, and at which resourceVersion it holds given objects. SQLite is opened read-only beside the hub
 * (WAL lets it read while the hub writes: a committed transaction is visible to the next read); PostgreSQL
 * and MySQL/MariaDB are read over one connection of their own.
 */
export interface ObjectKey {
  account: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface HeldVersion {
  resourceVersion: string;
  updatedAt: number;
}

export interface HubReader {
  readonly engine: 'sqlite' | 'postgres' | 'mysql';
  countObjects(): Promise<number>;
  /**
   * The resourceVersion the hub holds for each key and the row's updated_at (when the hub took up the
   * batch that wrote it, epoch ms), undefined when it holds none; in the keys' order.
   */
  resourceVersions(keys: readonly ObjectKey[]): Promise<Array<HeldVersion | undefined>>;
  close(): Promise<void>;
}

/** Keys per lookup statement on the server engines. */
const KEYS_PER_QUERY = 200;

export async function openHubReader(databaseUrl: string): Promise<HubReader> {
  if (databaseUrl.startsWith('sqlite:')) return sqliteReader(databaseUrl.slice('sqlite:'.length));
  if (/^postgres(ql)?:/.test(databaseUrl)) return postgresReader(databaseUrl);
  if (/^(mysql|mariadb):/.test(databaseUrl)) return mysqlReader(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  throw new Error(`no reader for database URL ${databaseUrl}`);
}

function sqliteReader(path: string): HubReader {
  let db: BetterSqlite3.Database | undefined;
  let lookupAll: ((keys: readonly ObjectKey[]) => Array<HeldVersion | undefined>) | undefined;
  const open = () => {
    if (db === undefined && existsSync(path)) {
      db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
      lookupAll = undefined;
    }
    return db;
  };
  return {
    engine: 'sqlite',
    async countObjects() {
      const d = open();
      if (!d) return 0;
      try {
        return (d.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
      } catch {
        return 0; // not migrated yet
      }
    },
    async resourceVersions(keys) {
      const d = open();
      if (!d) return keys.map(() => undefined);
      if (lookupAll === undefined) {
        const statement = d.prepare(
          'SELECT resource_version AS resourceVersion, updated_at AS updatedAt FROM objects WHERE account = ? AND api_group = ? AND kind = ? AND namespace = ? AND name = ?',
        );
        // One read transaction for all the keys of a tick: each lookup on its own would take and release
        // the write-ahead log's read lock, which cost more than the lookup.
        lookupAll = d.transaction((ks: readonly ObjectKey[]) =>
          ks.map((k) => statement.get(k.account, k.group, k.kind, k.namespace, k.name) as HeldVersion | undefined),
        );
      }
      return lookupAll(keys);
    },
    async close() {
      db?.close();
      db = undefined;
    },
  };
}

function keyString(k: ObjectKey): string {
  return `${k.account}\u0000${k.group}\u0000${k.kind}\u0000${k.namespace}\u0000${k.name}`;
}

async function postgresReader(url: string): Promise<HubReader> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  return {
    engine: 'postgres',
    async countObjects() {
      try {
        return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM objects')).rows[0]?.n ?? 0);
      } catch {
        return 0;
      }
    },
    async resourceVersions(keys) {
      const found = new Map<string, HeldVersion>();
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const part = keys.slice(i, i + KEYS_PER_QUERY);
        const params: string[] = [];
        const tuples = part.map((k) => {
          params.push(k.account, k.group, k.kind, k.namespace, k.name);
          const b = params.length - 4;
          return `($${b}, $${b + 1}, $${b + 2}, $${b + 3}, $${b + 4})`;
        });
        const result = await client.query<{
          account: string;
          api_group: string;
          kind: string;
          namespace: string;
          name: string;
          resource_version: string;
          updated_at: string;
        }>(
          `SELECT account, api_group, kind, namespace, name, resource_version, updated_at FROM objects WHERE (account, api_group, kind, namespace, name) IN (${tuples.join(', ')})`,
          params,
        );
        for (const r of result.rows)
          found.set(keyString({ account: r.account, group: r.api_group, kind: r.kind, namespace: r.namespace, name: r.name }), {
            resourceVersion: r.resource_version,
            updatedAt: Number(r.updated_at),
          });
      }
      return keys.map((k) => found.get(keyString(k)));
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}

async function mysqlReader(url: string): Promise<HubReader> {
  const connection: Connection = await createConnection(url);
  connection.on('error', () => {});
  return {
    engine: 'mysql',
    async countObjects() {
      try {
        const [rows] = await connection.query('SELECT count(*) AS n FROM objects');
        return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
      } catch {
        return 0;
      }
    },
    async resourceVersions(keys) {
      const found = new Map<string, HeldVersion>();
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const part = keys.slice(i, i + KEYS_PER_QUERY);
        const params: string[] = [];
        for (const k of part) params.push(k.account, k.group, k.kind, k.namespace, k.name);
        const [rows] = await connection.query(
          `SELECT account, api_group, kind, namespace, name, resource_version, updated_at FROM objects WHERE (account, api_group, kind, namespace, name) IN (${part.map(() => '(?, ?, ?, ?, ?)').join(', ')})`,
          params,
        );
        for (const r of rows as Array<{
          account: string;
          api_group: string;
          kind: string;
          namespace: string;
          name: string;
          resource_version: string;
          updated_at: number | string;
        }>) {
          found.set(keyString({ account: r.account, group: r.api_group, kind: r.kind, namespace: r.namespace, name: r.name }), {
            resourceVersion: r.resource_version,
            updatedAt: Number(r.updated_at),
          });
        }
      }
      return keys.map((k) => found.get(keyString(k)));
    },
    async close() {
      await connection.end().catch(() => {});
    },
  };
}
