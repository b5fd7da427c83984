/**
 * The streaming engine: routes each stream's rows to the queries reading it, moves watermarks
 * down the chain of views, and owns the per-query operators. The same code runs in replay and in
 * the live service; only the watermark source and the coalescing of EMIT CHANGES differ.
 */
import type { ProgramPlan, QueryPlan } from '../lang/compile.js';
import type { StreamPlan } from '../plan.js';
import type { Row } from '../types.js';
import { AggregateOp } from './aggregate-op.js';
import { AlertHook } from './alert-hook.js';
import { RowOp } from './row-op.js';
import type { QueryOp } from './query-op.js';
import type { EngineSink } from './sink.js';
import type { OpSnapshot } from './snapshot.js';

export interface EngineOptions {
  /** Live mode: EMIT CHANGES rows are coalesced per group and window until flush(). */
  readonly coalesce: boolean;
  /** Live mode: whether a view's changes are consumed right now; default always. */
  readonly wantsChanges?: (view: string) => boolean;
  /** Live mode: a query started holding coalesced changes (flush() publishes them). */
  readonly onPending?: () => void;
  /**
   * Live mode: windows of views that are due close in slices (closeSlice()) instead of all at
   * once when the watermark passes them; each group's output stays what closing at once gives.
   */
  readonly sliceCloses?: boolean;
}

/** A checkpoint snapshot in progress (Engine.beginSnapshot). */
export interface EngineSnapshot {
  /** Serialises up to `maxGroups` more groups; true once the snapshot is complete. */
  step(maxGroups: number): boolean;
  /** The chunks of snapshot(), each as pieces of text to concatenate; once step() returned true. */
  chunks(): string[][];
  /** Gives up (a failed checkpoint): the operators' write barriers are switched off. */
  abort(): void;
}

export class Engine {
  readonly ops = new Map<string, QueryOp>();
  readonly streams = new Map<string, StreamPlan>();
  readonly alerts: AlertHook;
  /** Queries reading each stream directly. */
  private readonly roots = new Map<string, QueryOp[]>();
  private readonly watermarks = new Map<string, number>();
  private seq = 0;

  constructor(
    readonly program: ProgramPlan,
    sink: EngineSink,
    opts: EngineOptions,
  ) {
    this.alerts = new AlertHook(sink);
    for (const s of program.streams) {
      this.streams.set(s.name, s);
      this.roots.set(s.name, []);
    }
    const nextSeq = () => ++this.seq;
    for (const plan of program.queries) {
      const alert = plan.kind === 'alert' ? this.alerts : null;
      const op: QueryOp = plan.aggregated
        ? new AggregateOp(plan, sink, {
            coalesce: opts.coalesce,
            nextSeq,
            alert,
            wantsChanges: opts.wantsChanges ?? (() => true),
            onPending: opts.onPending ?? (() => {}),
            sliceCloses: opts.sliceCloses ?? false,
          })
        : new RowOp(plan, sink, alert);
      this.ops.set(plan.name, op);
      if (plan.source.kind === 'stream') this.roots.get(plan.source.name)?.push(op);
      else this.ops.get(plan.source.name)?.downstream.push(op);
    }
  }

  /** The stream a query reads from, following views up to their source stream. */
  rootStream(plan: QueryPlan): string {
    let p: QueryPlan | undefined = plan;
    while (p && p.source.kind === 'view') p = this.ops.get(p.source.name)?.plan;
    return p?.source.name ?? plan.source.name;
  }

  /** One decoded event of a stream. Call advance() for its watermark separately. */
  process(stream: string, row: Row, ts: number, origin: unknown = null): void {
    const ops = this.roots.get(stream);
    if (!ops) return;
    for (let i = 0; i < ops.length; i++) ops[i]!.onRow(row, ts, null, origin);
  }

  /** Moves a stream's watermark; closes windows down the chain of views reading it. */
  advance(stream: string, watermark: number): void {
    const prev = this.watermarks.get(stream) ?? -Infinity;
    if (watermark <= prev) return;
    this.watermarks.set(stream, watermark);
    for (const op of this.roots.get(stream) ?? []) propagate(op, watermark);
  }

  watermark(stream: string): number {
    return this.watermarks.get(stream) ?? -Infinity;
  }

  /** A view's current rows (snapshot for a new subscriber); undefined for an unknown view. */
  currentRows(view: string): Row[] | undefined {
    const op = this.ops.get(view);
    return op && op.plan.kind === 'view' ? op.currentRows() : undefined;
  }

