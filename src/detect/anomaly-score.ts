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
 * 2. Anomaly likelihood (as in Numenta's HTM detector): raw = 1 − e^(−z/6); its short-term
 *    average is compared with that average's long-term distribution, so a series that is always
 *    noisy does not alarm all the time, while a sustained change in behaviour does.
 * 3. Instantaneous extremity (peaks over threshold): the tail probability of z under a Pareto
 *    tail fitted to this series' own largest 10% of z (Hill estimator) catches single spikes that
 *    the averaging in (2) would dilute. A decayed histogram of those largest z (log-spaced bins)
 *    corrects the fitted tail where the series' own record says a spike this large is routine
 *    (a daily cron spike, a bursty disk): the larger of the two probabilities wins, so only a
 *    spike larger than what recurs is rare.
 * 4. Onset suppression (as in CAD OSE): after the output reaches restLevel the detector stays
 *    silent for `rest` rows, because an alert at the onset is what matters and every repeat is noise.
 * Stages 2 and 3 score only from row 150 on (0 before): their long-term statistics must settle
 * first, or a young detector alarms on ordinary noise.
 * Both outputs are log-scaled tail probabilities: 0.3 (the alert level) means a 1-in-1,000 event,
 * 0.5 a 1-in-100,000 event, 1 a 1-in-10^10.
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
  /** Rows before stage 2 scores (0 until then): its long-term mean and deviation must settle first. */
  readonly likWarmup: number;
  /** Peaks over threshold: half-life of the tail index ξ, its floor, and the log-step of the 90th-percentile tracker. */
  readonly tailHalflife: number;
  readonly minXi: number;
  readonly quantileStep: number;
  readonly tailFraction: number;
  /** Rows before stage 3 scores (its 90th percentile needs a few hundred rows to settle). */
  readonly tailWarmup: number;
  /**
   * Empirical tail of stage 3: bins of ln z (width histBinWidth, from z = 1; the last bin is open),
   * their half-life counted in exceedances of the 90th percentile, the bins below z's own bin that
   * still count as "this large", the weight of the empirical probability, and the least decayed
   * count it is divided by (so the first exceedances do not look routine).
   */
  readonly histBins: number;
  readonly histBinWidth: number;
  readonly histHalflife: number;
  readonly histSlack: number;
  readonly histWeight: number;
  readonly histMinCount: number;
  /** Rows of silence after the output reaches restLevel. */
  readonly rest: number;
  readonly restLevel: number;
}

/** The one parameter set ANOMALY_SCORE uses. */
export const ANOMALY_PARAMS: AnomalyParams = {
  warmup: 30,
  slowHalflife: 1500,
  fastHalflife: 3,
  errHalflife: 2500,
  seasonBuckets: 24,
  seasonHalflife: 5,
  seasonMin: 3,
  clip: 5,
  zScale: 6,
  rangeTol: 0.1,
  shortHalflife: 10,
  longHalflife: 2000,
  minSigma: 0.03,
  likWarmup: 150,
  tailHalflife: 1000,
  minXi: 0.4,
  quantileStep: 0.03,
  tailFraction: 0.1,
  tailWarmup: 150,
  histBins: 20,
  histBinWidth: 0.4,
  histHalflife: 2000,
  histSlack: 1,
  histWeight: 2,
  histMinCount: 20,
  rest: 150,
  restLevel: 0.3,
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
  'n', 'mean', 'var', 'fast', 'lo', 'hi', 'short', 'lMean', 'lVar', 'lN', 'logQ', 'xi', 'tailN', 'sinceRest', 'histN',
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
  /** Per-exceedance decay factor of the tail histogram. */
  readonly histDecay: number;
}

const WEIGHTS = new WeakMap<AnomalyParams, Weights>();
const RESIDUALS = new Float64Array(PREDICTORS);

/** The per-row weights of a parameter set, computed once per set. */
function weightsOf(p: AnomalyParams): Weights {
  let w = WEIGHTS.get(p);
  if (w === undefined) {
    w = {
      slow: weight(p.slowHalflife),
      fast: weight(p.fastHalflife),
      err: weight(p.errHalflife),
      season: weight(p.seasonHalflife),
      short: weight(p.shortHalflife),
      long: weight(p.longHalflife),
      tail: weight(p.tailHalflife),
      histDecay: Math.pow(2, -1 / p.histHalflife),
    };
    WEIGHTS.set(p, w);
  }
  return w;
}

