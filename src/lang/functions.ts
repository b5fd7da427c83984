/**
 * The function catalogue of seismo's SQL dialect: every scalar, aggregate and baseline function,
 * its arity, its named arguments, which arguments must be constants, and its result type. The
 * checker validates calls against it; the compiler looks implementations up by `def.name` (the
 * canonical name, aliases resolved).
 */
import type { Expr, LiteralValue } from './ast.js';

/**
 * Types the checker computes. 'NULL' is the type of the NULL literal and, internally, of anything
 * whose type is unknown (e.g. columns of an unknown source): it is compatible with every type.
 */
export type SqlType = 'VARCHAR' | 'INT' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP' | 'MAP' | 'NULL';

/** scalar: row by row; aggregate: over a group's rows; baseline: stateful across a group's rows. */
export type FunctionKind = 'scalar' | 'aggregate' | 'baseline';

/**
 * A constant parameter of a function, after its value arguments: given positionally in the
 * declared order (`EWMA(x, 0.3)`) or, when the function allows, by name (`EWMA(x, alpha => 0.3)`).
 */
export interface ParamDef {
  readonly name: string;
  readonly type: 'number' | 'integer' | 'string' | 'boolean' | 'choice';
  /** Inclusive bounds for numbers; `above` is an exclusive lower bound. */
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  readonly required?: boolean;
  readonly doc: string;
}

/** Completes "... must be ": what a parameter accepts. */
export function describeParam(p: ParamDef): string {
  switch (p.type) {
    case 'boolean':
      return 'TRUE or FALSE';
    case 'string':
      return 'a constant string';
    case 'choice':
      return `one of ${(p.choices ?? []).map((c) => `'${c}'`).join(', ')}`;
    default: {
      const what = p.type === 'integer' ? 'a constant integer' : 'a constant number';
      if (p.above !== undefined && p.max !== undefined) return `${what} in (${p.above}, ${p.max}]`;
      if (p.min !== undefined && p.max !== undefined) return `${what} between ${p.min} and ${p.max}`;
      if (p.min !== undefined) return `${what} >= ${p.min}`;
      return what;
    }
  }
}

/** True when the literal v is an acceptable value for p. */
export function acceptsParam(p: ParamDef, v: LiteralValue): boolean {
  switch (p.type) {
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'choice':
      return typeof v === 'string' && (p.choices ?? []).some((c) => c.toLowerCase() === v.toLowerCase());
    default:
      return (
        typeof v === 'number' &&
        Number.isFinite(v) &&
        (p.type === 'number' || Number.isInteger(v)) &&
        (p.min === undefined || v >= p.min) &&
        (p.above === undefined || v > p.above) &&
        (p.max === undefined || v <= p.max)
      );
  }
}

/** The result type, or why the argument types do not fit (`arg` is the offending index). */
export type TypeResult = SqlType | { readonly error: string; readonly arg?: number };

/** One function of the catalogue. */
export interface FunctionDef {
  /** Canonical upper-case name (aliases resolve to it). */
  readonly name: string;
  readonly kind: FunctionKind;
  /** Positional arguments accepted (value arguments plus positional parameters). */
  readonly minArgs: number;
  /** Infinity for variadic functions. */
  readonly maxArgs: number;
  /** How many leading arguments are ordinary expressions (the x of `ZSCORE(x, ...)`). */
  readonly valueArgs: number;
  /** Constant parameters after the value arguments, in positional order. */
  readonly params: readonly ParamDef[];
  /** The parameters that may also be given by name. */
  readonly namedArgs: readonly ParamDef[];
  /** `COUNT(*)` */
  readonly allowsStar: boolean;
  /** `COUNT(DISTINCT x)` */
  readonly allowsDistinct: boolean;
  readonly resultType: (args: readonly SqlType[]) => TypeResult;
  readonly doc: string;
}

/** True for the numeric types (and NULL, which fits anywhere). */
export function isNumeric(t: SqlType): boolean {
  return t === 'INT' || t === 'BIGINT' || t === 'DOUBLE' || t === 'NULL';
}

