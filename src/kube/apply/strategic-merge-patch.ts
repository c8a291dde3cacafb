/**
 * The three-way strategic merge patch that `kubectl apply` sends for built-in kinds, computed the way
 * apimachinery's `strategicpatch.CreateThreeWayMergePatch` does (with overwrite, as kubectl calls it):
 *
 *   patch = deletions(original → modified)  merged with  changes and additions(current → modified)
 *
 * where `original` is the last-applied configuration, `modified` the new manifest and `current` the live
 * object. Lists whose field declares `patchStrategy: merge` are diffed element-wise by their merge key
 * (deleted elements become `{$patch: delete}`, removed scalars a `$deleteFromPrimitiveList/<field>`, and
 * `$setElementOrder/<field>` keeps the manifest's order); maps with `retainKeys` carry `$retainKeys`;
 * every other list is replaced whole. Fields other clients added (a sidecar container, an annotation)
 * survive, because only what this manifest set before and no longer sets is deleted.
 *
 * The functions mirror apimachinery's one for one, including its orderings, so that the patches are the
 * ones kubectl would send, not merely equivalent ones.
 */
import { goSliceStable } from './go-sort.ts';
import { isJsonMap, jsonEqual as deepEqual, type Json, type JsonMap } from './json.ts';
import type { PatchMeta, PatchSchema } from './patch-meta.ts';

const DIRECTIVE_MARKER = '$patch';
const DELETE_DIRECTIVE = 'delete';
const REPLACE_DIRECTIVE = 'replace';
const MERGE_DIRECTIVE = 'merge';
const RETAIN_KEYS_STRATEGY = 'retainKeys';
const DELETE_FROM_PRIMITIVE_LIST_PREFIX = '$deleteFromPrimitiveList';
const RETAIN_KEYS_DIRECTIVE = '$retainKeys';
const SET_ELEMENT_ORDER_PREFIX = '$setElementOrder';

interface DiffOptions {
  setElementOrder: boolean;
  ignoreChangesAndAdditions: boolean;
  ignoreDeletions: boolean;
  buildRetainKeysDirective: boolean;
}

export class StrategicMergePatchError extends Error {
  override readonly name = 'StrategicMergePatchError';
}

/** The Go type a decoded JSON value has (all numbers are float64). */
function typeOf(value: Json | undefined): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return 'slice';
  return typeof value === 'object' ? 'map' : typeof value;
}

