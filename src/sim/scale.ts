import type { LabelSelectorObject } from './label-selector.ts';

const OPERATOR_TEXT: Record<string, string> = { In: 'in', NotIn: 'notin' };

/** A label selector object in the string form that Scale.status.selector carries (e.g. `app=web,tier in (a,b)`). */
export function scaleSelector(selector: unknown): string {
  if (typeof selector !== 'object' || selector === null) return '';
  const s = selector as LabelSelectorObject;
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const expr of s.matchExpressions ?? []) {
    if (expr.operator === 'Exists') parts.push(expr.key);
    else if (expr.operator === 'DoesNotExist') parts.push(`!${expr.key}`);
    else if (OPERATOR_TEXT[expr.operator] !== undefined) parts.push(`${expr.key} ${OPERATOR_TEXT[expr.operator]} (${(expr.values ?? []).join(',')})`);
  }
  return parts.join(',');
}
