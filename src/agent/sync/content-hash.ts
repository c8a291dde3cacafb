const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const RESOURCE_VERSION_FIELD = '"resourceVersion":"';

/**
 * A 32-bit FNV-1a hash of an object's JSON with its resourceVersion left out, so that two states that
 * differ only in resourceVersion hash alike. Used to recognise no-op changes, not for security.
 */
export function contentHash(json: string): number {
  let skipFrom = json.indexOf(RESOURCE_VERSION_FIELD);
  let skipTo = -1;
  if (skipFrom >= 0) {
    skipTo = json.indexOf('"', skipFrom + RESOURCE_VERSION_FIELD.length);
    if (skipTo < 0) skipFrom = -1;
  }
  let hash = FNV_OFFSET;
  for (let i = 0; i < json.length; i++) {
    if (i === skipFrom) {
      i = skipTo;
      continue;
    }
    hash ^= json.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}
