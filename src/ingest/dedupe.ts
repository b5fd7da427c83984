/**
 * Drops redelivered events by event id within a bounded horizon.
 *
 * An id is remembered while its event time is within `horizonMs` of the largest event time seen,
 * and at most `maxIds` ids are kept; whichever limit bites first evicts, oldest insertion first.
 * An id is never forgotten early unless the cap is reached. Out-of-order ids may be kept a little
 * longer than the horizon (eviction is in insertion order), never shorter.
 *
 * Ids are kept as 64-bit fingerprints (two independent 32-bit hashes) in typed arrays: an open-
 * addressing table for lookups and a ring in insertion order for eviction, about 40 bytes an id
 * at most (a Set of strings took ~250), and a checkpoint stores them as base64, not as strings.
 * Two different ids share a fingerprint with probability ~2^-64 each: with a million ids held,
 * about one false "duplicate" in 10^13 events.
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

/** The checkpoint form: fingerprints (two uint32 halves) and event times in insertion order, base64. */
export interface DeduperState {
  readonly horizonMs: number;
  readonly maxIds: number;
  readonly maxTs: number | null;
  readonly n: number;
  readonly a: string;
  readonly b: string;
  readonly t: string;
}

export const DEFAULT_DEDUPE_HORIZON_MS = 10 * 60_000;
export const DEFAULT_DEDUPE_MAX_IDS = 1_000_000;

const INITIAL_CAPACITY = 1024;

/** A deduper's state at a checkpoint's cut (see Deduper.cut): typed arrays, not yet base64. */
export interface DeduperCut {
  readonly horizonMs: number;
  readonly maxIds: number;
  readonly maxTs: number | null;
  readonly n: number;
  readonly a: Uint32Array;
  readonly b: Uint32Array;
  readonly t: Float64Array;
}

const base64 = (x: Uint32Array | Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');

/**
 * Elements per base64 piece in cutPieces: a multiple of 3, so every piece but the last encodes
 * a multiple of 3 bytes and the pieces concatenate to the base64 of the whole array.
 */
const PIECE_ELEMENTS = 3 * 32_768;

/**
 * Appends `JSON.stringify` of the cut's DeduperState form to `out`, exactly, yielding after each
 * piece of base64 (~400 KB of text), so that a checkpoint encodes a million ids in slices.
 */
export function* cutPieces(cut: DeduperCut, out: string[]): Generator<void> {
  out.push(`{"horizonMs":${JSON.stringify(cut.horizonMs)},"maxIds":${JSON.stringify(cut.maxIds)},"maxTs":${JSON.stringify(cut.maxTs)},"n":${cut.n}`);
  for (const [name, array] of [['a', cut.a], ['b', cut.b], ['t', cut.t]] as const) {
    out.push(`,"${name}":"`);
    for (let at = 0; at < array.length; at += PIECE_ELEMENTS) {
      out.push(base64(array.subarray(at, at + PIECE_ELEMENTS)));
      yield;
    }
    out.push('"');
  }
  out.push('}');
}

/** Ring entries moved into the growing table per insert (Deduper.build). */
const BUILD_STEP = 8;
/**
 * The table and the ring grow fourfold: a third of the copying of doubling on the way to a
 * million ids (the last growth comes at 256k ids, not 512k), for the same size at the cap.
 */
const GROWTH = 4;

function slotIn(a: number, b: number, mask: number): number {
  return (a ^ Math.imul(b, 0x9e3779b1)) & mask;
}

/**
 * A table's slot i holds a fingerprint's halves at [2i] and [2i + 1]: one cache line for both
 * (two arrays took two cache misses per probe once the table outgrew the cache).
 */
function slotsOf(tab: Uint32Array): number {
  return tab.length >> 1;
}

/** Deletes a fingerprint from a table, shifting later entries of its probe run back. */
function removeFrom(tab: Uint32Array, a: number, b: number): void {
  const mask = slotsOf(tab) - 1;
  let i = slotIn(a, b, mask);
  while (tab[2 * i] !== a || tab[2 * i + 1] !== b) {
    if (tab[2 * i] === 0 && tab[2 * i + 1] === 0) return;
    i = (i + 1) & mask;
  }
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const ja = tab[2 * j]!;
    const jb = tab[2 * j + 1]!;
    if (ja === 0 && jb === 0) break;
    const home = slotIn(ja, jb, mask);
    // Move j back to the hole at i unless its home lies cyclically in (i, j].
    const between = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!between) {
      tab[2 * i] = ja;
      tab[2 * i + 1] = jb;
      i = j;
    }
  }
  tab[2 * i] = 0;
  tab[2 * i + 1] = 0;
}

