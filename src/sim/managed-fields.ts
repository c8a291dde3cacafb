import { isPlainObject } from './patch/merge-patch.ts';

/**
 * A simplified managedFields entry for server-side apply: the fields the applied configuration set, in the
 * FieldsV1 notation (`f:<field>`, `k:{<merge key>}` for keyed list items). Ownership conflicts are not
 * tracked; the entry is there so clients that read managers (kubectl, the agent's scrubber) see real shapes.
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
    if (isPlainObject(v)) out[`f:${key}`] = key === 'metadata' ? fieldsOf(v, SKIPPED_METADATA) : { '.': {}, ...fieldsOf(v) };
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
