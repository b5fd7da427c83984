/**
 * ROBUST_ZSCORE(x [, window [, warmup]]): (x − median) / (1.4826 · MAD) over a trailing ring of
 * the last `window` rows (default 60). The median ignores up to half the window being outliers,
 * so neither a spike nor an incident shorter than window/2 moves the baseline.
 */
import { ArgReader, num, numArray, type ConstArg } from './args.js';
import type { Detector, DetectorFactory } from './types.js';

/** Defaults of ROBUST_ZSCORE. */
export const ROBUST_DEFAULTS = { window: 60, warmup: 10 } as const;

/** 1.4826 · MAD estimates σ for normal data. */
const MAD_TO_SIGMA = 1.4826;
/** When over half the window is one value the MAD is 0; mean absolute deviation · √(π/2) stands in. */
const MEAN_AD_TO_SIGMA = 1.2533;

/** k-th smallest of a[0..n) (partially reorders a): Hoare's selection, O(n) on average. */
export function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of a[0..n) (reorders a). */
export function median(a: Float64Array, n: number): number {
  const hi = select(a, n, n >> 1);
  if (n % 2 === 1) return hi;
  // The lower middle is the largest value left of the upper middle after selection.
  let lo = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Scratch space shared by all instances: selection is synchronous, so one buffer is enough. */
let scratch = new Float64Array(64);

/** The ring buffer detector: `window` numbers of state plus two counters. */
class RobustZ implements Detector {
  constructor(
    private readonly window: number,
    private readonly warmup: number,
    private readonly ring: Float64Array = new Float64Array(window),
    private count = 0,
    private next = 0,
  ) {}

  update(x: number | null, _t: number): number | null {
    if (x === null || !Number.isFinite(x)) return null;
    const n = this.count;
    let out: number | null = null;
    if (n >= this.warmup) {
      if (scratch.length < n) scratch = new Float64Array(n);
      scratch.set(this.ring.subarray(0, n));
      const med = median(scratch, n);
      let meanAd = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.abs(this.ring[i]! - med);
        scratch[i] = d;
        meanAd += d;
      }
      const mad = median(scratch, n);
      let sigma = mad > 0 ? MAD_TO_SIGMA * mad : (MEAN_AD_TO_SIGMA * meanAd) / n;
      sigma = Math.max(sigma, 1e-6 * Math.abs(med), 1e-12);
      out = (x - med) / sigma;
    }
    this.ring[this.next] = x;
    this.next = (this.next + 1) % this.window;
    if (this.count < this.window) this.count++;
    return out;
  }

  toJSON(): unknown {
    // The ring as laid out (not rotated), so a restored detector sums in the same order.
    return { ring: Array.from(this.ring.subarray(0, this.count)), next: this.next };
  }
}

/** Validates ROBUST_ZSCORE's arguments once and builds its detectors. */
export function robustFactory(positional: readonly ConstArg[], named: Readonly<Record<string, ConstArg>>): DetectorFactory {
  const args = new ArgReader('ROBUST_ZSCORE', ['window', 'warmup'], positional, named);
  const window = args.number('window', ROBUST_DEFAULTS.window, 3, 100_000, true);
  const warmup = args.number('warmup', Math.min(ROBUST_DEFAULTS.warmup, window), 1, window, true);
  return {
    create: () => new RobustZ(window, warmup),
    restore: (json) => {
      const values = numArray(json, 'ring');
      const next = num(json, 'next');
      if (values.length > window || !Number.isInteger(next) || next < 0 || next >= window) {
        throw new Error('detector state: ROBUST_ZSCORE ring does not match the window');
      }
      const ring = new Float64Array(window);
      ring.set(values);
      return new RobustZ(window, warmup, ring, values.length, next);
    },
  };
}