/** Remembers event ids for a bounded horizon; one per stream (or per input partition). */
export class Deduper {
  readonly horizonMs: number;
  readonly maxIds: number;
  /** Hash table of fingerprints (see slotsOf); a slot is empty when both halves are 0 (never a fingerprint). */
  private tab = new Uint32Array(INITIAL_CAPACITY * 4);
  /** Insertion-ordered ring: fingerprint halves and event time; `head` is the oldest. */
  private qa = new Uint32Array(INITIAL_CAPACITY);
  private qb = new Uint32Array(INITIAL_CAPACITY);
  private qt = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;
  private maxTs = -Infinity;
  /** The fingerprint of the id last hashed (two fields rather than an allocated pair). */
  private ha = 0;
  private hb = 0;
  /** Reused by cut(): the ring in insertion order. */
  private cutBuffers: { a: Uint32Array; b: Uint32Array; t: Float64Array } | null = null;
  /**
   * While the table grows: the table twice its size, filled from the ring a few entries per
   * insert (rehashing a million fingerprints at once stalled ingest for 50–100 ms). The current
   * table stays the one looked up until `next` holds every id; `built` counts the ring entries,
   * from the head, already in it.
   */
  private next: Uint32Array<ArrayBuffer> | null = null;
  private built = 0;

  constructor(opts: DeduperOptions = {}) {
    this.horizonMs = opts.horizonMs ?? DEFAULT_DEDUPE_HORIZON_MS;
    this.maxIds = opts.maxIds ?? DEFAULT_DEDUPE_MAX_IDS;
    if (!(this.horizonMs > 0) || !(this.maxIds >= 1)) {
      throw new RangeError('Deduper needs horizonMs > 0 and maxIds >= 1');
    }
  }

  /** Number of ids currently remembered. */
  get size(): number {
    return this.count;
  }

  /** True when `id` was seen within the horizon; otherwise records it (event time `ts`) and returns false. */
  isDuplicate(id: string, ts: number): boolean {
    this.hash(id);
    return this.record(this.ha, this.hb, ts);
  }

  /** Records a fingerprint; true when it was already there. */
  private record(a: number, b: number, ts: number): boolean {
    const tab = this.tab;
    const mask = slotsOf(tab) - 1;
    let i = slotIn(a, b, mask);
    for (;;) {
      const ia = tab[2 * i]!;
      const ib = tab[2 * i + 1]!;
      if (ia === 0 && ib === 0) break;
      if (ia === a && ib === b) return true;
      i = (i + 1) & mask;
    }
    tab[2 * i] = a;
    tab[2 * i + 1] = b;
    this.push(a, b, ts);
    if (ts > this.maxTs) this.maxTs = ts;
    this.evict();
    // Keep the table at most about half full (4/7 while the next one fills): probing stays short.
    if (this.next === null && this.count * 2 > slotsOf(this.tab)) {
      this.next = new Uint32Array(this.tab.length * GROWTH);
      this.built = 0;
    }
    if (this.next !== null) this.build();
    return false;
  }

  /**
   * Moves BUILD_STEP more ring entries into the next table; swaps it in once it holds them all.
   * The ring gains one entry per insert and the builder takes BUILD_STEP, so it catches up
   * within count / (BUILD_STEP - 1) inserts, while the current table fills from 1/2 to 4/7.
   */
  private build(): void {
    const next = this.next!;
    const len = this.qa.length;
    const mask = slotsOf(next) - 1;
    for (let steps = BUILD_STEP; steps > 0 && this.built < this.count; steps--, this.built++) {
      const at = (this.head + this.built) % len;
      const a = this.qa[at]!;
      const b = this.qb[at]!;
      let i = slotIn(a, b, mask);
      while (next[2 * i] !== 0 || next[2 * i + 1] !== 0) i = (i + 1) & mask;
      next[2 * i] = a;
      next[2 * i + 1] = b;
    }
    if (this.built < this.count) return;
    this.tab = next;
    this.next = null;
  }

  /** Two 32-bit hashes of the UTF-16 code units (FNV-1a and a murmur-style mix), never both 0. */
  private hash(id: string): void {
    let a = 0x811c9dc5;
    let b = 0x9747b28c ^ id.length;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a ^= a >>> 16;
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    b ^= b >>> 13;
    b = Math.imul(b, 0xc2b2ae35);
    b ^= b >>> 16;
    this.ha = a >>> 0;
    this.hb = (b >>> 0) || (a === 0 ? 1 : 0);
  }

