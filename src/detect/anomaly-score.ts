/**
 * ANOMALY_SCORE(x): seismo's general-purpose streaming detector, a score in [0, 1] per row, one
 * pass, no look-ahead, one parameter set for every series (tuned on NAB; see docs/detectors.md).
 *
 * Four stages per row, all O(1):
 * 1. Prediction: three predictors of x compete: a slow level (winsorised EW mean), the recent
 *    level (fast EW mean: persistence) and a time-of-day profile (48 UTC half-hour buckets). Each
 *    keeps an EW mean absolute error; the one with the smallest error is trusted, and
 *    z = |x − prediction| / error. A daily-periodic series is thus judged against its daily shape,
 *    a random walk against its last values, and a noisy stationary series against its level.
 * 2. Anomaly likelihood (as in Numenta's HTM detector): raw = 1 − e^(−z/3); its short-term
 *    average is compared with that average's long-term distribution, so a series that is always
 *    noisy does not alarm all the time, while a sustained change in behaviour does.
 * 3. Instantaneous extremity: log(1 + z) against its own long-term distribution catches single
 *    spikes that the averaging in (2) would dilute.
 * 4. Onset suppression (as in CAD OSE): after the output reaches REST_LEVEL the detector stays
 *    silent for REST rows, because an alert at the onset is what matters and every repeat is noise.
 * Both outputs are log-scaled tail probabilities: 0.5 means a 1-in-100,000 event, 1 a 1-in-10^10.
 */
import { ArgReader, numArray, type ConstArg } from './args.js';
import type { Detector, DetectorFactory } from './types.js';

/** Tunable constants; ANOMALY_SCORE uses ANOMALY_PARAMS (exported for the benchmark's experiments). */
export interface AnomalyParams {
  /** Rows before the first non-NULL score. */
  readonly warmup: number;
  /** Half-lives in rows of the slow level, the recent level and the predictors' error averages. */
  readonly slowHalflife: number;
  readonly fastHalflife: number;
  readonly errHalflife: number;
  /** Time-of-day buckets (UTC) of the seasonal predictor, its half-life in rows per bucket, and the rows a bucket needs before it predicts. */
  readonly seasonBuckets: number;
  readonly seasonHalflife: number;
  readonly seasonMin: number;
  /** Winsorisation bound, in errors (σ for the level), of every baseline update. */
  readonly clip: number;
  /** raw = 1 − e^(−z / zScale). */
  readonly zScale: number;
  /** A value beyond the range seen so far by this fraction of the range counts as raw = 1. */
  readonly rangeTol: number;
  /** Half-life of the short-term raw average, and of its long-term mean and variance. */
  readonly shortHalflife: number;
  readonly longHalflife: number;
  /** Floor of the long-term deviation of the raw average (keeps a quiet series from alarming on noise). */
  readonly minSigma: number;
  /** Weight, half-life, σ floor and clip of the instantaneous log(1 + z) extremity. */
  readonly instWeight: number;
  readonly instHalflife: number;
  readonly instMinSigma: number;
  readonly instClip: number;
  readonly instMode: number;
  /** Rows of silence after the output reaches restLevel. */
  readonly rest: number;
  readonly restLevel: number;
}

/** The one parameter set ANOMALY_SCORE uses. */
export const ANOMALY_PARAMS: AnomalyParams = {
  warmup: 30,
  slowHalflife: 300,
  fastHalflife: 3,
  errHalflife: 300,
  seasonBuckets: 48,
  seasonHalflife: 5,
  seasonMin: 3,
  clip: 4,
  zScale: 3,
  rangeTol: 0.1,
  shortHalflife: 5,
  longHalflife: 1000,
  minSigma: 0.05,
  instWeight: 0.7,
  instHalflife: 1000,
  instMinSigma: 0.8,
  instClip: 3,
  instMode: 0,
  rest: 200,
  restLevel: 0.4,
};

/** Tail probabilities below 1e-10 all score 1. */
const LOG_EPS = Math.log(1e-10);
const DAY_MS = 86_400_000;
/** Mean absolute error · √(π/2) estimates σ for normal errors. */
const MAE_TO_SIGMA = 1.2533;
/** Rows a predictor's error average needs before the predictor competes. */
const ERR_WARMUP = 10;
/** The predictors: slow level, recent level, time of day. */
const PREDICTORS = 3;

/** Standard normal upper tail Q(z), Abramowitz–Stegun 7.1.26 on erfc (absolute error < 1.5e-7). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = y * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Maps a tail probability to [0, 1] on a log scale: 1e-5 → 0.5, 1e-10 and below → 1. */
function logScore(tail: number): number {
  return Math.log(tail + 1e-10) / LOG_EPS;
}

/** Per-row EW weight of a half-life. */
function weight(halflife: number): number {
  return 1 - Math.pow(2, -1 / halflife);
}

