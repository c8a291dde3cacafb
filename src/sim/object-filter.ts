import { matchesFields, type FieldSelector } from './field-selector.ts';
import { matchesLabels, type LabelSelector } from './label-selector.ts';
import type { StoredObject } from './stored-object.ts';

/** What a list or watch selects: a namespace (undefined = all), a label selector and a field selector. */
export interface ObjectFilter {
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldSelector;
}

export function matchesFilter(filter: ObjectFilter, object: StoredObject): boolean {
  if (filter.namespace !== undefined && filter.namespace !== '' && object.namespace !== filter.namespace) return false;
  return matchesLabels(filter.labels, object.labels) && matchesFields(filter.fields, object.fields);
}

export function hasSelectors(filter: ObjectFilter): boolean {
  return filter.labels.length > 0 || filter.fields.length > 0;
}
