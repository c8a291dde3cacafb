/**
 * Patch metadata from a cluster's OpenAPI v3 document of one group version, read the way kubectl reads
 * it (apply's patcher and apimachinery's `PatchMetaFromOpenAPIV3`):
 *
 * - a kind gets a strategic merge patch from OpenAPI only when the PATCH operation of its path accepts
 *   `application/strategic-merge-patch+json` (built-in kinds do; custom resources do not);
 * - its schema is the component tagged with its group/version/kind; a field's strategies and merge key
 *   are its `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`; `allOf[0]` and `$ref` are
 *   followed; a field the schema does not list cannot be looked up (then kubectl, and we, fall back to
 *   the compiled-in types).
 *
 * Documents are kept pruned (see pruneOpenApiDocument): a real cluster's core/v1 document is over a
 * megabyte, nearly all of it descriptions.
 */
import { isJsonMap } from './json.ts';
import { NO_PATCH_META, PatchSchemaError, type PatchMeta, type PatchSchema } from './patch-meta.ts';

export const STRATEGIC_MERGE_PATCH_CONTENT_TYPE = 'application/strategic-merge-patch+json';
const GVK_EXTENSION = 'x-kubernetes-group-version-kind';
const PATCH_STRATEGY_EXTENSION = 'x-kubernetes-patch-strategy';
const PATCH_MERGE_KEY_EXTENSION = 'x-kubernetes-patch-merge-key';
const COMPONENT_REF_PREFIX = '#/components/schemas/';

/** The parts of an OpenAPI v3 schema object patch metadata needs. */
export interface OpenApiSchema {
  type?: string | string[];
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  allOf?: OpenApiSchema[];
  $ref?: string;
  [PATCH_STRATEGY_EXTENSION]?: string;
  [PATCH_MERGE_KEY_EXTENSION]?: string;
  [GVK_EXTENSION]?: GroupVersionKind[];
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

interface PatchOperation {
  [GVK_EXTENSION]?: GroupVersionKind;
  requestBody?: { content?: Record<string, unknown> };
}

/** The parts of an OpenAPI v3 group-version document patch metadata needs. */
export interface OpenApiDocument {
  paths?: Record<string, { patch?: PatchOperation }>;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

function pruneSchema(value: unknown): OpenApiSchema {
  if (!isJsonMap(value)) return {};
  const out: OpenApiSchema = {};
  if (typeof value.type === 'string' || Array.isArray(value.type)) out.type = value.type as string | string[];
  if (typeof value.$ref === 'string') out.$ref = value.$ref;
  if (typeof value[PATCH_STRATEGY_EXTENSION] === 'string') out[PATCH_STRATEGY_EXTENSION] = value[PATCH_STRATEGY_EXTENSION] as string;
  if (typeof value[PATCH_MERGE_KEY_EXTENSION] === 'string') out[PATCH_MERGE_KEY_EXTENSION] = value[PATCH_MERGE_KEY_EXTENSION] as string;
  if (Array.isArray(value[GVK_EXTENSION])) out[GVK_EXTENSION] = (value[GVK_EXTENSION] as unknown[]).filter(isJsonMap).map(gvkOf);
  if (isJsonMap(value.properties)) out.properties = Object.fromEntries(Object.entries(value.properties).map(([k, v]) => [k, pruneSchema(v)]));
  if (isJsonMap(value.items)) out.items = pruneSchema(value.items);
  if (Array.isArray(value.allOf)) out.allOf = value.allOf.map(pruneSchema);
  return out;
}

function gvkOf(value: Record<string, unknown>): GroupVersionKind {
  return { group: String(value.group ?? ''), version: String(value.version ?? ''), kind: String(value.kind ?? '') };
}

/** The document without what patch metadata never reads (descriptions, defaults, formats, other operations). */
export function pruneOpenApiDocument(document: unknown): OpenApiDocument {
  if (!isJsonMap(document)) return {};
  const paths: Record<string, { patch?: PatchOperation }> = {};
  if (isJsonMap(document.paths)) {
    for (const [path, item] of Object.entries(document.paths)) {
      if (!isJsonMap(item) || !isJsonMap(item.patch)) continue;
      const patch = item.patch;
      const operation: PatchOperation = {};
      if (isJsonMap(patch[GVK_EXTENSION])) operation[GVK_EXTENSION] = gvkOf(patch[GVK_EXTENSION]);
      if (isJsonMap(patch.requestBody))
        operation.requestBody = isJsonMap(patch.requestBody.content)
          ? { content: Object.fromEntries(Object.keys(patch.requestBody.content).map((k) => [k, true])) }
          : {};
      paths[path] = { patch: operation };
    }
  }
  const schemas: Record<string, OpenApiSchema> = {};
  const components = document.components;
  if (isJsonMap(components) && isJsonMap(components.schemas)) {
    for (const [name, schema] of Object.entries(components.schemas)) schemas[name] = pruneSchema(schema);
  }
  return { paths, components: { schemas } };
}

const sameGvk = (a: GroupVersionKind | undefined, b: GroupVersionKind): boolean =>
  a !== undefined && a.group === b.group && a.version === b.version && a.kind === b.kind;

/** Whether the document says the kind's PATCH accepts a strategic merge patch (kubectl's gvkSupportsPatchOpenAPIV3). */
export function acceptsStrategicMergePatch(document: OpenApiDocument, gvk: GroupVersionKind): boolean {
  for (const item of Object.values(document.paths ?? {})) {
    if (!sameGvk(item.patch?.[GVK_EXTENSION], gvk)) continue;
    return item.patch?.requestBody?.content?.[STRATEGIC_MERGE_PATCH_CONTENT_TYPE] !== undefined;
  }
  return false;
}

class OpenApiPatchSchema implements PatchSchema {
  constructor(
    private readonly schema: OpenApiSchema,
    private readonly components: Record<string, OpenApiSchema>,
  ) {}

