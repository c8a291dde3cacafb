/**
 * Wire helpers for the security tests: a seeded PRNG, gRPC length-prefixed framing written by hand (so
 * a test can send what the typed client never would), and a reader of recorded HTTP/2 connections that
 * reassembles each stream's DATA into gRPC messages (so a test can look inside every frame, whatever
 * the HTTP/2 framing split).
 */

export const SESSION_PATH = '/scaleagent.v1.AgentHub/Session';
export const SYNC_PATH = '/scaleagent.v1.AgentHub/Sync';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A copy with a few bytes flipped, dropped, duplicated or inserted. */
  mutate(input: Uint8Array): Buffer {
    let buf = Buffer.from(input);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = buf.length === 0 ? 0 : this.int(buf.length);
      switch (this.int(5)) {
        case 0:
          if (buf.length > 0) buf[at] = buf[at]! ^ (1 << this.int(8));
          break;
        case 1:
          if (buf.length > 0) buf[at] = this.int(256);
          break;
        case 2:
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + this.int(8))]);
          break;
        case 3:
          buf = Buffer.concat([buf.subarray(0, at), this.bytes(1 + this.int(8)), buf.subarray(at)]);
          break;
        default:
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + 1 + this.int(16)), buf.subarray(at)]);
      }
    }
    return buf;
  }
}

/** A seed from the environment (to replay a failure) or a fresh one. */
export function seedFrom(envVar: string): number {
  const given = process.env[envVar];
  if (given !== undefined && given !== '') return Number.parseInt(given, 10) >>> 0;
  return (Date.now() ^ (process.pid << 8)) >>> 0 || 1;
}

/**
 * An AgentMessage holding a hello of `count` empty AccountInfo entries (two bytes each on the wire), as
 * wire bytes: what once cost the hub seconds of CPU and hundreds of MB to decode.
 */
export function helloOfEmptyAccounts(count: number): Buffer {
  const helloLength = count * 2;
  const prefix: number[] = [0x0a]; // field 1 (hello), length-delimited
  for (let n = helloLength; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      prefix.push(n);
      break;
    }
    prefix.push((n % 128) | 0x80);
  }
  const bytes = Buffer.alloc(prefix.length + helloLength);
  bytes.set(prefix, 0);
  for (let i = prefix.length; i < bytes.length; i += 2) bytes[i] = 0x22; // field 4 (accounts), length 0
  return bytes;
}

/**
 * One gRPC length-prefixed message: a compressed flag, a 4-byte big-endian length, the payload.
 * `declaredLength` lies about the length (truncated or oversized frames).
 */
export function grpcFrame(payload: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head[0] = options.compressed ? 1 : 0;
  head.writeUInt32BE(options.declaredLength ?? payload.length, 1);
  return Buffer.concat([head, Buffer.from(payload)]);
}

export interface Http2Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

/**
 * Splits one direction of one recorded HTTP/2 connection into frames. `complete` is false when the
 * bytes end inside a frame (a connection cut mid-frame) or do not look like HTTP/2 at all.
 */
export function parseHttp2(bytes: Buffer): { frames: Http2Frame[]; complete: boolean } {
  let at = bytes.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE) ? CLIENT_PREFACE.length : 0;
  const frames: Http2Frame[] = [];
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    const type = bytes[at + 3]!;
    const flags = bytes[at + 4]!;
    const streamId = bytes.readUInt32BE(at + 5) & 0x7fffffff;
    if (type > 0x20 || at + 9 + length > bytes.length) return { frames, complete: false };
    frames.push({ type, flags, streamId, payload: bytes.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return { frames, complete: at === bytes.length };
}

/** The content of a DATA frame without its padding. */
function dataContent(frame: Http2Frame): Buffer {
  if ((frame.flags & FLAG_PADDED) === 0) return frame.payload;
  const pad = frame.payload[0] ?? 0;
  return frame.payload.subarray(1, frame.payload.length - pad);
}

/** The header block fragment of a HEADERS frame (HPACK-encoded), without padding and priority. */
export function headerBlock(frame: Http2Frame): Buffer {
  let start = 0;
  let end = frame.payload.length;
  if (frame.flags & FLAG_PADDED) {
    end -= frame.payload[0] ?? 0;
    start = 1;
  }
  if (frame.flags & FLAG_PRIORITY) start += 5;
  return frame.payload.subarray(start, end);
}

export interface GrpcMessage {
  streamId: number;
  compressed: boolean;
  payload: Buffer;
}

/** Every gRPC message of every stream of one direction of a connection (DATA reassembled per stream). */
export function grpcMessages(frames: readonly Http2Frame[]): { messages: GrpcMessage[]; leftovers: number } {
  const byStream = new Map<number, Buffer[]>();
  for (const frame of frames) {
    if (frame.type !== FRAME_DATA) continue;
    const list = byStream.get(frame.streamId) ?? [];
    list.push(dataContent(frame));
    byStream.set(frame.streamId, list);
  }
  const messages: GrpcMessage[] = [];
  let leftovers = 0;
  for (const [streamId, chunks] of byStream) {
    const data = Buffer.concat(chunks);
    let at = 0;
    while (at + 5 <= data.length) {
      const length = data.readUInt32BE(at + 1);
      if (at + 5 + length > data.length) break;
      messages.push({ streamId, compressed: data[at] === 1, payload: data.subarray(at + 5, at + 5 + length) });
      at += 5 + length;
    }
    leftovers += data.length - at;
  }
  return { messages, leftovers };
}

export function isHeaders(frame: Http2Frame): boolean {
  return frame.type === FRAME_HEADERS;
}
