/** "Did you mean" suggestions for unknown manifest keys. */

/**
 * Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions): the number of single-character insertions, deletions,
 * substitutions or swaps of two neighbours turning `a` into `b`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 0; i < rows; i++) d[i]![0] = i;
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate `key` most likely stands for: the closest one within an edit
 * distance of 2 (case-insensitive), else one that `key` is a prefix of or that
 * is a prefix of `key` (at least 3 characters shared). Undefined when none fits.
 */
export function suggestKey(key: string, candidates: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= 2 && distance < candidate.length && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  if (lower.length < 3) return undefined;
  return candidates.find((candidate) => {
    const c = candidate.toLowerCase();
    return c.startsWith(lower) || (c.length >= 3 && lower.startsWith(c));
  });
}
