import { at, expectObject, invalid, isObject, optionalArray, requiredString, type Obj } from './fields.ts';

/**
 * Clouddriver's KubernetesSelectorList (`labelSelectors: {selectors: [{kind, key, values}]}`) as a
 * Kubernetes label selector string, e.g. `app=web,tier in (a,b),!canary`.
 */
const SELECTOR_KINDS = ['EQUALS', 'NOT_EQUALS', 'CONTAINS', 'NOT_CONTAINS', 'EXISTS', 'NOT_EXISTS'] as const;
type SelectorKind = (typeof SELECTOR_KINDS)[number];

function values(selector: Obj, path: string): string[] {
  const list = optionalArray(selector, 'values', path) ?? [];
  return list.map((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') invalid(at(at(path, 'values'), i), 'expected a string');
    return String(v);
  });
}

function selectorTerm(raw: unknown, path: string): string {
  const selector = expectObject(raw, path);
  const kind = requiredString(selector, 'kind', path).toUpperCase() as SelectorKind;
  if (!SELECTOR_KINDS.includes(kind)) invalid(at(path, 'kind'), `expected one of ${SELECTOR_KINDS.join(', ')}`);
  const key = requiredString(selector, 'key', path);
  const vals = values(selector, path);
  switch (kind) {
    case 'EQUALS':
    case 'NOT_EQUALS':
      if (vals.length !== 1) invalid(at(path, 'values'), `${kind} takes exactly one value`);
      return `${key}${kind === 'EQUALS' ? '=' : '!='}${vals[0]}`;
    case 'CONTAINS':
    case 'NOT_CONTAINS':
      if (vals.length === 0) invalid(at(path, 'values'), `${kind} takes at least one value`);
      return `${key} ${kind === 'CONTAINS' ? 'in' : 'notin'} (${vals.join(',')})`;
    case 'EXISTS':
      return key;
    case 'NOT_EXISTS':
      return `!${key}`;
  }
}

/** The selector string, or undefined when the description has no selectors. */
export function parseLabelSelectors(raw: unknown, path: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) invalid(path, 'expected an object with selectors');
  const selectors = optionalArray(raw, 'selectors', path) ?? [];
  if (selectors.length === 0) return undefined;
  return selectors.map((s, i) => selectorTerm(s, at(at(path, 'selectors'), i))).join(',');
}
