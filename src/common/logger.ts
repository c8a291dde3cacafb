import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { Writable } from 'node:stream';
import { Errors, ScaleAgentError } from './errors.ts';
import { logLevelFromEnvironment, resolveLogFields, type LoggingConfig } from './logging-config.ts';

export type Logger = PinoLogger;
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  /** Default: the LOG_LEVEL environment variable (any case, Armory's names too), else info. */
  level?: LevelWithSilent;
  format?: LogFormat;
  /** Fixed fields on every line (the part: sim, hub, agent; `logging.fields`). */
  base?: Record<string, unknown>;
  /** Where lines go instead of stdout (with `file`: only with multiWrite). */
  destination?: NodeJS.WritableStream;
  /** Append to this file (created with its directory) instead of stdout. */
  file?: string;
  /** With `file`: stdout as well. */
  multiWrite?: boolean;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const TEXT_SKIPPED_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'part']);

/** Renders one pino JSON line as `2024-01-01T00:00:00.000Z INFO message key=value ...`. */
export function formatTextLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : '';
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([key]) => !TEXT_SKIPPED_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, level.padEnd(5), String(record.msg ?? ''), ...fields].join(' ');
}

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length > 0) out.write(formatTextLine(line) + '\n');
      }
      callback();
    },
  });
}

/** Every line to each of the outputs (logging.multiWrite: stdout and the file). */
function teeStream(outputs: NodeJS.WritableStream[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      for (const out of outputs) out.write(chunk);
      callback();
    },
  });
}

/**
 * The log file, opened now (synchronously, so that a path that cannot be written stops the start with
 * a message naming the key) and written synchronously: the last lines before an exit are not lost.
 */
function fileStream(path: string): NodeJS.WritableStream {
  try {
    return pino.destination({ dest: path, mkdir: true, append: true, sync: true }) as unknown as NodeJS.WritableStream;
  } catch (err) {
    throw new ScaleAgentError(Errors.CONFIG_INVALID, `invalid configuration: logging.file: cannot open ${path}: ${(err as Error).message}`, {
      problems: [`logging.file: cannot open ${path}: ${(err as Error).message}`],
    });
  }
}

/** `destination` (default stdout), or the file, or both with multiWrite. */
function outputOf(options: LoggerOptions): NodeJS.WritableStream {
  const console = options.destination ?? process.stdout;
  if (options.file === undefined) return console;
  const file = fileStream(options.file);
  return options.multiWrite ? teeStream([console, file]) : file;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? logLevelFromEnvironment() ?? 'info';
  const out = outputOf(options);
  const stream = options.format === 'text' ? textStream(out) : out;
  return pino(
    { level, base: options.base ?? null, timestamp: pino.stdTimeFunctions.epochTime },
    stream as NodeJS.WritableStream & { write: (s: string) => boolean },
  );
}

/**
 * A part's logger from its `logging` section: level, format, file (and stdout with multiWrite), and
 * `logging.fields` on every line next to the part's own fields (which win on a clash).
 */
export function createLoggerFromConfig(logging: LoggingConfig, base: Record<string, unknown>, destination?: NodeJS.WritableStream): Logger {
  return createLogger({
    level: logging.level,
    format: logging.format,
    base: { ...resolveLogFields(logging.fields), ...base },
    ...(logging.file === undefined ? {} : { file: logging.file, multiWrite: logging.multiWrite }),
    ...(destination === undefined ? {} : { destination }),
  });
}

/** A logger that discards everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
