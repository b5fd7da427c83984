/**
 * The compiler: checked statements in, plans out. Every expression becomes a closure here, once,
 * so the streaming core never walks the AST. Aggregate and baseline calls are lifted out of the
 * SELECT list and HAVING into slots the core fills per group.
 */
import type { Expr, Select, Statement, WithOption } from './ast.js';
import { compileExpr, exprKey, type Compiled, type Env } from './expr.js';
import { makeWindowDef, type WindowDef } from '../window/assign.js';
import { makeAggregator, type AggregateKind, type Aggregator } from '../window/aggregate.js';
import { detectorFactory, type BaselineFunction, type DetectorFactory } from '../detect/index.js';
import type { StreamPlan } from '../plan.js';
import { parseDuration } from './parser.js';
import { unreadColumns } from './columns-read.js';

export const AGGREGATE_NAMES: Readonly<Record<string, true>> = {
  COUNT: true, SUM: true, MIN: true, MAX: true, AVG: true, STDDEV: true, VARIANCE: true,
  PERCENTILE: true, EARLIEST: true, LATEST: true, EARLIEST_BY_OFFSET: true, LATEST_BY_OFFSET: true,
};
export const BASELINE_NAMES: Readonly<Record<string, true>> = {
  ZSCORE: true, ROBUST_ZSCORE: true, SEASONAL_ZSCORE: true, EWMA: true, BASELINE: true,
  BASELINE_STDDEV: true, ANOMALY_SCORE: true,
};

const DEFAULT_GRACE_MS = 5000;

/** One aggregate slot: the aggregator and its argument, evaluated on input rows. */
export interface AggregateSlot {
  readonly aggregator: Aggregator;
  /** null for COUNT(*) */
  readonly arg: Compiled | null;
}

/** One baseline slot: a detector per group, fed by its argument. */
export interface BaselineSlot {
  readonly factory: DetectorFactory;
  readonly arg: Compiled;
}

export interface OutputColumn {
  readonly name: string;
  readonly fn: Compiled;
}

/** A compiled CREATE VIEW or CREATE ALERT. */
export interface QueryPlan {
  readonly name: string;
  readonly kind: 'view' | 'alert';
  readonly text: string;
  readonly source: { readonly kind: 'stream' | 'view'; readonly name: string };
  readonly where: Compiled | null;
  readonly window: WindowDef | null;
  /** True when the query has aggregates or GROUP BY: rows are per group (and window). */
  readonly aggregated: boolean;
  /** GROUP BY expressions on input rows, or PARTITION BY for per-row queries. */
  readonly keys: readonly Compiled[];
  /** Output column name of each key (the select item that is that expression), or key_N. */
  readonly keyNames: readonly string[];
  readonly aggregates: readonly AggregateSlot[];
  /**
   * Adds one input row to a partial-state array. Each slot gets its own closure, so each
   * `add` call site sees one aggregator class (a shared loop over mixed classes is megamorphic).
   */
  readonly addRow: (states: unknown[], env: Env, seq: number) => void;
  readonly baselines: readonly BaselineSlot[];
  readonly columns: readonly OutputColumn[];
  readonly having: Compiled | null;
  readonly emit: 'CHANGES' | 'FINAL';
  readonly options: Readonly<Record<string, string | number | boolean | null>>;
  /** Views: `late = 'dead-letter'` sends late events to the dead-letter topic. */
  readonly lateToDeadLetter: boolean;
  /** Views: cap on open groups; further groups are dropped and counted. */
  readonly maxGroups: number;
  /** Output column names of the source view's group key (for FROM view), for alert labels. */
  readonly sourceKeyNames: readonly string[];
  /** The checker's type of each output column (for `view_<name>` tables); VARCHAR when unknown. */
  readonly columnTypes: readonly string[];
}

/**
 * What the checker resolved per query: output column types, and GROUP BY / HAVING / SELECT
 * expressions with aliases and `*` expanded. Missing entries fall back to the raw AST.
 */
export interface Resolved {
  readonly output: readonly { readonly name: string; readonly type: string }[];
  readonly outputExprs: readonly Expr[];
  readonly groupBy: readonly Expr[];
  readonly having: Expr | null;
}
export type ResolvedQueries = ReadonlyMap<string, Resolved>;

export interface ProgramPlan {
  readonly streams: readonly StreamPlan[];
  /** Views and alerts, each after the queries it reads. */
  readonly queries: readonly QueryPlan[];
}

/** Options as a plain record. */
export function optionMap(options: readonly WithOption[]): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const o of options) out[o.key] = o.value;
  return out;
}