  get name(): string {
    const type = this.schema.type;
    if (type === undefined || type.length === 0) return 'Struct';
    return Array.isArray(type) ? type.join('') : type;
  }

  lookupStruct(key: string): { schema: PatchSchema; meta: PatchMeta } {
    const field = this.field(key);
    return { schema: this.resolve(field), meta: metaOf(field) };
  }

  lookupSlice(key: string): { schema: PatchSchema; meta: PatchMeta } {
    const field = this.field(key);
    return { schema: this.resolve(field.items ?? field), meta: metaOf(field) };
  }

  private field(key: string): OpenApiSchema {
    const properties = this.schema.properties;
    const field = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (field === undefined) throw new PatchSchemaError(`unable to find api field "${key}"`);
    return field;
  }

  private resolve(schema: OpenApiSchema): PatchSchema {
    let resolved = schema.allOf !== undefined && schema.allOf.length > 0 ? schema.allOf[0]! : schema;
    if (resolved.$ref !== undefined && resolved.$ref !== '') {
      const target = resolved.$ref.startsWith(COMPONENT_REF_PREFIX) ? this.components[resolved.$ref.slice(COMPONENT_REF_PREFIX.length)] : undefined;
      if (target === undefined) throw new PatchSchemaError(`unable to resolve ${resolved.$ref} in OpenAPI V3`);
      resolved = target;
    }
    return new OpenApiPatchSchema(resolved, this.components);
  }
}

function metaOf(field: OpenApiSchema): PatchMeta {
  const strategy = field[PATCH_STRATEGY_EXTENSION];
  const mergeKey = field[PATCH_MERGE_KEY_EXTENSION] ?? '';
  if (strategy === undefined && mergeKey === '') return NO_PATCH_META;
  return { strategies: strategy === undefined ? [] : strategy.split(','), mergeKey };
}

/** The patch schema of the component tagged with `gvk`, or undefined when the document has none. */
export function openApiPatchSchema(document: OpenApiDocument, gvk: GroupVersionKind): PatchSchema | undefined {
  const components = document.components?.schemas ?? {};
  for (const schema of Object.values(components)) {
    if (schema[GVK_EXTENSION]?.some((tagged) => sameGvk(tagged, gvk))) return new OpenApiPatchSchema(schema, components);
  }
  return undefined;
}
