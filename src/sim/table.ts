import type { KubeObject } from '../common/kube-object.ts';
import { printerFor } from './printers.ts';
import type { ResourceType } from './resource-type.ts';
import { JSON_MEDIA_TYPES, mediaRanges } from './media-ranges.ts';
import { badRequest } from './status.ts';

/**
 * Response conversions the client asks for in `Accept`, as the real API server offers them on get, list
 * and watch: `application/json;as=Table;v=v1;g=meta.k8s.io` (server-side printing, what `kubectl get`
 * asks for) and `as=PartialObjectMetadata[List]` (metadata-only clients). The first media range the sim
 * can serve wins; when none can be served the plain object is sent (lenient where the real server would
 * answer 406).
 */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export type ResponseFormat = { kind: 'object' } | { kind: 'table'; version: string; includeObject: IncludeObject } | { kind: 'metadata'; version: string };

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

const META_GROUP = 'meta.k8s.io';
const META_VERSIONS = new Set(['v1', 'v1beta1']);
const INCLUDE_OBJECT = new Set(['None', 'Metadata', 'Object']);
const PLAIN: ResponseFormat = { kind: 'object' };

function includeObjectFrom(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? '';
  if (value === '') return 'Metadata';
  if (!INCLUDE_OBJECT.has(value)) throw badRequest(`includeObject: Invalid value: "${value}": must be 'Metadata', 'Object', 'None', or empty`);
  return value as IncludeObject;
}

/** The format to answer a get, list or watch in, from its Accept header (and `includeObject` for tables). */
export function negotiateFormat(accept: string | string[] | undefined, query: URLSearchParams): ResponseFormat {
  for (const { type, params } of mediaRanges(accept)) {
    if (!JSON_MEDIA_TYPES.has(type)) continue;
    const as = params.get('as');
    if (as === undefined) return PLAIN;
    const version = params.get('v') ?? '';
    if (params.get('g') !== META_GROUP || !META_VERSIONS.has(version)) continue;
    if (as === 'Table') return { kind: 'table', version, includeObject: includeObjectFrom(query) };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { kind: 'metadata', version };
  }
  return PLAIN;
}

export function partialObjectMetadata(object: KubeObject, version: string): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: `${META_GROUP}/${version}`, metadata: object.metadata ?? {} };
}

function rowObject(object: KubeObject, format: Extract<ResponseFormat, { kind: 'table' }>): unknown {
  switch (format.includeObject) {
    case 'None':
      return null;
    case 'Object':
      return object;
    default:
      return partialObjectMetadata(object, format.version);
  }
}

/** A meta.k8s.io Table of `objects`; `noHeaders` leaves out the column definitions (watch events after the first). */
export function renderTable(
  type: ResourceType,
  objects: KubeObject[],
  listMeta: ListMeta,
  format: Extract<ResponseFormat, { kind: 'table' }>,
  noHeaders = false,
  now = Date.now(),
): Record<string, unknown> {
  const printer = printerFor(type);
  return {
    kind: 'Table',
    apiVersion: `${META_GROUP}/${format.version}`,
    metadata: listMeta,
    columnDefinitions: noHeaders ? [] : printer.columns,
    rows: objects.map((object) => ({ cells: printer.cells(object, now), object: rowObject(object, format) })),
  };
}

export function renderMetadataList(objects: KubeObject[], listMeta: ListMeta, version: string): Record<string, unknown> {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `${META_GROUP}/${version}`,
    metadata: listMeta,
    items: objects.map((object) => partialObjectMetadata(object, version)),
  };
}

/** Converts one object (a get's answer) to the negotiated format. */
export function convertObject(type: ResourceType, object: KubeObject, format: ResponseFormat): unknown {
  switch (format.kind) {
    case 'table':
      return renderTable(type, [object], { resourceVersion: object.metadata?.resourceVersion ?? '' }, format);
    case 'metadata':
      return partialObjectMetadata(object, format.version);
    default:
      return object;
  }
}

/** Converts a list's items to the negotiated format (undefined for the plain format, which the caller renders as is). */
export function convertList(type: ResourceType, items: string[], listMeta: ListMeta, format: ResponseFormat): Record<string, unknown> | undefined {
  if (format.kind === 'object') return undefined;
  const objects = items.map((json) => JSON.parse(json) as KubeObject);
  return format.kind === 'table' ? renderTable(type, objects, listMeta, format) : renderMetadataList(objects, listMeta, format.version);
}

/**
 * Rewrites the lines of a watch into the negotiated format: each ADDED/MODIFIED/DELETED object becomes a
 * one-row Table (column definitions on the first only, as the real server sends them) or a
 * PartialObjectMetadata; BOOKMARK and ERROR events pass through.
 */
export function watchLineConverter(type: ResourceType, format: ResponseFormat): ((line: string) => string) | undefined {
  if (format.kind === 'object') return undefined;
  let first = true;
  return (line) => {
    const event = JSON.parse(line) as { type: string; object: KubeObject };
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return line;
    let object: unknown;
    if (format.kind === 'table') {
      object = renderTable(type, [event.object], { resourceVersion: event.object.metadata?.resourceVersion ?? '' }, format, !first);
      first = false;
    } else object = partialObjectMetadata(event.object, format.version);
    return `${JSON.stringify({ type: event.type, object })}\n`;
  };
}
