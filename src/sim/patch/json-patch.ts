import { badRequest, invalid, StatusError } from '../status.ts';

/**
 * JSON Patch (RFC 6902), `application/json-patch+json`: add, remove, replace, move, copy and test on JSON
 * pointers (RFC 6901). A failing operation rejects the whole patch; the target is never half-changed.
 */
export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

type Container = Record<string, unknown> | unknown[];

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

function walk(document: unknown, parts: string[], pointer: string): { parent: Container; last: string } {
  let current: unknown = document;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, part, pointer, false)];
    else if (isContainer(current)) current = (current as Record<string, unknown>)[part];
    else current = undefined;
    if (current === undefined) throw unprocessable(`doc is missing path: "${pointer}"`);
  }
  if (!isContainer(current)) throw unprocessable(`doc is missing path: "${pointer}"`);
  return { parent: current, last: parts[parts.length - 1]! };
}

function arrayIndex(array: unknown[], part: string, pointer: string, forInsert: boolean): number {
  if (forInsert && part === '-') return array.length;
  if (!/^(0|[1-9]\d*)$/.test(part)) throw unprocessable(`invalid array index "${part}" in "${pointer}"`);
  const index = Number(part);
  if (index > array.length || (!forInsert && index === array.length)) throw unprocessable(`array index out of range in "${pointer}"`);
  return index;
}

function unprocessable(message: string): StatusError {
  return invalid('', 'Patch', '', [{ reason: 'FieldValueInvalid', message }]);
}

function get(document: unknown, pointer: string): unknown {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return document;
  const { parent, last } = walk(document, parts, pointer);
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, last, pointer, false)] : (parent as Record<string, unknown>)[last];
  if (value === undefined) throw unprocessable(`doc is missing path: "${pointer}"`);
  return value;
}

function add(document: unknown, pointer: string, value: unknown): unknown {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return value;
  const { parent, last } = walk(document, parts, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, true), 0, value);
  else (parent as Record<string, unknown>)[last] = value;
  return document;
}

function remove(document: unknown, pointer: string): unknown {
  const parts = parsePointer(pointer);
  if (parts.length === 0) throw unprocessable('cannot remove the whole document');
  const { parent, last } = walk(document, parts, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, false), 1);
  else {
    if (!(last in parent)) throw unprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
    delete (parent as Record<string, unknown>)[last];
  }
  return document;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) throw badRequest('json patch must be an array of operations');
  return body.map((op, i) => {
    if (typeof op !== 'object' || op === null || typeof (op as JsonPatchOperation).op !== 'string' || typeof (op as JsonPatchOperation).path !== 'string') {
      throw badRequest(`json patch operation ${i} must have string "op" and "path"`);
    }
    return op as JsonPatchOperation;
  });
}

export function applyJsonPatch(target: unknown, operations: JsonPatchOperation[]): unknown {
  let document = structuredClone(target);
  for (const op of operations) {
    switch (op.op) {
      case 'add':
        document = add(document, op.path, structuredClone(op.value));
        break;
      case 'remove':
        document = remove(document, op.path);
        break;
      case 'replace':
        if (parsePointer(op.path).length === 0) {
          document = structuredClone(op.value);
          break;
        }
        get(document, op.path);
        document = add(remove(document, op.path), op.path, structuredClone(op.value));
        break;
      case 'move': {
        if (op.from === undefined) throw badRequest('move operation requires "from"');
        const value = get(document, op.from);
        document = add(remove(document, op.from), op.path, value);
        break;
      }
      case 'copy': {
        if (op.from === undefined) throw badRequest('copy operation requires "from"');
        document = add(document, op.path, structuredClone(get(document, op.from)));
        break;
      }
      case 'test':
        if (!deepEqual(get(document, op.path), op.value)) throw unprocessable(`testing value ${op.path} failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return document;
}
