import { badRequest } from './status.ts';

/**
 * Field selectors: comma-separated `field=value`, `field==value` or `field!=value`, all of which must hold.
 * Which fields a resource supports is decided by its resource type; anything else is a 400, as from the
 * real API server ("field label not supported").
 */
export interface FieldRequirement {
  field: string;
  equals: boolean;
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Unescapes `\,` `\=` `\\` in values (fields.EscapeValue's inverse). */
function unescape(value: string): string {
  return value.replace(/\\([\\,=!])/g, '$1');
}

function splitUnescaped(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === ',') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function parseFieldSelector(text: string | null | undefined, supported: ReadonlySet<string>): FieldSelector {
  if (text === null || text === undefined || text.trim() === '') return [];
  return splitUnescaped(text).map((part) => {
    const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(part.trim());
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = match[1]!.trim();
    if (!supported.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, equals: match[2] !== '!=', value: unescape(match[3]!.trim()) };
  });
}

export function matchesFields(selector: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  for (const req of selector) {
    const value = fields[req.field] ?? '';
    if ((value === req.value) !== req.equals) return false;
  }
  return true;
}
