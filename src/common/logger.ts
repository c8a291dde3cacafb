import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { Writable } from 'node:stream';

export type Logger = PinoLogger;
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  level?: LevelWithSilent;
  format?: LogFormat;
  /** Fixed fields on every line (the part: sim, hub, agent). */
  base?: Record<string, unknown>;
  destination?: NodeJS.WritableStream;
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

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  const out = options.destination ?? process.stdout;
  const stream = options.format === 'text' ? textStream(out) : out;
  return pino(
    { level, base: options.base ?? null, timestamp: pino.stdTimeFunctions.epochTime },
    stream as NodeJS.WritableStream & { write: (s: string) => boolean },
  );
}

/** A logger that discards everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