/** The wider of two numeric types: INT < BIGINT < DOUBLE. */
export function widenNumeric(a: SqlType, b: SqlType): SqlType {
  if (a === 'NULL') return b;
  if (b === 'NULL') return a;
  if (a === 'DOUBLE' || b === 'DOUBLE') return 'DOUBLE';
  if (a === 'BIGINT' || b === 'BIGINT') return 'BIGINT';
  return 'INT';
}

/**
 * The common type of values that meet in one place (CASE branches, COALESCE, IN lists), or null
 * when they cannot: numbers widen, NULL fits anything, TIMESTAMP mixes with integers (epoch ms).
 */
export function unifyTypes(a: SqlType, b: SqlType): SqlType | null {
  if (a === 'NULL') return b;
  if (b === 'NULL' || a === b) return a;
  if (isNumeric(a) && isNumeric(b)) return widenNumeric(a, b);
  if ((a === 'TIMESTAMP' && (b === 'INT' || b === 'BIGINT')) || (b === 'TIMESTAMP' && (a === 'INT' || a === 'BIGINT'))) {
    return 'TIMESTAMP';
  }
  return null;
}

const numeric1 = (result: (t: SqlType) => SqlType) => (args: readonly SqlType[]): TypeResult => {
  for (let i = 0; i < args.length; i++) {
    if (!isNumeric(args[i]!)) return { error: `expects a number but argument ${i + 1} is ${args[i]}`, arg: i };
  }
  return result(args[0] ?? 'NULL');
};
const same = (t: SqlType): SqlType => t;
const double = (): SqlType => 'DOUBLE';

function unifyAll(args: readonly SqlType[]): TypeResult {
  let t: SqlType = 'NULL';
  for (let i = 0; i < args.length; i++) {
    const u = unifyTypes(t, args[i]!);
    if (u === null) return { error: `arguments mix ${t} and ${args[i]}`, arg: i };
    t = u;
  }
  if (t === 'MAP') return { error: 'does not accept a MAP', arg: 0 };
  return t;
}

function strings(result: SqlType, positions: number) {
  return (args: readonly SqlType[]): TypeResult => {
    for (let i = 0; i < args.length; i++) {
      const want = i < positions ? 'VARCHAR' : 'INT';
      const t = args[i]!;
      const ok = t === 'NULL' || (want === 'VARCHAR' ? t === 'VARCHAR' : t === 'INT' || t === 'BIGINT');
      if (!ok) return { error: `expects ${want === 'VARCHAR' ? 'a VARCHAR' : 'an integer'} but argument ${i + 1} is ${t}`, arg: i };
    }
    return result;
  };
}

const num = (name: string, doc: string, bounds: Partial<ParamDef> = {}): ParamDef => ({ name, type: 'number', doc, ...bounds });
const int = (name: string, doc: string, min: number, max?: number): ParamDef => ({ name, type: 'integer', doc, min, ...(max === undefined ? {} : { max }) });

/** The seasons SEASONAL_ZSCORE accepts. */
export const SEASONS = ['hour_of_day', 'day_of_week', 'hour_of_week'] as const;

// Baseline parameters mirror src/detect (its ArgReader lists), which validates them again.
const HALFLIFE = num('halflife', 'half-life of the weights, in rows', { min: 1 });
const WARMUP = int('warmup', 'rows seen before the function returns a value', 1);
const CLIP = num('clip', 'deviations (in sigma) beyond which a value is clipped before updating the baseline', { min: 1, max: 1000 });
const ALPHA = num('alpha', 'smoothing factor in (0, 1]; overrides halflife', { above: 0, max: 1 });
const EW_PARAMS = [HALFLIFE, WARMUP, CLIP, ALPHA];

interface Spec {
  kind: FunctionKind;
  args: [number, number];
  type: (args: readonly SqlType[]) => TypeResult;
  doc: string;
  /** Constant parameters starting at `valueArgs` (default 1). */
  params?: ParamDef[];
  valueArgs?: number;
  /** Whether params may be given by name (baseline functions). */
  named?: boolean;
  star?: boolean;
  distinct?: boolean;
}

const IGNORE_NULLS: ParamDef = { name: 'ignore_nulls', type: 'boolean', doc: 'skip NULL values (default TRUE)' };

