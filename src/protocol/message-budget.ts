import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { Errors, ScaleAgentError } from '../common/errors.ts';
import { WireReader, WireType } from './wire-reader.ts';

/**
 * What decoding a message may cost, checked on its wire bytes before it is decoded: decoding allocates
 * per element (every message, every entry of a repeated field or map), and a message of millions of
 * two-byte empty entries costs seconds of CPU and hundreds of megabytes to decode. The scan itself
 * allocates nothing and is linear in the bytes.
 */
export interface MessageBudget {
  /** Elements (messages, repeated entries, map entries) in the whole message. */
  readonly maxElements: number;
  /** Entries of any one repeated field or map, in one message. */
  readonly maxRepeated: number;
}

/** Nesting is bounded by the schema, except for recursive types; none of ours is, but a bound is cheap. */
const MAX_DEPTH = 32;

function isMessageField(field: DescField): field is DescField & { message: DescMessage } {
  return field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message');
}

/** A map's value message, when it has one (map entries are messages on the wire either way). */
function mapValueMessage(field: DescField): DescMessage | undefined {
  return field.fieldKind === 'map' && field.mapKind === 'message' ? field.message : undefined;
}

/**
 * Throws PROTOCOL_VIOLATION naming the field when `bytes`, read as `schema`, holds more elements than
 * `budget` allows; malformed bytes also throw (as decoding would).
 */
export function checkMessageBudget(schema: DescMessage, bytes: Uint8Array, budget: MessageBudget): void {
  const reader = new WireReader(bytes);
  let elements = 0;
  const over = (what: string): never => {
    throw new ScaleAgentError(Errors.PROTOCOL_VIOLATION, `${schema.typeName}: ${what}`, { maxElements: budget.maxElements, maxRepeated: budget.maxRepeated });
  };
  const scan = (message: DescMessage, end: number, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) over(`${path} nests deeper than ${MAX_DEPTH} messages`);
    const counts = new Map<number, number>();
    while (reader.pos < end) {
      const tag = reader.uint32(end);
      const fieldNo = tag >>> 3;
      const wireType = tag & 7;
      const field = message.fields.find((f) => f.number === fieldNo);
      if (field === undefined || wireType !== WireType.lengthDelimited) {
        reader.skip(wireType, fieldNo, end);
        continue;
      }
      const valueEnd = reader.delimitedEnd(end);
      if (field.fieldKind === 'list' || field.fieldKind === 'map') {
        const count = (counts.get(fieldNo) ?? 0) + 1;
        counts.set(fieldNo, count);
        if (count > budget.maxRepeated) over(`${path}.${field.name} has more than ${budget.maxRepeated} entries`);
      }
      if (isMessageField(field) || field.fieldKind === 'list' || field.fieldKind === 'map') {
        if (++elements > budget.maxElements) over(`more than ${budget.maxElements} elements (at ${path}.${field.name})`);
      }
      if (isMessageField(field)) {
        scan(field.message, valueEnd, `${path}.${field.name}`, depth + 1);
      } else {
        const valueMessage = mapValueMessage(field);
        if (valueMessage !== undefined) scanMapEntry(valueMessage, valueEnd, `${path}.${field.name}`, depth + 1);
      }
      reader.pos = valueEnd;
    }
  };
  // A map entry is a message with key = 1 and value = 2.
  const scanMapEntry = (value: DescMessage, end: number, path: string, depth: number): void => {
    while (reader.pos < end) {
      const tag = reader.uint32(end);
      if (tag >>> 3 === 2 && (tag & 7) === WireType.lengthDelimited) {
        const valueEnd = reader.delimitedEnd(end);
        scan(value, valueEnd, path, depth);
        reader.pos = valueEnd;
      } else {
        reader.skip(tag & 7, tag >>> 3, end);
      }
    }
  };
  scan(schema, reader.length, schema.name, 0);
}
