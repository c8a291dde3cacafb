/**
 * Client-side apply as `kubectl apply` does it: the manifest is recorded in the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation (in kubectl's exact encoding), a missing
 * object is created with it, and an existing one gets a three-way patch between the previous
 * last-applied configuration, the manifest and the live object. Which patch, as kubectl decides it:
 *
 * 1. a strategic merge patch from the cluster's OpenAPI v3 when the kind's PATCH accepts one and its
 *    schema is published (openapi-patch-schema.ts); if the schema cannot describe the change (a field it
 *    does not list), on to
 * 2. a strategic merge patch from the compiled-in types for kinds of the built-in API groups;
 * 3. a JSON merge patch for everything else (custom resources).
 *
 * An empty patch is not sent ("unchanged").
 */
import { builtinPatchSchema } from './builtin-patch-schema.ts';
import { goJson } from './go-json.ts';
import { createThreeWayJsonMergePatch } from './json-merge-patch.ts';
import { acceptsStrategicMergePatch, openApiPatchSchema, type OpenApiDocument } from './openapi-patch-schema.ts';
import { isJsonMap, type JsonMap } from './json.ts';
import { createThreeWayMergePatch } from './strategic-merge-patch.ts';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export type ApplyPatchType = 'strategic' | 'merge';

/** Where a strategic merge patch's field metadata came from. */
export type PatchMetadataSource = 'openapi' | 'builtin';

export type ApplyPlan =
  | { readonly action: 'create'; readonly body: JsonMap }
  | { readonly action: 'patch'; readonly patchType: ApplyPatchType; readonly patch: JsonMap; readonly metadata?: PatchMetadataSource }
  | { readonly action: 'unchanged' };

export const PATCH_CONTENT_TYPES: Record<ApplyPatchType, string> = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
};

function annotationsOf(object: JsonMap): JsonMap | undefined {
  const metadata = object.metadata;
  if (!isJsonMap(metadata)) return undefined;
  return isJsonMap(metadata.annotations) ? metadata.annotations : undefined;
}

/**
 * The manifest as kubectl sends it: with the last-applied annotation holding the manifest itself
 * (without that annotation, with an `annotations` map even when empty, keys sorted, a final newline).
 */
export function modifiedConfiguration(manifest: JsonMap): JsonMap {
  const copy = structuredClone(manifest);
  const metadata: JsonMap = isJsonMap(copy.metadata) ? copy.metadata : {};
  copy.metadata = metadata;
  const annotations: JsonMap = isJsonMap(metadata.annotations) ? metadata.annotations : {};
  delete annotations[LAST_APPLIED_ANNOTATION];
  metadata.annotations = annotations;
  const lastApplied = `${goJson(copy)}\n`;
  return { ...copy, metadata: { ...metadata, annotations: { ...annotations, [LAST_APPLIED_ANNOTATION]: lastApplied } } };
}

/** The configuration the previous apply recorded on the live object, if it parses. */
export function originalConfiguration(live: JsonMap): JsonMap | undefined {
  const recorded = annotationsOf(live)?.[LAST_APPLIED_ANNOTATION];
  if (typeof recorded !== 'string' || recorded === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(recorded);
    return isJsonMap(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface ApplyTarget {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The cluster's OpenAPI v3 document of the kind's group version, when it serves one. */
  readonly openApi?: OpenApiDocument;
}

/** A strategic merge patch from the cluster's OpenAPI, or undefined when it has no usable metadata (kubectl then falls back too). */
function openApiPatch(original: JsonMap | undefined, modified: JsonMap, live: JsonMap, target: ApplyTarget): JsonMap | undefined {
  if (target.openApi === undefined) return undefined;
  const gvk = { group: target.group, version: target.version, kind: target.kind };
  if (!acceptsStrategicMergePatch(target.openApi, gvk)) return undefined;
  const schema = openApiPatchSchema(target.openApi, gvk);
  if (schema === undefined) return undefined;
  try {
    return createThreeWayMergePatch(original, modified, live, schema);
  } catch {
    // kubectl warns and falls back to its compiled-in types; a patch those cannot compute either fails there.
    return undefined;
  }
}

export function planApply(manifest: JsonMap, live: JsonMap | undefined, target: ApplyTarget): ApplyPlan {
  const modified = modifiedConfiguration(manifest);
  if (live === undefined) return { action: 'create', body: modified };
  const original = originalConfiguration(live);
  const fromOpenApi = openApiPatch(original, modified, live, target);
  if (fromOpenApi !== undefined) return patchPlan(fromOpenApi, 'strategic', 'openapi');
  const builtin = builtinPatchSchema(target.group, target.kind);
  if (builtin !== undefined) return patchPlan(createThreeWayMergePatch(original, modified, live, builtin), 'strategic', 'builtin');
  return patchPlan(createThreeWayJsonMergePatch(original, modified, live), 'merge');
}

function patchPlan(patch: JsonMap, patchType: ApplyPatchType, metadata?: PatchMetadataSource): ApplyPlan {
  if (Object.keys(patch).length === 0) return { action: 'unchanged' };
  return metadata === undefined ? { action: 'patch', patchType, patch } : { action: 'patch', patchType, patch, metadata };
}
