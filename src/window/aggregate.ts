/**
 * The SQL aggregate functions as mergeable partial states. A window is built from slide-sized panes
 * (STYLE.md: Arroyo/Flink), so every state must merge associatively and commutatively, and
 * serialise to JSON for checkpoints. States are small classes with numeric fields: add() is called
 * millions of times per second and allocates nothing for COUNT/SUM/MIN/MAX/AVG/STDDEV/VARIANCE.
 *
 * NULL handling (SPEC.md section 3): every aggregate skips NULL inputs, except COUNT(*), which counts
 * rows, and EARLIEST/LATEST with ignoreNulls = false. Numeric aggregates also skip non-finite numbers
 * (NaN, ±Infinity): they only come from expressions like SQRT(-1) or 1/0, one of them would poison
 * a whole window, and JSON checkpoints cannot carry them.
 */
import type { Value } from '../types.js';
import {
  DistinctState,
  distinctAdd,
  distinctClone,
  distinctFromJSON,
  distinctMerge,
  distinctResult,
  distinctToJSON,
} from './distinct-sketch.js';
import {
  QuantileState,
  quantileAdd,
  quantileClone,
  quantileFromJSON,
  quantileMerge,
  quantileResult,
  quantileResultOfMany,
  quantileToJSON,
} from './quantile-sketch.js';

/** The aggregate functions of the dialect (EARLIEST/LATEST are ksqlDB's *_BY_OFFSET). */
export type AggregateKind =
  | 'COUNT_STAR'
  | 'COUNT'
  | 'COUNT_DISTINCT'
  | 'SUM'
  | 'MIN'
  | 'MAX'
  | 'AVG'
  | 'STDDEV'
  | 'VARIANCE'
  | 'PERCENTILE'
  | 'EARLIEST'
  | 'LATEST';

/** Per-call options: PERCENTILE's q, EARLIEST/LATEST's ignore_nulls, SUM's integer typing. */
export interface AggregateOptions {
  /** PERCENTILE: the quantile, 0..1 (required). */
  q?: number;
  /** EARLIEST/LATEST: skip NULL inputs (default true). */
  ignoreNulls?: boolean;
  /** SUM: integer input keeps integer output (plain, exact addition up to 2^53). */
  integer?: boolean;
}

/** One aggregate function. States are mutable objects owned by the engine. */
export interface Aggregator<S = unknown> {
  readonly kind: AggregateKind;
  init(): S;
  /** Adds one input value; `seq` is a global arrival sequence number (for EARLIEST/LATEST, which are by arrival order like ksqlDB's *_BY_OFFSET). */
  add(state: S, value: Value, seq: number): void;
  /** Merges `from` into `into` (mutating `into`, never `from`). Must be associative and commutative so panes can merge in any grouping. */
  merge(into: S, from: S): void;
  /** The result; NULL when nothing non-null was added (COUNT: 0). */
  result(state: S): Value;
  /**
   * Optional: result() of the merge of `states` (a window's panes, in order), computed without
   * building the merge. Must equal cloning the first and merging the others into it.
   */
  resultOfMany?(states: readonly S[]): Value;
  /**
   * A fresh copy that later add/merge calls on `state` leave alone (a window is built by cloning
   * its first pane and merging the rest; a checkpoint's write barrier copies a pane about to change).
   */
  clone(state: S): S;
  /**
   * A checkpoint's write barrier keeps toJSON(state) instead of clone(state): set where the
   * checkpoint form is the cheaper copy (a percentile's bins: a clone is an array of counts, the
   * checkpoint form a few hundred bytes of text).
   */
  readonly barrierKeepsJSON?: boolean;
  /** JSON-serialisable form, for checkpoints; fromJSON(toJSON(s)) must behave identically (results, further adds, merges). */
  toJSON(state: S): unknown;
  fromJSON(json: unknown): S;
}