/** Compiles checked statements. Throws only on internal inconsistencies the checker should have caught. */
export function compileProgram(statements: readonly Statement[], resolved: ResolvedQueries = new Map()): ProgramPlan {
  const streams: StreamPlan[] = [];
  const byName = new Map<string, Statement>();
  for (const s of statements) byName.set(s.name, s);
  for (const s of statements) if (s.kind === 'createStream') streams.push(compileStream(s, statements));

  const queries: QueryPlan[] = [];
  const done = new Map<string, QueryPlan>();
  const visit = (s: Statement, path: Set<string>): void => {
    if (s.kind === 'createStream' || done.has(s.name)) return;
    if (path.has(s.name)) throw new Error(`views read each other in a cycle: ${[...path, s.name].join(' -> ')}`);
    const src = byName.get(s.query.from.name);
    if (src && src.kind !== 'createStream') visit(src, new Set([...path, s.name]));
    const upstream = src && src.kind !== 'createStream' ? done.get(src.name) : undefined;
    const plan = compileQuery(s, src?.kind === 'createStream' ? 'stream' : 'view', upstream, resolved.get(s.name));
    done.set(s.name, plan);
    queries.push(plan);
  };
  for (const s of statements) visit(s, new Set());
  return { streams, queries };
}

function compileStream(s: Extract<Statement, { kind: 'createStream' }>, statements: readonly Statement[]): StreamPlan {
  const o = optionMap(s.options);
  const retain = typeof o.retain === 'string' ? parseDuration(o.retain) : null;
  const timestampColumn = typeof o.timestamp === 'string' ? o.timestamp.toLowerCase() : null;
  const eventIdColumn = typeof o.event_id === 'string' ? o.event_id.toLowerCase() : null;
  return {
    name: s.name,
    topic: String(o.kafka_topic ?? s.name),
    columns: s.columns.map((c) => ({ name: c.name, type: c.type, key: c.key })),
    timestampColumn,
    eventIdColumn,
    retainMs: retain,
    // Raw events keep every column (they are stored as they came).
    unread: retain === null ? unreadColumns(s, statements, [timestampColumn, eventIdColumn]) : [],
  };
}

type CallExpr = Extract<Expr, { kind: 'call' }>;

/** The call node when e calls one of `names` (not a type guard: e may still be another call). */
function callOf(e: Expr, names: Readonly<Record<string, true>>): CallExpr | null {
  return e.kind === 'call' && names[e.name] === true ? e : null;
}

/** The output column name of select item i (SPEC section 4). */
export function outputName(item: Select['items'][number], i: number): string {
  if (item.alias) return item.alias;
  if (item.expr.kind === 'column') return item.expr.name;
  return `col_${i}`;
}

function aggregateKind(call: Extract<Expr, { kind: 'call' }>): AggregateKind {
  switch (call.name) {
    case 'COUNT':
      return call.star ? 'COUNT_STAR' : call.distinct ? 'COUNT_DISTINCT' : 'COUNT';
    case 'EARLIEST_BY_OFFSET':
      return 'EARLIEST';
    case 'LATEST_BY_OFFSET':
      return 'LATEST';
    default:
      return call.name as AggregateKind;
  }
}

function constValue(e: Expr | undefined): string | number | boolean | null {
  if (!e) return null;
  if (e.kind === 'literal') return e.value;
  if (e.kind === 'unary' && e.op === '-' && e.operand.kind === 'literal' && typeof e.operand.value === 'number') {
    return -e.operand.value;
  }
  throw new Error('expected a constant argument');
}