/** `fmt.Sprintf("%v", value)` for decoded JSON scalars, which is how apimachinery compares keys. */
export function goString(value: Json | undefined): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'number') return goFloat(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** strconv.FormatFloat(f, 'g', -1, 64), the shortest form Go prints for a float64. */
function goFloat(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const exponent = value === 0 ? 0 : Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 21) {
    const [mantissa, exp] = value.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '');
    return `${mantissa}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  return String(value);
}

function byGoString(a: Json, b: Json): number {
  const x = goString(a);
  const y = goString(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function sortScalars(list: Json[]): Json[] {
  return list.slice().sort(byGoString);
}

/** apimachinery's in-place deduplication: a duplicate is overwritten by the last element. */
function deduplicateScalars(input: Json[]): Json[] {
  const s = input.slice();
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length]!;
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

function sortMapsByField(list: Json[], field: string): Json[] {
  return list.slice().sort((a, b) => byGoString((a as JsonMap)[field] ?? null, (b as JsonMap)[field] ?? null));
}

function retainKeysAndStrategy(meta: PatchMeta): { retainKeys: boolean; strategy: string } {
  const strategies = meta.strategies;
  if (strategies.length === 0) return { retainKeys: false, strategy: '' };
  if (strategies.length === 1)
    return strategies[0] === RETAIN_KEYS_STRATEGY ? { retainKeys: true, strategy: '' } : { retainKeys: false, strategy: strategies[0]! };
  if (strategies.length === 2) {
    if (strategies[0] === RETAIN_KEYS_STRATEGY) return { retainKeys: true, strategy: strategies[1]! };
    if (strategies[1] === RETAIN_KEYS_STRATEGY) return { retainKeys: true, strategy: strategies[0]! };
  }
  throw new StrategicMergePatchError(`unexpected patch strategy: ${strategies.join(',')}`);
}

function sliceElementType(...slices: Json[][]): string {
  let previous: string | undefined;
  for (const slice of slices) {
    for (const value of slice) {
      const current = typeOf(value);
      if (previous === undefined) {
        previous = current;
        if (previous === 'slice') throw new StrategicMergePatchError('lists of lists are not supported');
      } else if (previous !== current) {
        throw new StrategicMergePatchError(`list element types are not identical: ${JSON.stringify(slices)}`);
      }
    }
  }
  if (previous === undefined) throw new StrategicMergePatchError('no elements in any of the given slices');
  return previous;
}

function noMergeKey(item: Json, mergeKey: string): StrategicMergePatchError {
  return new StrategicMergePatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
}

// ---- diff ------------------------------------------------------------------------------------------

function diffMaps(original: JsonMap, modified: JsonMap, schema: PatchSchema, options: DiffOptions): JsonMap {
  const patch: JsonMap = {};
  const retainKeysList: Json[] = [];
  for (const [key, modifiedValue] of Object.entries(modified)) {
    if (options.buildRetainKeysDirective && modifiedValue !== null) retainKeysList.push(key);
    if (!(key in original)) {
      if (!options.ignoreChangesAndAdditions) patch[key] = modifiedValue;
      continue;
    }
    const originalValue = original[key]!;
    if (key === DIRECTIVE_MARKER) {
      if (typeof originalValue !== 'string' || typeof modifiedValue !== 'string')
        throw new StrategicMergePatchError(`invalid value for special key: ${DIRECTIVE_MARKER}`);
      if (modifiedValue !== originalValue) patch[DIRECTIVE_MARKER] = modifiedValue;
      continue;
    }
    if (typeOf(originalValue) !== typeOf(modifiedValue)) {
      if (!options.ignoreChangesAndAdditions) patch[key] = modifiedValue;
      continue;
    }
    if (isJsonMap(originalValue)) handleMapDiff(key, originalValue, modifiedValue as JsonMap, patch, schema, options);
    else if (Array.isArray(originalValue)) handleSliceDiff(key, originalValue, modifiedValue as Json[], patch, schema, options);
    else replaceIfNotEqual(key, originalValue, modifiedValue, patch, options);
  }
  if (!options.ignoreDeletions) {
    for (const key of Object.keys(original)) if (!(key in modified)) patch[key] = null;
  }
  if (retainKeysList.length > 0 && (Object.keys(patch).length > 0 || hasAdditionalNewField(original, modified))) {
    patch[RETAIN_KEYS_DIRECTIVE] = sortScalars(retainKeysList);
  }
  return patch;
}

function hasAdditionalNewField(original: JsonMap, modified: JsonMap): boolean {
  return Object.entries(original).some(([key, value]) => value !== null && !(key in modified));
}

function lookup(
  kind: 'struct' | 'slice',
  schema: PatchSchema,
  key: string,
  original: Json,
  modified: Json,
): { schema: PatchSchema; meta: PatchMeta } | undefined {
  try {
    return kind === 'struct' ? schema.lookupStruct(key) : schema.lookupSlice(key);
  } catch (err) {
    // Without metadata identical values need no patch; different ones cannot be diffed safely.
    if (deepEqual(original, modified)) return undefined;
    throw err;
  }
}

function handleMapDiff(key: string, original: JsonMap, modified: JsonMap, patch: JsonMap, schema: PatchSchema, options: DiffOptions): void {
  const found = lookup('struct', schema, key, original, modified);
  if (found === undefined) return;
  const { retainKeys, strategy } = retainKeysAndStrategy(found.meta);
  const nested = { ...options, buildRetainKeysDirective: retainKeys };
  if (strategy === REPLACE_DIRECTIVE) {
    if (!nested.ignoreChangesAndAdditions) patch[key] = modified;
    return;
  }
  const value = diffMaps(original, modified, found.schema, nested);
  if (Object.keys(value).length > 0) patch[key] = value;
}

function handleSliceDiff(key: string, original: Json[], modified: Json[], patch: JsonMap, schema: PatchSchema, options: DiffOptions): void {
  const found = lookup('slice', schema, key, original, modified);
  if (found === undefined) return;
  const { retainKeys, strategy } = retainKeysAndStrategy(found.meta);
  if (strategy !== MERGE_DIRECTIVE) {
    replaceIfNotEqual(key, original, modified, patch, options);
    return;
  }
  const { patchList, deleteList, setOrderList } = diffLists(original, modified, found.schema, found.meta.mergeKey, {
    ...options,
    buildRetainKeysDirective: retainKeys,
  });
  if (patchList.length > 0) patch[key] = patchList;
  if (deleteList.length > 0) patch[`${DELETE_FROM_PRIMITIVE_LIST_PREFIX}/${key}`] = deleteList;
  if (setOrderList.length > 0) patch[`${SET_ELEMENT_ORDER_PREFIX}/${key}`] = setOrderList;
}

function replaceIfNotEqual(key: string, original: Json, modified: Json, patch: JsonMap, options: DiffOptions): void {
  if (options.ignoreChangesAndAdditions || deepEqual(original, modified)) return;
  patch[key] = modified;
}

function diffLists(
  original: Json[],
  modified: Json[],
  schema: PatchSchema,
  mergeKey: string,
  options: DiffOptions,
): { patchList: Json[]; deleteList: Json[]; setOrderList: Json[] } {
  if (original.length === 0) {
    if (modified.length === 0 || options.ignoreChangesAndAdditions) return { patchList: [], deleteList: [], setOrderList: [] };
    return { patchList: modified, deleteList: [], setOrderList: [] };
  }
  const kind = sliceElementType(original, modified);
  if (kind === 'map') {
    const diffed = diffListsOfMaps(original, modified, schema, mergeKey, options);
    let patchList = normalizeSliceOrder(diffed.patch, modified, mergeKey, kind);
    const orderSame = isOrderSame(original, modified, mergeKey);
    patchList = [...patchList, ...diffed.deletions];
    let setOrderList: Json[] = [];
    if (
      options.setElementOrder &&
      ((!options.ignoreChangesAndAdditions && (patchList.length > 0 || !orderSame)) || (!options.ignoreDeletions && patchList.length > 0))
    ) {
      setOrderList = modified.map((item) => ({ [mergeKey]: (item as JsonMap)[mergeKey] ?? null }));
    }
    return { patchList, deleteList: [], setOrderList };
  }
  const diffed = diffListsOfScalars(original, modified, options);
  const patchList = normalizeSliceOrder(diffed.additions, modified, mergeKey, kind);
  let setOrderList: Json[] = [];
  if (
    options.setElementOrder &&
    ((!options.ignoreDeletions && diffed.deletions.length > 0) || (!options.ignoreChangesAndAdditions && !deepEqual(original, modified)))
  ) {
    setOrderList = modified;
  }
  return { patchList, deleteList: diffed.deletions, setOrderList };
}

function mergeKeyValueEqual(left: Json, right: Json, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isJsonMap(left) || !isJsonMap(right)) throw new StrategicMergePatchError(`expected maps in a list merged by ${mergeKey}`);
  if (!(mergeKey in left)) throw noMergeKey(left, mergeKey);
  if (!(mergeKey in right)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function isOrderSame(original: Json[], modified: Json[], mergeKey: string): boolean {
  if (original.length !== modified.length) return false;
  return modified.every((item, i) => mergeKeyValueEqual(original[i]!, item, mergeKey));
}

function diffListsOfScalars(original: Json[], modified: Json[], options: DiffOptions): { additions: Json[]; deletions: Json[] } {
  const originalScalars = sortScalars(original);
  const modifiedScalars = sortScalars(modified);
  const additions: Json[] = [];
  const deletions: Json[] = [];
  let o = 0;
  let m = 0;
  while (o < originalScalars.length || m < modifiedScalars.length) {
    const originalIn = o < originalScalars.length;
    const modifiedIn = m < modifiedScalars.length;
    const originalString = originalIn ? goString(originalScalars[o]) : '';
    const modifiedString = modifiedIn ? goString(modifiedScalars[m]) : '';
    if (originalIn && modifiedIn && originalString === modifiedString) {
      o++;
      m++;
    } else if (!originalIn || (originalIn && modifiedIn && originalString > modifiedString)) {
      if (!options.ignoreChangesAndAdditions) additions.push(modifiedScalars[m]!);
      m++;
    } else {
      if (!options.ignoreDeletions) deletions.push(originalScalars[o]!);
      o++;
    }
  }
  return { additions, deletions: deduplicateScalars(deletions) };
}

function mergeKeyOf(item: Json, mergeKey: string): Json {
  if (!isJsonMap(item)) throw new StrategicMergePatchError(`expected a map in a list merged by ${mergeKey}, got ${JSON.stringify(item)}`);
  if (!(mergeKey in item)) throw noMergeKey(item, mergeKey);
  return item[mergeKey]!;
}

function diffListsOfMaps(
  original: Json[],
  modified: Json[],
  schema: PatchSchema,
  mergeKey: string,
  options: DiffOptions,
): { patch: Json[]; deletions: Json[] } {
  const patch: Json[] = [];
  const deletions: Json[] = [];
  const originalSorted = sortMapsByField(original, mergeKey);
  const modifiedSorted = sortMapsByField(modified, mergeKey);
  let o = 0;
  let m = 0;
  while (o < originalSorted.length || m < modifiedSorted.length) {
    const originalIn = o < originalSorted.length;
    const modifiedIn = m < modifiedSorted.length;
    const originalValue = originalIn ? mergeKeyOf(originalSorted[o]!, mergeKey) : null;
    const modifiedValue = modifiedIn ? mergeKeyOf(modifiedSorted[m]!, mergeKey) : null;
    const originalString = originalIn ? goString(originalValue) : '';
    const modifiedString = modifiedIn ? goString(modifiedValue) : '';
    if (originalIn && modifiedIn && originalString === modifiedString) {
      const value = diffMaps(originalSorted[o] as JsonMap, modifiedSorted[m] as JsonMap, schema, options);
      if (Object.keys(value).length > 0) {
        value[mergeKey] = modifiedValue;
        patch.push(value);
      }
      o++;
      m++;
    } else if (!originalIn || (originalIn && modifiedIn && originalString > modifiedString)) {
      if (!options.ignoreChangesAndAdditions) patch.push(modifiedSorted[m]!);
      m++;
    } else {
      if (!options.ignoreDeletions) deletions.push({ [mergeKey]: originalValue, [DIRECTIVE_MARKER]: DELETE_DIRECTIVE });
      o++;
    }
  }
  return { patch, deletions };
}

// ---- ordering ----------------------------------------------------------------------------------

/** The position of `value` in `list`: by merge key for maps, by value for scalars. */
function indexIn(list: Json[], value: Json, mergeKey: string, kind: string): number {
  const key = (item: Json): Json | undefined => (kind === 'map' ? (isJsonMap(item) ? item[mergeKey] : null) : item);
  const wanted = key(value);
  return list.findIndex((item) => key(item) === wanted);
}

function normalizeSliceOrder(toSort: Json[], order: Json[], mergeKey: string, kind: string): Json[] {
  let items = toSort;
  let toDelete: Json[] = [];
  if (kind === 'map') {
    for (const list of [items, order]) for (const item of list) mergeKeyOf(item, mergeKey);
    const split = extractToDeleteItems(items);
    items = split.nonDelete;
    toDelete = split.toDelete;
  }
  const sorted = goSliceStable(items, (a, b) => {
    const ia = indexIn(order, a, mergeKey, kind);
    if (ia >= 0) {
      const ib = indexIn(order, b, mergeKey, kind);
      if (ib >= 0) return ia < ib;
    }
    return true;
  });
  return [...sorted, ...toDelete];
}

function extractToDeleteItems(list: Json[]): { nonDelete: Json[]; toDelete: Json[] } {
  const nonDelete: Json[] = [];
  const toDelete: Json[] = [];
  for (const item of list) {
    if (!isJsonMap(item)) throw new StrategicMergePatchError(`expected a map, got ${JSON.stringify(item)}`);
    if (item[DIRECTIVE_MARKER] === DELETE_DIRECTIVE) toDelete.push(item);
    else nonDelete.push(item);
  }
  return { nonDelete, toDelete };
}

function normalizeElementOrder(patch: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string, kind: string): Json[] {
  const sortedPatch = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const sortedServerOnly = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(sortedServerOnly, sortedPatch, serverOrder, mergeKey, kind);
}

function mergeSortedSlice(left: Json[], right: Json[], serverOrder: Json[], mergeKey: string, kind: string): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]!);
    else if (j >= right.length) out.push(left[i++]!);
    else {
      const li = indexIn(serverOrder, left[i]!, mergeKey, kind);
      const ri = indexIn(serverOrder, right[j]!, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]!);
      else out.push(right[j++]!);
    }
  }
  return out;
}

// ---- combining the deletions and the changes (apimachinery's mergeMap without parallel lists) ----

function findByMergeKey(list: Json[], key: string, value: Json): number {
  for (let i = 0; i < list.length; i++) {
    const item = list[i]!;
    if (!isJsonMap(item)) throw new StrategicMergePatchError(`value for key ${i} is not a map`);
    if (key in item && item[key] === value) return i;
  }
  return -1;
}

function removeDirectives(value: Json): { value: Json; keep: boolean } {
  if (value === null) return { value, keep: true };
  if (isJsonMap(value)) {
    if (DIRECTIVE_MARKER in value) return { value: null, keep: false };
    for (const [key, v] of Object.entries(value)) {
      const inner = removeDirectives(v);
      if (inner.keep) value[key] = inner.value;
      else delete value[key];
    }
    return { value, keep: true };
  }
  if (Array.isArray(value)) {
    const out: Json[] = [];
    for (const v of value) {
      const inner = removeDirectives(v);
      if (inner.keep) out.push(inner.value);
    }
    return { value: out, keep: true };
  }
  return { value, keep: true };
}

function mergeMap(original: JsonMap, patch: JsonMap, schema: PatchSchema): JsonMap {
  if (DIRECTIVE_MARKER in patch) {
    const directive = patch[DIRECTIVE_MARKER];
    if (directive === REPLACE_DIRECTIVE) {
      delete patch[DIRECTIVE_MARKER];
      return patch;
    }
    if (directive === DELETE_DIRECTIVE) return {};
    throw new StrategicMergePatchError(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);
  }
  applyRetainKeysDirective(original, patch);
  mergePatchIntoOriginal(original, patch, schema);
  for (const [key, patchValue] of Object.entries(patch)) {
    // Without merging parallel lists, a deletion list is carried over as it is.
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX)) {
      original[key] = patchValue;
      continue;
    }
    if (patchValue === null) delete original[key];
    if (!(key in original)) {
      const cleaned = removeDirectives(patchValue);
      if (cleaned.keep) original[key] = cleaned.value;
      else delete original[key];
      continue;
    }
    const originalValue = original[key]!;
    if (typeOf(originalValue) !== typeOf(patchValue)) {
      const cleaned = removeDirectives(patchValue);
      if (cleaned.keep) original[key] = cleaned.value;
      else delete original[key];
      continue;
    }
    if (isJsonMap(originalValue)) {
      const { schema: sub, meta } = schema.lookupStruct(key);
      const { strategy } = retainKeysAndStrategy(meta);
      original[key] = strategy !== REPLACE_DIRECTIVE ? mergeMap(originalValue, patchValue as JsonMap, sub) : patchValue;
    } else if (Array.isArray(originalValue)) {
      const { schema: sub, meta } = schema.lookupSlice(key);
      const { strategy } = retainKeysAndStrategy(meta);
      original[key] = strategy === MERGE_DIRECTIVE ? mergeSlice(originalValue, patchValue as Json[], sub, meta.mergeKey) : patchValue;
    } else {
      const cleaned = removeDirectives(patchValue);
      if (cleaned.keep) original[key] = cleaned.value;
      else delete original[key];
    }
  }
  return original;
}

function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!(RETAIN_KEYS_DIRECTIVE in patch)) return;
  const inPatch = patch[RETAIN_KEYS_DIRECTIVE]!;
  delete patch[RETAIN_KEYS_DIRECTIVE];
  if (RETAIN_KEYS_DIRECTIVE in original) {
    if (!deepEqual(original[RETAIN_KEYS_DIRECTIVE], inPatch)) {
      throw new StrategicMergePatchError(
        `${JSON.stringify(original[RETAIN_KEYS_DIRECTIVE])} and ${JSON.stringify(inPatch)} are not deep equal: this may happen when calculating the 3-way diff patch`,
      );
    }
  } else {
    original[RETAIN_KEYS_DIRECTIVE] = inPatch;
  }
}

function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, schema: PatchSchema): void {
  for (const [key, setElementOrder] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER_PREFIX)) continue;
    if (key in original) {
      if (!deepEqual(original[key], setElementOrder)) throw new StrategicMergePatchError('invalid patch: the $setElementOrder lists of the two patches differ');
    } else {
      original[key] = setElementOrder;
    }
    delete patch[key];
    if (!Array.isArray(setElementOrder)) throw new StrategicMergePatchError(`invalid $setElementOrder list: ${JSON.stringify(setElementOrder)}`);
    const slash = key.indexOf('/');
    if (slash < 0 || key.slice(0, slash) !== SET_ELEMENT_ORDER_PREFIX) throw new StrategicMergePatchError(`invalid $setElementOrder key: ${key}`);
    const listKey = key.slice(slash + 1);
    const foundOriginal = listKey in original;
    const foundPatch = listKey in patch;
    const originalList = original[listKey];
    const patchList = patch[listKey];
    if (foundOriginal && !Array.isArray(originalList)) throw new StrategicMergePatchError(`${listKey} is not a list: ${JSON.stringify(originalList)}`);
    if (foundPatch && !Array.isArray(patchList)) throw new StrategicMergePatchError(`${listKey} is not a list: ${JSON.stringify(patchList)}`);
    const { schema: sub, meta } = schema.lookupSlice(listKey);
    const { strategy } = retainKeysAndStrategy(meta);
    validatePatchWithSetOrderList((patchList as Json[] | undefined) ?? [], setElementOrder, meta.mergeKey);

    let merged: Json[];
    if (foundOriginal && !foundPatch) merged = originalList as Json[];
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList!).value as Json[];
    else if (foundOriginal && foundPatch)
      merged = strategy === MERGE_DIRECTIVE ? mergeSlice(originalList as Json[], patchList as Json[], sub, meta.mergeKey) : (patchList as Json[]);
    else continue;

    const { patchItems, serverOnly } =
      meta.mergeKey === '' ? partitionPrimitives(merged, setElementOrder) : partitionMaps(merged, setElementOrder, meta.mergeKey);
    const kind = sliceElementType((originalList as Json[] | undefined) ?? [], (patchList as Json[] | undefined) ?? []);
    original[listKey] = normalizeElementOrder(patchItems, serverOnly, setElementOrder, (originalList as Json[] | undefined) ?? [], meta.mergeKey, kind);
    delete patch[listKey];
  }
}

function validatePatchWithSetOrderList(patchList: Json[], setOrderList: Json[], mergeKey: string): void {
  if (setOrderList.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey !== '' ? extractToDeleteItems(patchList).nonDelete : patchList;
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < setOrderList.length) {
    if (isJsonMap(nonDelete[p]) && DIRECTIVE_MARKER in (nonDelete[p] as JsonMap)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(nonDelete[p]!, setOrderList[s]!, mergeKey)) p++;
    s++;
  }
  if (p < nonDelete.length && s >= setOrderList.length) {
    throw new StrategicMergePatchError(
      `the order in the patch list ${JSON.stringify(patchList)} doesn't match the $setElementOrder list ${JSON.stringify(setOrderList)}`,
    );
  }
}

