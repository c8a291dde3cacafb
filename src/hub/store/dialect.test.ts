import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Dialect,
} from 'kysely';
import { mysqlDialect, postgresDialect, rowsPerStatement, sqliteDialect, type SqlDialect } from './dialect.ts';
import type { Database } from './schema.ts';

function compiler(kind: 'sqlite' | 'postgres' | 'mysql'): Kysely<Database> {
  const parts = {
    sqlite: [SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler],
    postgres: [PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler],
    mysql: [MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler],
  } as const;
  const [Adapter, Introspector, Compiler] = parts[kind];
  const dialect: Dialect = {
    createAdapter: () => new Adapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new Introspector(db),
    createQueryCompiler: () => new Compiler(),
  };
  return new Kysely<Database>({ dialect });
}

function upsertSql(kind: 'sqlite' | 'postgres' | 'mysql', dialect: SqlDialect): string {
  const db = compiler(kind);
  const insert = db.insertInto('feeds').values({
    account: 'a',
    api_group: '',
    kind: 'Pod',
    namespace: '',
    version: 'v1',
    resource: 'pods',
    namespaced: 1,
    resume_rv: '',
    epoch: 0,
    snapshot_id: '',
    updated_at: 0,
  });
  return dialect.upsert(insert, ['account', 'api_group', 'kind', 'namespace'], ['resume_rv', 'epoch']).compile().sql;
}

test('upsert SQL per dialect', () => {
  assert.match(
    upsertSql('sqlite', sqliteDialect),
    /on conflict \("account", "api_group", "kind", "namespace"\) do update set "resume_rv" = "excluded"\."resume_rv", "epoch" = "excluded"\."epoch"$/,
  );
  assert.match(
    upsertSql('postgres', postgresDialect),
    /on conflict \("account", "api_group", "kind", "namespace"\) do update set "resume_rv" = "excluded"\."resume_rv"/,
  );
  assert.match(upsertSql('mysql', mysqlDialect), /on duplicate key update `resume_rv` = values\(`resume_rv`\), `epoch` = values\(`epoch`\)$/);
});

test('MySQL keeps the objects primary key within the 3072-byte index limit', () => {
  const db = compiler('mysql');
  const sql = db.schema.createTable('t').addColumn('g', mysqlDialect.key(253, 'ascii')).addColumn('n', mysqlDialect.key(253)).compile().sql;
  assert.match(sql, /`g` varchar\(253\) character set ascii collate ascii_bin, `n` varchar\(253\) character set utf8mb4 collate utf8mb4_bin/);
  const UTF8MB4 = 4;
  const bytes = 253 * UTF8MB4 + 253 + 100 + 63 + 253 * UTF8MB4;
  assert.ok(bytes <= 3072);
});

test('rowsPerStatement stays under the parameter budget', () => {
  assert.equal(rowsPerStatement(14), 500);
  assert.equal(rowsPerStatement(100), 80);
  assert.equal(rowsPerStatement(100_000), 1);
});

test('key columns compare byte by byte whatever the server defaults', () => {
  const pg = compiler('postgres').schema.createTable('t').addColumn('k', postgresDialect.key(63)).addColumn('b', postgresDialect.text).compile().sql;
  assert.equal(pg, 'create table "t" ("k" varchar(63) collate "C", "b" text)');
  const mysqlTable = compiler('mysql').schema.createTable('t').addColumn('b', mysqlDialect.text).modifyEnd(mysqlDialect.tableOptions!).compile().sql;
  assert.equal(
    mysqlTable,
    'create table `t` (`b` longtext character set utf8mb4 collate utf8mb4_bin) engine = InnoDB default character set utf8mb4 collate utf8mb4_bin',
  );
  assert.equal(compiler('sqlite').schema.createTable('t').addColumn('k', sqliteDialect.key(63)).compile().sql, 'create table "t" ("k" varchar(63))');
});

test('transient errors: deadlocks and serialization failures are retried, other errors are not', () => {
  assert.equal(postgresDialect.isTransient(Object.assign(new Error('deadlock detected'), { code: '40P01' })), true);
  assert.equal(postgresDialect.isTransient(Object.assign(new Error('could not serialize access'), { code: '40001' })), true);
  assert.equal(postgresDialect.isTransient(Object.assign(new Error('duplicate key'), { code: '23505' })), false);
  assert.equal(mysqlDialect.isTransient(Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 })), true);
  assert.equal(mysqlDialect.isTransient(Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY', errno: 1062 })), false);
  assert.equal(sqliteDialect.isTransient(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), true);
  assert.equal(sqliteDialect.isTransient(new Error('no such table')), false);
});
