import { Errors, ScaleAgentError } from '../common/errors.ts';
import type { KubeObject } from '../common/kube-object.ts';

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
 * Splits a byte stream into watch events. Lines may arrive split across any chunk boundary (even inside a
 * multi-byte character: splitting happens on the newline byte, which UTF-8 never uses inside a character).
 * `onChunk` is called for every chunk, e.g. to reset an idle timer; `decodeLine`, when given, reads each
 * line first.
 */
export async function* decodeWatchStream(
  chunks: AsyncIterable<Buffer | string>,
  onChunk?: () => void,
  decodeLine?: WatchLineDecoder,
): AsyncGenerator<WatchEvent> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const raw of chunks) {
    onChunk?.();
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const line = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece], pendingBytes + piece.length);
      pending = [];
      pendingBytes = 0;
      const event = lineEvent(line, decodeLine);
      if (event !== undefined) yield event;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_WATCH_LINE_BYTES) throw malformed(`line longer than ${MAX_WATCH_LINE_BYTES} bytes`, '');
      // Copy the tail so the rest of a large chunk is not kept alive while the line completes.
      pending.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
    }
  }
  if (pendingBytes > 0) {
    const event = lineEvent(Buffer.concat(pending, pendingBytes), decodeLine);
    if (event !== undefined) yield event;
  }
}

/** One line's event: `decodeLine`'s, else the line parsed whole; undefined for a blank line. */
function lineEvent(line: Buffer, decodeLine: WatchLineDecoder | undefined): WatchEvent | undefined {
  const event = decodeLine?.(line);
  if (event !== undefined) return event;
  const text = line.toString('utf8').trim();
  return text === '' ? undefined : parseWatchLine(text);
}
