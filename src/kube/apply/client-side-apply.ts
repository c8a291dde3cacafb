/**
 * Client-side apply as `kubectl apply` does it: the manifest is recorded in the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation (in kubectl's exact encoding), a missing
 * object is created with it, and an existing one gets a three-way patch between the previous
 * last-applied configuration, the manifest and the live object: a strategic merge patch for kinds with
 * compiled-in types (built-in API groups), a JSON merge patch for everything else. An empty patch is not
 * sent ("unchanged").
 */
import { builtinPatchSchema } from './builtin-patch-schema.ts';
import { goJson } from './go-json.ts';
import { createThreeWayJsonMergePatch } from './json-merge-patch.ts';
import type { PatchSchema } from './patch-meta.ts';
import { isJsonMap, type JsonMap } from './json.ts';
import { createThreeWayMergePatch } from './strategic-merge-patch.ts';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export type ApplyPatchType = 'strategic' | 'merge';

export type ApplyPlan =
  | { readonly action: 'create'; readonly body: JsonMap }
  | { readonly action: 'patch'; readonly patchType: ApplyPatchType; readonly patch: JsonMap }
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
  readonly kind: string;
  /** Patch metadata from the cluster's OpenAPI for this kind, when it serves some; else the built-in types'. */
  readonly schema?: PatchSchema;
}

export function planApply(manifest: JsonMap, live: JsonMap | undefined, target: ApplyTarget): ApplyPlan {
  const modified = modifiedConfiguration(manifest);
  if (live === undefined) return { action: 'create', body: modified };
  const original = originalConfiguration(live);
  // As kubectl: a strategic merge patch only for kinds it has compiled-in types for; their metadata comes
  // from the cluster's OpenAPI when it has some, else from the built-in table.
  const builtin = builtinPatchSchema(target.group, target.kind);
  const schema = builtin ? (target.schema ?? builtin) : undefined;
  const patch = schema ? createThreeWayMergePatch(original, modified, live, schema) : createThreeWayJsonMergePatch(original, modified, live);
  if (Object.keys(patch).length === 0) return { action: 'unchanged' };
  return { action: 'patch', patchType: schema ? 'strategic' : 'merge', patch };
}