/** Names of the scalar state, in checkpoint order. */
const SCALARS = [
  'n', 'mean', 'var', 'fast', 'lo', 'hi', 'short', 'lMean', 'lVar', 'lN', 'uMean', 'uVar', 'uN', 'sinceRest',
] as const;
type Scalar = (typeof SCALARS)[number];

/** Per-row weights derived from the parameters once. */
interface Weights {
  readonly slow: number;
  readonly fast: number;
  readonly err: number;
  readonly season: number;
  readonly short: number;
  readonly long: number;
  readonly inst: number;
}

/**
 * One group's ANOMALY_SCORE state: 14 scalars, 3 error averages with counts and
 * 2 × seasonBuckets season numbers (about 1 KB with the default 48 buckets).
 */
export class AnomalyScore implements Detector {
  private readonly s: Record<Scalar, number> = {
    n: 0, mean: 0, var: 0, fast: 0, lo: 0, hi: 0, short: 0, lMean: 0, lVar: 0, lN: 0, uMean: 0, uVar: 0, uN: 0,
    sinceRest: Number.MAX_SAFE_INTEGER,
  };
  private readonly err = new Float64Array(PREDICTORS);
  private readonly errN = new Float64Array(PREDICTORS);
  private readonly seasonMean: Float64Array;
  private readonly seasonN: Float64Array;
  private readonly res = new Float64Array(PREDICTORS);
  private readonly w: Weights;

  constructor(private readonly p: AnomalyParams = ANOMALY_PARAMS) {
    this.w = {
      slow: weight(p.slowHalflife),
      fast: weight(p.fastHalflife),
      err: weight(p.errHalflife),
      season: weight(p.seasonHalflife),
      short: weight(p.shortHalflife),
      long: weight(p.longHalflife),
      inst: weight(p.instHalflife),
    };
    this.seasonMean = new Float64Array(p.seasonBuckets);
    this.seasonN = new Float64Array(p.seasonBuckets);
  }

