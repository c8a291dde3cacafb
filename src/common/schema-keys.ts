import type { z } from 'zod';

/*
 * The keys a zod schema accepts at a path of the input, read from the schema's definition, so that an
 * unknown key can be answered with the nearest known one. Wrappers (default, optional, pipe, …) are
 * looked through, array elements and record values followed, and every branch of a union counted.
 */

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** Recursive (lazy) schemas could loop forever; no configuration nests this deep. */
const MAX_DEPTH = 64;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional', 'success']);

/** The schemas that describe the input value itself, wrappers removed (several for unions). */
function resolve(schema: z.ZodType, depth = 0): z.ZodType[] {
  if (depth > MAX_DEPTH) return [];
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return resolve(def.innerType, depth + 1);
  if (def.type === 'pipe') {
    // A preprocess is a pipe from a transform: the schema after it describes the input.
    const before = def.in ? resolve(def.in, depth + 1) : [];
    return before.length > 0 ? before : def.out ? resolve(def.out, depth + 1) : [];
  }
  if (def.type === 'transform') return [];
  if (def.type === 'lazy' && def.getter) return resolve(def.getter(), depth + 1);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => resolve(o, depth + 1));
  if (def.type === 'intersection') return [...(def.left ? resolve(def.left, depth + 1) : []), ...(def.right ? resolve(def.right, depth + 1) : [])];
  return [schema];
}

function children(schema: z.ZodType, segment: PropertyKey): z.ZodType[] {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape && typeof segment === 'string') {
    const child = def.shape[segment];
    return child ? [child] : [];
  }
  if (def.type === 'array' && def.element && typeof segment === 'number') return [def.element];
  if (def.type === 'record' && def.valueType) return [def.valueType];
  return [];
}

/** Every key an object at `path` of the input may have (empty when the path leads to no object). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = resolve(schema);
  for (const segment of path) current = current.flatMap((s) => children(s, segment)).flatMap((s) => resolve(s));
  const keys = new Set<string>();
  for (const s of current) {
    const def = defOf(s);
    if (def.type === 'object' && def.shape) for (const key of Object.keys(def.shape)) keys.add(key);
  }
  return [...keys];
}
