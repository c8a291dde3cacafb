/**
 * JSON as Go's encoding/json writes a decoded object: map keys sorted byte-wise, and `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. kubectl stores its last-applied configuration in this form (with the
 * newline its encoder appends), so writing it the same way keeps the annotation identical to kubectl's.
 */
const utf8 = (s: string) => Buffer.from(s, 'utf8');

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
  for (const key of keys) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function goJson(value: unknown): string {
  // The escaped characters can only occur inside strings, so replacing them in the output is exact.
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}