const SPECS: Record<string, Spec> = {
  // scalar
  ABS: { kind: 'scalar', args: [1, 1], type: numeric1(same), doc: 'absolute value' },
  ROUND: {
    kind: 'scalar',
    args: [1, 2],
    type: (a) => {
      const r = numeric1(same)(a);
      if (typeof r !== 'string') return r;
      if (a.length === 2) return 'DOUBLE';
      return r === 'DOUBLE' ? 'BIGINT' : r;
    },
    doc: 'round half away from zero, optionally to n decimal places',
  },
  FLOOR: { kind: 'scalar', args: [1, 1], type: numeric1(same), doc: 'largest integer not above x' },
  CEIL: { kind: 'scalar', args: [1, 1], type: numeric1(same), doc: 'smallest integer not below x' },
  SQRT: { kind: 'scalar', args: [1, 1], type: numeric1(double), doc: 'square root' },
  LN: { kind: 'scalar', args: [1, 1], type: numeric1(double), doc: 'natural logarithm' },
  LOG10: { kind: 'scalar', args: [1, 1], type: numeric1(double), doc: 'base-10 logarithm' },
  EXP: { kind: 'scalar', args: [1, 1], type: numeric1(double), doc: 'e to the power x' },
  POWER: { kind: 'scalar', args: [2, 2], type: numeric1(double), doc: 'x to the power y' },
  GREATEST: { kind: 'scalar', args: [1, Infinity], type: unifyAll, doc: 'largest argument, NULLs ignored' },
  LEAST: { kind: 'scalar', args: [1, Infinity], type: unifyAll, doc: 'smallest argument, NULLs ignored' },
  COALESCE: { kind: 'scalar', args: [1, Infinity], type: unifyAll, doc: 'first non-NULL argument' },
  LOWER: { kind: 'scalar', args: [1, 1], type: strings('VARCHAR', 1), doc: 'lower case' },
  UPPER: { kind: 'scalar', args: [1, 1], type: strings('VARCHAR', 1), doc: 'upper case' },
  CONCAT: {
    kind: 'scalar',
    args: [1, Infinity],
    type: (a) => {
      const i = a.indexOf('MAP');
      return i >= 0 ? { error: 'cannot concatenate a MAP', arg: i } : 'VARCHAR';
    },
    doc: 'concatenation of the arguments as text, NULLs skipped',
  },
  SUBSTRING: { kind: 'scalar', args: [2, 3], type: strings('VARCHAR', 1), doc: 'substring from a 1-based position, optionally of a length' },

  // aggregates
  COUNT: {
    kind: 'aggregate',
    args: [1, 1],
    star: true,
    distinct: true,
    type: () => 'BIGINT',
    doc: 'COUNT(*) rows, COUNT(x) non-NULL values, COUNT(DISTINCT x) approximate distinct values',
  },
  SUM: { kind: 'aggregate', args: [1, 1], type: numeric1((t) => (t === 'INT' ? 'BIGINT' : t)), doc: 'sum' },
  MIN: { kind: 'aggregate', args: [1, 1], type: ordered, doc: 'minimum' },
  MAX: { kind: 'aggregate', args: [1, 1], type: ordered, doc: 'maximum' },
  AVG: { kind: 'aggregate', args: [1, 1], type: numeric1(double), doc: 'mean' },
  STDDEV: { kind: 'aggregate', args: [1, 1], type: numeric1(double), doc: 'sample standard deviation' },
  VARIANCE: { kind: 'aggregate', args: [1, 1], type: numeric1(double), doc: 'sample variance' },
  PERCENTILE: {
    kind: 'aggregate',
    args: [2, 2],
    type: numeric1(double),
    params: [{ name: 'q', type: 'number', min: 0, max: 1, required: true, doc: 'the quantile' }],
    doc: 'approximate quantile q of x (DDSketch)',
  },
  EARLIEST: {
    kind: 'aggregate',
    args: [1, 2],
    type: earliestLatest,
    params: [IGNORE_NULLS],
    doc: 'value of the earliest row (ignore_nulls defaults to true)',
  },
  LATEST: {
    kind: 'aggregate',
    args: [1, 2],
    type: earliestLatest,
    params: [IGNORE_NULLS],
    doc: 'value of the latest row (ignore_nulls defaults to true)',
  },

  // baselines
  ZSCORE: { kind: 'baseline', args: [1, 5], type: numeric1(double), params: EW_PARAMS, named: true, doc: 'z-score against an exponentially weighted mean and deviation of earlier rows' },
  ROBUST_ZSCORE: {
    kind: 'baseline',
    args: [1, 3],
    type: numeric1(double),
    params: [int('window', 'trailing rows kept', 3, 100_000), int('warmup', 'rows seen before the function returns a value', 3)],
    named: true,
    doc: 'z-score against median and MAD of trailing rows' },
  SEASONAL_ZSCORE: {
    kind: 'baseline',
    args: [1, 7],
    type: (a) => numeric1(double)(a.slice(0, 1)),
    params: [
      { name: 'season', type: 'choice', choices: SEASONS, required: true, doc: 'which clock pattern to learn' },
      { name: 'tz', type: 'string', doc: "IANA time zone of the seasons (default 'UTC')" },
      ...EW_PARAMS,
    ],
    named: true,
    doc: 'z-score against a baseline per season',
  },
  EWMA: {
    kind: 'baseline',
    args: [1, 3],
    type: numeric1(double),
    params: [{ ...ALPHA, required: true, doc: 'smoothing factor in (0, 1]' }, WARMUP],
    named: true,
    doc: 'exponentially weighted moving average with smoothing factor alpha',
  },
  BASELINE: { kind: 'baseline', args: [1, 5], type: numeric1(double), params: EW_PARAMS, named: true, doc: 'the expected value (weighted mean of earlier rows)' },
  BASELINE_STDDEV: { kind: 'baseline', args: [1, 5], type: numeric1(double), params: EW_PARAMS, named: true, doc: 'the expected deviation' },
  ANOMALY_SCORE: { kind: 'baseline', args: [1, 1], type: numeric1(double), named: true, doc: 'anomaly score in 0..1' },
};

