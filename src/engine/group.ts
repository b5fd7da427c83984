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
  closed: boolean;
}

export interface Group {
  readonly keyStr: string;
  /**
   * The group key values; null when the key is one string, keyStr itself (the common case: an
   * array per group cost 56 bytes at a million groups). Read them with groupKeys().
   */
  readonly keys: Value[] | null;
  /**
   * Panes: paneStart (or 0 for an unwindowed aggregate) -> one partial state per aggregate slot.
   * The newest pane, where nearly every event goes, is kept inline; older ones (hopping and
   * sliding windows hold several) in a Map allocated only when needed (a Map per group cost ~180
   * bytes at a million groups). Use getPane/setPane/deletePane.
   */
  pane: number;
  paneStates: unknown[] | null;
  morePanes: Map<number, unknown[]> | null;
  sessions: Session[];
  detectors: Detectors | null;
  /** Windowed alerts only (absence evaluation); null for every other group. */
  absence: Absence | null;
  /** Creation order: groups closing together are emitted in this order (also after a restore). */
  ordinal: number;
  /** The checkpoint snapshot that last took this group (GroupSnapshot's mark; 0: none). */
  snapshot: number;
  /** Event time of the group's latest data. */
  lastSeen: number;
  /**
   * Live mode: this group's change last queued in its operator's coalescing map (null when none
   * is), so an event changing the same window again skips building the map key.
   */
  pending: PendingChange | null;
}

/** A window of a group changed since the last flush (live mode coalesces these per flush). */
export interface PendingChange {
  readonly group: Group;
  readonly start: number;
  readonly session: Session | null;
  /**
   * Hopping windows: set on the group's last change once every open window holding this pane
   * start is pending, so further events in the pane mark nothing; NaN otherwise.
   */
  pane: number;
}

/** What absence evaluation of a windowed alert needs per group. */
export interface Absence {
  /** Event time of the group's first data: no window before it is reported empty. */
  readonly firstSeen: number;
  /** Closed window starts that had data, consumed by absence evaluation. */
  readonly closedWithData: Set<number>;
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

export function newGroup(keyStr: string, keys: readonly Value[], at: number, ordinal: number): Group {
  return {
    keyStr,
    keys: keys.length === 1 && keys[0] === keyStr ? null : keys.slice(),
    pane: NaN, paneStates: null, morePanes: null, sessions: NO_SESSIONS,
    detectors: null, absence: null, ordinal, snapshot: 0, lastSeen: at, pending: null,
  };
}

/** A group's key values (allocates for a one-string key: for closing windows, not per event). */
export function groupKeys(g: Group): Value[] {
  return g.keys ?? [g.keyStr];
}

/** The partial states of pane p, if the group has data in it. */
export function getPane(g: Group, p: number): unknown[] | undefined {
  if (g.pane === p) return g.paneStates ?? undefined;
  return g.morePanes?.get(p);
}

export function setPane(g: Group, p: number, states: unknown[]): void {
  if (g.paneStates === null || g.pane === p) {
    g.pane = p;
    g.paneStates = states;
    return;
  }
  const more = (g.morePanes ??= new Map());
  if (p > g.pane) {
    more.set(g.pane, g.paneStates);
    g.pane = p;
    g.paneStates = states;
  } else more.set(p, states);
}

/** Removes pane p; true when it existed. */
export function deletePane(g: Group, p: number): boolean {
  const more = g.morePanes;
  if (g.pane === p && g.paneStates !== null) {
    if (more) {
      let newest = -Infinity;
      for (const k of more.keys()) if (k > newest) newest = k;
      g.pane = newest;
      g.paneStates = more.get(newest)!;
      more.delete(newest);
      if (more.size === 0) g.morePanes = null;
    } else {
      g.pane = NaN;
      g.paneStates = null;
    }
    return true;
  }
  if (!more || !more.delete(p)) return false;
  if (more.size === 0) g.morePanes = null;
  return true;
}

export function paneCount(g: Group): number {
  return (g.paneStates === null ? 0 : 1) + (g.morePanes?.size ?? 0);
}

/** Every pane of the group (allocates: for snapshots and snapshots of rows, not the hot path). */
export function paneEntries(g: Group): [number, unknown[]][] {
  const out: [number, unknown[]][] = g.paneStates === null ? [] : [[g.pane, g.paneStates]];
  if (g.morePanes) for (const e of g.morePanes) out.push(e);
  return out;
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

export function results(plan: QueryPlan, states: unknown[], out: Value[]): Value[] {
  const aggs = plan.aggregates;
  out.length = aggs.length;
  for (let i = 0; i < aggs.length; i++) out[i] = aggs[i]!.aggregator.result(states[i]);
  return out;
}

/**
 * Results of a window made of several panes (in pane order): a slot whose aggregator can read
 * across the panes does (a percentile: no merged sketch is built), the others merge a copy, as a
 * single merged state would give.
 */
export function resultsOfPanes(plan: QueryPlan, panes: readonly unknown[][], out: Value[]): Value[] {
  const aggs = plan.aggregates;
  out.length = aggs.length;
  const slot = new Array<unknown>(panes.length);
  for (let i = 0; i < aggs.length; i++) {
    const agg = aggs[i]!.aggregator;
    for (let j = 0; j < panes.length; j++) slot[j] = panes[j]![i];
    if (agg.resultOfMany) {
      out[i] = agg.resultOfMany(slot);
      continue;
    }
    const acc = agg.clone(slot[0]);
    for (let j = 1; j < slot.length; j++) agg.merge(acc, slot[j]);
    out[i] = agg.result(acc);
  }
  return out;
}

/**
 * Fills env.base from the group's detectors. `update` feeds the value into the baseline (a closed
 * window, or a per-row query's row); otherwise the score is computed on a copy, leaving the
 * baseline as it was (an EMIT CHANGES row of a window that may still change).
 */
export function evalBaselines(plan: QueryPlan, detectors: Detectors, env: Env, t: number, update: boolean): void {
  const slots = plan.baselines;
  if (slots.length === 0) return;
  env.base.length = slots.length;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    const x = slot.arg(env);
    const num = typeof x === 'number' ? x : null;
    const live = Array.isArray(detectors) ? detectors[i]! : detectors;
    const det = update ? live : slot.factory.restore(live.toJSON());
    env.base[i] = det.update(num, t);
  }
}

/**
 * A group's baselines: the detector itself when the query has one baseline (an array of one cost
 * 56 bytes a group), else one detector per baseline.
 */
export type Detectors = Detector | Detector[];

/** Fresh detectors for each baseline of a query (which has at least one). */
export function createDetectors(plan: QueryPlan): Detectors {
  const slots = plan.baselines;
  return slots.length === 1 ? slots[0]!.factory.create() : slots.map((s) => s.factory.create());
}

/** The checkpoint form of a group's baselines: one JSON value per baseline. */
export function detectorsToJSON(d: Detectors): unknown[] {
  return Array.isArray(d) ? d.map((x) => x.toJSON()) : [d.toJSON()];
}

/** Detectors from their checkpoint form (detectorsToJSON). */
export function restoreDetectors(plan: QueryPlan, json: readonly unknown[]): Detectors {
  const list = json.map((d, i) => plan.baselines[i]!.factory.restore(d));
  return list.length === 1 ? list[0]! : list;
}

/** The group columns of a row, for retractions and alert labels. */
export function keyRow(plan: QueryPlan, keys: readonly Value[]): Row {
  const row: Row = {};
  plan.keyNames.forEach((n, i) => (row[n] = keys[i] ?? null));
  return row;
}
