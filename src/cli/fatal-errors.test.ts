import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { exitOnFatalError, FATAL_EXIT_CODE, type FatalErrorOutput } from './fatal-errors.ts';

const PINO_FATAL_LEVEL = 60;

function recordingOutput(withLogger: boolean) {
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const exits: number[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const out: FatalErrorOutput = {
    ...(withLogger ? { logger: createLogger({ destination }) } : {}),
    stderr: (text) => stderr.push(text),
    exit: (code) => exits.push(code),
  };
  return { out, logs, stderr, exits };
}

test("with the part's logger, an unhandled error is one fatal log line, and the process exits with FATAL_EXIT_CODE", () => {
  const { out, logs, stderr, exits } = recordingOutput(true);
  exitOnFatalError('unhandled promise rejection', new ScaleAgentError(Errors.STORE_ERROR, 'store resumePoints failed: connection lost'), out);
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.level, PINO_FATAL_LEVEL);
  assert.equal(logs[0]!.msg, 'unhandled promise rejection; exiting');
  assert.equal(logs[0]!.code, Errors.STORE_ERROR.code);
  assert.equal(logs[0]!.err, 'store resumePoints failed: connection lost');
  assert.match(String(logs[0]!.stack), /ScaleAgentError/);
  assert.deepEqual(stderr, []);
  assert.deepEqual(exits, [FATAL_EXIT_CODE]);
});

test('before there is a logger, the line goes to stderr; anything thrown that is not ours is INTERNAL_ERROR', () => {
  const { out, stderr, exits } = recordingOutput(false);
  exitOnFatalError('uncaught exception', 'a string, not an Error', out);
  assert.equal(stderr.join('').split('\n')[0], `scale-agent: fatal: ${Errors.INTERNAL_ERROR.code}: uncaught exception; exiting: a string, not an Error`);
  assert.deepEqual(exits, [FATAL_EXIT_CODE]);
});

test("the CLI's handlers end a process whose promise rejects unhandled with the fatal line and FATAL_EXIT_CODE", async () => {
  const module = new URL('./fatal-errors.ts', import.meta.url).href;
  const script = `const { installFatalErrorHandlers } = await import(${JSON.stringify(module)}); installFatalErrorHandlers(); Promise.reject(new Error('nobody handles this')); setTimeout(() => process.stdout.write('still running'), 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, FATAL_EXIT_CODE, stderr);
  assert.equal(stderr.split('\n')[0], `scale-agent: fatal: ${Errors.INTERNAL_ERROR.code}: unhandled promise rejection; exiting: nobody handles this`);
  assert.equal(stdout, '');
});
