/**
 * Near-miss suggestions for error messages, as compilers give them:
 * `unknown column 'vlaue' (did you mean 'value'?)`.
 */

/** ` (did you mean 'x'?)` for the closest candidate within a small edit distance, else ''. */
export function suggest(name: string, candidates: Iterable<string>): string {
  let best: string | null = null;
  let bestDist = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  // Very short names are too easily "close" to anything to make a useful suggestion.
  const limit = lower.length < 3 ? 0 : lower.length <= 4 ? 1 : lower.length <= 6 ? 2 : 3;
  return best !== null && bestDist > 0 && bestDist <= limit ? ` (did you mean '${best}'?)` : '';
}

/** Damerau-Levenshtein distance (adjacent transpositions count as one edit). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
