import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { hubConfigSchema } from '../hub/config.ts';
import { loadConfigFile, validateConfig } from './config.ts';
import { didYouMean, editDistance } from './did-you-mean.ts';
import { isScaleAgentError } from './errors.ts';
import { knownKeysAt } from './schema-keys.ts';

test('did you mean: the same key in another case first, else the nearest within a few edits', () => {
  assert.equal(didYouMean('kubeConfigFile', ['kubeconfigFile', 'kubeconfigContents']), 'kubeconfigFile');
  assert.equal(didYouMean('namespace', ['namespaces', 'omitNamespaces', 'name']), 'namespaces');
  assert.equal(didYouMean('clouddrivr', ['clouddriver', 'kubernetes']), 'clouddriver');
  assert.equal(didYouMean('prot', ['port', 'host']), 'port', 'two letters swapped are one edit');
  assert.equal(didYouMean('scrape', ['enabled', 'port']), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('the keys known at a path are read through defaults, pipes, arrays, records and unions', () => {
  const schema = z
    .object({
      list: z
        .array(
          z
            .object({ a: z.string(), b: z.number() })
            .strict()
            .transform((x) => x),
        )
        .default([]),
      either: z.union([z.object({ x: z.string() }), z.object({ y: z.string() })]).optional(),
      map: z.record(z.string(), z.object({ v: z.string() })).prefault({}),
    })
    .strict();
  assert.deepEqual(knownKeysAt(schema, []).sort(), ['either', 'list', 'map']);
  assert.deepEqual(knownKeysAt(schema, ['list', 3]).sort(), ['a', 'b']);
  assert.deepEqual(knownKeysAt(schema, ['either']).sort(), ['x', 'y']);
  assert.deepEqual(knownKeysAt(schema, ['map', 'anything']), ['v']);
  assert.deepEqual(knownKeysAt(schema, ['nowhere']), []);
});

test("the hub's configuration gets the same unknown-key messages", () => {
  const result = validateConfig(hubConfigSchema, { grpc: { prot: 9091 }, databse: {} });
  assert.equal(result.success, false);
  assert.deepEqual(result.success ? [] : result.problems.sort(), [
    'databse: unknown key; did you mean "database"?',
    'grpc.prot: unknown key; did you mean "port"?',
  ]);
});

test("LOG_LEVEL wins over a hub file's logging.level, in any case", () => {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-config-'));
  try {
    const path = join(dir, 'hub.yaml');
    writeFileSync(path, 'logging:\n  level: INFO\n');
    assert.equal(loadConfigFile(hubConfigSchema, path, {}, {}).logging.level, 'info');
    assert.equal(loadConfigFile(hubConfigSchema, path, {}, { LOG_LEVEL: 'Debug' }).logging.level, 'debug');
    assert.throws(
      () => loadConfigFile(hubConfigSchema, path, {}, { LOG_LEVEL: 'chatty' }),
      (err: unknown) => isScaleAgentError(err, 'CONFIG_INVALID') && /LOG_LEVEL: unknown log level "chatty"/.test(err.message),
    );
    // A schema without logging ignores the variable.
    assert.deepEqual(loadConfigFile(z.object({ a: z.number().default(1) }).strict(), undefined, {}, { LOG_LEVEL: 'debug' }), { a: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