  /** Whether windows are due to close (sliceCloses): call closeSlice() until this is false. */
  closesDue(): boolean {
    for (const op of this.ops.values()) if (op.closesDue?.()) return true;
    return false;
  }

  /**
   * Closes due windows, about `maxGroups` groups' worth, upstream queries first; a query done
   * with its due windows releases its downstream queries' watermark. True while more are due.
   */
  closeSlice(maxGroups: number): boolean {
    let budget = maxGroups;
    for (const op of this.ops.values()) {
      if (!op.closesDue?.()) continue;
      budget -= op.closeSlice!(budget);
      if (!op.closesDue()) for (const d of op.downstream) propagate(d, op.outputWatermark());
      if (budget <= 0) break;
    }
    return this.closesDue();
  }

  /** Emits coalesced EMIT CHANGES rows of every query. */
  flush(): void {
    for (const op of this.ops.values()) op.flush();
  }

  /**
   * The engine's whole state as JSON chunks (one per query, plus alerts and watermarks), keyed by
   * query name and definition text so a reload or restart restores only unchanged queries.
   * Synchronous: for reloads and tests; checkpoints use beginSnapshot().
   */
  snapshot(): string[] {
    const snap = this.startSnapshot(false);
    while (!snap.step(Number.POSITIVE_INFINITY));
    return snap.chunks().map((pieces) => pieces.join(''));
  }

  /**
   * Begins a checkpoint snapshot: the state as it is at this call (the cut), the same chunks as
   * snapshot(). Finish it with step() between batches while events keep being processed: each
   * operator serialises a group before changing it, so what is written is still the state at the
   * cut. Only one may be in progress; abort() a failed one.
   */
  beginSnapshot(): EngineSnapshot {
    return this.startSnapshot(true);
  }

  private startSnapshot(barrier: boolean): EngineSnapshot {
    // A snapshot holds no half-closed window boundary: what is due closes now.
    while (this.closeSlice(Number.POSITIVE_INFINITY));
    this.flush();
    const head = JSON.stringify({ kind: 'engine', seq: this.seq, watermarks: [...this.watermarks] });
    const parts: { op: QueryOp; snap: OpSnapshot }[] = [];
    try {
      for (const op of this.ops.values()) parts.push({ op, snap: op.beginSnapshot(barrier) });
    } catch (err) {
      for (const p of parts) p.snap.abort();
      throw err;
    }
    // Alert state (instances of alerting groups) changes through the alert hook, not a group's
    // barrier: it is serialised whole at the cut.
    const alerts = [...this.alerts.trackers].map(([name, tracker]) =>
      JSON.stringify({ kind: 'alerts', name, text: this.ops.get(name)?.plan.text ?? '', state: tracker.toJSON() }),
    );
    return {
      step(maxGroups) {
        let budget = maxGroups;
        for (const p of parts) {
          if (p.snap.finished) continue;
          budget -= p.snap.step(budget);
          if (!p.snap.finished) return false;
        }
        return true;
      },
      chunks() {
        const out: string[][] = [[head]];
        for (const { op, snap } of parts) {
          out.push([`{"kind":"query","name":${JSON.stringify(op.plan.name)},"text":${JSON.stringify(op.plan.text)},"state":`, ...snap.text(), '}']);
        }
        for (const a of alerts) out.push([a]);
        return out;
      },
      abort() {
        for (const p of parts) p.snap.abort();
      },
    };
  }

  /** Restores snapshot() chunks; state of queries whose definition changed is dropped. */
  restore(chunks: readonly string[]): { restored: string[]; dropped: string[] } {
    const restored: string[] = [];
    const dropped: string[] = [];
    for (const chunk of chunks) {
      const c = JSON.parse(chunk) as { kind: string; name?: string; text?: string; state?: unknown; seq?: number; watermarks?: [string, number][] };
      if (c.kind === 'engine') {
        this.seq = c.seq ?? 0;
        for (const [s, w] of c.watermarks ?? []) if (this.streams.has(s)) this.watermarks.set(s, w);
        continue;
      }
      const op = this.ops.get(c.name ?? '');
      if (!op || op.plan.text !== c.text) {
        dropped.push(c.name ?? '?');
        continue;
      }
      if (c.kind === 'query') {
        op.restore(c.state);
        restored.push(op.plan.name);
      } else if (c.kind === 'alerts') {
        this.alerts.restore(op.plan, c.state);
      }
    }
    return { restored, dropped };
  }
}

function propagate(op: QueryOp, watermark: number): void {
  op.advanceTo(watermark);
  const out = op.outputWatermark();
  for (const d of op.downstream) propagate(d, out);
}
