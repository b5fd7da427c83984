/**
 * Exponentially weighted mean and variance with winsorised updates: the building block of
 * ZSCORE, BASELINE, BASELINE_STDDEV and each season of SEASONAL_ZSCORE.
 *
 * Why winsorise: a plain EW mean absorbs a single 1000σ spike at full weight and is wrong for
 * many half-lives afterwards. Clipping the deviation fed to the update at ±clip·σ bounds what
 * one row can do (the mean moves at most alpha·clip·σ). A sustained shift still gets learnt:
 * every clipped row inflates the variance by up to alpha·((5/3·clip)² − 1), so after a few half-lives
 * the new level is inside the band and is absorbed; a short incident is not. The variance's own
 * clip is looser (5σ) so that a series that was flat (σ ≈ 0) learns its new spread quickly.
 *
 * State is three numbers, kept in a caller-owned array so that seasonal detectors can pack one
 * triple per season into one Float64Array; a single triple is a plain array (a typed array costs
 * about 150 bytes more per group, and these run for hundreds of thousands of series).
 */

/** Offsets of the triple [count, mean, variance] inside a state array. */
const N = 0;
const MEAN = 1;
const VAR = 2;

/** The variance update clips deviations at this multiple of the mean's clip bound. */
const VAR_CLIP_FACTOR = 5 / 3;

/** Clamps d to [−bound, bound]. */
function clamp(d: number, bound: number): number {
  return d > bound ? bound : d < -bound ? -bound : d;
}

/** Clipping needs a variance estimate from at least this many rows, whatever the warm-up. */
const MIN_CLIP_ROWS = 5;

/** Where EW states live: a plain array for one triple, a Float64Array for many. */
export type EwState = number[] | Float64Array;

/** Numbers per EW state. */
export const EW_STRIDE = 3;

/** Parameters of an EW estimator. */
export interface EwParams {
  /** Weight of a new row once past the start-up phase: 1 − 2^(−1/halflife). */
  readonly alpha: number;
  /** Rows before the estimate is trusted (and before clipping starts). */
  readonly warmup: number;
  /** Deviations are clipped at ±clip·σ in updates. */
  readonly clip: number;
}

/** Row count of the EW state at offset o. */
export function ewCount(s: EwState, o: number): number {
  return s[o + N]!;
}

/** EW mean of the state at offset o. */
export function ewMean(s: EwState, o: number): number {
  return s[o + MEAN]!;
}

/**
 * EW standard deviation, floored so a perfectly flat history does not yield an infinite z for
 * the first change (the floor is 1e-6 of the level, so a z-score stays meaningful in relative terms).
 */
export function ewStd(s: EwState, o: number): number {
  return Math.max(Math.sqrt(s[o + VAR]!), 1e-6 * Math.abs(s[o + MEAN]!), 1e-12);
}

/**
 * Adds x to the EW state at offset o. During the first rows the weight is 1/n (a plain running
 * mean), so the estimate does not depend on the first row alone; afterwards it is alpha.
 */
export function ewUpdate(s: EwState, o: number, x: number, p: EwParams): void {
  const n = s[o + N]! + 1;
  s[o + N] = n;
  if (n === 1) {
    s[o + MEAN] = x;
    s[o + VAR] = 0;
    return;
  }
  const a = Math.max(p.alpha, 1 / n);
  const d = x - s[o + MEAN]!;
  let dm = d;
  let dv = d;
  if (n > Math.max(p.warmup, MIN_CLIP_ROWS)) {
    // The variance is clipped more loosely than the mean (VAR_CLIP_FACTOR): a lone spike still
    // moves σ by only ~15% at halflife 50, but a series that was flat (σ ≈ 0) and starts to
    // vary learns its new spread in tens of rows rather than never.
    const sd = ewStd(s, o);
    dm = clamp(d, p.clip * sd);
    dv = clamp(d, VAR_CLIP_FACTOR * p.clip * sd);
  }
  s[o + MEAN] = s[o + MEAN]! + a * dm;
  s[o + VAR] = (1 - a) * (s[o + VAR]! + a * dv * dv);
}
