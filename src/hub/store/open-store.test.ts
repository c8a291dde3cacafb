import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseConfig } from '../../common/config.ts';
import { isScaleAgentError } from '../../common/errors.ts';
import { createLogger, silentLogger, type Logger } from '../../common/logger.ts';
import { engineSkip, forEachEngine, serverAdminUrl } from '../../../test/support/databases.ts';
import { hubConfigSchema } from '../config.ts';
import { startHub } from '../hub.ts';
import { accountRecord } from './testing/fixtures.ts';
import { databaseUrlProblem, openStore, parseDatabaseUrl, redactDatabaseUrl } from './open-store.ts';

const SECRET = 'pa55-w0rd-never-logged';

function capturingLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => chunks.join('') };
}

describe('database URLs', () => {
  test('the supported forms', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:.scale-agent/hub.db'), { engine: 'sqlite', path: '.scale-agent/hub.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { engine: 'sqlite', path: ':memory:' });
    const pg = parseDatabaseUrl('postgres://hub:p%40ss@db.example:6432/scale?sslmode=require');
    assert.equal(pg.engine, 'postgres');
    assert.deepEqual(pg.engine === 'postgres' && { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database }, {
      host: 'db.example',
      port: 6432,
      user: 'hub',
      password: 'p@ss',
      database: 'scale',
    });
    assert.equal(parseDatabaseUrl('postgresql://hub@db/scale').engine, 'postgres');
    const pgDefault = parseDatabaseUrl('postgresql://db/scale');
    assert.equal(pgDefault.engine === 'postgres' && pgDefault.port, 5432);
    assert.deepEqual(parseDatabaseUrl('mysql://hub:secret@db.example/scale'), {
      engine: 'mysql',
      host: 'db.example',
      port: 3306,
      user: 'hub',
      password: 'secret',
      database: 'scale',
      ssl: false,
    });
    assert.deepEqual(parseDatabaseUrl('mariadb://hub@[::1]:3307/scale?ssl=true'), {
      engine: 'mysql',
      host: '::1',
      port: 3307,
      user: 'hub',
      password: '',
      database: 'scale',
      ssl: true,
    });
  });

  test('unsupported URLs fail with CONFIG_INVALID naming database.url, without the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['redis://u:' + SECRET + '@h/0', /unsupported database "redis:"/],
      ['hub.db', /not a database URL/],
      ['sqlite:', /sqlite: needs a file path/],
      ['postgres://u:' + SECRET + '@db.example', /name the database/],
      ['postgres:///scale', /name the server/],
      ['mysql://u:' + SECRET + '@db.example:3306/', /name the database/],
      ['mysql://u:' + SECRET + '@db.example/scale?charset=latin1', /unknown parameter "charset"/],
      ['mysql://u@db.example/scale?ssl=yes', /ssl must be true or false/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => parseDatabaseUrl(url),
        (err) => {
          assert.ok(isScaleAgentError(err, 'CONFIG_INVALID'), url);
          assert.match(err.message, /^database\.url: /);
          assert.match(err.message, message);
          assert.doesNotMatch(err.message + JSON.stringify(err.details), new RegExp(SECRET));
          return true;
        },
      );
      assert.match(databaseUrlProblem(url) ?? '', message);
    }
  });

  test('redaction hides the password and keeps the rest', () => {
    assert.equal(redactDatabaseUrl(`postgres://hub:${SECRET}@db:5432/scale?sslmode=require`), 'postgres://hub:***@db:5432/scale?sslmode=require');
    assert.equal(redactDatabaseUrl(`mysql://hub:${SECRET}@db/scale`), 'mysql://hub:***@db/scale');
    assert.equal(redactDatabaseUrl('mysql://hub@db/scale'), 'mysql://hub@db/scale');
    assert.equal(redactDatabaseUrl(`postgres://db/scale?password=${SECRET}`), 'postgres://db/scale?password=***');
    assert.equal(redactDatabaseUrl('sqlite:hub.db'), 'sqlite:hub.db');
  });

  test('the hub configuration checks database.url and defaults the pool', () => {
    const config = parseConfig(hubConfigSchema, {}, 'hub.yaml');
    assert.deepEqual(config.database, { url: 'sqlite:.scale-agent/hub.db', poolSize: 10, connectTimeoutMs: 10_000 });
    assert.equal(parseConfig(hubConfigSchema, { database: { url: 'postgres://h/db', poolSize: 3 } }, 'hub.yaml').database.poolSize, 3);
    assert.throws(
      () => parseConfig(hubConfigSchema, { database: { url: `oracle://u:${SECRET}@h/db` } }, 'hub.yaml'),
      (err) => isScaleAgentError(err, 'CONFIG_INVALID') && /database\.url: unsupported database "oracle:"/.test(err.message) && !err.message.includes(SECRET),
    );
    assert.throws(() => parseConfig(hubConfigSchema, { database: { poolSize: 0 } }, 'hub.yaml'), /database\.poolSize/);
  });
});

