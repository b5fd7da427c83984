/**
 * Output rows built by generated object literals, one function per query.
 *
 * A row built property by property (`row[name] = ...`), or copied with a spread, takes a keyed
 * store or a clone per property; a literal with the query's column names builds the whole object
 * in one allocation with one hidden class. Closing a window of 10,000 groups builds up to three
 * objects per group (the row, the row with its bounds for downstream queries, the row stored at
 * the checkpoint), so this is most of what closing costs after the aggregates themselves.
 *
 * Names enter the generated code only as JSON string literals, so no column name can inject code.
 * A column named `__proto__` would set the literal's prototype instead of a property: queries
 * with one use the generic builders.
 */
import type { Env } from '../lang/expr.js';
import type { QueryPlan } from '../lang/compile.js';
import type { Row, Value } from '../types.js';

type Project = (columns: QueryPlan['columns'], env: Env) => Row;
type Extend = (row: Row, a: Value, b: Value) => Row;

interface Builders {
  project: Project;
  /** The row, then `windowstart` and `windowend` (as `{...row, windowstart, windowend}`). */
  withBounds: Extend;
  /** `window_start` and `window_end`, then the row (as `{window_start, window_end, ...row}`). */
  storedRow: Extend;
}

const builders = new WeakMap<QueryPlan, Builders>();

const genericProject: Project = (columns, env) => {
  const row: Row = {};
  for (const c of columns) row[c.name] = c.fn(env);
  return row;
};

function compile(plan: QueryPlan): Builders {
  const names = plan.columns.map((c) => c.name);
  if (names.includes('__proto__')) {
    return {
      project: genericProject,
      withBounds: (row, a, b) => ({ ...row, windowstart: a, windowend: b }),
      storedRow: (row, a, b) => ({ window_start: a, window_end: b, ...row }),
    };
  }
  const lit = JSON.stringify;
  const fromEnv = names.map((n, i) => `${lit(n)}: c[${i}].fn(env)`).join(', ');
  const fromRow = names.map((n) => `${lit(n)}: r[${lit(n)}]`).join(', ');
  return {
    project: new Function('c', 'env', `return { ${fromEnv} };`) as Project,
    withBounds: new Function('r', 'a', 'b', `return { ${fromRow}${names.length ? ', ' : ''}"windowstart": a, "windowend": b };`) as Extend,
    storedRow: new Function('r', 'a', 'b', `return { "window_start": a, "window_end": b${names.length ? ', ' : ''}${fromRow} };`) as Extend,
  };
}

function of(plan: QueryPlan): Builders {
  let b = builders.get(plan);
  if (b === undefined) builders.set(plan, (b = compile(plan)));
  return b;
}

/** The output row of a query: its columns evaluated in `env`, in order. */
export function projectRow(plan: QueryPlan, env: Env): Row {
  return of(plan).project(plan.columns, env);
}

/** `{...row, windowstart, windowend}` for a row of `plan`. */
export function rowWithBounds(plan: QueryPlan, row: Row, start: Value, end: Value): Row {
  return of(plan).withBounds(row, start, end);
}

/** `{window_start, window_end, ...row}` for a row of `plan` (the stored form of a closed window). */
export function storedRow(plan: QueryPlan, row: Row, start: Value, end: Value): Row {
  return of(plan).storedRow(row, start, end);
}
