import { inflateSync } from 'node:zlib';
import { Errors, ScaleAgentError } from '../../common/errors.ts';

/**
 * The guard against a packfile that inflates to far more than it weighs: git compresses every object
 * with zlib, so a pack within artifacts.maxBytes can hold gigabytes of zeros, and isomorphic-git
 * inflates each object whole (into memory) while it indexes the pack. This walks the pack before
 * isomorphic-git sees it, inflating each object with its output bounded, and sums what the objects
 * are: a whole object's size, and for a delta the size of the object it builds (its header says it).
 * The total must stay within `limit`, else ARTIFACT_TOO_LARGE; a pack whose objects are not what their
 * headers say is ARTIFACT_FETCH_FAILED.
 *
 * Size is not the only cost: isomorphic-git indexes a pack synchronously, object by object, so a pack of
 * many empty objects (a few bytes each) blocks the event loop for seconds (50,000 took 4.5 s). So the
 * number of objects is capped (GIT_MAX_PACK_OBJECTS) and each object counts GIT_OBJECT_OVERHEAD_BYTES
 * besides its size.
 */

/**
 * Most objects in one pack: isomorphic-git indexed 10,000 tiny objects in about 0.6 s (2 cores), so the
 * worst case stays around a second of work; a manifests repository at one commit holds far fewer.
 */
export const GIT_MAX_PACK_OBJECTS = 10_000;
/** What each object costs besides its bytes (isomorphic-git keeps an entry per object while indexing). */
export const GIT_OBJECT_OVERHEAD_BYTES = 256;

const SIGNATURE = 'PACK';
const HEADER_BYTES = 12;
const TRAILER_BYTES = 20;
const VERSION_OFFSET = 4;
const COUNT_OFFSET = 8;
const SUPPORTED_VERSIONS: ReadonlySet<number> = new Set([2, 3]);
const OFS_DELTA = 6;
const REF_DELTA = 7;
const REF_BYTES = 20;
const MORE = 0x80;
const LOW_SEVEN = 0x7f;
const TYPE_SHIFT = 4;
const TYPE_MASK = 0x7;
const FIRST_SIZE_BITS = 4;
const FIRST_SIZE_MASK = 0x0f;
const VARINT_BITS = 7;

function malformed(why: string): ScaleAgentError {
  return new ScaleAgentError(Errors.ARTIFACT_FETCH_FAILED, `the git server sent a malformed packfile: ${why}`, {});
}

export interface PackLimit {
  /** Largest total of the objects, inflated. */
  limit: number;
  /** The configuration key(s) that set it, for the message. */
  key: string;
}

/** Throws unless the objects of `pack` inflate to at most `limit.limit` bytes in all. */
export function checkPackSize(pack: Uint8Array, { limit, key }: PackLimit): void {
  const bytes = Buffer.from(pack.buffer, pack.byteOffset, pack.length);
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES || bytes.toString('latin1', 0, SIGNATURE.length) !== SIGNATURE) throw malformed('no PACK header');
  const version = bytes.readUInt32BE(VERSION_OFFSET);
  if (!SUPPORTED_VERSIONS.has(version)) throw malformed(`version ${version}`);
  const count = bytes.readUInt32BE(COUNT_OFFSET);
  if (count > GIT_MAX_PACK_OBJECTS) {
    throw new ScaleAgentError(
      Errors.ARTIFACT_TOO_LARGE,
      `the git server sent a packfile of ${count} objects; at most ${GIT_MAX_PACK_OBJECTS} are read (the objects of one commit's tree, with depth 1)`,
      { limit: GIT_MAX_PACK_OBJECTS },
    );
  }
  const end = bytes.length - TRAILER_BYTES;
  let pos = HEADER_BYTES;
  let total = 0;
  const byteAt = (at: number): number => {
    if (at >= end) throw malformed('it ends inside an object');
    return bytes[at]!;
  };
  for (let i = 0; i < count; i++) {
    let byte = byteAt(pos++);
    const type = (byte >> TYPE_SHIFT) & TYPE_MASK;
    let size = byte & FIRST_SIZE_MASK;
    let shift = FIRST_SIZE_BITS;
    while (byte & MORE) {
      byte = byteAt(pos++);
      size += (byte & LOW_SEVEN) * 2 ** shift;
      shift += VARINT_BITS;
    }
    if (type === OFS_DELTA) {
      do byte = byteAt(pos++);
      while (byte & MORE);
    } else if (type === REF_DELTA) pos += REF_BYTES;
    const delta = type === OFS_DELTA || type === REF_DELTA;
    // A delta's instructions are held too while it is applied (and are at most about what they build).
    total += GIT_OBJECT_OVERHEAD_BYTES;
    if (total + size > limit) throw tooLarge(limit, key);
    let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      // maxOutputLength stops inflating past the declared size: a lying header cannot make us hold more.
      inflated = inflateSync(bytes.subarray(pos, end), { info: true, maxOutputLength: Math.max(1, size) }) as unknown as typeof inflated;
    } catch {
      throw malformed(`object ${i} does not inflate to the ${size} bytes its header declares`);
    }
    if (inflated.buffer.length !== size) throw malformed(`object ${i} inflates to ${inflated.buffer.length} bytes, its header declares ${size}`);
    pos += inflated.engine.bytesWritten;
    total += delta ? deltaResultSize(inflated.buffer, i) : size;
    if (total > limit) throw tooLarge(limit, key);
  }
}

/** A delta starts with two sizes (base, result) as little-endian base-128 numbers: the result's is the second. */
function deltaResultSize(delta: Buffer, index: number): number {
  let pos = 0;
  const read = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= delta.length) throw malformed(`delta ${index} has no sizes`);
      byte = delta[pos++]!;
      value += (byte & LOW_SEVEN) * 2 ** shift;
      shift += VARINT_BITS;
    } while (byte & MORE);
    return value;
  };
  read();
  return read();
}

function tooLarge(limit: number, key: string): ScaleAgentError {
  return new ScaleAgentError(
    Errors.ARTIFACT_TOO_LARGE,
    `the git repository's objects at this version are more than ${limit} bytes unpacked; at most ${limit} are read (${key})`,
    { limit },
  );
}