/**
 * One group's ANOMALY_SCORE state: 15 scalars, 3 error averages with counts,
 * 2 × seasonBuckets season numbers and histBins tail counts (89 numbers with the defaults: 712 bytes
 * of numbers, about 1 KB of heap with the typed arrays' headers).
 */
export class AnomalyScore implements Detector {
  private readonly s: Record<Scalar, number> = {
    n: 0, mean: 0, var: 0, fast: 0, lo: 0, hi: 0, short: 0, lMean: 0, lVar: 0, lN: 0, logQ: 0, xi: 0, tailN: 0, histN: 0,
    sinceRest: Number.MAX_SAFE_INTEGER,
  };
  private readonly err = new Float64Array(PREDICTORS);
  private readonly errN = new Float64Array(PREDICTORS);
  private readonly seasonMean: Float64Array;
  private readonly seasonN: Float64Array;
  /** Decayed counts of exceedances per ln z bin (stage 3's empirical tail). */
  private readonly hist: Float64Array;
  /** Shared by every group with the same parameters (per-group memory matters at 100,000 groups). */
  private readonly w: Weights;
  /** The predictors' residuals of the current row: scratch shared by all groups (update is synchronous). */
  private readonly res = RESIDUALS;

  constructor(private readonly p: AnomalyParams = ANOMALY_PARAMS) {
    this.w = weightsOf(p);
    this.hist = new Float64Array(p.histBins);
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
    if (s.n > p.warmup) out = 0;
    if (s.n > p.likWarmup) {
      const lsd = Math.max(Math.sqrt(s.lVar), p.minSigma);
      out = logScore(normalTail((s.short - s.lMean) / lsd));
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
    const exceeds = z > q;
    const bin = exceeds ? this.histBin(z) : 0;
    if (out !== null && s.tailN > p.tailWarmup && exceeds) {
      const pareto = p.tailFraction * Math.pow(z / q, -1 / xi);
      out = Math.max(out, logScore(Math.max(pareto, p.histWeight * this.empiricalTail(bin))));
    }
    if (exceeds && s.tailN > 0) this.learnTail(bin);
    s.tailN++;
    if (s.tailN === 1) s.logQ = Math.log(Math.max(z, 1e-3));
    else s.logQ += p.quantileStep * ((z > q ? 1 : 0) - p.tailFraction);
    if (z > q) s.xi += w.tail * (Math.min(Math.log(z / q), 10 * xi) - s.xi);
    return out;
  }

  /** The histogram bin of an exceedance z: ln z in steps of histBinWidth from z = 1, the last bin open. */
  private histBin(z: number): number {
    const b = Math.floor(Math.log(z) / this.p.histBinWidth);
    return b < 0 ? 0 : b >= this.p.histBins ? this.p.histBins - 1 : b;
  }

  /**
   * P(z at least this large) from the series' own record: the share of past exceedances in z's bin
   * (less histSlack) or above, times the exceedance rate. A spike that recurs daily has a large
   * share however far it is from the fitted Pareto tail; a new record has none.
   */
  private empiricalTail(bin: number): number {
    const { p, hist } = this;
    let c = 0;
    for (let k = Math.max(0, bin - p.histSlack); k < p.histBins; k++) c += hist[k]!;
    return (p.tailFraction * c) / Math.max(this.s.histN, p.histMinCount);
  }

  /** Counts an exceedance in its bin; older counts decay by half every histHalflife exceedances. */
  private learnTail(bin: number): void {
    const { hist, w } = this;
    for (let k = 0; k < hist.length; k++) hist[k]! *= w.histDecay;
    hist[bin]! += 1;
    this.s.histN = this.s.histN * w.histDecay + 1;
  }

  toJSON(): unknown {
    return {
      scalars: SCALARS.map((k) => this.s[k]),
      err: Array.from(this.err),
      errN: Array.from(this.errN),
      seasonMean: Array.from(this.seasonMean),
      seasonN: Array.from(this.seasonN),
      hist: Array.from(this.hist),
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
    d.hist.set(numArray(json, 'hist', p.histBins));
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