  update(x: number | null, t: number): number | null {
    if (x === null || !Number.isFinite(x)) return null;
    const { p, s } = this;
    s.n++;
    const bucket = Number.isFinite(t)
      ? Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / (DAY_MS / p.seasonBuckets))
      : -1;
    if (s.n === 1) {
      s.mean = s.fast = s.lo = s.hi = x;
      this.updateSeason(bucket, x);
      return null;
    }
    const z = this.predictionZ(x, bucket);
    let raw = 1 - Math.exp(-z / p.zScale);
    const range = s.hi - s.lo;
    if (range > 0 && (x > s.hi + p.rangeTol * range || x < s.lo - p.rangeTol * range)) raw = 1;
    this.updateBaselines(x, bucket);
    const out = this.likelihood(raw, z);
    if (out === null) return null;
    if (s.sinceRest < p.rest) {
      s.sinceRest++;
      return 0;
    }
    if (out >= p.restLevel) s.sinceRest = 0;
    return out;
  }

  /** z of x against the predictor with the smallest recent error (0 until one is ready). */
  private predictionZ(x: number, bucket: number): number {
    const { p, s, res, err, errN } = this;
    res[0] = x - s.mean;
    res[1] = x - s.fast;
    res[2] = bucket >= 0 && this.seasonN[bucket]! >= p.seasonMin ? x - this.seasonMean[bucket]! : NaN;
    const floor = 1e-9 + 1e-6 * Math.abs(s.mean);
    let best = -1;
    let bestErr = Infinity;
    for (let k = 0; k < PREDICTORS; k++) {
      if (Number.isNaN(res[k]!) || errN[k]! < ERR_WARMUP) continue;
      const e = Math.max(err[k]!, floor);
      if (e < bestErr) {
        bestErr = e;
        best = k;
      }
    }
    return best < 0 ? 0 : Math.abs(res[best]!) / (MAE_TO_SIGMA * bestErr);
  }

  /** Updates the predictors' errors (winsorised), the levels, the season profile and the range. */
  private updateBaselines(x: number, bucket: number): void {
    const { p, s, w, res, err, errN } = this;
    for (let k = 0; k < PREDICTORS; k++) {
      if (Number.isNaN(res[k]!)) continue;
      const a = Math.max(w.err, 1 / (errN[k]! + 1));
      errN[k]!++;
      let e = Math.abs(res[k]!);
      if (errN[k]! > ERR_WARMUP) e = Math.min(e, p.clip * err[k]!);
      err[k]! += a * (e - err[k]!);
    }
    const sd = Math.max(Math.sqrt(s.var), 1e-9 + 1e-6 * Math.abs(s.mean));
    const a = Math.max(w.slow, 1 / s.n);
    let d = x - s.mean;
    if (s.n > p.warmup) d = Math.max(-p.clip * sd, Math.min(p.clip * sd, d));
    s.mean += a * d;
    s.var = (1 - a) * (s.var + a * d * d);
    s.fast += w.fast * (x - s.fast);
    this.updateSeason(bucket, x);
    if (x > s.hi) s.hi = x;
    if (x < s.lo) s.lo = x;
  }

  private updateSeason(bucket: number, x: number): void {
    if (bucket < 0) return;
    const n = this.seasonN[bucket]!;
    const a = Math.max(this.w.season, 1 / (n + 1));
    this.seasonMean[bucket] = n === 0 ? x : this.seasonMean[bucket]! + a * (x - this.seasonMean[bucket]!);
    this.seasonN[bucket] = n + 1;
  }

  /** Stages 2 and 3: the larger of the two log-scaled tail probabilities (null while warming up). */
  private likelihood(raw: number, z: number): number | null {
    const { p, s, w } = this;
    s.short += w.short * (raw - s.short);
    let out: number | null = null;
    if (s.n > p.warmup) {
      const lsd = Math.max(Math.sqrt(s.lVar), p.minSigma);
      out = logScore(normalTail((s.short - s.lMean) / lsd));
    }
    const al = Math.max(w.long, 1 / (s.lN + 1));
    s.lN++;
    const dl = s.short - s.lMean;
    s.lMean += al * dl;
    s.lVar = (1 - al) * (s.lVar + al * dl * dl);

    const u = p.instMode === 0 ? Math.log1p(z) : z;
    const usd = Math.max(Math.sqrt(s.uVar), p.instMinSigma);
    if (out !== null && s.uN > p.warmup && p.instMode < 2) {
      const inst = p.instMode === 0 ? normalTail((u - s.uMean) / usd) : 2 * normalTail(z / Math.max(Math.sqrt(s.uMean), p.instMinSigma));
      out = Math.max(out, p.instWeight * logScore(inst));
    }
    if (p.instMode === 2) {
      // Peaks over threshold: q ≈ 90th percentile of z (tracked on a log scale), and a Pareto tail
      // above it whose index xi is the Hill estimate (EW mean of log(z / q) over exceedances).
      const q = Math.exp(s.uVar);
      const xi = Math.max(s.uMean, p.instMinSigma);
      if (out !== null && s.uN > p.warmup && z > q) {
        const tail = 0.1 * Math.pow(z / q, -1 / xi);
        out = Math.max(out, p.instWeight * logScore(tail));
      }
      s.uN++;
      if (s.uN === 1) s.uVar = Math.log(Math.max(z, 1e-3));
      else s.uVar += p.instClip * 0.01 * ((z > q ? 1 : 0) - 0.1);
      if (z > q) {
        const lx = Math.min(Math.log(z / q), 10 * xi);
        s.uMean += w.inst * (lx - s.uMean);
      }
      return out;
    }
    if (p.instMode === 1) {
      const au = Math.max(w.inst, 1 / (s.uN + 1));
      s.uN++;
      const sz = Math.max(Math.sqrt(s.uMean), p.instMinSigma);
      const zc = s.uN > p.warmup ? Math.min(z, p.instClip * sz) : z;
      s.uMean += au * (zc * zc - s.uMean);
      return out;
    }
    const au = Math.max(w.inst, 1 / (s.uN + 1));
    s.uN++;
    let du = u - s.uMean;
    if (s.uN > p.warmup) du = Math.min(du, p.instClip * usd);
    s.uMean += au * du;
    s.uVar = (1 - au) * (s.uVar + au * du * du);
    return out;
  }

  toJSON(): unknown {
    return {
      scalars: SCALARS.map((k) => this.s[k]),
      err: Array.from(this.err),
      errN: Array.from(this.errN),
      seasonMean: Array.from(this.seasonMean),
      seasonN: Array.from(this.seasonN),
    };
  }

  /** Rebuilds a detector from toJSON() output; throws on a shape that does not match the parameters. */
  static restore(json: unknown, p: AnomalyParams = ANOMALY_PARAMS): AnomalyScore {
    const d = new AnomalyScore(p);
    const scalars = numArray(json, 'scalars', SCALARS.length);
    SCALARS.forEach((k, i) => (d.s[k] = scalars[i]!));
    d.err.set(numArray(json, 'err', PREDICTORS));
    d.errN.set(numArray(json, 'errN', PREDICTORS));
    d.seasonMean.set(numArray(json, 'seasonMean', p.seasonBuckets));
    d.seasonN.set(numArray(json, 'seasonN', p.seasonBuckets));
    return d;
  }
}

/** ANOMALY_SCORE takes no arguments besides x: one tuned parameter set for every series. */
export function anomalyScoreFactory(positional: readonly ConstArg[], named: Readonly<Record<string, ConstArg>>): DetectorFactory {
  new ArgReader('ANOMALY_SCORE', [], positional, named);
  return {
    create: () => new AnomalyScore(),
    restore: (json) => AnomalyScore.restore(json),
  };
}
