/**
 * The Numenta Anomaly Benchmark scoring rules, as described in shared/nab/README.md: probation,
 * window matching by timestamp, the scaled sigmoid weighting, one threshold per profile swept over
 * the pooled scores of the corpus, and normalisation between the null and the perfect detector.
 * Pure: the bench reads the files and hands rows in.
 */

/** A NAB cost profile (A_TP, A_FP, A_FN; A_FP and A_FN are subtracted). */
export interface NabProfile {
  readonly name: string;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
}

/** The three profiles of NAB's config/profiles.json. */
export const NAB_PROFILES: readonly NabProfile[] = [
  { name: 'standard', tp: 1.0, fp: 0.11, fn: 1.0 },
  { name: 'reward_low_FP_rate', tp: 1.0, fp: 0.22, fn: 1.0 },
  { name: 'reward_low_FN_rate', tp: 1.0, fp: 0.11, fn: 2.0 },
];

/** One scored file: the detector's output per row and the anomaly windows as inclusive row ranges. */
export interface NabFile {
  readonly name: string;
  /** Free-form group for per-category tables (NAB's data sub-folder). */
  readonly category: string;
  readonly scores: ArrayLike<number>;
  readonly windows: readonly (readonly [number, number])[];
}

/** The result of one profile over a corpus. */
export interface NabResult {
  readonly profile: string;
  /** Normalised score: 0 for the null detector, 100 for the perfect one. */
  readonly score: number;
  readonly raw: number;
  readonly threshold: number;
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  /** Per category at the corpus-wide threshold: normalised score (null without windows), raw total, false positives. */
  readonly categories: Readonly<Record<string, { score: number | null; raw: number; fp: number }>>;
}

/** NAB's scaled sigmoid: 2 / (1 + e^(5x)) − 1, and −1 beyond x = 3. */
export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

/** S(−1), the weight of a detection on a window's first row, used to scale true positives to A_TP. */
export const MAX_TP = scaledSigmoid(-1);

