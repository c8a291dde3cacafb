type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON merge patch that client-side apply sends: everything the new manifest sets, plus a null for
 * every field the previously applied manifest set and the new one no longer does — so removing a field
 * from the manifest removes it from the object, while fields other actors set (status, defaults,
 * annotations added by controllers) stay untouched. Lists are replaced as a whole (merge-patch semantics).
 */
export function threeWayMergePatch(lastApplied: unknown, modified: unknown): Json {
  if (!isObject(modified)) return modified as Json;
  const patch: Record<string, Json> = {};
  for (const [key, value] of Object.entries(modified)) {
    const before = isObject(lastApplied) ? lastApplied[key] : undefined;
    patch[key] = isObject(value) && isObject(before) ? threeWayMergePatch(before, value) : (value as Json);
  }
  if (isObject(lastApplied)) {
    for (const key of Object.keys(lastApplied)) {
      if (!(key in modified)) patch[key] = null;
    }
  }
  return patch;
}
