import { Errors, ScaleAgentError } from '../common/errors.ts';
import type { KubeObject } from '../common/kube-object.ts';
import { finished, type Readable } from 'node:stream';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One line of a watch stream. For ERROR the object is a Status. */
export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * The largest single watch line accepted. etcd caps objects near 1.5 MiB; a line far beyond that is a
 * broken stream, and buffering it without bound would let one bad server exhaust the agent's memory.
 */
export const MAX_WATCH_LINE_BYTES = 64 * 1024 * 1024;

/** Quoted in the error for a malformed line, enough to recognise it. */
const MALFORMED_EXCERPT_CHARS = 200;
const NEWLINE = 0x0a;

function malformed(why: string, line: string): ScaleAgentError {
  return new ScaleAgentError(Errors.KUBE_TRANSPORT_ERROR, `malformed watch event: ${why}`, {
    reason: 'MalformedWatchEvent',
    line: line.slice(0, MALFORMED_EXCERPT_CHARS),
  });
}

/** Parses one newline-delimited watch line; throws a typed KUBE_TRANSPORT_ERROR for anything that is not an event. */
export function parseWatchLine(text: string): WatchEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed('not JSON', text);
  }
  if (typeof value !== 'object' || value === null) throw malformed('not an object', text);
  const event = value as { type?: unknown; object?: unknown };
  if (typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) throw malformed(`unknown type ${String(event.type)}`, text);
  if (typeof event.object !== 'object' || event.object === null) throw malformed('no object', text);
  return event as WatchEvent;
}

/**
 * Reads one line's bytes as an event without parsing it whole (slim-list.ts), or returns undefined for a
 * line it does not take: that line is then parsed by parseWatchLine.
 */
export type WatchLineDecoder = (line: Buffer) => WatchEvent | undefined;

/**
 * Cuts a watch stream's bytes into lines and decodes each as it completes. Lines may arrive split across
 * any chunk boundary (even inside a multi-byte character: splitting happens on the newline byte, which
 * UTF-8 never uses inside a character). `decodeLine`, when given, reads each line first.
 */
export class WatchLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly decodeLine?: WatchLineDecoder) {}

  /** Hands every line `chunk` completes to `onEvent`, in order; throws for a malformed or oversized line. */
  push(chunk: Buffer, onEvent: (event: WatchEvent) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const line = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece], this.pendingBytes + piece.length);
      this.pending = [];
      this.pendingBytes = 0;
      const event = lineEvent(line, this.decodeLine);
      if (event !== undefined) onEvent(event);
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > MAX_WATCH_LINE_BYTES) throw malformed(`line longer than ${MAX_WATCH_LINE_BYTES} bytes`, '');
      // Copy the tail so the rest of a large chunk is not kept alive while the line completes.
      this.pending.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
    }
  }

  /** The stream ended: its last line, when it had no newline. */
  end(onEvent: (event: WatchEvent) => void): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const event = lineEvent(line, this.decodeLine);
    if (event !== undefined) onEvent(event);
  }
}

/**
 * Reads a watch stream to its end and hands each event to `onEvent` as its line completes, from the
 * stream's own data callback. Unlike a chain of async iterators (one pending next() per layer), a watch
 * waiting for its next event holds no per-event promise: only the one this returns.
 *
 * Resolves when the stream ends; rejects with the error `onEvent` throws (the stream is then paused and
 * left to the caller to destroy), with a malformed line's error, or with the stream's own error (a stream
 * destroyed before its end rejects with ERR_STREAM_PREMATURE_CLOSE, as its async iterator would throw).
 */
export function pumpWatchStream(
  body: Readable,
  onChunk: (() => void) | undefined,
  decodeLine: WatchLineDecoder | undefined,
  onEvent: (event: WatchEvent) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const splitter = new WatchLineSplitter(decodeLine);
    let settled = false;
    const stop = (): boolean => {
      if (settled) return false;
      settled = true;
      body.off('data', onData);
      stopWatching();
      return true;
    };
    const done = (): void => {
      if (stop()) resolve();
    };
    const fail = (error: unknown): void => {
      if (!stop()) return;
      // The caller destroys the stream; until then an error it emits must not go unheard.
      body.on('error', ignoreLateError);
      body.pause();
      reject(error);
    };
    // A consumer that ended the watch mid-chunk (a reflector stopped, its request aborted) gets none of
    // the chunk's remaining lines.
    const deliver = (event: WatchEvent): void => {
      if (!settled && !body.destroyed) onEvent(event);
    };
    const onData = (raw: Buffer | string): void => {
      if (settled) return;
      onChunk?.();
      try {
        splitter.push(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw, deliver);
      } catch (error) {
        fail(error);
      }
    };
    const stopWatching = finished(body, { writable: false }, (err) => {
      if (err) return fail(err);
      try {
        // The stream has ended (and may be destroyed already): its last line still counts.
        splitter.end(onEvent);
      } catch (error) {
        return fail(error);
      }
      done();
    });
    body.on('data', onData);
  });
}

function ignoreLateError(): void {}

/** One line's event: `decodeLine`'s, else the line parsed whole; undefined for a blank line. */
function lineEvent(line: Buffer, decodeLine: WatchLineDecoder | undefined): WatchEvent | undefined {
  const event = decodeLine?.(line);
  if (event !== undefined) return event;
  const text = line.toString('utf8').trim();
  return text === '' ? undefined : parseWatchLine(text);
}
