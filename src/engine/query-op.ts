import type { QueryPlan } from '../lang/compile.js';
import type { Row } from '../types.js';
import type { OpSnapshot } from './snapshot.js';

/** One running query. The engine feeds it rows in arrival order and moves its watermark. */
export interface QueryOp {
  readonly plan: QueryPlan;
  /** Queries reading this one (FROM view). */
  downstream: QueryOp[];
  /**
   * One input row at event time ts. `upstreamKey` is the source view's group key (FROM view);
   * `origin` is passed back with a late event (for the dead-letter topic).
   */
  onRow(row: Row, ts: number, upstreamKey: string | null, origin: unknown): void;
  /** Moves event time forward; closes windows and resolves quiet alerts. */
  advanceTo(watermark: number): void;
  /** The watermark this query's output has reached (what its downstream queries see). */
  outputWatermark(): number;
  /** Emits coalesced changes (live mode). */
  flush(): void;
  /**
   * Live mode with sliced closes: closes windows that are due, about `maxGroups` groups' worth,
   * and returns how many groups it took. Absent on operators that close nothing in slices.
   */
  closeSlice?(maxGroups: number): number;
  /** Whether windows are due to close (closeSlice has work). */
  closesDue?(): boolean;
  /** The current rows, computed on demand (WebSocket snapshots). */
  currentRows(): Row[];
  /**
   * Begins a snapshot of the state as it is now, for checkpoints (flush first). With `barrier`
   * the operator serialises each group before changing it, so the snapshot may be finished in
   * steps between events (snapshot.ts); without, finish it before anything else happens.
   */
  beginSnapshot(barrier: boolean): OpSnapshot;
  /** Loads a snapshot into a freshly built operator. */
  restore(json: unknown): void;
}