function ordered(args: readonly SqlType[]): TypeResult {
  const t = args[0] ?? 'NULL';
  if (t === 'MAP' || t === 'BOOLEAN') return { error: `does not accept ${t}`, arg: 0 };
  return t;
}

function earliestLatest(args: readonly SqlType[]): TypeResult {
  const t = args[0] ?? 'NULL';
  if (t === 'MAP') return { error: 'does not accept a MAP', arg: 0 };
  if (args.length > 1 && args[1] !== 'BOOLEAN' && args[1] !== 'NULL') return { error: 'ignore_nulls must be BOOLEAN', arg: 1 };
  return t;
}

/** ksqlDB's names accepted as aliases. */
const ALIASES: Record<string, string> = { EARLIEST_BY_OFFSET: 'EARLIEST', LATEST_BY_OFFSET: 'LATEST' };

/** Every function, by canonical name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  Object.entries(SPECS).map(([name, s]) => [
    name,
    {
      name,
      kind: s.kind,
      minArgs: s.args[0],
      maxArgs: s.args[1],
      valueArgs: s.params ? s.valueArgs ?? 1 : s.args[1],
      params: s.params ?? [],
      namedArgs: s.named ? s.params ?? [] : [],
      allowsStar: s.star ?? false,
      allowsDistinct: s.distinct ?? false,
      resultType: s.type,
      doc: s.doc,
    } satisfies FunctionDef,
  ]),
);

/** The function called `name` (any case, aliases resolved), or undefined. */
export function lookupFunction(name: string): FunctionDef | undefined {
  const upper = name.toUpperCase();
  return FUNCTIONS.get(ALIASES[upper] ?? upper);
}

/** Every name a call may use (canonical names and aliases), for suggestions. */
export function functionNames(): string[] {
  return [...FUNCTIONS.keys(), ...Object.keys(ALIASES)];
}

/** True for a call of an aggregate function. */
export function isAggregateCall(e: Expr): boolean {
  return e.kind === 'call' && lookupFunction(e.name)?.kind === 'aggregate';
}

/** True for a call of a baseline function. */
export function isBaselineCall(e: Expr): boolean {
  return e.kind === 'call' && lookupFunction(e.name)?.kind === 'baseline';
}
