/**
 * Per-group state of a query and the helpers that turn it into output rows: group keys, partial
 * aggregates per pane (or per session), and baseline detectors.
 */
import type { QueryPlan } from '../lang/compile.js';
import type { Detector } from '../detect/index.js';
import type { Env } from '../lang/expr.js';
import type { Row, Value } from '../types.js';

export interface Session {
  start: number;
  end: number;
  states: unknown[];
  /** A visible row was emitted for it (so merging it away must retract it). */
  shown: boolean;
  closed: boolean;
}

export interface Group {
  readonly keyStr: string;
  readonly keys: Value[];
  /** paneStart (or 0 for an unwindowed aggregate) -> one partial state per aggregate slot */
  readonly panes: Map<number, unknown[]>;
  sessions: Session[];
  /** Window starts with a shown row that passed HAVING (for retraction when it stops passing). */
  shown: Set<number> | null;
  detectors: Detector[] | null;
  /** Alerts only: closed window starts that had data, consumed by absence evaluation. */
  closedWithData: Set<number> | null;
  /** The pane the group's last event went to and its states (most events hit the same pane). */
  lastPane: number;
  lastStates: unknown[] | null;
  /** The last pane this group was recorded in the pane index for. */
  indexedPane: number;
  /** Creation order: groups closing together are emitted in this order (also after a restore). */
  ordinal: number;
  /** Event time of the group's first and latest data (absence evaluation). */
  firstSeen: number;
  lastSeen: number;
}

/** A stable string for a group key; NULL keys are filtered out before this is called. */
export function keyString(keys: readonly Value[]): string {
  if (keys.length === 1) {
    const k = keys[0]!;
    return typeof k === 'string' ? k : JSON.stringify(k);
  }
  return keys.length === 0 ? '' : JSON.stringify(keys);
}

/**
 * The sessions of every group that has none (all groups of time windows): one shared array
 * instead of one per group (32 bytes each at a million groups). Frozen, so a push fails loudly;
 * code replaces `group.sessions` with a new array instead.
 */
export const NO_SESSIONS: Session[] = Object.freeze([]) as unknown as Session[];

export function newGroup(keyStr: string, keys: Value[], at: number, ordinal: number): Group {
  return { keyStr, keys, panes: new Map(), sessions: NO_SESSIONS, shown: null, detectors: null, closedWithData: null, lastPane: NaN, lastStates: null, indexedPane: NaN, ordinal, firstSeen: at, lastSeen: at };
}

export function initStates(plan: QueryPlan): unknown[] {
  return plan.aggregates.map((a) => a.aggregator.init());
}

/** Adds one input row (already in env.row) to a partial state array. */
export function addToStates(plan: QueryPlan, states: unknown[], env: Env, seq: number): void {
  plan.addRow(states, env, seq);
}

/** Merges partial states `from` into `into`. */
export function mergeStates(plan: QueryPlan, into: unknown[], from: unknown[]): void {
  const aggs = plan.aggregates;
  for (let i = 0; i < aggs.length; i++) aggs[i]!.aggregator.merge(into[i], from[i]);
}

export function cloneStates(plan: QueryPlan, states: unknown[]): unknown[] {
  return plan.aggregates.map((a, i) => a.aggregator.clone(states[i]));
}

export function results(plan: QueryPlan, states: unknown[], out: Value[]): Value[] {
  const aggs = plan.aggregates;
  out.length = aggs.length;
  for (let i = 0; i < aggs.length; i++) out[i] = aggs[i]!.aggregator.result(states[i]);
  return out;
}

/**
 * Fills env.base from the group's detectors. `update` feeds the value into the baseline (a closed
 * window, or a per-row query's row); otherwise the score is computed on a copy, leaving the
 * baseline as it was (an EMIT CHANGES row of a window that may still change).
 */
export function evalBaselines(plan: QueryPlan, group: { detectors: Detector[] | null }, env: Env, t: number, update: boolean): void {
  const slots = plan.baselines;
  if (slots.length === 0) return;
  if (!group.detectors) group.detectors = slots.map((s) => s.factory.create());
  env.base.length = slots.length;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const x = slot.arg(env);
    const num = typeof x === 'number' ? x : null;
    const det = update ? group.detectors[i]! : slot.factory.restore(group.detectors[i]!.toJSON());
    env.base[i] = det.update(num, t);
  }
}

/** Evaluates the SELECT list into a row. */
export function project(plan: QueryPlan, env: Env): Row {
  const row: Row = {};
  for (const c of plan.columns) row[c.name] = c.fn(env);
  return row;
}

/** The group columns of a row, for retractions and alert labels. */
export function keyRow(plan: QueryPlan, keys: readonly Value[]): Row {
  const row: Row = {};
  plan.keyNames.forEach((n, i) => (row[n] = keys[i] ?? null));
  return row;
}
