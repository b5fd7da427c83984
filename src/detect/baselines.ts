/**
 * ZSCORE, BASELINE, BASELINE_STDDEV (one winsorised EW estimator, three readings of it) and EWMA.
 */
import { ArgReader, num, numArray, type ConstArg } from './args.js';
import { EW_STRIDE, ewCount, ewMean, ewStd, ewUpdate, type EwParams } from './ew-stats.js';
import type { Detector, DetectorFactory } from './types.js';

/** What an EW baseline detector returns for a row, given the state before the row. */
type Reading = (x: number, mean: number, std: number) => number;

/** Defaults shared by ZSCORE, BASELINE and BASELINE_STDDEV. */
export const EW_DEFAULTS = { halflife: 50, warmup: 10, clip: 3 } as const;

/** A detector over one winsorised EW mean/variance: 3 numbers of state. */
class EwDetector implements Detector {
  constructor(
    private readonly params: EwParams,
    private readonly read: Reading,
    private readonly s: number[] = [0, 0, 0],
  ) {}

  update(x: number | null, _t: number): number | null {
    if (x === null || !Number.isFinite(x)) return null;
    const out = ewCount(this.s, 0) >= this.params.warmup ? this.read(x, ewMean(this.s, 0), ewStd(this.s, 0)) : null;
    ewUpdate(this.s, 0, x, this.params);
    return out;
  }

  toJSON(): unknown {
    return { ew: Array.from(this.s) };
  }
}

const READINGS: Record<'ZSCORE' | 'BASELINE' | 'BASELINE_STDDEV', Reading> = {
  ZSCORE: (x, mean, std) => (x - mean) / std,
  BASELINE: (_x, mean) => mean,
  BASELINE_STDDEV: (_x, _mean, std) => std,
};

/**
 * ZSCORE / BASELINE / BASELINE_STDDEV (x [, halflife [, warmup [, clip]]]), also by name, and
 * `alpha` instead of halflife. halflife in rows (default 50), warmup rows before the first
 * non-NULL (default 10), clip in σ (default 3).
 */
export function ewFactory(
  fn: 'ZSCORE' | 'BASELINE' | 'BASELINE_STDDEV',
  positional: readonly ConstArg[],
  named: Readonly<Record<string, ConstArg>>,
): DetectorFactory {
  const args = new ArgReader(fn, ['halflife', 'warmup', 'clip', 'alpha'], positional, named);
  const params: EwParams = {
    alpha: args.ewWeight(EW_DEFAULTS.halflife),
    warmup: args.number('warmup', EW_DEFAULTS.warmup, 1, 1e9, true),
    clip: args.number('clip', EW_DEFAULTS.clip, 1, 1000),
  };
  const read = READINGS[fn];
  return {
    create: () => new EwDetector(params, read),
    restore: (json) => new EwDetector(params, read, [...numArray(json, 'ew', EW_STRIDE)]),
  };
}

/** The textbook EWMA: s = alpha·x + (1 − alpha)·s, starting at the first value; 1 number of state. */
class Ewma implements Detector {
  constructor(
    private readonly alpha: number,
    private readonly warmup: number,
    private s: number | null = null,
    private n = 0,
  ) {}

  update(x: number | null, _t: number): number | null {
    if (x === null || !Number.isFinite(x)) return null;
    this.s = this.s === null ? x : this.alpha * x + (1 - this.alpha) * this.s;
    if (this.n < this.warmup) this.n++;
    return this.n >= this.warmup ? this.s : null;
  }

  toJSON(): unknown {
    return { s: this.s, n: this.n };
  }
}

/**
 * EWMA(x, alpha): the smoothed value including x (it is a smoother, not a score; use BASELINE for
 * an outlier-resistant expected value). alpha in (0, 1] is required; warmup (default 1) is the
 * number of rows, this one included, before the first non-NULL.
 */
export function ewmaFactory(positional: readonly ConstArg[], named: Readonly<Record<string, ConstArg>>): DetectorFactory {
  const args = new ArgReader('EWMA', ['alpha', 'warmup'], positional, named);
  const alpha = args.number('alpha', undefined, Number.MIN_VALUE, 1);
  const warmup = args.number('warmup', 1, 1, 1e9, true);
  return {
    create: () => new Ewma(alpha, warmup),
    restore: (json) => {
      const s = (json as { s?: unknown } | null)?.s;
      return new Ewma(alpha, warmup, s === null ? null : num(json, 's'), num(json, 'n'));
    },
  };
}
