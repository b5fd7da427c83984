/**
 * Incremental, copy-on-write snapshots of an operator's groups, so that a checkpoint does not
 * stall the hot path for as long as serialising every group takes (a second or more at a million
 * groups).
 *
 * The cut is the moment the snapshot begins: it must describe every group exactly as it was
 * then, matching the Kafka positions recorded at the same moment. The groups are serialised in
 * slices between batches (step), while processing goes on. An operator calls touch(group) before
 * it changes a group in any way (a write barrier): a group not serialised yet is serialised
 * first, in its state at the cut. A group created after the cut is marked with skip(): it is not
 * part of the snapshot. A group deleted after the cut was touched before it went. Each group is
 * serialised exactly once, so the work is the same as one synchronous pass; only when it happens
 * differs.
 *
 * serialise may also return a function that gives the text later: an operator whose group holds
 * parts that the next change will not touch (a hopping window's older panes) serialises the rest
 * at once and the parts when step() comes to them, behind a barrier of its own for those parts.
 */

/** Serialised group text is gathered into pieces of about this many UTF-16 units. */
const PIECE_CHARS = 1 << 20;

/**
 * Marks a group as taken by snapshot `id`; false when it already was. Optional: an operator whose
 * groups have a field for it spares the snapshot a Set of every group, a hash lookup and insert
 * per group (bench:checkpoint, a million groups: the slices took 4.7–5.3 s instead of 6.6–7.4).
 */
export type SnapshotMark<G> = (group: G, id: number) => boolean;

/** Snapshot ids, unique in the process, so a mark left by an earlier snapshot never counts. */
let lastSnapshotId = 0;

/** One operator's snapshot in progress; see the file comment. */
export class GroupSnapshot<G extends object, K = string> {
  private readonly id = ++lastSnapshotId;
  /** Groups taken, when the operator gives no mark. */
  private readonly done = new Set<G>();
  private readonly iterator: Iterator<[K, G]>;
  private readonly pieces: string[] = [];
  private buffer: string[] = [];
  private bufferChars = 0;
  private count = 0;
  private complete = false;
  /** Groups touched whose text (or the rest of it) is still to be produced, by step(). */
  private deferred: (() => string)[] = [];

  /**
   * @param groups the operator's live group map, iterated lazily (a Map iterator sees entries
   *   deleted or added after it was created correctly: deleted ones are skipped, added ones come last)
   * @param serialise one group (and its key in the map) as JSON text, or a function giving it
   *   later; `touched` says the write barrier asks (the group is about to change) rather than
   *   the slices (the text can be built now, nothing needs copying)
   * @param head JSON text before the groups array, e.g. `{"watermark":1,"groups":[`
   * @param tail JSON text after it, e.g. `]}`
   * @param mark where the groups keep which snapshot took them (else a Set here does)
   */
  constructor(
    groups: ReadonlyMap<K, G>,
    private readonly serialise: (group: G, key: K, touched: boolean) => string | (() => string),
    head: string,
    private readonly tail: string,
    private readonly mark: SnapshotMark<G> | null = null,
  ) {
    this.iterator = groups.entries();
    this.pieces.push(head);
  }

  /** Write barrier: call before any change to `group` (whose key in the map is `key`). */
  touch(group: G, key: K): void {
    this.visit(group, key, true);
  }

  private visit(group: G, key: K, touched: boolean): void {
    if (this.complete || !this.take(group)) return;
    const text = this.serialise(group, key, touched);
    if (typeof text === 'function') this.deferred.push(text);
    else this.append(text);
  }

  private append(text: string): void {
    const piece = this.count++ === 0 ? text : ',' + text;
    this.buffer.push(piece);
    this.bufferChars += piece.length;
  }

  /** Marks the group as taken; false when it already was. */
  private take(group: G): boolean {
    if (this.mark !== null) return this.mark(group, this.id);
    if (this.done.has(group)) return false;
    this.done.add(group);
    return true;
  }

  /** A group created after the cut: it is not part of this snapshot. */
  skip(group: G): void {
    if (!this.complete) this.take(group);
  }

  /**
   * Visits up to `maxGroups` more groups, serialising those not serialised yet; returns how many
   * it visited. `finished` says when every group of the cut is serialised.
   */
  step(maxGroups: number): number {
    let i = 0;
    for (; i < maxGroups && !this.complete; i++) {
      const later = this.deferred.pop();
      if (later) {
        this.append(later());
        continue;
      }
      const next = this.iterator.next();
      if (next.done) this.finish();
      else this.visit(next.value[1], next.value[0], false);
    }
    // Joined here, between batches, not in touch(): the write barrier runs on the hot path.
    if (this.bufferChars >= PIECE_CHARS) this.cut();
    return i;
  }

  get finished(): boolean {
    return this.complete;
  }

  /** The snapshot as pieces of JSON text to concatenate; only once step() returned true. */
  text(): string[] {
    if (!this.complete) throw new Error('snapshot not finished');
    return this.pieces;
  }

  private finish(): void {
    this.cut();
    this.pieces.push(this.tail);
    this.complete = true;
    this.done.clear();
  }

  private cut(): void {
    if (this.buffer.length === 0) return;
    this.pieces.push(this.buffer.join(''));
    this.buffer = [];
    this.bufferChars = 0;
  }
}

/** One query's part of an engine snapshot: serialise in steps, then take the text. */
export interface OpSnapshot {
  /** Visits up to `maxGroups` more groups; returns how many it visited. */
  step(maxGroups: number): number;
  /** Every group of the cut is serialised (the write barrier is off again). */
  readonly finished: boolean;
  /** The query's state as pieces of JSON text to concatenate (no newline inside); once finished. */
  text(): string[];
  /** Gives up (a failed checkpoint): the write barrier is switched off. */
  abort(): void;
}

/**
 * The OpSnapshot of an operator whose groups live in `groups`. `install(snap)` sets or clears the
 * operator's write barrier (the snap its change paths touch); null clears it.
 */
export function opSnapshot<G extends object, K>(
  snap: GroupSnapshot<G, K>,
  install: ((snap: GroupSnapshot<G, K> | null) => void) | null,
): OpSnapshot {
  install?.(snap);
  let cleared = false;
  const clear = () => {
    if (!cleared) install?.(null);
    cleared = true;
  };
  return {
    step(maxGroups) {
      const visited = snap.step(maxGroups);
      if (snap.finished) clear();
      return visited;
    },
    get finished() {
      return snap.finished;
    },
    text: () => snap.text(),
    abort: clear,
  };
}