describe('openStore', () => {
  test('sqlite::memory: opens a private migrated database; the string form still works', async () => {
    const store = await openStore('sqlite::memory:', silentLogger());
    await store.upsertAccount(accountRecord('m'), 1);
    assert.equal((await store.getAccount('m'))?.name, 'm');
    await store.close();
    await store.close();
  });

  for (const [engine, url] of [
    ['PostgreSQL', `postgres://hub:${SECRET}@127.0.0.1:1/scale`],
    ['MySQL/MariaDB', `mysql://hub:${SECRET}@127.0.0.1:1/scale`],
  ] as const) {
    test(`an unreachable ${engine} server fails with STORE_UNAVAILABLE naming the host, not the password`, async () => {
      const { logger, text } = capturingLogger();
      await assert.rejects(openStore({ url, connectTimeoutMs: 2000 }, logger), (err) => {
        assert.ok(isScaleAgentError(err, 'STORE_UNAVAILABLE'), String(err));
        assert.match(
          err.message,
          new RegExp(`cannot connect to the ${engine.replace('/', '\\/')} database "scale" at 127\\.0\\.0\\.1:1 as user "hub": .*ECONNREFUSED`),
        );
        assert.equal(err.details.host, '127.0.0.1');
        assert.doesNotMatch(err.message + JSON.stringify(err.details) + String(err.stack), new RegExp(SECRET));
        return true;
      });
      assert.doesNotMatch(text(), new RegExp(SECRET));
    });
  }

  test('refused credentials fail with STORE_UNAVAILABLE without the password', { skip: engineSkip('mysql') }, async () => {
    const admin = serverAdminUrl('mysql');
    assert.ok(admin !== undefined, 'no MySQL/MariaDB server in this run (see the test databases line)');
    const server = new URL(admin);
    const address = `${server.hostname}:${server.port || 3306}`;
    await assert.rejects(openStore({ url: `mysql://sa_nobody:${SECRET}@${address}/scale`, connectTimeoutMs: 2000 }, silentLogger()), (err) => {
      assert.ok(isScaleAgentError(err, 'STORE_UNAVAILABLE'), String(err));
      assert.match(err.message, new RegExp(`at ${address.replaceAll('.', '\\.')} as user "sa_nobody": Access denied`));
      assert.doesNotMatch(err.message, new RegExp(SECRET));
      return true;
    });
  });
});

forEachEngine('hub start', (engine) => {
  test('the hub migrates its database at start and logs the URL without a password', async () => {
    // PostgreSQL's test server trusts local connections, so a password in the URL is accepted and ignored;
    // elsewhere the URL stays as the harness made it.
    let url = engine.url;
    if (engine.name === 'postgres') {
      const withPassword = new URL(url);
      withPassword.password = SECRET;
      url = withPassword.toString();
    }
    const { logger, text } = capturingLogger();
    const config = parseConfig(
      hubConfigSchema,
      { database: { url, poolSize: 2 }, server: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0, insecure: true, allowAnyIdentity: true } },
      'test',
    );
    const hub = await startHub(config, logger);
    try {
      assert.deepEqual(await hub.store.listAccounts(), []);
    } finally {
      await hub.close();
    }
    const logs = text();
    assert.match(logs, /"msg":"hub started"/);
    assert.match(logs, new RegExp(`"engine":"${engine.name}"`));
    assert.doesNotMatch(logs, new RegExp(SECRET));
    if (engine.name === 'postgres') assert.match(logs, /:\*\*\*@127\.0\.0\.1/);
  });
});
