import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { parseConfig } from './config.ts';
import { isScaleAgentError } from './errors.ts';
import { createLogger, createLoggerFromConfig } from './logger.ts';
import { loggingSchema, resolveLogFields } from './logging-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'scale-agent-logger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const logging = (values: Record<string, unknown>) => parseConfig(loggingSchema, values, 'logging');

test('logging.file: lines go to the file (its directory created), not to the console', () => {
  const file = join(dir, 'nested', 'agent.log');
  const console = capture();
  const logger = createLoggerFromConfig(logging({ file }), { part: 'agent' }, console.stream);
  logger.info({ account: 'prod' }, 'to the file');
  const line = JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
  assert.equal(line.msg, 'to the file');
  assert.equal(line.part, 'agent');
  assert.deepEqual(console.lines(), []);
});

test('logging.multiWrite: the file and the console both get every line, in the chosen format', () => {
  const file = join(dir, 'both.log');
  const console = capture();
  const logger = createLoggerFromConfig(logging({ file, multiWrite: true, format: 'text' }), { part: 'agent' }, console.stream);
  logger.warn('twice');
  assert.match(readFileSync(file, 'utf8'), /WARN +twice/);
  assert.match(console.lines()[0]!, /WARN +twice/);
  assert.throws(() => logging({ multiWrite: true }), /\n {2}multiWrite: multiWrite needs file/);
});

test('logging.fields: fixed key/values on every line; an empty agentNamespace is the pod namespace', () => {
  const console = capture();
  const config = logging({ fields: { agentCluster: 'prod-eu', team: 'platform', empty: '' } });
  const logger = createLoggerFromConfig(config, { part: 'agent' }, console.stream);
  logger.info('one');
  logger.info({ account: 'a' }, 'two');
  for (const line of console.lines().map((l) => JSON.parse(l) as Record<string, unknown>)) {
    assert.equal(line.agentCluster, 'prod-eu');
    assert.equal(line.team, 'platform');
    assert.equal('empty' in line, false);
  }
  assert.deepEqual(resolveLogFields({ agentNamespace: '', agentCluster: '' }, { POD_NAMESPACE: 'spinnaker' }), { agentNamespace: 'spinnaker' });
  assert.deepEqual(
    resolveLogFields({ agentNamespace: '' }, {}, () => 'from-token-dir'),
    { agentNamespace: 'from-token-dir' },
  );
  assert.deepEqual(
    resolveLogFields({ agentNamespace: '' }, {}, () => undefined),
    {},
  );
});

test('a log file that cannot be opened stops the start, naming logging.file', () => {
  const notADirectory = join(dir, 'plain-file');
  writeFileSync(notADirectory, '');
  assert.throws(
    () => createLogger({ file: join(notADirectory, 'agent.log') }),
    (err: unknown) => isScaleAgentError(err, 'CONFIG_INVALID') && /logging\.file: cannot open/.test(err.message),
  );
});

test("without a level, LOG_LEVEL decides, in any case and by Armory's names", () => {
  const saved = process.env.LOG_LEVEL;
  try {
    process.env.LOG_LEVEL = 'WARNING';
    assert.equal(createLogger({ destination: capture().stream }).level, 'warn');
    process.env.LOG_LEVEL = 'panic';
    assert.equal(createLogger({ destination: capture().stream }).level, 'fatal');
    assert.equal(createLogger({ level: 'debug', destination: capture().stream }).level, 'debug', 'an explicit level wins');
  } finally {
    if (saved === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = saved;
  }
});