/** Builds the aggregator for one aggregate call; throws on an invalid option (e.g. q outside 0..1). */
export function makeAggregator(kind: AggregateKind, opts: AggregateOptions = {}): Aggregator {
  switch (kind) {
    case 'COUNT_STAR':
      return new CountAggregator(kind);
    case 'COUNT':
      return new CountAggregator(kind);
    case 'COUNT_DISTINCT':
      return new CountDistinctAggregator();
    case 'SUM':
      return opts.integer === true ? new IntegerSumAggregator() : new SumAggregator('SUM');
    case 'AVG':
      return new SumAggregator('AVG');
    case 'MIN':
      return new MinAggregator();
    case 'MAX':
      return new MaxAggregator();
    case 'STDDEV':
    case 'VARIANCE':
      return new MomentsAggregator(kind);
    case 'PERCENTILE': {
      const q = opts.q;
      if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
        throw new RangeError(`PERCENTILE needs a quantile between 0 and 1, got ${String(q)}`);
      }
      return new PercentileAggregator(q);
    }
    case 'EARLIEST':
    case 'LATEST':
      return new ArrivalAggregator(kind, opts.ignoreNulls ?? true);
    default: {
      const unknown: never = kind;
      throw new RangeError(`unknown aggregate ${String(unknown)}`);
    }
  }
}

function badState(kind: AggregateKind): Error {
  return new Error(`invalid ${kind} state in checkpoint`);
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function json(v: unknown, kind: AggregateKind): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badState(kind);
  return v as Record<string, unknown>;
}

// ---- COUNT(*) and COUNT(x) ---------------------------------------------------------------------

/** State of COUNT(*) and COUNT(x). */
export class CountState {
  n = 0;
}

class CountAggregator implements Aggregator<CountState> {
  private readonly star: boolean;
  constructor(readonly kind: 'COUNT_STAR' | 'COUNT') {
    this.star = kind === 'COUNT_STAR';
  }
  init(): CountState {
    return new CountState();
  }
  add(s: CountState, v: Value): void {
    // `== null` also catches undefined: a column absent from the row reads as NULL.
    if (this.star || v != null) s.n++;
  }
  merge(into: CountState, from: CountState): void {
    into.n += from.n;
  }
  result(s: CountState): Value {
    return s.n;
  }
  clone(s: CountState): CountState {
    const c = new CountState();
    c.n = s.n;
    return c;
  }
  toJSON(s: CountState): unknown {
    return s.n;
  }
  fromJSON(j: unknown): CountState {
    if (!Number.isSafeInteger(j) || (j as number) < 0) throw badState(this.kind);
    const c = new CountState();
    c.n = j as number;
    return c;
  }
}

// ---- SUM and AVG ------------------------------------------------------------------------------

/** State of SUM and AVG: a Neumaier-compensated sum (sum + c), so long windows keep precision. */
export class SumState {
  n = 0;
  sum = 0;
  c = 0;
}

function sumStep(s: SumState, v: number): void {
  const t = s.sum + v;
  if (Math.abs(s.sum) >= Math.abs(v)) s.c += s.sum - t + v;
  else s.c += v - t + s.sum;
  s.sum = t;
}

class SumAggregator implements Aggregator<SumState> {
  private readonly avg: boolean;
  constructor(readonly kind: 'SUM' | 'AVG') {
    this.avg = kind === 'AVG';
  }
  init(): SumState {
    return new SumState();
  }
  add(s: SumState, v: Value): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    s.n++;
    sumStep(s, v);
  }
  merge(into: SumState, from: SumState): void {
    into.n += from.n;
    sumStep(into, from.sum);
    into.c += from.c;
  }
  result(s: SumState): Value {
    if (s.n === 0) return null;
    return this.avg ? (s.sum + s.c) / s.n : s.sum + s.c;
  }
  clone(s: SumState): SumState {
    const c = new SumState();
    c.n = s.n;
    c.sum = s.sum;
    c.c = s.c;
    return c;
  }
  toJSON(s: SumState): unknown {
    return { n: s.n, s: s.sum, c: s.c };
  }
  fromJSON(j: unknown): SumState {
    const o = json(j, this.kind);
    if (!Number.isSafeInteger(o.n) || !finite(o.s) || !finite(o.c)) throw badState(this.kind);
    const s = new SumState();
    s.n = o.n as number;
    s.sum = o.s;
    s.c = o.c;
    return s;
  }
}

