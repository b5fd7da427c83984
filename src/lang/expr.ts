/**
 * Compiles expressions into closures once, at load time, so the per-event path never walks the
 * AST. A compiled expression reads an Env: the input row before aggregation, or the group keys,
 * aggregate results and baseline results after it.
 */
import type { Expr } from './ast.js';
import type { Row, Value } from '../types.js';

/** What a compiled expression reads. One Env object is reused per query to avoid allocation. */
export interface Env {
  row: Row;
  keys: Value[];
  aggs: Value[];
  base: Value[];
  wstart: number | null;
  wend: number | null;
}

export type Compiled = (env: Env) => Value;

export function emptyEnv(): Env {
  return { row: {}, keys: [], aggs: [], base: [], wstart: null, wend: null };
}

/**
 * Lets the caller replace sub-expressions (aggregate calls, baseline calls, group-by expressions
 * after aggregation) with slot reads. Returns null to compile the node normally.
 */
export type Substitute = (e: Expr) => Compiled | null;

/**
 * A reader of one column of the input row. Generated per column name, so each reader's property
 * load sees one name and one row shape (a monomorphic inline cache). One shared closure reading
 * `row[name]` sees every column of every query at one site and goes megamorphic
 * (docs/decisions.md, "Generated column readers").
 * The name is embedded as a JSON string literal, so no column name can inject code.
 */
function columnReader(name: string): Compiled {
  const cached = readers.get(name);
  if (cached) return cached;
  const read = new Function('env', `const v = env.row[${JSON.stringify(name)}]; return v === undefined ? null : v;`) as Compiled;
  readers.set(name, read);
  return read;
}
const readers = new Map<string, Compiled>();

/** Compiles `e`; `sub` is consulted on every node first. */
export function compileExpr(e: Expr, sub: Substitute = () => null): Compiled {
  const replaced = sub(e);
  if (replaced) return replaced;
  const c = (x: Expr) => compileExpr(x, sub);
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'column':
      return columnReader(e.name);
    case 'windowBound':
      return e.bound === 'start' ? (env) => env.wstart : (env) => env.wend;
    case 'mapAccess': {
      const target = c(e.target);
      const key = c(e.key);
      return (env) => {
        const m = target(env);
        const k = key(env);
        if (m === null || k === null || typeof m !== 'object') return null;
        // Own keys only: labels['constructor'] must not reach Object.prototype.
        const name = String(k);
        return Object.hasOwn(m, name) ? (m[name] ?? null) : null;
      };
    }
    case 'unary': {
      const operand = c(e.operand);
      if (e.op === 'NOT') return (env) => not(operand(env));
      if (e.op === '-')
        return (env) => {
          const v = operand(env);
          return typeof v === 'number' ? -v : null;
        };
      return operand;
    }
    case 'binary':
      return compileBinary(e.op, c(e.left), c(e.right));
    case 'between': {
      const [o, lo, hi] = [c(e.operand), c(e.low), c(e.high)];
      const neg = e.negated;
      return (env) => {
        const v = o(env);
        const a = lo(env);
        const b = hi(env);
        if (v === null || a === null || b === null) return null;
        const inside = (v as number) >= (a as number) && (v as number) <= (b as number);
        return neg ? !inside : inside;
      };
    }
    case 'in': {
      const o = c(e.operand);
      const list = e.list.map(c);
      const neg = e.negated;
      return (env) => {
        const v = o(env);
        if (v === null) return null;
        let sawNull = false;
        for (const item of list) {
          const x = item(env);
          if (x === null) sawNull = true;
          else if (x === v) return !neg;
        }
        return sawNull ? null : neg;
      };
    }
    case 'like': {
      const o = c(e.operand);
      const neg = e.negated;
      if (e.pattern.kind === 'literal' && typeof e.pattern.value === 'string') {
        const re = likeToRegExp(e.pattern.value);
        return (env) => {
          const v = o(env);
          if (v === null) return null;
          const m = re.test(String(v));
          return neg ? !m : m;
        };
      }
      const p = c(e.pattern);
      return (env) => {
        const v = o(env);
        const pat = p(env);
        if (v === null || pat === null) return null;
        const m = likeToRegExp(String(pat)).test(String(v));
        return neg ? !m : m;
      };
    }
    case 'isNull': {
      const o = c(e.operand);
      return e.negated ? (env) => o(env) !== null : (env) => o(env) === null;
    }
    case 'case': {
      const operand = e.operand ? c(e.operand) : null;
      const whens = e.whens.map((w) => ({ when: c(w.when), then: c(w.then) }));
      const otherwise = e.else ? c(e.else) : () => null;
      return (env) => {
        const subject = operand ? operand(env) : null;
        for (const w of whens) {
          const cond = w.when(env);
          if (operand ? subject !== null && cond === subject : cond === true) return w.then(env);
        }
        return otherwise(env);
      };
    }
    case 'call':
      return compileScalarCall(e.name, e.args.map(c));
  }
}

