/**
 * A query without aggregates: one output row per input row (WHERE, then baselines per PARTITION BY
 * key — or per source-view group — then SELECT and HAVING). No lateness applies.
 */
import type { QueryPlan } from '../lang/compile.js';
import { emptyEnv } from '../lang/expr.js';
import type { EngineSink } from './sink.js';
import { createDetectors, detectorsToJSON, evalBaselines, keyString, restoreDetectors, type Detectors } from './group.js';
import { projectRow } from './row-shape.js';
import type { AlertHook } from './alert-hook.js';
import type { QueryOp } from './query-op.js';
import { GroupSnapshot, opSnapshot, type OpSnapshot } from './snapshot.js';
import type { Row, Value } from '../types.js';

export class RowOp implements QueryOp {
  downstream: QueryOp[] = [];
  /** The baselines of each group (key), for queries with baselines; nothing else is kept per key. */
  readonly groups = new Map<string, Detectors>();
  watermark = -Infinity;
  private readonly env = emptyEnv();
  /** The checkpoint snapshot in progress: every change to a group goes through snap.touch first. */
  private snap: GroupSnapshot<Detectors> | null = null;

  constructor(
    readonly plan: QueryPlan,
    private readonly sink: EngineSink,
    private readonly alert: AlertHook | null,
  ) {}

  outputWatermark(): number {
    return this.watermark;
  }

  onRow(row: Row, ts: number, upstreamKey: string | null): void {
    const plan = this.plan;
    const env = this.env;
    env.row = row;
    const fromView = plan.source.kind === 'view';
    env.wstart = fromView ? ((row.windowstart as number | null) ?? null) : null;
    env.wend = fromView ? ((row.windowend as number | null) ?? null) : null;
    const passWhere = !plan.where || plan.where(env) === true;
    if (!passWhere && !(fromView && plan.kind === 'alert')) return;

    let key: string;
    const labels: Row = {};
    if (plan.keys.length > 0) {
      const keys: Value[] = plan.keys.map((k) => k(env));
      plan.keyNames.forEach((n, i) => (labels[n] = keys[i] ?? null));
      key = keyString(keys);
    } else {
      key = upstreamKey ?? '';
      for (const n of plan.sourceKeyNames) labels[n] = row[n] ?? null;
    }
    if (!passWhere) {
      // A row of the source view that fails WHERE is an evaluation that did not match.
      this.alert?.evaluate(plan, labels, {}, false, ts, null);
      return;
    }
    // Only baselines keep state per key: a query without them keeps nothing, whatever the keys.
    if (plan.baselines.length > 0) {
      let detectors = this.groups.get(key);
      if (!detectors) {
        this.groups.set(key, (detectors = createDetectors(plan)));
        this.snap?.skip(detectors);
      } else this.snap?.touch(detectors, key);
      evalBaselines(plan, detectors, env, ts, true);
    }
    const out = projectRow(plan, env);
    const pass = !plan.having || plan.having(env) === true;
    if (plan.kind === 'alert') {
      const window = env.wstart !== null && env.wend !== null ? { start: env.wstart, end: env.wend } : null;
      this.alert?.evaluate(plan, labels, out, pass, ts, window);
      return;
    }
    if (!pass) return;
    this.sink.row(plan, null, out, key, { visible: true, closed: true });
    for (const d of this.downstream) d.onRow(out, ts, key, null);
  }

  advanceTo(watermark: number): void {
    if (watermark <= this.watermark) return;
    this.watermark = watermark;
    if (this.plan.kind === 'alert') this.alert?.tick(this.plan, watermark);
  }

  flush(): void {}

  /** Per-row queries keep no rows: a subscriber sees rows as they come. */
  currentRows(): Row[] {
    return [];
  }

  /**
   * Begins a snapshot of the baselines per group as they are now (checkpoints). With `barrier`,
   * groups are serialised before they change, so it can be finished in steps (snapshot.ts).
   */
  beginSnapshot(barrier: boolean): OpSnapshot {
    if (barrier && this.snap) throw new Error(`query ${this.plan.name}: a snapshot is already in progress`);
    const serialise = (detectors: Detectors, key: string) => JSON.stringify({ k: key, det: detectorsToJSON(detectors) });
    const head = `{"watermark":${Number.isFinite(this.watermark) ? this.watermark : null},"groups":[`;
    const snap = new GroupSnapshot(this.groups, serialise, head, ']}');
    return opSnapshot(snap, barrier ? (x) => (this.snap = x) : null);
  }

  restore(json: unknown): void {
    const s = json as { watermark: number | null; groups: { k: string; det: unknown[] | null }[] };
    this.watermark = s.watermark ?? -Infinity;
    for (const g of s.groups) {
      const detectors = g.det ? restoreDetectors(this.plan, g.det) : createDetectors(this.plan);
      this.groups.set(g.k, detectors);
    }
  }
}
