import type { QueryPlan } from '../lang/compile.js';
import type { Row } from '../types.js';

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
  /** The current rows, computed on demand (WebSocket snapshots). */
  currentRows(): Row[];
  /** JSON-serialisable state for checkpoints (flush first). */
  snapshot(): unknown;
  /** Loads a snapshot into a freshly built operator. */
  restore(json: unknown): void;
}