function not(v: Value): Value {
  return v === null ? null : !v;
}

function compileBinary(op: string, l: Compiled, r: Compiled): Compiled {
  switch (op) {
    case 'AND':
      return (env) => {
        const a = l(env);
        if (a === false) return false;
        const b = r(env);
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    case 'OR':
      return (env) => {
        const a = l(env);
        if (a === true) return true;
        const b = r(env);
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    case '||':
      return (env) => {
        const a = l(env);
        const b = r(env);
        return a === null || b === null ? null : String(a) + String(b);
      };
  }
  const fn = BINARY[op];
  if (!fn) throw new Error(`unsupported operator ${op}`);
  return (env) => {
    const a = l(env);
    if (a === null) return null;
    const b = r(env);
    if (b === null) return null;
    return fn(a, b);
  };
}

type Bin = (a: Value, b: Value) => Value;
const num = (f: (a: number, b: number) => number): Bin => (a, b) => {
  const v = f(a as number, b as number);
  return Number.isFinite(v) ? v : null;
};
const BINARY: Record<string, Bin> = {
  '+': num((a, b) => a + b),
  '-': num((a, b) => a - b),
  '*': num((a, b) => a * b),
  // Division is real division and x / 0 is NULL (not an error, not Infinity): ratios such as
  // errors / total are what users mean, and a zero denominator must not break a rule.
  '/': num((a, b) => (b === 0 ? NaN : a / b)),
  '%': num((a, b) => (b === 0 ? NaN : a % b)),
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => (a as number) < (b as number),
  '<=': (a, b) => (a as number) <= (b as number),
  '>': (a, b) => (a as number) > (b as number),
  '>=': (a, b) => (a as number) >= (b as number),
};

/** Translates a SQL LIKE pattern (% and _) to an anchored RegExp. */
export function likeToRegExp(pattern: string): RegExp {
  let src = '';
  for (const ch of pattern) {
    if (ch === '%') src += '[\\s\\S]*';
    else if (ch === '_') src += '[\\s\\S]';
    else src += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}

type Scalar = (args: Value[]) => Value;
const numeric = (f: (...xs: number[]) => number): Scalar => (args) => {
  for (const a of args) if (a === null) return null;
  const v = f(...(args as number[]));
  return Number.isFinite(v) ? v : null;
};

function roundHalfAway(x: number, digits = 0): number {
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}

/** Scalar functions of SPEC section 3. NULL in, NULL out, except COALESCE and CONCAT. */
export const SCALAR_FUNCTIONS: Record<string, Scalar> = {
  ABS: numeric(Math.abs),
  ROUND: numeric((x, d) => roundHalfAway(x, d ?? 0)),
  FLOOR: numeric(Math.floor),
  CEIL: numeric(Math.ceil),
  SQRT: numeric(Math.sqrt),
  LN: numeric(Math.log),
  LOG10: numeric(Math.log10),
  EXP: numeric(Math.exp),
  POWER: numeric(Math.pow),
  GREATEST: (args) => pick(args, (a, b) => a > b),
  LEAST: (args) => pick(args, (a, b) => a < b),
  COALESCE: (args) => {
    for (const a of args) if (a !== null) return a;
    return null;
  },
  LOWER: (args) => (args[0] === null || args[0] === undefined ? null : String(args[0]).toLowerCase()),
  UPPER: (args) => (args[0] === null || args[0] === undefined ? null : String(args[0]).toUpperCase()),
  CONCAT: (args) => args.filter((a) => a !== null).map(String).join(''),
  SUBSTRING: (args) => {
    const [s, start, len] = args;
    if (s === null || s === undefined || start === null || start === undefined) return null;
    const str = String(s);
    const from = Math.max(0, (start as number) - 1);
    if (len === undefined) return str.slice(from);
    if (len === null) return null;
    return str.slice(from, from + Math.max(0, len as number));
  },
};

function pick(args: Value[], better: (a: number | string, b: number | string) => boolean): Value {
  let best: Value = null;
  for (const a of args) {
    if (a === null) continue; // ksqlDB's GREATEST/LEAST skip NULLs
    if (best === null || better(a as number, best as number)) best = a;
  }
  return best;
}

function compileScalarCall(name: string, args: Compiled[]): Compiled {
  const fn = SCALAR_FUNCTIONS[name];
  if (!fn) throw new Error(`unknown function ${name}`);
  if (args.length === 1) {
    const a = args[0]!;
    const buf: Value[] = [null];
    return (env) => {
      buf[0] = a(env);
      return fn(buf);
    };
  }
  return (env) => fn(args.map((a) => a(env)));
}

/** Structural equality of expressions, ignoring positions (used to match GROUP BY expressions). */
export function sameExpr(a: Expr, b: Expr): boolean {
  return exprKey(a) === exprKey(b);
}

/** A canonical string for an expression, ignoring positions. */
export function exprKey(e: Expr): string {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : k === 'qualifier' ? undefined : v));
}
