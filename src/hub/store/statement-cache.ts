import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept prepared: the store issues a few dozen shapes; chunk tails add some more. */
const DEFAULT_CAPACITY = 256;

/**
 * better-sqlite3 behind Kysely prepares every statement anew; preparing a 7000-parameter upsert costs
 * more than running it. This keeps the most recently used prepared statements by SQL text.
 */
export function cachingSqliteDatabase(database: BetterSqlite3.Database, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit) {
        // Map keeps insertion order: re-inserting marks the statement most recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const statement = database.prepare(sql) as unknown as SqliteStatement;
      cache.set(sql, statement);
      if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      return statement;
    },
  };
}