function partitionPrimitives(list: Json[], by: Json[]): { patchItems: Json[]; serverOnly: Json[] } {
  const inPatch = new Set(by);
  return { patchItems: list.filter((v) => inPatch.has(v)), serverOnly: list.filter((v) => !inPatch.has(v)) };
}

function partitionMaps(list: Json[], by: Json[], mergeKey: string): { patchItems: Json[]; serverOnly: Json[] } {
  const patchItems: Json[] = [];
  const serverOnly: Json[] = [];
  for (const item of list) {
    const value = mergeKeyOf(item, mergeKey);
    if (findByMergeKey(by, mergeKey, value) >= 0) patchItems.push(item);
    else serverOnly.push(item);
  }
  return { patchItems, serverOnly };
}

function mergeSlice(original: Json[], patch: Json[], schema: PatchSchema, mergeKey: string): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementType(original, patch);
  let merged: Json[];
  let base = original;
  let rest = patch;
  if (kind !== 'map') {
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw new StrategicMergePatchError(`cannot merge lists without merge key for ${schema.name}`);
    ({ original: base, patch: rest } = mergeSliceWithSpecialElements(original, patch, mergeKey));
    merged = mergeSliceWithoutSpecialElements(base, rest, mergeKey, schema);
  }
  // As apimachinery does: the order comes from the patch without its directives and the original without what they deleted.
  const { patchItems, serverOnly } = mergeKey === '' ? partitionPrimitives(merged, rest) : partitionMaps(merged, rest, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, rest, base, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: Json[], patch: Json[], mergeKey: string): { original: Json[]; patch: Json[] } {
  const plain: Json[] = [];
  let replace = false;
  let base = original;
  for (const item of patch) {
    const map = item as JsonMap;
    if (!(DIRECTIVE_MARKER in map)) {
      plain.push(item);
      continue;
    }
    const directive = map[DIRECTIVE_MARKER];
    if (directive === DELETE_DIRECTIVE) {
      if (!(mergeKey in map)) throw noMergeKey(map, mergeKey);
      const value = map[mergeKey]!;
      base = base.filter((candidate) => !(isJsonMap(candidate) && mergeKey in candidate && candidate[mergeKey] === value));
    } else if (directive === REPLACE_DIRECTIVE) {
      replace = true;
    } else if (directive === MERGE_DIRECTIVE) {
      throw new StrategicMergePatchError('merging lists cannot yet be specified in the patch');
    } else {
      throw new StrategicMergePatchError(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(map)}`);
    }
  }
  return replace ? { original: plain, patch: [] } : { original: base, patch: plain };
}

function mergeSliceWithoutSpecialElements(original: Json[], patch: Json[], mergeKey: string, schema: PatchSchema): Json[] {
  const out = original.slice();
  for (const item of patch) {
    const map = item as JsonMap;
    if (!(mergeKey in map)) throw noMergeKey(map, mergeKey);
    const at = findByMergeKey(out, mergeKey, map[mergeKey]!);
    if (at >= 0) out[at] = mergeMap(out[at] as JsonMap, map, schema);
    else out.push(item);
  }
  return out;
}

// ---- entry point -----------------------------------------------------------------------------------

/**
 * kubectl's client-side apply patch for a built-in kind. Inputs are decoded JSON objects and are not
 * modified; the result is `{}` when there is nothing to change.
 */
export function createThreeWayMergePatch(original: JsonMap | undefined, modified: JsonMap, current: JsonMap, schema: PatchSchema): JsonMap {
  const delta = diffMaps(structuredClone(current), structuredClone(modified), schema, {
    ignoreDeletions: true,
    setElementOrder: true,
    ignoreChangesAndAdditions: false,
    buildRetainKeysDirective: false,
  });
  const deletions = diffMaps(structuredClone(original ?? {}), structuredClone(modified), schema, {
    setElementOrder: true,
    ignoreChangesAndAdditions: true,
    ignoreDeletions: false,
    buildRetainKeysDirective: false,
  });
  return mergeMap(deletions, delta, schema);
}