  private push(a: number, b: number, ts: number): void {
    if (this.count === this.qa.length) this.resizeRing(this.qa.length * GROWTH);
    const at = (this.head + this.count) % this.qa.length;
    this.qa[at] = a;
    this.qb[at] = b;
    this.qt[at] = ts;
    this.count++;
  }

  private evict(): void {
    const cutoff = this.maxTs - this.horizonMs;
    while (this.count > 0 && (this.count > this.maxIds || this.qt[this.head]! < cutoff)) {
      const a = this.qa[this.head]!;
      const b = this.qb[this.head]!;
      removeFrom(this.tab, a, b);
      // The oldest entry is the first the next table took, if it took any.
      if (this.next !== null && this.built > 0) {
        removeFrom(this.next, a, b);
        this.built--;
      }
      this.head = (this.head + 1) % this.qa.length;
      this.count--;
    }
  }

  private resizeRing(capacity: number): void {
    const qa = new Uint32Array(capacity);
    const qb = new Uint32Array(capacity);
    const qt = new Float64Array(capacity);
    this.copyInOrder(qa, qb, qt);
    this.qa = qa;
    this.qb = qb;
    this.qt = qt;
    this.head = 0;
  }

  /**
   * The state at a checkpoint's cut: the ring copied in insertion order (a memory copy, so the
   * cut is quick; the slow base64 encoding happens later, in slices, see cutPieces). The copies
   * live in buffers the deduper reuses, so a cut is valid until the next call of cut().
   */
  cut(): DeduperCut {
    const n = this.count;
    if (!this.cutBuffers || this.cutBuffers.a.length < n) {
      const capacity = Math.max(n, this.qa.length);
      this.cutBuffers = { a: new Uint32Array(capacity), b: new Uint32Array(capacity), t: new Float64Array(capacity) };
    }
    const { a, b, t } = this.cutBuffers;
    this.copyInOrder(a, b, t);
    return { horizonMs: this.horizonMs, maxIds: this.maxIds, maxTs: this.maxTsOrNull(), n, a: a.subarray(0, n), b: b.subarray(0, n), t: t.subarray(0, n) };
  }

  /** JSON-serialisable state for checkpoints (copies: later changes do not affect it). */
  toJSON(): DeduperState {
    const n = this.count;
    const a = new Uint32Array(n);
    const b = new Uint32Array(n);
    const t = new Float64Array(n);
    this.copyInOrder(a, b, t);
    return { horizonMs: this.horizonMs, maxIds: this.maxIds, maxTs: this.maxTsOrNull(), n, a: base64(a), b: base64(b), t: base64(t) };
  }

  private maxTsOrNull(): number | null {
    return Number.isFinite(this.maxTs) ? this.maxTs : null;
  }

  /** Copies the ring, oldest first, to the start of the arrays (each at least `count` long). */
  private copyInOrder(a: Uint32Array, b: Uint32Array, t: Float64Array): void {
    // The ring holds [head, capacity) and then, when it wraps, [0, count - that).
    const n = this.count;
    const firstRun = Math.min(n, this.qa.length - this.head);
    const copy = <T extends Uint32Array | Float64Array>(to: T, from: T) => {
      to.set(from.subarray(this.head, this.head + firstRun), 0);
      if (firstRun < n) to.set(from.subarray(0, n - firstRun), firstRun);
    };
    copy(a, this.qa);
    copy(b, this.qb);
    copy(t, this.qt);
  }

  /**
   * Restores a checkpoint. `opts` overrides the saved limits (a config change applies on the
   * next restart; shrinking limits evicts at once).
   */
  static fromJSON(state: DeduperState, opts: DeduperOptions = {}): Deduper {
    const d = new Deduper({ horizonMs: opts.horizonMs ?? state.horizonMs, maxIds: opts.maxIds ?? state.maxIds });
    const read = <T extends Uint32Array | Float64Array>(text: string, make: (buf: ArrayBuffer) => T): T => {
      const bytes = Buffer.from(text, 'base64');
      return make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    };
    const a = read(state.a, (buf) => new Uint32Array(buf));
    const b = read(state.b, (buf) => new Uint32Array(buf));
    const t = read(state.t, (buf) => new Float64Array(buf));
    const n = Math.min(state.n, a.length, b.length, t.length);
    for (let k = 0; k < n; k++) d.record(a[k]!, b[k]!, t[k]!);
    d.maxTs = state.maxTs ?? -Infinity;
    d.evict();
    return d;
  }
}
