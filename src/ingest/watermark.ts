/**
 * Event-time watermarks (SPEC section 3, STYLE.md: Arroyo/Flink). Per input partition the largest
 * event time seen; for the stream the smallest of those over partitions that are not idle. The
 * watermark never moves backwards: an event below it is late, which the window layer counts.
 *
 * Idleness is measured in WALL time (`now` is passed in; core code never reads the clock): a
 * partition with no event for `idleMs` stops holding the watermark back, so one quiet partition
 * cannot stall every window. When ALL partitions are idle the watermark advances with wall time
 * since the last event (the larger of the largest event time and the watermark when that event
 * arrived, plus the wall time elapsed since), so
 * windows close and alerts resolve when traffic stops. The price: after a long silence, events
 * that arrive with event times older than that estimate are late. A partition that is assigned
 * but has sent nothing yet holds the watermark at -Infinity until it goes idle, so a backlog on
 * it is not declared late before its first batch arrives.
 */

/** The interface the engine uses; WatermarkTracker for Kafka, MaxWatermark for replay. */
export interface Watermark {
  /** Records an event of `partition` with event time `ts`, arriving at wall time `now`. */
  observe(partition: number, ts: number, now: number): void;
  /** Re-evaluates idleness at wall time `now`; returns the (possibly advanced) watermark. */
  tick(now: number): number;
  /** The watermark in epoch ms; -Infinity before any event. */
  current(): number;
}

/** Checkpoint form: event-time facts only (wall times of another process mean nothing). */
export interface WatermarkState {
  readonly watermark: number | null;
  readonly partitions: readonly (readonly [partition: number, maxTs: number | null])[];
}

export const DEFAULT_IDLE_MS = 30_000;

interface PartitionWatermark {
  maxTs: number;
  lastWall: number;
  idle: boolean;
}

/** The Kafka watermark: min over non-idle partitions, wall-time advance when all are idle. */
export class WatermarkTracker implements Watermark {
  readonly idleMs: number;
  /** Indexed by partition number (small dense integers in Kafka). */
  private parts: (PartitionWatermark | undefined)[] = [];
  private wm = -Infinity;
  private maxTs = -Infinity;
  private lastEventWall = -Infinity;
  /** Event time the all-idle advance starts from: max(largest event time, watermark) at the last event. */
  private idleBase = -Infinity;

  constructor(opts: { idleMs?: number } = {}) {
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    if (!(this.idleMs > 0)) throw new RangeError('WatermarkTracker needs idleMs > 0');
  }

  /** Registers newly assigned partitions; each holds the watermark back until it sends or idles. */
  assign(partitions: readonly number[], now: number): void {
    for (const p of partitions) {
      if (this.parts[p] === undefined) this.parts[p] = { maxTs: -Infinity, lastWall: now, idle: false };
    }
  }

  /** Forgets revoked partitions (another process owns them now). */
  revoke(partitions: readonly number[]): void {
    for (const p of partitions) this.parts[p] = undefined;
    this.recompute(this.lastEventWall);
  }

  observe(partition: number, ts: number, now: number): void {
    let p = this.parts[partition];
    if (p === undefined) {
      p = { maxTs: -Infinity, lastWall: now, idle: false };
      this.parts[partition] = p;
    }
    p.lastWall = now;
    if (now > this.lastEventWall) this.lastEventWall = now;
    if (ts > this.maxTs) this.maxTs = ts;
    if (ts > p.maxTs || p.idle) {
      if (ts > p.maxTs) p.maxTs = ts;
      p.idle = false;
      this.recompute(now);
    }
    this.idleBase = this.wm > this.maxTs ? this.wm : this.maxTs;
  }

  tick(now: number): number {
    let changed = false;
    for (const p of this.parts) {
      if (p !== undefined && !p.idle && now - p.lastWall >= this.idleMs) {
        p.idle = true;
        changed = true;
      }
    }
    if (changed || this.allIdle()) this.recompute(now);
    return this.wm;
  }

  current(): number {
    return this.wm;
  }

  /** Partitions currently marked idle (for /metrics or debugging). */
  idlePartitions(): number[] {
    const out: number[] = [];
    this.parts.forEach((p, i) => {
      if (p?.idle) out.push(i);
    });
    return out;
  }

  private allIdle(): boolean {
    let any = false;
    for (const p of this.parts) {
      if (p === undefined) continue;
      if (!p.idle) return false;
      any = true;
    }
    return any;
  }

  private recompute(now: number): void {
    let min = Infinity;
    let active = false;
    for (const p of this.parts) {
      if (p === undefined || p.idle) continue;
      active = true;
      if (p.maxTs < min) min = p.maxTs;
    }
    let candidate: number;
    if (active) candidate = min;
    else if (this.idleBase > -Infinity) candidate = this.idleBase + Math.max(0, now - this.lastEventWall);
    else return;
    if (candidate > this.wm) this.wm = candidate;
  }

  toJSON(): WatermarkState {
    const partitions: [number, number | null][] = [];
    this.parts.forEach((p, i) => {
      if (p !== undefined) partitions.push([i, Number.isFinite(p.maxTs) ? p.maxTs : null]);
    });
    return { watermark: Number.isFinite(this.wm) ? this.wm : null, partitions };
  }

  /**
   * Restores a checkpoint at wall time `now`: every saved partition counts as freshly active, so
   * the downtime itself never makes partitions idle or advances the watermark.
   */
  static fromJSON(state: WatermarkState, now: number, opts: { idleMs?: number } = {}): WatermarkTracker {
    const t = new WatermarkTracker(opts);
    for (const [p, maxTs] of state.partitions) {
      const m = maxTs ?? -Infinity;
      t.parts[p] = { maxTs: m, lastWall: now, idle: false };
      if (m > t.maxTs) t.maxTs = m;
    }
    t.wm = state.watermark ?? -Infinity;
    t.idleBase = t.wm > t.maxTs ? t.wm : t.maxTs;
    t.lastEventWall = now;
    return t;
  }
}

/** The replay watermark (SPEC section 3): simply the largest event time seen; no wall time. */
export class MaxWatermark implements Watermark {
  private wm = -Infinity;

  observe(_partition: number, ts: number): void {
    if (ts > this.wm) this.wm = ts;
  }

  tick(): number {
    return this.wm;
  }

  current(): number {
    return this.wm;
  }

  toJSON(): WatermarkState {
    return { watermark: Number.isFinite(this.wm) ? this.wm : null, partitions: [] };
  }

  static fromJSON(state: WatermarkState): MaxWatermark {
    const w = new MaxWatermark();
    w.wm = state.watermark ?? -Infinity;
    return w;
  }
}
