/**
 * The known word an unknown one was most likely meant to be: the same word in another case
 * (`kubeConfigFile` for `kubeconfigFile`), else the nearest by edit distance within a bound that grows
 * with the word's length (a typo, a missing or doubled letter, two letters swapped). Undefined when
 * nothing is close enough to be worth suggesting.
 */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  const candidates = [...known];
  const lower = word.toLowerCase();
  const sameButCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameButCase !== undefined) return sameButCase;
  const bound = Math.max(MIN_DISTANCE, Math.min(MAX_DISTANCE, Math.floor(word.length / LETTERS_PER_EDIT)));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= bound && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** One edit allowed per this many letters of the unknown word… */
const LETTERS_PER_EDIT = 3;
/** …but at least one (short keys have typos too) and at most three (beyond that it is another word). */
const MIN_DISTANCE = 1;
const MAX_DISTANCE = 3;

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[i - 2]![j - 2]! + 1);
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}
