import { isPlainObject } from './patch/merge-patch.ts';

/**
 * Simplified managedFields for server-side apply: each applier's entry lists the fields its applied
 * configuration set, in the FieldsV1 notation (`f:<field>`, `k:{<merge key>}` for keyed list items,
 * `v:<value>` for set items). Only Apply operations are recorded (plain updates, controllers included, leave
 * managedFields alone); among those the real rules hold: changing a field another manager owns is a 409
 * conflict unless forced, and fields an applier stops applying are removed when nobody else owns them.
 */
const LIST_ITEM_KEYS = ['name', 'containerPort', 'mountPath', 'port', 'type', 'uid', 'ip', 'devicePath'];
const SKIPPED_TOP_LEVEL = new Set(['apiVersion', 'kind']);
const SKIPPED_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']);

function listItemKey(item: Record<string, unknown>): string | undefined {
  const key = LIST_ITEM_KEYS.find((k) => item[k] !== undefined && typeof item[k] !== 'object');
  return key === undefined ? undefined : `k:${JSON.stringify({ [key]: item[key] })}`;
}

function fieldsOf(value: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (skip.has(key)) continue;
    if (isPlainObject(v) && key === 'metadata') {
      const metadata = fieldsOf(v, SKIPPED_METADATA);
      if (Object.keys(metadata).length > 0) out['f:metadata'] = metadata;
    } else if (isPlainObject(v)) out[`f:${key}`] = { '.': {}, ...fieldsOf(v) };
    else if (Array.isArray(v)) {
      const items: Record<string, unknown> = {};
      for (const item of v) {
        const itemKey = isPlainObject(item) ? listItemKey(item) : `v:${JSON.stringify(item)}`;
        if (itemKey !== undefined) items[itemKey] = isPlainObject(item) ? { '.': {}, ...fieldsOf(item) } : {};
      }
      out[`f:${key}`] = items;
    } else out[`f:${key}`] = {};
  }
  return out;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Replaces the manager's Apply entry with one describing `applied`. */
export function recordApply(existing: unknown, manager: string, apiVersion: string, applied: Record<string, unknown>, time: string): ManagedFieldsEntry[] {
  const entries = Array.isArray(existing) ? (existing as ManagedFieldsEntry[]).filter((e) => !(e.manager === manager && e.operation === 'Apply')) : [];
  entries.push({ manager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: fieldsOf(applied, SKIPPED_TOP_LEVEL) });
  return entries;
}

// ---- server-side apply ownership: conflicts between managers, forced takeover, pruning ----

type FieldsV1 = Record<string, unknown>;
/** A field path as FieldsV1 steps (`f:spec`, `k:{"name":"web"}`, `v:"x"`). */
type Steps = string[];

/** A path's steps joined with a separator no step contains, so that prefix tests find descendants. */
const SEP = '\u0000';
const pathKey = (steps: Steps): string => steps.join(SEP);

/**
 * The paths a FieldsV1 set owns: leaves (scalars, atomic values) and nodes marked with "." (a map or list
 * item owned as such). `leaf` tells which are leaves, the only ones whose values are compared for conflicts.
 */
