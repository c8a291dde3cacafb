// A statement handed to a pooled connection that had already broken never reached the server: the real
// drivers' errors for it are recognised (and nothing else is), and guard() sends such a statement again
// instead of failing the call with STORE_ERROR. Found by the HA chaos test: right after a cut of the
// database connections, replicas answered REST requests with 500 until their pools noticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, SqliteDialect } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { silentLogger } from '../../common/logger.ts';
import { engineSkip, serverAdminUrl } from '../../../test/support/databases.ts';
import { mysqlDialect, postgresDialect, sqliteDialect } from './dialect.ts';
import type { Database } from './schema.ts';
import { SqlContext } from './sql-context.ts';

/** The error node-postgres gives for a query on a client whose backend was terminated. */
async function postgresUnsentError(): Promise<Error> {
  const client = new pg.Client({ connectionString: serverAdminUrl('postgres') });
  client.on('error', () => undefined);
  await client.connect();
  const killer = new pg.Client({ connectionString: serverAdminUrl('postgres') });
  await killer.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  // Not events.once: the termination also comes as an 'error' event, which would reject it.
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  await killer.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
  await killer.end();
  await ended;
  return client.query('select 1').then(
    () => assert.fail('the query on a dead client succeeded'),
    (err: Error) => err,
  );
}

test('node-postgres: a query on a client whose connection already broke is unsent; a terminated query is not', { skip: engineSkip('postgres') }, async () => {
  const err = await postgresUnsentError();
  assert.equal(postgresDialect.isUnsent(err), true, err.message);
  assert.equal(postgresDialect.isUnsent(new Error('Connection terminated unexpectedly')), false, 'it may have run');
  assert.equal(postgresDialect.isUnsent(Object.assign(new Error('deadlock detected'), { code: '40P01' })), false);
});

test('mysql2: a command on a closed connection is unsent', { skip: engineSkip('mysql') }, async () => {
  const connection = await createConnection(serverAdminUrl('mysql')!);
  connection.on('error', () => undefined);
  connection.destroy();
  const err = await connection.query('select 1').then(
    () => assert.fail('the query on a closed connection succeeded'),
    (e: Error) => e,
  );
  assert.equal(mysqlDialect.isUnsent(err), true, err.message);
  assert.equal(mysqlDialect.isUnsent(new Error('read ECONNRESET')), false, 'it may have run');
  assert.equal(sqliteDialect.isUnsent(err), false);
});

test('guard() sends an unsent statement again, and fails at once on one that may have run or on a transaction', { skip: engineSkip('postgres') }, async () => {
  const unsent = await postgresUnsentError();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  try {
    const context = new SqlContext(db, postgresDialect, silentLogger());
    let calls = 0;
    const answer = await context.guard('probe', async () => {
      calls++;
      if (calls === 1) throw unsent;
      return 'answered';
    });
    assert.deepEqual([answer, calls], ['answered', 2]);

    calls = 0;
    await assert.rejects(
      context.guard('probe', async () => {
        calls++;
        throw new Error('Connection terminated unexpectedly');
      }),
      { code: 'STORE_ERROR' },
    );
    assert.equal(calls, 1);

    // A transaction is not sent again: its "not queryable" may be the ROLLBACK after a COMMIT whose
    // connection broke, which hides whether the COMMIT took effect.
    calls = 0;
    await assert.rejects(
      context.guard(
        'probe',
        async () => {
          calls++;
          throw unsent;
        },
        { transaction: true },
      ),
      { code: 'STORE_ERROR' },
    );
    assert.equal(calls, 1);
  } finally {
    await db.destroy();
  }
});
