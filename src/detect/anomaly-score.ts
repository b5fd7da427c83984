/**
 * ANOMALY_SCORE(x): seismo's general-purpose streaming detector, a score in [0, 1] per row, one
 * pass, no look-ahead, one parameter set for every series (tuned on NAB; see docs/detectors.md).
 *
 * Four stages per row, all O(1):
 * 1. Prediction: three predictors of x compete: a slow level (winsorised EW mean), the recent
 *    level (fast EW mean: persistence) and a time-of-day profile (24 UTC hour buckets). Each
 *    keeps an EW mean absolute error; the one with the smallest error is trusted, and
 *    z = |x − prediction| / error. A daily-periodic series is thus judged against its daily shape,
 *    a random walk against its last values, and a noisy stationary series against its level.
 * 2. Anomaly likelihood (as in Numenta's HTM detector): raw = 1 − e^(−z/3); its short-term
 *    average is compared with that average's long-term distribution, so a series that is always
 *    noisy does not alarm all the time, while a sustained change in behaviour does.
 * 3. Instantaneous extremity (peaks over threshold): the tail probability of z under a Pareto
 *    tail fitted to this series' own largest 10% of z (Hill estimator) catches single spikes that
 *    the averaging in (2) would dilute, without alarming on a bursty series' routine bursts.
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
  /** Peaks over threshold: half-life of the tail index ξ, its floor, and the log-step of the 90th-percentile tracker. */
  readonly tailHalflife: number;
  readonly minXi: number;
  readonly quantileStep: number;
  readonly tailFraction: number;
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
  seasonBuckets: 24,
  seasonHalflife: 5,
  seasonMin: 3,
  clip: 4,
  zScale: 3,
  rangeTol: 0.1,
  shortHalflife: 5,
  longHalflife: 1000,
  minSigma: 0.05,
  tailHalflife: 1000,
  minXi: 0.3,
  quantileStep: 0.03,
  tailFraction: 0.1,
  rest: 200,
  restLevel: 0.4,
  peakHalflife: 0, peakMargin: 1.1, peakDamp: 0.5, empBins: 0, empDelta: 0.35, empHalflife: 500, empSlack: 0, empMinTot: 20, empWeight: 1, likBins: 0, likSlack: 0, likWeight: 1, likMinTot: 100, likHalflife: 3000,
} as AnomalyParams;

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
  'n', 'mean', 'var', 'fast', 'lo', 'hi', 'short', 'lMean', 'lVar', 'lN', 'logQ', 'xi', 'tailN', 'sinceRest', 'peakZ', 'histTot', 'hist2Tot',
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
  readonly tail: number;
}

/**
 * One group's ANOMALY_SCORE state: 14 scalars, 3 error averages with counts and
 * 2 × seasonBuckets season numbers (68 numbers, about 0.8 KB with typed arrays, with the default 24 buckets).
 */
export class AnomalyScore implements Detector {
  private readonly s: Record<Scalar, number> = {
    n: 0, mean: 0, var: 0, fast: 0, lo: 0, hi: 0, short: 0, lMean: 0, lVar: 0, lN: 0, logQ: 0, xi: 0, tailN: 0, peakZ: 0, histTot: 0, hist2Tot: 0,
    sinceRest: Number.MAX_SAFE_INTEGER,
  };
  private readonly err = new Float64Array(PREDICTORS);
  private readonly errN = new Float64Array(PREDICTORS);
  private readonly seasonMean: Float64Array;
  private readonly seasonN: Float64Array;
  private readonly res = new Float64Array(PREDICTORS);
  private readonly hist = new Float64Array(32);
  private readonly hist2 = new Float64Array(64);
  private readonly w: Weights;