function ownedPaths(
  fields: unknown,
  prefix: Steps = [],
  out = new Map<string, { steps: Steps; leaf: boolean }>(),
): Map<string, { steps: Steps; leaf: boolean }> {
  if (!isPlainObject(fields)) return out;
  for (const [step, child] of Object.entries(fields)) {
    if (step === '.') continue;
    const steps = [...prefix, step];
    if (isPlainObject(child) && '.' in child) {
      out.set(pathKey(steps), { steps, leaf: false });
      ownedPaths(child, steps, out);
    } else if (isPlainObject(child) && Object.keys(child).length > 0) ownedPaths(child, steps, out);
    else out.set(pathKey(steps), { steps, leaf: true });
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function matchesItem(step: string, item: unknown): boolean {
  if (step.startsWith('k:')) {
    if (!isPlainObject(item)) return false;
    const key = JSON.parse(step.slice(2)) as Record<string, unknown>;
    return Object.entries(key).every(([k, v]) => sameJson(item[k], v));
  }
  if (step.startsWith('v:')) return sameJson(item, JSON.parse(step.slice(2)));
  return false;
}

/** Where a path leads in an object: the container holding the last step, and the index or key there. */
function locate(object: unknown, steps: Steps): { found: boolean; value?: unknown; parent?: unknown; at?: string | number } {
  let current: unknown = object;
  let parent: unknown;
  let at: string | number | undefined;
  for (const step of steps) {
    parent = current;
    if (step.startsWith('f:')) {
      if (!isPlainObject(current) || !(step.slice(2) in current)) return { found: false };
      at = step.slice(2);
      current = current[at];
    } else if (step.startsWith('i:')) {
      const index = Number(step.slice(2));
      if (!Array.isArray(current) || index >= current.length) return { found: false };
      at = index;
      current = current[index];
    } else {
      if (!Array.isArray(current)) return { found: false };
      const index = current.findIndex((item) => matchesItem(step, item));
      if (index < 0) return { found: false };
      at = index;
      current = current[index];
    }
  }
  return { found: true, value: current, parent, at };
}

function removePath(object: unknown, steps: Steps): void {
  const place = locate(object, steps);
  if (!place.found) return;
  if (Array.isArray(place.parent) && typeof place.at === 'number') place.parent.splice(place.at, 1);
  else if (isPlainObject(place.parent) && typeof place.at === 'string') delete place.parent[place.at];
}

/** Removes a path from a FieldsV1 set, and the containers it leaves empty. */
function removeField(fields: FieldsV1, steps: Steps): void {
  const [first, ...rest] = steps;
  if (first === undefined || !isPlainObject(fields[first])) {
    if (first !== undefined) delete fields[first];
    return;
  }
  if (rest.length === 0) {
    delete fields[first];
    return;
  }
  const child = fields[first] as FieldsV1;
  removeField(child, rest);
  if (Object.keys(child).length === 0) delete fields[first];
}

/** fieldpath.Path.String(): `.spec.containers[name="web"].image`. */
export function fieldPathString(steps: Steps): string {
  return steps
    .map((step) => {
      const body = step.slice(2);
      if (step.startsWith('f:')) return `.${body}`;
      if (step.startsWith('i:')) return `[${body}]`;
      if (step.startsWith('v:')) return `[=${body}]`;
      const key = JSON.parse(body) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

export interface ApplyConflict {
  manager: string;
  steps: Steps;
}

export interface ApplyOwnership {
  /** Fields the applier would take from other managers with a different value (a 409 unless forced). */
  conflicts: ApplyConflict[];
  /** Removes from `merged` what the applier owned before, no longer applies, and nobody else owns. */
  prune(merged: Record<string, unknown>): void;
  /** The managedFields after the apply (the applier's entry replaced; forced fields taken from the others). */
  managedFields(time: string): ManagedFieldsEntry[];
}

/**
 * Server-side apply's ownership rules, simplified to the managers the sim records (Apply operations, and any
 * entries a client wrote itself): a field another manager owns may only be changed with force, which moves
 * it to the applier; a field the applier applied before and leaves out now is removed unless another
 * manager owns it too.
 */
export function planApply(
  existing: unknown,
  manager: string,
  apiVersion: string,
  applied: Record<string, unknown>,
  live: Record<string, unknown>,
): ApplyOwnership {
  const entries = Array.isArray(existing) ? (structuredClone(existing) as ManagedFieldsEntry[]) : [];
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Apply' && e.subresource === undefined);
  const others = entries.filter((e) => e !== mine);
  const fieldsV1 = fieldsOf(applied, SKIPPED_TOP_LEVEL);
  const wanted = ownedPaths(fieldsV1);

  const conflicts: ApplyConflict[] = [];
  for (const other of others) {
    const theirs = ownedPaths(other.fieldsV1);
    for (const [key, path] of wanted) {
      if (!path.leaf || !theirs.has(key)) continue;
      const want = locate(applied, path.steps);
      const have = locate(live, path.steps);
      if (!have.found || !sameJson(want.value, have.value)) conflicts.push({ manager: other.manager, steps: path.steps });
    }
  }
  // In path order, as the real server lists them.
  conflicts.sort((a, b) => (pathKey(a.steps) < pathKey(b.steps) ? -1 : pathKey(a.steps) > pathKey(b.steps) ? 1 : 0));

  let forced: ManagedFieldsEntry[] | undefined;
  /** The other managers' entries once the applier has taken the conflicting fields (entries left empty go). */
  const othersAfterForce = (): ManagedFieldsEntry[] => {
    if (forced !== undefined) return forced;
    for (const conflict of conflicts) {
      const entry = others.find((e) => e.manager === conflict.manager);
      if (entry !== undefined) removeField(entry.fieldsV1, conflict.steps);
    }
    forced = others.filter((e) => Object.keys(e.fieldsV1).length > 0);
    return forced;
  };

  return {
    conflicts,
    prune(merged) {
      if (mine === undefined) return;
      const othersOwned = othersAfterForce().flatMap((e) => [...ownedPaths(e.fieldsV1).keys()]);
      const ownedByOthers = (key: string): boolean => othersOwned.some((k) => k === key || k.startsWith(key + SEP));
      const dropped = [...ownedPaths(mine.fieldsV1).entries()]
        .filter(([key]) => !wanted.has(key) && !ownedByOthers(key))
        .sort(([a], [b]) => a.length - b.length);
      // Writers other than appliers are not recorded, so a dropped map keeps whatever else is in it: only
      // dropped leaves and list items go, then the dropped maps they leave empty.
      const removed: string[] = [];
      const maps: Steps[] = [];
      for (const [key, path] of dropped) {
        if (removed.some((r) => key.startsWith(r + SEP))) continue;
        const last = path.steps[path.steps.length - 1]!;
        if (!path.leaf && last.startsWith('f:')) {
          maps.push(path.steps);
          continue;
        }
        removePath(merged, path.steps);
        removed.push(key);
      }
      for (const steps of maps.reverse()) {
        const place = locate(merged, steps);
        if (place.found && isPlainObject(place.value) && Object.keys(place.value).length === 0) removePath(merged, steps);
      }
    },
    managedFields(time) {
      return [...othersAfterForce(), { manager, operation: 'Apply', apiVersion, time, fieldsType: 'FieldsV1', fieldsV1 }];
    },
  };
}