/** State of SUM over INT/BIGINT: integers add exactly (up to 2^53), so no compensation is needed. */
export class IntegerSumState {
  n = 0;
  sum = 0;
}

class IntegerSumAggregator implements Aggregator<IntegerSumState> {
  readonly kind = 'SUM' as const;
  init(): IntegerSumState {
    return new IntegerSumState();
  }
  add(s: IntegerSumState, v: Value): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    s.n++;
    s.sum += v;
  }
  merge(into: IntegerSumState, from: IntegerSumState): void {
    into.n += from.n;
    into.sum += from.sum;
  }
  result(s: IntegerSumState): Value {
    return s.n === 0 ? null : s.sum;
  }
  clone(s: IntegerSumState): IntegerSumState {
    const c = new IntegerSumState();
    c.n = s.n;
    c.sum = s.sum;
    return c;
  }
  toJSON(s: IntegerSumState): unknown {
    return { n: s.n, s: s.sum };
  }
  fromJSON(j: unknown): IntegerSumState {
    const o = json(j, this.kind);
    if (!Number.isSafeInteger(o.n) || !finite(o.s)) throw badState(this.kind);
    const s = new IntegerSumState();
    s.n = o.n as number;
    s.sum = o.s;
    return s;
  }
}

// ---- MIN and MAX ------------------------------------------------------------------------------

/**
 * State of MIN and MAX over numbers (and TIMESTAMPs) or strings (UTF-16 code unit order, like
 * Java's String.compareTo in ksqlDB). Other types are skipped. Should a column ever mix numbers and
 * strings, numbers order before strings, so the result still does not depend on merge order.
 * Numbers live in their own field: a field that may also hold a string would box every new
 * number, and MAX(event_time) updates on nearly every event.
 */
export class ExtremeState {
  /** 0: nothing yet, 1: `num` holds the result, 2: `str` does. */
  type = 0;
  num = NaN;
  str = '';
}

abstract class ExtremeAggregator implements Aggregator<ExtremeState> {
  abstract readonly kind: 'MIN' | 'MAX';
  abstract addNumber(s: ExtremeState, v: number): void;
  abstract addString(s: ExtremeState, v: string): void;
  abstract add(s: ExtremeState, v: Value): void;
  init(): ExtremeState {
    return new ExtremeState();
  }
  merge(into: ExtremeState, from: ExtremeState): void {
    if (from.type === 1) this.addNumber(into, from.num);
    else if (from.type === 2) this.addString(into, from.str);
  }
  result(s: ExtremeState): Value {
    return s.type === 0 ? null : s.type === 1 ? s.num : s.str;
  }
  clone(s: ExtremeState): ExtremeState {
    const c = new ExtremeState();
    c.type = s.type;
    c.num = s.num;
    c.str = s.str;
    return c;
  }
  /** The result itself: null, a number or a string. */
  toJSON(s: ExtremeState): unknown {
    return this.result(s);
  }
  fromJSON(j: unknown): ExtremeState {
    const s = new ExtremeState();
    if (typeof j === 'string') this.addString(s, j);
    else if (finite(j)) this.addNumber(s, j);
    else if (j !== null) throw badState(this.kind);
    return s;
  }
}

class MinAggregator extends ExtremeAggregator {
  readonly kind = 'MIN' as const;
  // Each subclass has its own add(): one shared by MIN and MAX made both slower (polymorphic).
  add(s: ExtremeState, v: Value): void {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) this.addNumber(s, v);
    } else if (typeof v === 'string') {
      this.addString(s, v);
    }
  }
  addNumber(s: ExtremeState, v: number): void {
    if (s.type !== 1 || v < s.num) {
      s.type = 1;
      s.num = v;
      s.str = '';
    }
  }
  addString(s: ExtremeState, v: string): void {
    if (s.type === 0 || (s.type === 2 && v < s.str)) {
      s.type = 2;
      s.str = v;
    }
  }
}

