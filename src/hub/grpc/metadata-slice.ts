const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const decoder = new TextDecoder();

/**
 * The JSON text of an upsert's metadata, cut from its object by the range the agent sent
 * (ObjectUpsert.metadata_offset/metadata_length), or undefined when no range was sent or it cannot be
 * the text of a JSON object (out of bounds, not between braces) — the store then parses the whole body.
 * `body` is `object` decoded; an all-ASCII body is cut without decoding again.
 */
export function metadataSlice(object: Uint8Array, body: string, offset: number, length: number): string | undefined {
  if (length < 2 || offset < 0 || offset + length > object.byteLength) return undefined;
  if (object[offset] !== OPEN_BRACE || object[offset + length - 1] !== CLOSE_BRACE) return undefined;
  if (body.length === object.byteLength) return body.slice(offset, offset + length);
  return decoder.decode(object.subarray(offset, offset + length));
}
