import type { ChannelRequest, SharedSyncRequest } from './gen/scaleagent/v1/agent_hub_pb.ts';
import { decodeSyncRequestAt, expectDelimited, expectVarint, readTag } from './sync-request-decoder.ts';
import { WireReader } from './wire-reader.ts';
import { fieldTag, varintSize, WIRE_LEN, WIRE_VARINT } from './wire-sizes.ts';

/**
 * The version 2 SharedSync envelope (proto/scaleagent/v1/agent_hub.proto) around SyncRequests that are
 * already encoded: the agent writes each channel's batch once (batch-encoder.ts) and wraps the bytes
 * here; the hub decodes the envelope and each request with the hand-written SyncRequest decoder.
 */

/** One channel's part of a SharedSyncRequest as the agent writes it. */
export interface ChannelRequestPart {
  channel: number;
  /** An encoded SyncRequest (open or batch); absent on a close. */
  request?: Uint8Array;
  close?: boolean;
}

/**
 * Channel requests one SharedSyncRequest may hold. The agent writes one per account that had something
 * to send within its coalescing delay; the bound keeps what a hostile message of tiny requests makes the
 * hub allocate in proportion to real traffic (a few bytes of wire per request otherwise).
 */
export const MAX_CHANNEL_REQUESTS_PER_MESSAGE = 20_000;

const tag = fieldTag;
const SHARED_REQUESTS = tag(1, WIRE_LEN);
const CHANNEL_ID = tag(1, WIRE_VARINT);
const CHANNEL_REQUEST = tag(2, WIRE_LEN);
const CHANNEL_CLOSE = tag(3, WIRE_VARINT);

function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function channelRequestSize(part: ChannelRequestPart): number {
  let n = 0;
  if (part.channel !== 0) n += 1 + varintSize(part.channel);
  if (part.request !== undefined) n += 1 + varintSize(part.request.byteLength) + part.request.byteLength;
  if (part.close === true) n += 2;
  return n;
}

/** Bytes `part` adds to a SharedSyncRequest: what the agent counts against its message budget. */
export function channelRequestWireSize(part: ChannelRequestPart): number {
  const inner = channelRequestSize(part);
  return 1 + varintSize(inner) + inner;
}

/** A SharedSyncRequest holding `parts` in order, as protobuf-es would write it, in one buffer. */
export function encodeSharedSyncRequest(parts: readonly ChannelRequestPart[]): Buffer {
  let total = 0;
  for (const part of parts) total += channelRequestWireSize(part);
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const part of parts) {
    buf[pos++] = SHARED_REQUESTS;
    pos = writeVarint(buf, pos, channelRequestSize(part));
    if (part.channel !== 0) {
      buf[pos++] = CHANNEL_ID;
      pos = writeVarint(buf, pos, part.channel);
    }
    if (part.request !== undefined) {
      buf[pos++] = CHANNEL_REQUEST;
      pos = writeVarint(buf, pos, part.request.byteLength);
      buf.set(part.request, pos);
      pos += part.request.byteLength;
    }
    if (part.close === true) {
      buf[pos++] = CHANNEL_CLOSE;
      buf[pos++] = 1;
    }
  }
  return buf;
}

/**
 * Decodes a SharedSyncRequest into the messages protobuf-es's fromBinary returns (the same rules as
 * sync-request-decoder.ts: unknown fields skipped, a repeated message appended, a message field given
 * twice merged). More than MAX_CHANNEL_REQUESTS_PER_MESSAGE requests fail the message.
 */
export function decodeSharedSyncRequest(bytes: Uint8Array): SharedSyncRequest {
  const r = new WireReader(bytes);
  const end = r.length;
  const message: SharedSyncRequest = { $typeName: 'scaleagent.v1.SharedSyncRequest', requests: [] };
  while (r.pos < end) {
    const fieldTag = readTag(r, end);
    const fieldNo = fieldTag >>> 3;
    const wireType = fieldTag & 7;
    if (fieldNo === 1 && expectDelimited(r, 'SharedSyncRequest.requests', wireType)) {
      if (message.requests.length >= MAX_CHANNEL_REQUESTS_PER_MESSAGE)
        r.fail(`a SharedSyncRequest holds more than ${MAX_CHANNEL_REQUESTS_PER_MESSAGE} channel requests`);
      message.requests.push(decodeChannelRequest(r, r.delimitedEnd(end)));
    } else {
      r.skip(wireType, fieldNo, end);
    }
  }
  return message;
}

function decodeChannelRequest(r: WireReader, end: number): ChannelRequest {
  const m: ChannelRequest = { $typeName: 'scaleagent.v1.ChannelRequest', channel: 0, close: false };
  while (r.pos < end) {
    const fieldTag = readTag(r, end);
    const fieldNo = fieldTag >>> 3;
    const wireType = fieldTag & 7;
    if (fieldNo === 1 && expectVarint(r, 'ChannelRequest.channel', wireType)) m.channel = r.uint32(end);
    else if (fieldNo === 2 && expectDelimited(r, 'ChannelRequest.request', wireType)) m.request = decodeSyncRequestAt(r, r.delimitedEnd(end), m.request);
    else if (fieldNo === 3 && expectVarint(r, 'ChannelRequest.close', wireType)) m.close = r.bool(end);
    else r.skip(wireType, fieldNo, end);
  }
  return m;
}
