/**
 * What the engine emits. The engine is pure: replay writes these to a file, the live service
 * routes them to the WebSocket hub, DuckDB, Kafka topics and metrics.
 */
import type { QueryPlan } from '../lang/compile.js';
import type { AlertPayload } from '../alerts/payload.js';
import type { Row, WindowBounds } from '../types.js';

export interface RowFlags {
  /** Shown to subscribers and in replay output (per the EMIT mode). */
  readonly visible: boolean;
  /** A final row of a closed window (or a per-row query's row): stored and fed downstream. */
  readonly closed: boolean;
}

export interface EngineSink {
  row(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string, flags: RowFlags): void;
  /** A row no longer holds: a merged-away session, or an update that fails HAVING (ksqlDB emits a tombstone for each). */
  retract(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string): void;
  alert(plan: QueryPlan, alert: AlertPayload): void;
  /** An event later than every window it belongs to; `origin` is what the caller passed in. */
  late(plan: QueryPlan, origin: unknown): void;
  /** A row dropped before aggregation. */
  rejected(plan: QueryPlan, reason: 'null_key' | 'max_groups'): void;
  /** A rule failed to evaluate (e.g. a detector threw); the other rules keep running. */
  ruleError(plan: QueryPlan, error: unknown): void;
}

/** A sink that collects everything, for tests and replay. */
export class CollectingSink implements EngineSink {
  readonly out: EngineOutput[] = [];
  row(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string, flags: RowFlags): void {
    this.out.push({ kind: 'row', view: plan.name, window, row, key, ...flags });
  }
  retract(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string): void {
    this.out.push({ kind: 'retract', view: plan.name, window, row, key });
  }
  alert(_plan: QueryPlan, alert: AlertPayload): void {
    this.out.push({ kind: 'alert', alert });
  }
  late(plan: QueryPlan): void {
    this.out.push({ kind: 'late', view: plan.name });
  }
  rejected(plan: QueryPlan, reason: 'null_key' | 'max_groups'): void {
    this.out.push({ kind: 'rejected', view: plan.name, reason });
  }
  ruleError(plan: QueryPlan, error: unknown): void {
    this.out.push({ kind: 'error', view: plan.name, message: String(error) });
  }
}

export type EngineOutput =
  | { kind: 'row'; view: string; window: WindowBounds | null; row: Row; key: string; visible: boolean; closed: boolean }
  | { kind: 'retract'; view: string; window: WindowBounds | null; row: Row; key: string }
  | { kind: 'alert'; alert: AlertPayload }
  | { kind: 'late'; view: string }
  | { kind: 'rejected'; view: string; reason: string }
  | { kind: 'error'; view: string; message: string };
