import { at, expectObject, invalid, isObject, optionalArray, requiredString, type Obj } from './fields.ts';

/**
 * Clouddriver's KubernetesSelectorList (`labelSelectors: {selectors: [{kind, key, values}]}`): as a
 * Kubernetes label selector string (`app=web,tier in (a,b),!canary`) for the API server, and as a
 * predicate on a manifest's labels (what `kubectl apply --selector` does on the client side).
 */
const SELECTOR_KINDS = ['EQUALS', 'NOT_EQUALS', 'CONTAINS', 'NOT_CONTAINS', 'EXISTS', 'NOT_EXISTS'] as const;
type SelectorKind = (typeof SELECTOR_KINDS)[number];

export interface SelectorTerm {
  kind: SelectorKind;
  key: string;
  values: string[];
}

export interface SelectorList {
  terms: SelectorTerm[];
  /** The Kubernetes label selector string. */
  text: string;
}

function values(selector: Obj, path: string): string[] {
  const list = optionalArray(selector, 'values', path) ?? [];
  return list.map((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') invalid(at(at(path, 'values'), i), 'expected a string');
    return String(v);
  });
}

function parseTerm(raw: unknown, path: string): SelectorTerm {
  const selector = expectObject(raw, path);
  const kind = requiredString(selector, 'kind', path).toUpperCase() as SelectorKind;
  if (!SELECTOR_KINDS.includes(kind)) invalid(at(path, 'kind'), `expected one of ${SELECTOR_KINDS.join(', ')}`);
  const key = requiredString(selector, 'key', path);
  const vals = values(selector, path);
  if ((kind === 'EQUALS' || kind === 'NOT_EQUALS') && vals.length !== 1) invalid(at(path, 'values'), `${kind} takes exactly one value`);
  if ((kind === 'CONTAINS' || kind === 'NOT_CONTAINS') && vals.length === 0) invalid(at(path, 'values'), `${kind} takes at least one value`);
  return { kind, key, values: vals };
}

function termText(term: SelectorTerm): string {
  switch (term.kind) {
    case 'EQUALS':
      return `${term.key}=${term.values[0]}`;
    case 'NOT_EQUALS':
      return `${term.key}!=${term.values[0]}`;
    case 'CONTAINS':
      return `${term.key} in (${term.values.join(',')})`;
    case 'NOT_CONTAINS':
      return `${term.key} notin (${term.values.join(',')})`;
    case 'EXISTS':
      return term.key;
    case 'NOT_EXISTS':
      return `!${term.key}`;
  }
}

/** The selector list, or undefined when the description has none (absent, or no selectors). */
export function parseSelectorList(raw: unknown, path: string): SelectorList | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) invalid(path, 'expected an object with selectors');
  const selectors = optionalArray(raw, 'selectors', path) ?? [];
  if (selectors.length === 0) return undefined;
  const terms = selectors.map((s, i) => parseTerm(s, at(at(path, 'selectors'), i)));
  return { terms, text: terms.map(termText).join(',') };
}

/** The selector string, or undefined when the description has no selectors. */
export function parseLabelSelectors(raw: unknown, path: string): string | undefined {
  return parseSelectorList(raw, path)?.text;
}

/** Whether labels satisfy every term (Kubernetes semantics: `!=` and `notin` also match a missing key). */
export function selectorMatches(list: SelectorList, labels: Record<string, string> = {}): boolean {
  return list.terms.every((term) => {
    const has = Object.prototype.hasOwnProperty.call(labels, term.key);
    const value = labels[term.key];
    switch (term.kind) {
      case 'EQUALS':
        return has && value === term.values[0];
      case 'NOT_EQUALS':
        return !has || value !== term.values[0];
      case 'CONTAINS':
        return has && term.values.includes(value!);
      case 'NOT_CONTAINS':
        return !has || !term.values.includes(value!);
      case 'EXISTS':
        return has;
      case 'NOT_EXISTS':
        return !has;
    }
  });
}

/**
 * A workload's `spec.selector` (matchLabels and matchExpressions) as a label selector string for a
 * list call; undefined when it selects nothing in particular.
 */
export function kubeSelectorText(selector: unknown): string | undefined {
  if (!isObject(selector)) return undefined;
  const parts: string[] = [];
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) parts.push(`${key}=${String(value)}`);
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isObject) : [];
  for (const e of expressions) {
    const key = typeof e.key === 'string' ? e.key : '';
    const vals = Array.isArray(e.values) ? e.values.map(String) : [];
    if (key === '') continue;
    switch (e.operator) {
      case 'In':
        parts.push(`${key} in (${vals.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${key} notin (${vals.join(',')})`);
        break;
      case 'Exists':
        parts.push(key);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
    }
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}
