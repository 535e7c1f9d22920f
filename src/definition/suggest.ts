/** "Did you mean" hints for misspelled keys, states and machine names. */

/**
 * The candidate closest to `word` by edit distance, if it is close enough to be a likely typo: at
 * most a third of the word's length (at least one edit) and fewer edits than the word has letters.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(Math.max(1, Math.floor(word.length / 3)), word.length - 1);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `did you mean "x"?` when a close candidate exists, otherwise `known <what>: a, b, c`. */
export function hint(word: string, candidates: readonly string[], what: string): string {
  const match = closest(word, candidates);
  if (match !== undefined) return `did you mean "${match}"?`;
  return candidates.length > 0 ? `known ${what}: ${candidates.join(", ")}` : `there are no ${what}`;
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
