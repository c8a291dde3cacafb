import { SlimItem } from '../../kube/slim-item.ts';

/**
 * The JSON text an object is sent to the hub as, and where its top-level `metadata` value lies in it, in
 * UTF-8 bytes. The range travels with each upsert (ObjectUpsert.metadata_offset/metadata_length) so the
 * hub derives its indexed columns from the metadata alone instead of parsing the whole body — on the
 * initial sync that parse was a tenth of the hub's time (docs/performance.md, "scale").
 *
 * The text is written in kubectl's member order — kind, apiVersion, metadata, then the rest as the
 * server sent it — from separately serialised parts, which costs no more than one JSON.stringify of the
 * object and puts the metadata at a known place. (List items come without kind and apiVersion; the
 * reflector adds them after the server's members, which would otherwise put them last.)
 */
export interface ObjectJson {
  body: string;
  /** UTF-8 size of `body`. */
  bodyBytes: number;
  /** Byte range of the metadata object's JSON in `body`; undefined when there is no metadata object. */
  metadata: MetadataRange | undefined;
}

export interface MetadataRange {
  offset: number;
  length: number;
}

export function objectJson(object: object): ObjectJson {
  // A list item slimmed from its bytes comes with its JSON written (src/kube/slim-list.ts).
  if (object instanceof SlimItem) return object.json;
  const { kind, apiVersion, metadata, ...rest } = object as Record<string, unknown>;
  let head = '{';
  if (kind !== undefined) head += `"kind":${JSON.stringify(kind)},`;
  if (apiVersion !== undefined) head += `"apiVersion":${JSON.stringify(apiVersion)},`;
  const restJson = JSON.stringify(rest);
  const tail = restJson === '{}' ? '}' : `,${restJson.slice(1)}`;
  if (metadata === undefined) {
    const body = head === '{' ? restJson : head.slice(0, -1) + tail;
    return { body, bodyBytes: Buffer.byteLength(body, 'utf8'), metadata: undefined };
  }
  head += '"metadata":';
  const metadataJson = JSON.stringify(metadata);
  const body = head + metadataJson + tail;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return { body, bodyBytes, metadata: undefined };
  // An all-ASCII body (the usual case) has as many bytes as characters.
  const range =
    bodyBytes === body.length
      ? { offset: head.length, length: metadataJson.length }
      : { offset: Buffer.byteLength(head, 'utf8'), length: Buffer.byteLength(metadataJson, 'utf8') };
  return { body, bodyBytes, metadata: range };
}