class MaxAggregator extends ExtremeAggregator {
  readonly kind = 'MAX' as const;
  // Each subclass has its own add(): one shared by MIN and MAX made both slower (polymorphic).
  add(s: ExtremeState, v: Value): void {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) this.addNumber(s, v);
    } else if (typeof v === 'string') {
      this.addString(s, v);
    }
  }
  addNumber(s: ExtremeState, v: number): void {
    if (s.type === 0 || (s.type === 1 && v > s.num)) {
      s.type = 1;
      s.num = v;
    }
  }
  addString(s: ExtremeState, v: string): void {
    if (s.type !== 2 || v > s.str) {
      s.type = 2;
      s.str = v;
    }
  }
}

// ---- STDDEV and VARIANCE ----------------------------------------------------------------------

/** State of STDDEV and VARIANCE: count, mean and sum of squared deviations (Welford). */
export class MomentsState {
  n = 0;
  mean = 0;
  m2 = 0;
}

/**
 * Sample variance and standard deviation (n − 1). Welford's update per value and Chan et al.'s
 * pairwise combination per merge, which stay accurate where the textbook sum-of-squares formula
 * cancels catastrophically (large means, small spread). One value gives 0, as ksqlDB's
 * STDDEV_SAMP does; no value gives NULL.
 */
class MomentsAggregator implements Aggregator<MomentsState> {
  private readonly sqrt: boolean;
  constructor(readonly kind: 'STDDEV' | 'VARIANCE') {
    this.sqrt = kind === 'STDDEV';
  }
  init(): MomentsState {
    return new MomentsState();
  }
  add(s: MomentsState, v: Value): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const n = ++s.n;
    const d = v - s.mean;
    s.mean += d / n;
    s.m2 += d * (v - s.mean);
  }
  merge(into: MomentsState, from: MomentsState): void {
    if (from.n === 0) return;
    if (into.n === 0) {
      into.n = from.n;
      into.mean = from.mean;
      into.m2 = from.m2;
      return;
    }
    const n = into.n + from.n;
    const d = from.mean - into.mean;
    into.mean += (d * from.n) / n;
    into.m2 += from.m2 + (d * d * into.n * from.n) / n;
    into.n = n;
  }
  result(s: MomentsState): Value {
    if (s.n === 0) return null;
    if (s.n === 1) return 0;
    const variance = Math.max(0, s.m2) / (s.n - 1);
    return this.sqrt ? Math.sqrt(variance) : variance;
  }
  clone(s: MomentsState): MomentsState {
    const c = new MomentsState();
    c.n = s.n;
    c.mean = s.mean;
    c.m2 = s.m2;
    return c;
  }
  toJSON(s: MomentsState): unknown {
    return { n: s.n, mean: s.mean, m2: s.m2 };
  }
  fromJSON(j: unknown): MomentsState {
    const o = json(j, this.kind);
    if (!Number.isSafeInteger(o.n) || !finite(o.mean) || !finite(o.m2)) throw badState(this.kind);
    const s = new MomentsState();
    s.n = o.n as number;
    s.mean = o.mean;
    s.m2 = o.m2;
    return s;
  }
}

// ---- COUNT(DISTINCT x) and PERCENTILE(x, q): sketches in their own files ---------------------------

class CountDistinctAggregator implements Aggregator<DistinctState> {
  readonly kind = 'COUNT_DISTINCT' as const;
  init(): DistinctState {
    return new DistinctState();
  }
  add(s: DistinctState, v: Value): void {
    if (v != null) distinctAdd(s, v);
  }
  merge(into: DistinctState, from: DistinctState): void {
    distinctMerge(into, from);
  }
  /** Like COUNT, an empty COUNT(DISTINCT x) is 0, not NULL. */
  result(s: DistinctState): Value {
    return distinctResult(s);
  }
  clone(s: DistinctState): DistinctState {
    return distinctClone(s);
  }
  toJSON(s: DistinctState): unknown {
    return distinctToJSON(s);
  }
  fromJSON(j: unknown): DistinctState {
    return distinctFromJSON(j);
  }
}

