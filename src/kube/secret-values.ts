/**
 * What a JSON patch may not do to a Secret: read its values out of `data` / `stringData`. A `copy` or
 * `move` from there (or from the whole object) to anywhere else puts a value where the agent streams it
 * to the hub (an annotation, a label, …); a `test` there answers whether a guess is right. Values may
 * still be written, removed, or copied and moved within `data` / `stringData`.
 */
const VALUE_FIELDS: ReadonlySet<string> = new Set(['data', 'stringData']);

/** RFC 6901 tokens of a JSON pointer, or undefined when it is not one. */
function pointerTokens(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The pointer reaches Secret values: it is inside `data`/`stringData`, or is the whole object holding them. */
function reachesValues(tokens: string[]): boolean {
  return tokens.length === 0 || VALUE_FIELDS.has(tokens[0]!);
}

function insideValues(tokens: string[]): boolean {
  return tokens.length > 0 && VALUE_FIELDS.has(tokens[0]!);
}

/** Why the JSON patch `operations` would read a Secret's values, or undefined when none does. */
export function secretValueRead(operations: readonly unknown[]): string | undefined {
  for (const [index, operation] of operations.entries()) {
    if (typeof operation !== 'object' || operation === null) continue;
    const { op, from, path } = operation as { op?: unknown; from?: unknown; path?: unknown };
    const target = typeof path === 'string' ? pointerTokens(path) : undefined;
    if (op === 'test' && target !== undefined && reachesValues(target)) {
      return `operation ${index} (test ${path === '' ? 'of the whole object' : `at ${path}`}) would tell whether a guess of a Secret's value is right`;
    }
    if ((op === 'copy' || op === 'move') && typeof from === 'string') {
      const source = pointerTokens(from);
      if (source !== undefined && reachesValues(source) && !(target !== undefined && insideValues(target))) {
        return `operation ${index} (${op} from ${from === '' ? 'the whole object' : from} to ${String(path)}) would put a Secret's value outside data and stringData`;
      }
    }
  }
  return undefined;
}
