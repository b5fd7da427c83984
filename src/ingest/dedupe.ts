/**
 * Drops redelivered events by event id within a bounded horizon.
 *
 * An id is remembered while its event time is within `horizonMs` of the largest event time seen,
 * and at most `maxIds` ids are kept; whichever limit bites first evicts, oldest insertion first.
 * So memory is bounded (about 100 bytes an id: 1,000,000 ids ~ 100 MB at worst) and an id is
 * never forgotten early unless the cap is reached. Out-of-order ids may be kept a little longer
 * than the horizon (eviction is in insertion order), never shorter.
 *
 * Beyond the horizon a redelivered event counts again. That is acceptable because dedupe is not
 * what makes recovery exactly-once: the engine resumes from the Kafka offsets stored in the same
 * checkpoint as its state (and as this deduper's ids), so records it replays after a crash were
 * never in the restored state. Dedupe catches the other source of duplicates: producers that
 * retry or re-publish (at-least-once upstream), which redeliver within seconds or minutes.
 */

/** Options of a Deduper; defaults: 10 minutes of event time, 1,000,000 ids. */
export interface DeduperOptions {
  readonly horizonMs?: number;
  readonly maxIds?: number;
}

/** The checkpoint form of a Deduper: ids and their event times in insertion order. */
export interface DeduperState {
  readonly horizonMs: number;
  readonly maxIds: number;
  readonly maxTs: number | null;
  readonly ids: readonly string[];
  readonly ts: readonly number[];
}

export const DEFAULT_DEDUPE_HORIZON_MS = 10 * 60_000;
export const DEFAULT_DEDUPE_MAX_IDS = 1_000_000;

/** Remembers event ids for a bounded horizon; one per stream (or per input partition). */
export class Deduper {
  readonly horizonMs: number;
  readonly maxIds: number;
  /** Membership only; event times live in the queue (a Set is ~30% faster than a Map here). */
  private readonly seen = new Set<string>();
  /** Insertion-ordered queue; `head` is the oldest live entry. Ids in it are unique. */
  private qIds: string[] = [];
  private qTs: number[] = [];
  private head = 0;
  private maxTs = -Infinity;

  constructor(opts: DeduperOptions = {}) {
    this.horizonMs = opts.horizonMs ?? DEFAULT_DEDUPE_HORIZON_MS;
    this.maxIds = opts.maxIds ?? DEFAULT_DEDUPE_MAX_IDS;
    if (!(this.horizonMs > 0) || !(this.maxIds >= 1)) {
      throw new RangeError('Deduper needs horizonMs > 0 and maxIds >= 1');
    }
  }

  /** Number of ids currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  /** True when `id` was seen within the horizon; otherwise records it (event time `ts`) and returns false. */
  isDuplicate(id: string, ts: number): boolean {
    if (this.seen.has(id)) return true;
    this.seen.add(id);
    this.qIds.push(id);
    this.qTs.push(ts);
    if (ts > this.maxTs) this.maxTs = ts;
    this.evict();
    return false;
  }

  private evict(): void {
    const cutoff = this.maxTs - this.horizonMs;
    const ids = this.qIds;
    const tss = this.qTs;
    let h = this.head;
    while (h < ids.length && (this.seen.size > this.maxIds || (tss[h] as number) < cutoff)) {
      this.seen.delete(ids[h] as string);
      h++;
    }
    this.head = h;
    // Compact once the dead prefix is the larger half, so the queue stays O(live ids).
    if (h > 1024 && h * 2 > ids.length) {
      this.qIds = ids.slice(h);
      this.qTs = tss.slice(h);
      this.head = 0;
    }
  }

  /** JSON-serialisable state for checkpoints. */
  toJSON(): DeduperState {
    return {
      horizonMs: this.horizonMs,
      maxIds: this.maxIds,
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      ids: this.qIds.slice(this.head),
      ts: this.qTs.slice(this.head),
    };
  }

  /**
   * Restores a checkpoint. `opts` overrides the saved limits (a config change applies on the
   * next restart; shrinking limits evicts at once).
   */
  static fromJSON(state: DeduperState, opts: DeduperOptions = {}): Deduper {
    const d = new Deduper({ horizonMs: opts.horizonMs ?? state.horizonMs, maxIds: opts.maxIds ?? state.maxIds });
    const n = Math.min(state.ids.length, state.ts.length);
    for (let i = 0; i < n; i++) {
      const id = state.ids[i] as string;
      const ts = state.ts[i] as number;
      if (d.seen.has(id)) continue;
      d.seen.add(id);
      d.qIds.push(id);
      d.qTs.push(ts);
    }
    d.maxTs = state.maxTs ?? -Infinity;
    d.evict();
    return d;
  }
}
