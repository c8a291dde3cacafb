import { isPlainObject } from './merge-patch.ts';

/**
 * Strategic merge patch, `application/strategic-merge-patch+json`, for built-in kinds: maps merge
 * recursively and null deletes, like a merge patch; but lists that Kubernetes declares with
 * `patchStrategy: merge` merge element-wise by their merge key (containers by name, ports by containerPort,
 * volumeMounts by mountPath...), and the directives `$patch: replace|delete`, `$deleteFromPrimitiveList/<f>`
 * and `$retainKeys` are honoured, and `$setElementOrder/<f>` (sent by kubectl apply) orders the merged list
 * the way apimachinery does: the listed elements in the listed order, elements only the server has kept at
 * their places relative to them. Lists without a merge strategy are replaced, as in the real API server.
 */
type Obj = Record<string, unknown>;

/** Merge keys of the lists patched by field name, from the Kubernetes API types' patchMergeKey tags. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  readinessGates: 'conditionType',
};

/** Lists of scalars with patchStrategy merge: union instead of replace. */
const PRIMITIVE_MERGE_LISTS = new Set(['finalizers']);

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** `ports` merge by containerPort in containers but by port in Services; the items tell which. */
function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  if (field === 'ports') return items.some((item) => isPlainObject(item) && 'containerPort' in item) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

function withoutDirectives(value: Obj): Obj {
  const out: Obj = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER) || key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    out[key] = isPlainObject(v) ? withoutDirectives(v) : structuredClone(v);
  }
  return out;
}

/** Returns the merged map, or undefined when the patch deletes it (`$patch: delete`). */
function mergeMap(original: Obj | undefined, patch: Obj): Obj | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return withoutDirectives(patch);
  const out: Obj = { ...(original ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const removed = Array.isArray(value) ? value : [];
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((v) => !removed.includes(v));
      continue;
    }
    if (value === null) delete out[key];
    else if (isPlainObject(value)) {
      const merged = mergeMap(isPlainObject(out[key]) ? (out[key] as Obj) : undefined, value);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) out[key] = mergeList(key, out[key], value);
    else out[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(SET_ELEMENT_ORDER.length);
    if (Array.isArray(out[field]))
      out[field] = orderElements(field, out[field] as unknown[], order, Array.isArray(original?.[field]) ? (original[field] as unknown[]) : []);
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  if (patch.some((item) => isPlainObject(item) && item[DIRECTIVE] === 'replace')) {
    return patch
      .filter((item) => !(isPlainObject(item) && item[DIRECTIVE] === 'replace'))
      .map((item) => (isPlainObject(item) ? withoutDirectives(item) : item));
  }
  const base = Array.isArray(original) ? original.map((item) => structuredClone(item) as unknown) : [];
  if (PRIMITIVE_MERGE_LISTS.has(field)) {
    for (const item of patch) if (!base.includes(item)) base.push(item);
    return base;
  }
  const mergeKey = mergeKeyFor(field, [...patch, ...base]);
  if (mergeKey === undefined) return patch.map((item) => (isPlainObject(item) ? withoutDirectives(item) : structuredClone(item)));
  for (const item of patch) {
    if (!isPlainObject(item)) {
      if (!base.includes(item)) base.push(item);
      continue;
    }
    const index = base.findIndex((existing) => isPlainObject(existing) && existing[mergeKey] === item[mergeKey]);
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) base.splice(index, 1);
      continue;
    }
    const merged = mergeMap(index >= 0 ? (base[index] as Obj) : undefined, item);
    if (merged === undefined) continue;
    if (index >= 0) base[index] = merged;
    else base.push(merged);
  }
  return base;
}

/**
 * `$setElementOrder/<field>`: apimachinery's normalizeElementOrder. Elements named in `order` come in that
 * order; the others (only on the server) keep the server's order, and the two are interleaved by where
 * the elements stood in the server's list.
 */
function orderElements(field: string, merged: unknown[], order: unknown[], server: unknown[]): unknown[] {
  const mergeKey = PRIMITIVE_MERGE_LISTS.has(field) ? undefined : mergeKeyFor(field, [...order, ...merged]);
  const keyOf = (item: unknown): unknown => (mergeKey !== undefined && isPlainObject(item) ? item[mergeKey] : item);
  const orderKeys = order.map(keyOf);
  const serverKeys = server.map(keyOf);
  const indexIn = (keys: unknown[], item: unknown): number => keys.indexOf(keyOf(item));
  const byIndex =
    (keys: unknown[]) =>
    (a: unknown, b: unknown): number => {
      const ia = indexIn(keys, a);
      const ib = indexIn(keys, b);
      return (ia < 0 ? Number.MAX_SAFE_INTEGER : ia) - (ib < 0 ? Number.MAX_SAFE_INTEGER : ib);
    };
  const patched = merged.filter((item) => indexIn(orderKeys, item) >= 0).sort(byIndex(orderKeys));
  const serverOnly = merged.filter((item) => indexIn(orderKeys, item) < 0).sort(byIndex(serverKeys));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patched.length) {
    if (j >= patched.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patched[j++]);
    else {
      const li = indexIn(serverKeys, serverOnly[i]);
      const ri = indexIn(serverKeys, patched[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patched[j++]);
    }
  }
  return out;
}

export function applyStrategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  return mergeMap(isPlainObject(original) ? original : undefined, patch) ?? {};
}