  constructor(private readonly p: AnomalyParams = ANOMALY_PARAMS) {
    this.w = {
      slow: weight(p.slowHalflife),
      fast: weight(p.fastHalflife),
      err: weight(p.errHalflife),
      season: weight(p.seasonHalflife),
      short: weight(p.shortHalflife),
      long: weight(p.longHalflife),
      tail: weight(p.tailHalflife),
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
      let pl = normalTail((s.short - s.lMean) / lsd);
      const X = this.p as any;
      if (X.likBins > 0) {
        const b = Math.min(X.likBins - 1, Math.floor(s.short * X.likBins));
        let c = 0;
        for (let k = Math.max(0, b - X.likSlack); k < X.likBins; k++) c += this.hist2[k]!;
        pl = Math.max(pl, X.likWeight * c / Math.max(s.hist2Tot, X.likMinTot));
      }
      out = logScore(pl);
    }
    {
      const X = this.p as any;
      if (X.likBins > 0) {
        const b = Math.min(X.likBins - 1, Math.floor(s.short * X.likBins));
        const dk = Math.pow(2, -1 / X.likHalflife);
        for (let k = 0; k < X.likBins; k++) this.hist2[k]! *= dk;
        this.hist2[b]! += 1;
        s.hist2Tot = s.hist2Tot * dk + 1;
      }
    }
    const al = Math.max(w.long, 1 / (s.lN + 1));
    s.lN++;
    const dl = s.short - s.lMean;
    s.lMean += al * dl;
    s.lVar = (1 - al) * (s.lVar + al * dl * dl);

    // Stage 3, peaks over threshold: q ≈ 90th percentile of z, tracked on a log scale by
    // stochastic quantile steps, and a Pareto tail above it, P(z > x) ≈ 0.1·(x / q)^(−1/ξ), whose
    // index ξ is the Hill estimate (EW mean of log(z / q) over exceedances). A Gaussian-like series
    // has a thin tail (small ξ), so a 20σ spike is a near-impossible event; a bursty series has a
    // fat one, so its routine bursts are not.
    const q = Math.exp(s.logQ);
    const xi = Math.max(s.xi, p.minXi);
    (this as any).dbgLik = out ?? 0; (this as any).dbgPot = 0;
    const X = this.p as any;
    if (out !== null && s.tailN > p.warmup && z > q) {
      let pot = logScore(p.tailFraction * Math.pow(z / q, -1 / xi));
      if (X.peakHalflife > 0 && z < X.peakMargin * s.peakZ) pot *= X.peakDamp;
      if (X.empBins > 0) {
        const b = Math.max(0, Math.min(X.empBins - 1, Math.floor(Math.log(z) / X.empDelta)));
        let c = 0;
        for (let k = Math.max(0, b - X.empSlack); k < X.empBins; k++) c += this.hist[k]!;
        const pEmp = (p.tailFraction * c) / Math.max(s.histTot, X.empMinTot);
        const pPar = p.tailFraction * Math.pow(z / q, -1 / xi);
        pot = logScore(Math.max(pPar, X.empWeight * pEmp));
      }
      (this as any).dbgPot = pot; out = Math.max(out, pot);
    }
    if (X.empBins > 0 && s.tailN > 1 && z > q) {
      const b = Math.max(0, Math.min(X.empBins - 1, Math.floor(Math.log(z) / X.empDelta)));
      const dk = Math.pow(2, -1 / X.empHalflife);
      for (let k = 0; k < X.empBins; k++) this.hist[k]! *= dk;
      this.hist[b]! += 1;
      s.histTot = s.histTot * dk + 1;
    }
    if (X.peakHalflife > 0) {
      const dk = Math.pow(2, -1 / X.peakHalflife);
      s.peakZ = Math.max(q + (s.peakZ - q) * dk, z);
    }
    s.tailN++;
    if (s.tailN === 1) s.logQ = Math.log(Math.max(z, 1e-3));
    else s.logQ += p.quantileStep * ((z > q ? 1 : 0) - p.tailFraction);
    if (z > q) s.xi += w.tail * (Math.min(Math.log(z / q), 10 * xi) - s.xi);
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
