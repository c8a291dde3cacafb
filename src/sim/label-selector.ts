import { badRequest } from './status.ts';

/**
 * Label selectors in the string syntax of k8s.io/apimachinery/pkg/labels: comma-separated requirements,
 * all of which must hold: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`.
 * Bad syntax is a 400 BadRequest, as from the real API server.
 */
export type LabelOperator = 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const MAX_LABEL_VALUE_LENGTH = 63;

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw badRequest(`unable to parse requirement: unmatched ')' in "${text}"`);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (depth !== 0) throw badRequest(`unable to parse requirement: unmatched '(' in "${text}"`);
  parts.push(current);
  return parts.map((p) => p.trim());
}

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > MAX_LABEL_VALUE_LENGTH || !LABEL_VALUE.test(value)) throw badRequest(`unable to parse requirement: invalid label value: "${value}"`);
  return value;
}

const SET_FORM = /^(\S+)\s+(in|notin)\s*\((.*)\)$/;
const COMPARISON = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/;

function parseRequirement(text: string): LabelRequirement {
  if (text.startsWith('!')) return { key: checkKey(text.slice(1).trim()), operator: '!exists', values: [] };
  const set = SET_FORM.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((v) => checkValue(v.trim()));
    return { key: checkKey(set[1]!), operator: set[2] as 'in' | 'notin', values };
  }
  const cmp = COMPARISON.exec(text);
  if (cmp) {
    const key = checkKey(cmp[1]!);
    const value = cmp[3]!.trim();
    switch (cmp[2]) {
      case '!=':
        return { key, operator: 'notin', values: [checkValue(value)] };
      case '>':
      case '<':
        if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        return { key, operator: cmp[2] === '>' ? 'gt' : 'lt', values: [value] };
      default:
        return { key, operator: 'in', values: [checkValue(value)] };
    }
  }
  return { key: checkKey(text), operator: 'exists', values: [] };
}

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (text === null || text === undefined || text.trim() === '') return [];
  return splitRequirements(text).map((part) => {
    if (part === '') throw badRequest(`unable to parse requirement: empty requirement in "${text}"`);
    return parseRequirement(part);
  });
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const req of selector) {
    const value = labels?.[req.key];
    switch (req.operator) {
      case 'in':
        if (value === undefined || !req.values.includes(value)) return false;
        break;
      case 'notin':
        if (value !== undefined && req.values.includes(value)) return false;
        break;
      case 'exists':
        if (value === undefined) return false;
        break;
      case '!exists':
        if (value !== undefined) return false;
        break;
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        const n = Number(value);
        const bound = Number(req.values[0]);
        if (req.operator === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** A metav1.LabelSelector object ({matchLabels, matchExpressions}), as in Deployment.spec.selector. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' };

export function selectorFromObject(selector: LabelSelectorObject | undefined): LabelSelector {
  const out: LabelSelector = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) out.push({ key, operator: 'in', values: [value] });
  for (const expr of selector?.matchExpressions ?? []) {
    const operator = EXPRESSION_OPERATORS[expr.operator];
    if (operator !== undefined) out.push({ key: expr.key, operator, values: expr.values ?? [] });
  }
  return out;
}
