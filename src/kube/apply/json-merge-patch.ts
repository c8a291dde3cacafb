/**
 * The three-way JSON merge patch (RFC 7386) that `kubectl apply` sends for kinds it has no compiled-in
 * type for (custom resources): the changes and additions from the live object to the manifest, plus a
 * null for every field the previous apply set and this manifest no longer does. Lists are replaced
 * whole, as merge patches do. Mirrors apimachinery's `jsonmergepatch.CreateThreeWayJSONMergePatch`.
 */
import { isJsonMap, jsonEqual, type JsonMap } from './json.ts';

/** The merge patch that turns `from` into `to`. */
function createMergePatch(from: JsonMap, to: JsonMap): JsonMap {
  const patch: JsonMap = {};
  for (const [key, value] of Object.entries(to)) {
    if (!(key in from)) {
      patch[key] = value;
      continue;
    }
    const before = from[key]!;
    if (isJsonMap(before) && isJsonMap(value)) {
      const nested = createMergePatch(before, value);
      if (Object.keys(nested).length > 0) patch[key] = nested;
    } else if (!jsonEqual(before, value)) {
      patch[key] = value;
    }
  }
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  return patch;
}

/** Keeps only the nulls (deletions) or only the rest (changes and additions) of a merge patch. */
function filterNulls(patch: JsonMap, keepNull: boolean): JsonMap {
  const out: JsonMap = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      if (keepNull) out[key] = null;
    } else if (isJsonMap(value)) {
      // An explicitly empty map is a value, not an empty patch.
      if (Object.keys(value).length === 0) {
        if (!keepNull) out[key] = value;
        continue;
      }
      const nested = filterNulls(value, keepNull);
      if (Object.keys(nested).length > 0) out[key] = nested;
    } else if (!keepNull) {
      out[key] = value;
    }
  }
  return out;
}

/** RFC 7386 merge of `patch` into `doc` (neither is modified). */
function applyMergePatch(doc: JsonMap, patch: JsonMap): JsonMap {
  const out: JsonMap = { ...doc };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isJsonMap(value) && isJsonMap(out[key])) out[key] = applyMergePatch(out[key] as JsonMap, value);
    else out[key] = value;
  }
  return out;
}

export function createThreeWayJsonMergePatch(original: JsonMap | undefined, modified: JsonMap, current: JsonMap): JsonMap {
  const changes = filterNulls(createMergePatch(current, modified), false);
  const deletions = filterNulls(createMergePatch(original ?? {}, modified), true);
  return applyMergePatch(deletions, changes);
}
