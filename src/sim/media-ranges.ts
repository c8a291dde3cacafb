/**
 * The media ranges of an Accept header, most wanted first: highest `q` (1 when absent; a value that is
 * not a number counts as 0, as goautoneg, which the API server uses, reads it), then the more specific
 * type (`application/json` before `application/*` before `*\/*`), then the client's order. `q=0` (not
 * acceptable) is left out. Types are lower-cased; parameter names too, and values lose their quotes
 * (`v="v2"`). The sim reads the JSON ranges' `as`, `g` and `v` parameters to choose Table,
 * PartialObjectMetadata or aggregated discovery responses.
 */
export interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

/** The media types a JSON response satisfies. */
export const JSON_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/*', '*/*']);

export function mediaRanges(accept: string | string[] | undefined): MediaRange[] {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  const ranges: MediaRange[] = [];
  for (const range of header.split(',')) {
    const [type = '', ...rest] = range.split(';').map((part) => part.trim());
    if (type === '') continue;
    const params = new Map<string, string>();
    for (const param of rest) {
      const eq = param.indexOf('=');
      if (eq > 0)
        params.set(
          param.slice(0, eq).trim().toLowerCase(),
          param
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
        );
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    params.delete('q');
    ranges.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 });
  }
  // Array.prototype.sort is stable: equal weight and specificity keep the client's order.
  return ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || wildcards(a.type) - wildcards(b.type));
}

/** How unspecific a media type is: 0 for `type/subtype`, 1 for `type/*`, 2 for `*\/*`. */
function wildcards(type: string): number {
  return type === '*/*' ? 2 : type.endsWith('/*') ? 1 : 0;
}
