/**
 * Plain SQL on a hub's database from a test, on any engine, behind the hub's back: to read what it holds
 * and to corrupt it on purpose (anti-entropy tests). Statements use `?` placeholders; PostgreSQL gets
 * them numbered.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';

export interface HubSql {
  query<T = Record<string, unknown>>(statement: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openHubSql(url: string): Promise<HubSql> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return {
      query: async <T>(statement: string, params: unknown[] = []) => {
        const prepared = db.prepare(statement);
        return (prepared.reader ? prepared.all(...params) : (prepared.run(...params), [])) as T[];
      },
      close: async () => {
        db.close();
      },
    };
  }
  if (url.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      query: async <T>(statement: string, params: unknown[] = []) => {
        let n = 0;
        return (
          await client.query(
            statement.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as T[];
      },
      close: () => client.end(),
    };
  }
  const parsed = new URL(url);
  const connection = await createConnection({
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1),
  });
  return {
    query: async <T>(statement: string, params: unknown[] = []) => {
      const [rows] = await connection.query(statement, params);
      return (Array.isArray(rows) ? rows : []) as T[];
    },
    close: () => connection.end(),
  };
}
