import { isUtf8 } from 'node:buffer';
import { Errors, ScaleAgentError } from '../common/errors.ts';

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

const FIXED64_BYTES = 8;
const FIXED32_BYTES = 4;
const REPLACEMENT_CHARACTER = '\uFFFD';
/** A varint is at most ten bytes (64 bits in 7-bit groups). */
const MAX_VARINT_BYTES = 10;

/**
 * Reads protobuf wire format from one buffer, for the hand-written decoders of the hot messages
 * (sync-request-decoder.ts). Every read is bounds-checked against the end of the enclosing message: a
 * truncated or malformed frame throws PROTOCOL_VIOLATION with the offset, never reads past it.
 */
export class WireReader {
  pos: number;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  get length(): number {
    return this.buf.length;
  }

  fail(message: string): never {
    throw new ScaleAgentError(Errors.PROTOCOL_VIOLATION, `malformed protobuf message: ${message}`, { offset: this.pos });
  }

  private byte(end: number): number {
    if (this.pos >= end) this.fail('a varint runs past the end of its message');
    return this.buf[this.pos++]!;
  }

  /** A varint as uint32 (its low 32 bits, as protobuf does for uint32 fields and tags). */
  uint32(end: number): number {
    let b = this.byte(end);
    if (b < 0x80) return b;
    let result = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      b = this.byte(end);
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    // Bits beyond 32 are dropped; the varint must still end within ten bytes.
    for (let i = 5; i < MAX_VARINT_BYTES; i++) if (this.byte(end) < 0x80) return result >>> 0;
    return this.fail('a varint is longer than ten bytes');
  }

  /** A varint as uint64. */
  uint64(end: number): bigint {
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte(end);
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return BigInt(lo >>> 0);
    }
    b = this.byte(end);
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) this.fail('a varint is longer than ten bytes');
        b = this.byte(end);
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  bool(end: number): boolean {
    let b = this.byte(end);
    let nonZero = (b & 0x7f) !== 0;
    for (let i = 1; b >= 0x80; i++) {
      if (i >= MAX_VARINT_BYTES) this.fail('a varint is longer than ten bytes');
      b = this.byte(end);
      if ((b & 0x7f) !== 0) nonZero = true;
    }
    return nonZero;
  }

  /** Reads a length prefix and returns where the length-delimited value ends. */
  delimitedEnd(end: number): number {
    const length = this.uint32(end);
    const valueEnd = this.pos + length;
    if (valueEnd > end) this.fail(`a length-delimited value of ${length} bytes runs past the end of its message`);
    return valueEnd;
  }

  /**
   * A string value, which proto3 requires to be UTF-8: other bytes are refused, as protobuf-es refuses
   * them, rather than decoded into replacement characters.
   */
  string(end: number): string {
    const valueEnd = this.delimitedEnd(end);
    const text = this.buf.toString('utf8', this.pos, valueEnd);
    // Invalid bytes decode to U+FFFD; only then is the slice checked (a real U+FFFD is valid).
    if (text.includes(REPLACEMENT_CHARACTER) && !isUtf8(this.buf.subarray(this.pos, valueEnd))) this.fail('a string field holds bytes that are not UTF-8');
    this.pos = valueEnd;
    return text;
  }

  /** A bytes value: a view into the message's buffer, not a copy (as protobuf-es returns it). */
  bytes(end: number): Uint8Array {
    const valueEnd = this.delimitedEnd(end);
    const view = this.buf.subarray(this.pos, valueEnd);
    this.pos = valueEnd;
    return view;
  }

  /** Skips the value of a field this decoder does not know (a newer peer's), as protobuf requires. */
  skip(wireType: number, fieldNo: number, end: number): void {
    switch (wireType) {
      case WireType.varint:
        for (let i = 0; this.byte(end) >= 0x80; i++) if (i + 1 >= MAX_VARINT_BYTES) this.fail('a varint is longer than ten bytes');
        return;
      case WireType.fixed64:
        this.advance(FIXED64_BYTES, end);
        return;
      case WireType.fixed32:
        this.advance(FIXED32_BYTES, end);
        return;
      case WireType.lengthDelimited:
        this.pos = this.delimitedEnd(end);
        return;
      case WireType.startGroup:
        for (;;) {
          const tag = this.uint32(end);
          if ((tag & 7) === WireType.endGroup) {
            if (tag >>> 3 !== fieldNo) this.fail(`group ${fieldNo} ends with the end of group ${tag >>> 3}`);
            return;
          }
          this.skip(tag & 7, tag >>> 3, end);
        }
      default:
        this.fail(`field ${fieldNo} has wire type ${wireType}, which is not one protobuf defines here`);
    }
  }

  private advance(bytes: number, end: number): void {
    if (this.pos + bytes > end) this.fail('a fixed-size value runs past the end of its message');
    this.pos += bytes;
  }
}
