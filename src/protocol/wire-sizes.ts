import { WireType } from './wire-reader.ts';

/**
 * What the hand-written encoders (the agent's batch encoder, the SharedSync envelope) share: field tags
 * and varint sizes, computed before every byte is written once into one buffer.
 */
export const WIRE_VARINT = WireType.varint;
export const WIRE_LEN = WireType.lengthDelimited;

/** A field's tag: its number and wire type (https://protobuf.dev/programming-guides/encoding/#structure). */
export const fieldTag = (field: number, wire: number): number => (field << 3) | wire;

/** Bytes of a varint holding `value` (a non-negative integer up to 2^53). */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let n = 5;
  for (let v = Math.floor(value / 0x800000000); v > 0; v = Math.floor(v / 0x80)) n++;
  return n;
}
