/**
 * The metric names a PromQL expression reads, and the metric names a Prometheus exposition offers: what
 * a dashboard test needs to prove that every panel charts a metric the processes really export.
 */

/** PromQL words that are not metric names where they stand outside a call: operators, modifiers, literals. */
const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'start',
  'end',
  'inf',
  'nan',
]);

/** Clauses whose parenthesised list names labels, not metrics. */
const LABEL_LIST = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
/** A name as PromQL reads it; not the tail of a number (`1e3`) or of another word. */
const IDENTIFIER = /(?<![\w.:$])[a-zA-Z_:][\w:]*/g;

/**
 * The metric names an expression reads: identifiers that are not calls (`rate(`), keywords, label
 * names (in `{…}`, `by (…)` and the like), durations (`[5m]`), strings or Grafana variables
 * (`$__rate_interval`, `${job}`); and the names a `__name__` matcher lists.
 */
export function metricNamesOf(expr: string): string[] {
  const names = new Set<string>();
  // A selector by name (`{__name__=~"a|b"}`): the alternatives are the names it reads.
  for (const match of expr.matchAll(/__name__\s*=~?\s*"([\w:|]*)"/g)) for (const name of match[1]!.split('|')) if (name !== '') names.add(name);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(LABEL_LIST, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  for (const match of stripped.matchAll(IDENTIFIER)) {
    const name = match[0];
    const rest = stripped.slice(match.index + name.length);
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Grafana's `label_values(selector, label)` reads the selector's metric; `label_values(label)` none. */
export function metricNamesOfVariableQuery(query: string): string[] {
  const match = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query);
  if (match) return metricNamesOf(match[1]!);
  if (/^\s*label_values\(\s*\w+\s*\)\s*$/.test(query)) return [];
  return metricNamesOf(query);
}

/**
 * The names a PromQL query may read from an exposition: every sample's name, and for each family its
 * declared name or, for histograms and summaries, the `_bucket`/`_sum`/`_count` series Prometheus stores.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const [, family, kind] = type;
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
      else names.add(family!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

/** The sample lines of `name` (labelled or not). */
export function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}
