/**
 * Connects query rows to alert trackers: builds each rule from its WITH options, turns rows into
 * evaluations (labels from the group columns, values from the rest) and contains rule errors.
 */
import type { QueryPlan } from '../lang/compile.js';
import { parseDuration } from '../lang/parser.js';
import { AlertTracker, alertRule, type AlertRule } from '../alerts/tracker.js';
import { labelValue, type AlertPayload } from '../alerts/payload.js';
import { DEFAULT_FLAPPING } from '../alerts/tracker.js';
import type { EngineSink } from './sink.js';
import type { Row, Value, WindowBounds } from '../types.js';

function duration(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  return parseDuration(v) ?? undefined;
}

/** `labels = 'team=payments, tier=1'` -> { team: 'payments', tier: '1' } */
export function parseLabels(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'string') return out;
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The alert rule of a CREATE ALERT plan. */
export function ruleOf(plan: QueryPlan): AlertRule {
  const o = plan.options;
  const perEvent = !plan.window && !plan.aggregated && plan.source.kind === 'stream';
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const quiet = duration(o.quiet_period);
  return alertRule({
    name: plan.name,
    forMs: duration(o.for) ?? 0,
    keepFiringForMs: duration(o.keep_firing_for) ?? 0,
    severity: str(o.severity),
    summary: str(o.summary),
    description: str(o.description),
    labels: parseLabels(o.labels),
    perEvent,
    ...(quiet !== undefined ? { quietPeriodMs: quiet } : {}),
    flapping: {
      maxChanges: typeof o.flapping_changes === 'number' ? o.flapping_changes : DEFAULT_FLAPPING.maxChanges,
      window: typeof o.flapping_window === 'number' ? o.flapping_window : DEFAULT_FLAPPING.window,
    },
  });
}

/** Owns one tracker per alert rule. */
export class AlertHook {
  readonly trackers = new Map<string, AlertTracker>();

  constructor(private readonly sink: EngineSink) {}

  tracker(plan: QueryPlan): AlertTracker {
    let t = this.trackers.get(plan.name);
    if (!t) this.trackers.set(plan.name, (t = new AlertTracker(ruleOf(plan))));
    return t;
  }

  /** Restores a tracker's state from a checkpoint. */
  restore(plan: QueryPlan, json: unknown): void {
    this.trackers.set(plan.name, AlertTracker.restore(ruleOf(plan), json));
  }

  /** Firing alerts of every rule (GET /api/alerts). */
  active(): AlertPayload[] {
    return [...this.trackers.values()].flatMap((t) => t.active());
  }

  /** One evaluation of one group of an alert query. */
  evaluate(plan: QueryPlan, groupRow: Row, row: Row, matched: boolean, at: number, window: WindowBounds | null): void {
    try {
      const groupLabels: Record<string, string> = {};
      for (const [k, v] of Object.entries(groupRow)) groupLabels[k] = labelValue(v);
      const values: Record<string, Value> = {};
      for (const [k, v] of Object.entries(row)) if (!(k in groupLabels)) values[k] = v;
      for (const p of this.tracker(plan).evaluate({ groupLabels, matched, values, at, window })) this.sink.alert(plan, p);
    } catch (err) {
      this.sink.ruleError(plan, err);
    }
  }

  /** Advances event time for a rule (quiet periods of per-event rules). */
  tick(plan: QueryPlan, at: number): void {
    try {
      for (const p of this.tracker(plan).tick(at)) this.sink.alert(plan, p);
    } catch (err) {
      this.sink.ruleError(plan, err);
    }
  }
}
