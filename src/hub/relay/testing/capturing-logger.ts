import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../common/logger.ts';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps what it is told (debug and up), so that a test can wait for a message. */
export function capturingLogger(): { logger: Logger; lines: LogLine[]; has: (text: string) => boolean } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.length > 0) lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines, has: (text) => lines.some((l) => l.msg.includes(text)) };
}