class PercentileAggregator implements Aggregator<QuantileState> {
  readonly kind = 'PERCENTILE' as const;
  readonly barrierKeepsJSON = true;
  constructor(readonly q: number) {}
  init(): QuantileState {
    return new QuantileState();
  }
  add(s: QuantileState, v: Value): void {
    if (typeof v === 'number' && Number.isFinite(v)) quantileAdd(s, v);
  }
  merge(into: QuantileState, from: QuantileState): void {
    quantileMerge(into, from);
  }
  result(s: QuantileState): Value {
    return s.n === 0 ? null : quantileResult(s, this.q);
  }
  resultOfMany(states: readonly QuantileState[]): Value {
    const v = quantileResultOfMany(states, this.q);
    return Number.isNaN(v) ? null : v;
  }
  clone(s: QuantileState): QuantileState {
    return quantileClone(s);
  }
  toJSON(s: QuantileState): unknown {
    return quantileToJSON(s);
  }
  fromJSON(j: unknown): QuantileState {
    return quantileFromJSON(j);
  }
}

// ---- EARLIEST and LATEST ----------------------------------------------------------------------

/**
 * State of EARLIEST/LATEST: the value with the smallest/largest arrival sequence number. A number
 * is kept in `num` (see ExtremeState for why); `v` holds any other value.
 */
export class ArrivalState {
  found = false;
  seq = 0;
  isNum = false;
  num = NaN;
  v: Value = null;
}

/**
 * By arrival order (ksqlDB's EARLIEST_BY_OFFSET / LATEST_BY_OFFSET), not event time: the engine
 * numbers events as they arrive, and merge keeps the smaller/larger sequence number.
 */
class ArrivalAggregator implements Aggregator<ArrivalState> {
  private readonly latest: boolean;
  constructor(
    readonly kind: 'EARLIEST' | 'LATEST',
    readonly ignoreNulls: boolean,
  ) {
    this.latest = kind === 'LATEST';
  }
  init(): ArrivalState {
    return new ArrivalState();
  }
  add(s: ArrivalState, v: Value, seq: number): void {
    if (v == null && this.ignoreNulls) return;
    if (s.found && (this.latest ? seq <= s.seq : seq >= s.seq)) return;
    s.found = true;
    s.seq = seq;
    if (typeof v === 'number') {
      s.isNum = true;
      s.num = v;
      s.v = null;
    } else {
      s.isNum = false;
      s.v = v ?? null;
    }
  }
  merge(into: ArrivalState, from: ArrivalState): void {
    if (from.found) this.add(into, this.result(from), from.seq);
  }
  result(s: ArrivalState): Value {
    return s.isNum ? s.num : s.v;
  }
  clone(s: ArrivalState): ArrivalState {
    const c = new ArrivalState();
    c.found = s.found;
    c.seq = s.seq;
    c.isNum = s.isNum;
    c.num = s.num;
    c.v = s.v;
    return c;
  }
  /** `null` when empty; `{s, v}`, or `{s, x: 'NaN'|'Infinity'|'-Infinity'}` for what JSON cannot hold. */
  toJSON(s: ArrivalState): unknown {
    if (!s.found) return null;
    if (s.isNum && !Number.isFinite(s.num)) return { s: s.seq, x: String(s.num) };
    return { s: s.seq, v: this.result(s) };
  }
  fromJSON(j: unknown): ArrivalState {
    const s = new ArrivalState();
    if (j === null) return s;
    const o = json(j, this.kind);
    if (!finite(o.s)) throw badState(this.kind);
    if (typeof o.x === 'string') this.add(s, Number(o.x), o.s);
    else if (isValue(o.v)) this.add(s, o.v, o.s);
    else throw badState(this.kind);
    return s;
  }
}

function isValue(v: unknown): v is Value {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  return typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}
