// database.urlEnv and database.urlFile: the hub's database URL from a Secret (an environment variable set
// from a secretKeyRef, or a mounted file) instead of the configuration file.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../common/config.ts';
import { isScaleAgentError } from '../common/errors.ts';
import { DEFAULT_DATABASE_URL, hubConfigSchema } from './config.ts';

const SECRET = 'pa55-w0rd-from-a-secret';
const ENV = 'SCALE_AGENT_TEST_DATABASE_URL';

function parse(database: Record<string, unknown>) {
  return parseConfig(hubConfigSchema, { database }, 'hub.yaml').database;
}

function refused(database: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => parse(database),
    (err) => isScaleAgentError(err, 'CONFIG_INVALID') && pattern.test(err.message) && !err.message.includes(SECRET),
  );
}

describe('database URL from a Secret', () => {
  test('urlEnv reads the URL from the environment at start', () => {
    process.env[ENV] = ` postgres://hub:${SECRET}@db:5432/spinnaker\n`;
    try {
      assert.deepEqual(parse({ urlEnv: ENV, poolSize: 4 }), { url: `postgres://hub:${SECRET}@db:5432/spinnaker`, poolSize: 4, connectTimeoutMs: 10_000 });
    } finally {
      delete process.env[ENV];
    }
    refused({ urlEnv: ENV }, /database\.urlEnv: the environment variable SCALE_AGENT_TEST_DATABASE_URL is not set or empty/);
  });

  test('urlFile reads the URL from a file, trimmed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scale-agent-db-url-'));
    try {
      const file = join(dir, 'url');
      await writeFile(file, `mysql://hub:${SECRET}@mysql:3306/spinnaker\n`);
      assert.equal(parse({ urlFile: file }).url, `mysql://hub:${SECRET}@mysql:3306/spinnaker`);
      await writeFile(file, `oracle://hub:${SECRET}@db/x`);
      refused({ urlFile: file }, /database\.urlFile: unsupported database "oracle:"/);
      await writeFile(file, '\n');
      refused({ urlFile: file }, /database\.urlFile: .* is empty/);
      refused({ urlFile: join(dir, 'missing') }, /database\.urlFile: cannot read .*missing: ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('at most one of url, urlEnv and urlFile; none is the embedded default', () => {
    refused({ url: 'sqlite::memory:', urlEnv: ENV }, /database\.urlEnv: set only one of database\.url, database\.urlEnv/);
    assert.equal(parse({}).url, DEFAULT_DATABASE_URL);
    refused({ urlFiles: 'x' }, /database\.urlFiles: unknown key; did you mean "urlFile"\?/);
  });
});
