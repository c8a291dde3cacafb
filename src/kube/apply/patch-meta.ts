/**
 * What a strategic merge patch needs to know about a field: its patch strategies (`merge`, `replace`,
 * `retainKeys`, or none) and, for lists merged element-wise, the merge key. The same questions
 * apimachinery's `LookupPatchMeta` answers, from the cluster's OpenAPI or from the built-in types.
 */
export interface PatchMeta {
  readonly strategies: readonly string[];
  readonly mergeKey: string;
}

export interface PatchSchema {
  /** The metadata of field `key` holding a map, and the schema of that map. */
  lookupStruct(key: string): { schema: PatchSchema; meta: PatchMeta };
  /** The metadata of field `key` holding a list, and the schema of its items. */
  lookupSlice(key: string): { schema: PatchSchema; meta: PatchMeta };
  /** For error messages. */
  readonly name: string;
}

export const NO_PATCH_META: PatchMeta = { strategies: [], mergeKey: '' };

/** A schema that knows nothing: maps merge key by key, lists are replaced whole (JSON merge semantics). */
export const OPEN_SCHEMA: PatchSchema = {
  lookupStruct: () => ({ schema: OPEN_SCHEMA, meta: NO_PATCH_META }),
  lookupSlice: () => ({ schema: OPEN_SCHEMA, meta: NO_PATCH_META }),
  name: 'unknown',
};

export class PatchSchemaError extends Error {
  override readonly name = 'PatchSchemaError';
}