/** Rows at the start of a file that are never scored: min(floor(0.15 n), 750). */
export function probationRows(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/**
 * Finds NAB windows ([start, end] timestamps, possibly with a fractional-seconds suffix) in a
 * file's timestamp sequence by exact match. The start is its first occurrence; the end is the
 * first occurrence at or after the start. Throws when a boundary is missing.
 */
export function matchWindows(
  timestamps: readonly string[],
  windows: readonly (readonly [string, string])[],
): [number, number][] {
  const norm = (s: string): string => s.trim().replace(/\.0+$/, '');
  const ts = timestamps.map(norm);
  return windows.map(([start, end]) => {
    const a = ts.indexOf(norm(start));
    const b = a < 0 ? -1 : ts.indexOf(norm(end), a);
    if (a < 0 || b < 0) throw new Error(`NAB window ${start} .. ${end} not found in the file's timestamps`);
    return [a, b];
  });
}

/**
 * The weighted value of every row of a file under a profile, and the window each row belongs to
 * (−1 outside windows). Inside window [a, b] of width W: A_TP · S(−(b − i + 1)/W) / MAX_TP.
 * Outside, before any window has ended: −A_FP; after a window ending at b′ of width W′:
 * A_FP · S((i − b′)/(W′ − 1)).
 */
export function rowValues(
  n: number,
  windows: readonly (readonly [number, number])[],
  profile: NabProfile,
): { values: Float64Array; windowOf: Int32Array } {
  const values = new Float64Array(n);
  const windowOf = new Int32Array(n).fill(-1);
  const sorted = windows.map((w, k) => [w[0], w[1], k] as const).sort((x, y) => x[0] - y[0]);
  for (const [a, b, k] of sorted) {
    const width = b - a + 1;
    for (let i = a; i <= b && i < n; i++) {
      windowOf[i] = k;
      values[i] = (profile.tp * scaledSigmoid(-(b - i + 1) / width)) / MAX_TP;
    }
  }
  let lastEnd = -1;
  let lastWidth = 0;
  let w = 0;
  for (let i = 0; i < n; i++) {
    while (w < sorted.length && sorted[w]![1] < i) {
      lastEnd = sorted[w]![1];
      lastWidth = sorted[w]![1] - sorted[w]![0] + 1;
      w++;
    }
    if (windowOf[i] !== -1) continue;
    if (lastEnd < 0) values[i] = -profile.fp;
    else {
      // A one-row window would divide by zero; NAB's windows are never that narrow, so treat it as "far".
      const x = lastWidth > 1 ? (i - lastEnd) / (lastWidth - 1) : Infinity;
      values[i] = profile.fp * scaledSigmoid(x);
    }
  }
  return { values, windowOf };
}

interface PooledRow {
  score: number;
  value: number;
  /** Global window id, or −1. */
  window: number;
  category: number;
}

/**
 * Scores a corpus under one profile: pools every scored row (after probation), sweeps the
 * threshold from 1.1 (no detection) down through every distinct score, keeps the best corpus total
 * and normalises it. Per-category scores use that same threshold.
 */
export function scoreCorpus(files: readonly NabFile[], profile: NabProfile): NabResult {
  const rows: PooledRow[] = [];
  const categories: string[] = [];
  const windowCategory: number[] = [];
  for (const file of files) {
    let cat = categories.indexOf(file.category);
    if (cat < 0) cat = categories.push(file.category) - 1;
    const n = file.scores.length;
    const { values, windowOf } = rowValues(n, file.windows, profile);
    const base = windowCategory.length;
    for (let k = 0; k < file.windows.length; k++) windowCategory.push(cat);
    for (let i = probationRows(n); i < n; i++) {
      const w = windowOf[i]!;
      rows.push({ score: file.scores[i]!, value: values[i]!, window: w < 0 ? -1 : base + w, category: cat });
    }
  }
  rows.sort((x, y) => y.score - x.score);
  const nWindows = windowCategory.length;
  // best[w]: value credited to window w so far (−A_FN while undetected).
  const best = new Float64Array(nWindows).fill(-profile.fn);
  const detected = new Uint8Array(nWindows);
  let total = -profile.fn * nWindows;
  let bestTotal = total;
  let bestThreshold = 1.1;
  for (let i = 0; i < rows.length; ) {
    const score = rows[i]!.score;
    for (; i < rows.length && rows[i]!.score === score; i++) {
      const r = rows[i]!;
      if (r.window < 0) total += r.value;
      else if (!detected[r.window] || r.value > best[r.window]!) {
        total += r.value - best[r.window]!;
        best[r.window] = r.value;
        detected[r.window] = 1;
      }
    }
    if (total > bestTotal) {
      bestTotal = total;
      bestThreshold = score;
    }
  }
  return summarise(rows, windowCategory, categories, profile, bestThreshold);
}

/** Recomputes the totals at a fixed threshold, for the corpus and per category. */
function summarise(
  rows: readonly PooledRow[],
  windowCategory: readonly number[],
  categories: readonly string[],
  profile: NabProfile,
  threshold: number,
): NabResult {
  const best = new Float64Array(windowCategory.length).fill(NaN);
  const rawByCat = new Float64Array(categories.length);
  const fpByCat = new Float64Array(categories.length);
  let fp = 0;
  for (const r of rows) {
    if (r.score < threshold) continue;
    if (r.window < 0) {
      rawByCat[r.category]! += r.value;
      if (r.value < 0) {
        fp++;
        fpByCat[r.category]!++;
      }
    } else if (!(r.value <= best[r.window]!)) best[r.window] = r.value;
  }
  let tp = 0;
  const windowsByCat = new Float64Array(categories.length);
  windowCategory.forEach((cat, w) => {
    windowsByCat[cat]!++;
    const v = best[w]!;
    if (Number.isNaN(v)) rawByCat[cat]! -= profile.fn;
    else {
      rawByCat[cat]! += v;
      tp++;
    }
  });
  const normalise = (raw: number, windows: number): number =>
    windows === 0 ? NaN : (100 * (raw + profile.fn * windows)) / ((profile.tp + profile.fn) * windows);
  const raw = rawByCat.reduce((s, x) => s + x, 0);
  const byCat: Record<string, { score: number | null; raw: number; fp: number }> = {};
  categories.forEach((c, k) => {
    const score = normalise(rawByCat[k]!, windowsByCat[k]!);
    byCat[c] = { score: Number.isNaN(score) ? null : score, raw: rawByCat[k]!, fp: fpByCat[k]! };
  });
  return {
    profile: profile.name,
    score: normalise(raw, windowCategory.length),
    raw,
    threshold,
    tp,
    fp,
    fn: windowCategory.length - tp,
    categories: byCat,
  };
}