function compileQuery(
  s: Extract<Statement, { kind: 'createView' | 'createAlert' }>,
  sourceKind: 'stream' | 'view',
  upstream: QueryPlan | undefined,
  resolved: Resolved | undefined,
): QueryPlan {
  const raw = s.query;
  const q: Select = resolved
    ? {
        ...raw,
        items: resolved.outputExprs.map((expr, i) => ({ expr, alias: resolved.output[i]?.name ?? null, pos: expr.pos })),
        groupBy: resolved.groupBy,
        having: resolved.having,
      }
    : raw;
  const options = optionMap(s.options);
  const rowExpr = (e: Expr) => compileExpr(e);

  // Aggregates: lifted into slots, deduplicated by their canonical text.
  const aggregates: AggregateSlot[] = [];
  const aggIndex = new Map<string, number>();
  const baselines: BaselineSlot[] = [];
  const baseIndex = new Map<string, number>();
  const hasAggregates = [...q.items.map((i) => i.expr), ...(q.having ? [q.having] : [])].some(containsAggregate);
  const aggregated = hasAggregates || q.groupBy.length > 0;

  const keyExprs = aggregated ? q.groupBy : q.partitionBy;
  const keyKeys = keyExprs.map(exprKey);
  const keyNames = keyExprs.map((k, i) => {
    const idx = q.items.findIndex((it) => exprKey(it.expr) === exprKey(k));
    const item = q.items[idx];
    if (item) return outputName(item, idx);
    return k.kind === 'column' ? k.name : `key_${i}`;
  });

  // Post-aggregation substitution: group expressions read keys; aggregates read slots.
  const post = (e: Expr): Compiled | null => {
    if (aggregated) {
      const ki = keyKeys.indexOf(exprKey(e));
      if (ki >= 0) return (env) => env.keys[ki] ?? null;
    }
    const agg = callOf(e, AGGREGATE_NAMES);
    if (agg) {
      const k = exprKey(agg);
      let slot = aggIndex.get(k);
      if (slot === undefined) {
        slot = aggregates.length;
        aggIndex.set(k, slot);
        const kind = aggregateKind(agg);
        const opts =
          kind === 'PERCENTILE'
            ? { q: Number(constValue(agg.args[1])) }
            : kind === 'EARLIEST' || kind === 'LATEST'
              ? { ignoreNulls: agg.args[1] ? constValue(agg.args[1]) !== false : true }
              : {};
        const arg = agg.star || !agg.args[0] ? null : rowExpr(agg.args[0]);
        aggregates.push({ aggregator: makeAggregator(kind, opts), arg });
      }
      const i = slot;
      return (env) => env.aggs[i] ?? null;
    }
    const base = callOf(e, BASELINE_NAMES);
    if (base) {
      const k = exprKey(base);
      let slot = baseIndex.get(k);
      if (slot === undefined) {
        slot = baselines.length;
        baseIndex.set(k, slot);
        const [first, ...rest] = base.args;
        const named: Record<string, string | number | boolean | null> = {};
        for (const n of base.namedArgs) named[n.name.toLowerCase()] = constValue(n.value);
        const factory = detectorFactory(base.name as BaselineFunction, rest.map(constValue), named);
        // The baseline's input is evaluated after aggregation (ZSCORE(AVG(x))) or on the row.
        baselines.push({ factory, arg: compileExpr(first!, post) });
      }
      const i = slot;
      return (env) => env.base[i] ?? null;
    }
    return null;
  };

  const columns: OutputColumn[] = q.items.map((item, i) => ({ name: outputName(item, i), fn: compileExpr(item.expr, post) }));
  const having = q.having ? compileExpr(q.having, post) : null;

  let window: WindowDef | null = null;
  if (q.window) {
    const w = q.window;
    window = makeWindowDef(w.type, w.sizeMs, w.advanceMs, w.graceMs ?? DEFAULT_GRACE_MS);
  }
  const maxGroups = typeof options.max_groups === 'number' ? options.max_groups : 1_000_000;
  return {
    name: s.name,
    kind: s.kind === 'createView' ? 'view' : 'alert',
    text: s.text,
    source: { kind: sourceKind, name: q.from.name },
    where: q.where ? rowExpr(q.where) : null,
    window,
    aggregated,
    keys: keyExprs.map(rowExpr),
    keyNames,
    aggregates,
    addRow: rowAdder(aggregates),
    baselines,
    columns,
    having,
    emit: q.emit ?? 'CHANGES',
    options,
    lateToDeadLetter: options.late === 'dead-letter',
    maxGroups,
    sourceKeyNames: upstream ? upstream.keyNames : [],
    columnTypes: columns.map((c) => resolved?.output.find((t) => t.name === c.name)?.type ?? 'VARCHAR'),
  };
}

function slotAdder(slot: AggregateSlot, i: number): (states: unknown[], env: Env, seq: number) => void {
  const agg = slot.aggregator;
  const arg = slot.arg;
  return arg ? (states, env, seq) => agg.add(states[i], arg(env), seq) : (states, _env, seq) => agg.add(states[i], true, seq);
}

function rowAdder(slots: readonly AggregateSlot[]): (states: unknown[], env: Env, seq: number) => void {
  const adders = slots.map(slotAdder);
  switch (adders.length) {
    case 0:
      return () => {};
    case 1: {
      const [a] = adders as [typeof adders[0]];
      return a!;
    }
    case 2: {
      const [a, b] = adders;
      return (st, env, seq) => {
        a!(st, env, seq);
        b!(st, env, seq);
      };
    }
    case 3: {
      const [a, b, c] = adders;
      return (st, env, seq) => {
        a!(st, env, seq);
        b!(st, env, seq);
        c!(st, env, seq);
      };
    }
    default:
      return (st, env, seq) => {
        for (let i = 0; i < adders.length; i++) adders[i]!(st, env, seq);
      };
  }
}

function containsAggregate(e: Expr): boolean {
  if (callOf(e, AGGREGATE_NAMES)) return true;
  switch (e.kind) {
    case 'literal':
    case 'column':
    case 'windowBound':
      return false;
    case 'mapAccess':
      return containsAggregate(e.target) || containsAggregate(e.key);
    case 'unary':
      return containsAggregate(e.operand);
    case 'binary':
      return containsAggregate(e.left) || containsAggregate(e.right);
    case 'between':
      return [e.operand, e.low, e.high].some(containsAggregate);
    case 'in':
      return containsAggregate(e.operand) || e.list.some(containsAggregate);
    case 'like':
      return containsAggregate(e.operand) || containsAggregate(e.pattern);
    case 'isNull':
      return containsAggregate(e.operand);
    case 'case':
      return (
        (e.operand !== null && containsAggregate(e.operand)) ||
        e.whens.some((w) => containsAggregate(w.when) || containsAggregate(w.then)) ||
        (e.else !== null && containsAggregate(e.else))
      );
    case 'call':
      return e.args.some(containsAggregate);
  }
}
