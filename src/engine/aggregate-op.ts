/**
 * A query with aggregates: events are added to the partial state of their pane (time windows),
 * session, or group (no window); windows close when the watermark passes their end plus grace.
 * Semantics follow Kafka Streams / ksqlDB (docs/decisions.md, "Streaming core").
 */
import type { QueryPlan } from '../lang/compile.js';
import { emptyEnv, type Env } from '../lang/expr.js';
import { MinHeap } from '../window/heap.js';
import {
  paneStart,
  slidingWindowFor,
  windowStartsFor,
  type SessionWindowDef,
  type TimeWindowDef,
} from '../window/assign.js';
import type { EngineSink } from './sink.js';
import { projectRow, rowWithBounds } from './row-shape.js';
import {
  addToStates,
  deletePane,
  getPane,
  paneCount,
  paneEntries,
  setPane,
  createDetectors,
  detectorsToJSON,
  restoreDetectors,
  evalBaselines,
  groupKeys,
  initStates,
  keyRow,
  keyString,
  mergeStates,
  newGroup,
  resultsOfPanes,
  results,
  type Group,
  type PendingChange,
  type Session,
} from './group.js';
import type { AlertHook } from './alert-hook.js';
import type { Row, Value, WindowBounds } from '../types.js';
import type { QueryOp } from './query-op.js';
import { GroupSnapshot, opSnapshot, type OpSnapshot } from './snapshot.js';

interface SessionRef {
  group: Group;
  session: Session;
}

/** How long a group that stopped sending is still evaluated as absent by windowed alerts. */
const DEFAULT_FORGET_AFTER_MS = 3_600_000;

export class AggregateOp implements QueryOp {
  readonly groups = new Map<string, Group>();
  watermark = -Infinity;
  downstream: QueryOp[] = [];
  private readonly env: Env = emptyEnv();
  private readonly aggOut: Value[] = [];
  /** Group key values of the current event, reused (copied only for a new group). */
  private readonly keyScratch: Value[] = [];
  /** env.keys of a group whose key is one string (Group.keys is null then). */
  private readonly oneKey: Value[] = [null];
  /** Time windows: closeAt -> window start (sliding: pane start). Sessions: SessionRef. */
  private readonly closing = new MinHeap<number | SessionRef>();
  /** Time windows: pane start -> groups with data in that pane (one Set.add per event). */
  private readonly index = new Map<number, Set<Group>>();
  private nextOrdinal = 0;
  /** Partial-aggregate states held in panes, over all groups (seismo_open_panes). */
  openPanes = 0;
  /** Window starts (sliding: pane starts) waiting in the closing heap. */
  private readonly scheduled = new Set<number>();
  /** Panes below this start have been evicted. */
  private evictCursor = -Infinity;
  /** Live mode: changed windows (group key + NUL + start) waiting for the next flush. */
  private readonly dirty = new Map<string, PendingChange>();
  /** Live mode, unwindowed aggregates: the last row (null: retracted) of each changed group. */
  private readonly tableRows = new Map<Group, Row | null>();
  private absenceCursor: number | null = null;
  /** The checkpoint snapshot in progress: every change to a group goes through snap.touch first. */
  private snap: GroupSnapshot<Group> | null = null;
  /**
   * Hopping and sliding windows, while a snapshot is in progress: touched groups whose older panes
   * (all but the newest at the cut) are still to be serialised, read from the group itself when
   * the slices come to them; a change to an older pane (a late event, an eviction) serialises
   * them first. Only the newest pane of a group takes events as a rule, so the write barrier
   * copies one pane of a group instead of every pane.
   */
  private olderPanes: OlderPanes | null = null;
  /**
   * Live mode, time windows of views (opts.sliceCloses): windows whose end plus grace the
   * watermark passed, oldest first, closed group by group by closeSlice() instead of all at once
   * (10,000 groups closing together hold the thread for 100 ms). `dueOf` is the close barrier: a
   * group's due windows close before anything else happens to the group, so every group's
   * output is what closing at once would give. `heldOutput` holds the downstream queries'
   * watermark where it was until the last due window is closed.
   */
  private readonly due: { readonly start: number; readonly groups: Group[]; next: number }[] = [];
  private readonly dueOf = new Map<Group, number[]>();
  private heldOutput: number | null = null;

  constructor(
    readonly plan: QueryPlan,
    private readonly sink: EngineSink,
    private readonly opts: {
      coalesce: boolean;
      nextSeq: () => number;
      alert: AlertHook | null;
      /** Live mode: whether anyone consumes this view's changes now (subscribers, a topic). */
      wantsChanges: (view: string) => boolean;
      /** Live mode: called when changes start waiting for flush() (none were waiting). */
      onPending: () => void;
      /** Live mode: due windows of views close in slices (closeSlice) rather than in advanceTo. */
      sliceCloses?: boolean;
    },
  ) {}

  /** The event-time horizon below which this query emits nothing new (for downstream queries). */
  outputWatermark(): number {
    const w = this.plan.window;
    const out = w ? this.watermark - w.graceMs : this.watermark;
    return this.heldOutput === null ? out : Math.min(out, this.heldOutput);
  }

  onRow(row: Row, ts: number, _upstreamKey: string | null, origin: unknown): void {
    const plan = this.plan;
    const env = this.env;
    env.row = row;
    if (plan.where && plan.where(env) !== true) return;
    const keys = this.keyScratch;
    // Setting an array's length is a runtime call, even to its current value.
    if (keys.length !== plan.keys.length) keys.length = plan.keys.length;
    for (let i = 0; i < plan.keys.length; i++) {
      const v = plan.keys[i]!(env);
      if (v === null) return this.sink.rejected(plan, 'null_key');
      keys[i] = v;
    }
    const keyStr = keyString(keys);
    let group = this.groups.get(keyStr);
    if (!group) {
      if (this.groups.size >= plan.maxGroups) return this.sink.rejected(plan, 'max_groups');
      group = newGroup(keyStr, keys, ts, this.nextOrdinal++);
      if (plan.kind === 'alert' && plan.window) group.absence = { firstSeen: ts, closedWithData: new Set() };
      this.groups.set(keyStr, group);
      this.snap?.skip(group);
    } else {
      if (this.dueOf.size > 0 && this.changesDue(group, ts)) this.closeDue(group);
      this.snap?.touch(group, group.keyStr);
    }
    const w = plan.window;
    if (!w) {
      let states = getPane(group, 0);
      if (!states) setPane(group, 0, (states = initStates(plan)));
      addToStates(plan, states, env, this.opts.nextSeq());
      group.lastSeen = Math.max(group.lastSeen, ts);
      return this.tableChanged(group, states, ts);
    }
    if (w.type === 'SESSION') return this.addToSession(group, w, ts, origin);
    if (w.type === 'SLIDING') {
      const p = paneStart(ts, w.paneMs);
      if (p + w.paneMs + w.graceMs <= this.watermark) return this.sink.late(plan, origin);
      if (this.addToPane(group, p, ts)) this.indexPane(p, group, w);
      this.changed(group, p, null);
      return;
    }
    // The newest window holding ts closes last: if it is closed, the event is late for all.
    // (Panes are advance-sized unless the advance does not divide the size.)
    const p = paneStart(ts, w.paneMs);
    const newest = w.paneMs === w.advanceMs ? p : paneStart(ts, w.advanceMs);
    if (newest + w.sizeMs + w.graceMs <= this.watermark) return this.sink.late(plan, origin);
    if (this.addToPane(group, p, ts)) this.indexPane(p, group, w);
    if (this.wantsChanges()) {
      // Live mode: every open window holding this pane is pending already when the group's last
      // change says so (the first event of the pane since the last flush marked them all).
      if (group.pending !== null && group.pending.pane === p) return;
      for (const s of windowStartsFor(ts, w)) if (s + w.sizeMs + w.graceMs > this.watermark) this.changed(group, s, null);
      if (this.opts.coalesce && group.pending !== null) group.pending.pane = p;
    }
  }

  /** Whether EMIT CHANGES rows are produced at all now (always in replay). */
  private wantsChanges(): boolean {
    const plan = this.plan;
    if (plan.emit !== 'CHANGES' || plan.kind === 'alert') return false;
    return !this.opts.coalesce || this.opts.wantsChanges(plan.name);
  }

  /** Adds the event in env to the group's pane p; true when the pane is new (to be indexed). */
  private addToPane(group: Group, p: number, ts: number): boolean {
    if (this.olderPanes !== null && p < group.pane) this.olderPanes.barrier(group);
    let states = getPane(group, p);
    const created = !states;
    if (!states) {
      setPane(group, p, (states = initStates(this.plan)));
      this.openPanes++;
    }
    addToStates(this.plan, states, this.env, this.opts.nextSeq());
    if (ts > group.lastSeen) group.lastSeen = ts;
    return created;
  }

  /** Records that the group has data in pane p; a new pane schedules the closing of its windows. */
  private indexPane(p: number, group: Group, w: TimeWindowDef): void {
    let set = this.index.get(p);
    if (!set) {
      this.index.set(p, (set = new Set()));
      if (p < this.evictCursor || this.evictCursor === -Infinity) this.evictCursor = p;
      const starts = w.type === 'SLIDING' ? [p] : windowStartsFor(p, w);
      for (const s of starts) {
        const closeAt = w.type === 'SLIDING' ? s + w.paneMs + w.graceMs : s + w.sizeMs + w.graceMs;
        if (closeAt > this.watermark && !this.scheduled.has(s)) {
          this.scheduled.add(s);
          this.closing.push(closeAt, s);
        }
      }
    }
    set.add(group);
  }

  /** The groups with data in window s (sliding: in pane s). */
  private groupsOfWindow(s: number, w: TimeWindowDef): Group[] {
    let groups: Group[];
    if (w.type !== 'HOPPING') groups = [...(this.index.get(s) ?? [])];
    else {
      const set = new Set<Group>();
      for (let p = s; p < s + w.sizeMs; p += w.paneMs) for (const g of this.index.get(p) ?? []) set.add(g);
      groups = [...set];
    }
    // Deterministic output order, the same before and after a restore.
    return groups.sort((a, b) => a.ordinal - b.ordinal);
  }

  /** Evicts every pane below `before`: no open window holds it any more. */
  private evictPanes(before: number, w: TimeWindowDef): void {
    const span = (before - this.evictCursor) / w.paneMs;
    const starts = span > this.index.size ? [...this.index.keys()].filter((p) => p < before) : [];
    if (span <= this.index.size) for (let p = this.evictCursor; p < before; p += w.paneMs) starts.push(p);
    for (const p of starts) {
      const groups = this.index.get(p);
      if (!groups) continue;
      this.index.delete(p);
      for (const g of groups) {
        this.snap?.touch(g, g.keyStr);
        this.olderPanes?.barrier(g);
        if (deletePane(g, p)) this.openPanes--;
        this.maybeForget(g);
      }
    }
    if (before > this.evictCursor) this.evictCursor = before;
  }

  /** Session windows: merge every session within the gap of ts; retract the absorbed ones. */
  private addToSession(group: Group, w: SessionWindowDef, ts: number, origin: unknown): void {
    const plan = this.plan;
    const only = group.sessions.length === 1 ? group.sessions[0]! : null;
    if (only && this.opts.coalesce && only.end >= ts - w.gapMs && only.start <= ts + w.gapMs) {
      // Live mode's common case, an event extending the group's one session: update it in place.
      // (Replay replaces the session, so its old bounds are retracted first, as in ksqlDB.)
      if (Math.max(only.end, ts) < this.watermark - w.graceMs) return this.sink.late(plan, origin);
      if (ts < only.start) {
        this.undirty(group, only.start);
        this.sink.retract(plan, { start: only.start, end: only.end }, keyRow(plan, groupKeys(group)), group.keyStr);
      }
      addToStates(plan, only.states, this.env, this.opts.nextSeq());
      if (ts < only.start) only.start = ts;
      if (ts > only.end) only.end = ts;
      if (ts > group.lastSeen) group.lastSeen = ts;
      this.changed(group, only.start, only);
      return;
    }
    const merged: Session[] = [];
    const kept: Session[] = [];
    let start = ts;
    let end = ts;
    for (const s of group.sessions) {
      if (s.end >= ts - w.gapMs && s.start <= ts + w.gapMs) {
        merged.push(s);
        if (s.start < start) start = s.start;
        if (s.end > end) end = s.end;
      } else kept.push(s);
    }
    // ksqlDB: an event is late when the session it would form or extend ends before
    // watermark - grace (the gap does not extend the grace period).
    if (end < this.watermark - w.graceMs) return this.sink.late(plan, origin);
    const states = initStates(plan);
    for (const s of merged) {
      mergeStates(plan, states, s.states);
      s.closed = true; // absorbed: its heap entry is now stale
      this.undirty(group, s.start);
      // Kafka Streams forwards a tombstone for every merged session; ksqlDB's output shows it.
      if (this.wantsChanges()) this.sink.retract(plan, { start: s.start, end: s.end }, keyRow(plan, groupKeys(group)), group.keyStr);
    }
    addToStates(plan, states, this.env, this.opts.nextSeq());
    const session: Session = { start, end, states, closed: false };
    kept.push(session);
    kept.sort((a, b) => a.start - b.start);
    group.sessions = kept;
    if (ts > group.lastSeen) group.lastSeen = ts;
    // One heap entry per session object: extending a session in place (above) moves its close
    // time, checked when popped. Here `session` is a new object and the merged ones are marked
    // closed, so their entries are skipped: it needs its own entry even when its bounds equal a
    // merged one's, or it would never close (found by test/integration/crash.test.ts).
    this.closing.push(end + w.gapMs + w.graceMs, { group, session });
    this.changed(group, start, session);
  }

  private changed(group: Group, start: number, session: Session | null): void {
    if (this.plan.emit !== 'CHANGES' && this.plan.window) return;
    if (this.plan.kind === 'alert' && this.plan.window) return;
    if (this.opts.coalesce) {
      // Changes nobody consumes are not computed: merging panes is the costly part.
      if (this.plan.window && !this.opts.wantsChanges(this.plan.name)) return;
      // Thousands of events per group can fall between two flushes: a window already pending
      // (the group remembers the change it queued last) needs no key built and no map lookup.
      const last = group.pending;
      if (last !== null && last.start === start && last.session === session) return;
      const change: PendingChange = { group, start, session, pane: NaN };
      this.notePending();
      this.dirty.set(group.keyStr + '\u0000' + start, change);
      group.pending = change;
    } else this.emitChange(group, start, session);
  }

  /** Drops a window's pending change; true when there was one. */
  private undirty(group: Group, start: number): boolean {
    if (this.dirty.size === 0) return false;
    if (group.pending !== null && group.pending.start === start) group.pending = null;
    return this.dirty.delete(group.keyStr + '\u0000' + start);
  }

  /**
   * An unwindowed aggregate (a table) changed. Every change is a row of its own for alerts, for
   * baselines and for queries reading the view, exactly as in replay; only what subscribers see
   * is coalesced in live mode (the last row of each group per flush).
   */
  private tableChanged(group: Group, states: unknown[], ts: number): void {
    const plan = this.plan;
    const { row, pass } = this.finish(group, states, null, true);
    if (plan.kind === 'alert') return this.evaluateAlert(group, row, pass, ts, null);
    if (pass) for (const d of this.downstream) d.onRow(row, ts, group.keyStr, null);
    if (plan.emit !== 'CHANGES') return;
    if (this.opts.coalesce) {
      this.notePending();
      this.tableRows.set(group, pass ? row : null);
    } else this.emitTableRow(group, pass ? row : null);
  }

  /** Before a change is queued for flush(): the first one since the last flush is announced. */
  private notePending(): void {
    if (this.dirty.size === 0 && this.tableRows.size === 0) this.opts.onPending();
  }

  /** A table's row as subscribers see it; null retracts it (it fails HAVING, as in ksqlDB). */
  private emitTableRow(group: Group, row: Row | null): void {
    if (row) this.sink.row(this.plan, null, row, group.keyStr, { visible: true, closed: false });
    else this.sink.retract(this.plan, null, keyRow(this.plan, groupKeys(group)), group.keyStr);
  }

  /** Emits pending coalesced changes (live mode; called every flush interval). */
  flush(): void {
    if (this.tableRows.size > 0) {
      const rows = [...this.tableRows];
      this.tableRows.clear();
      for (const [group, row] of rows) this.emitTableRow(group, row);
    }
    // Changed groups with windows due close them first (emitting a due window's last change
    // before its closed row), as closing them at once would have before this flush.
    if (this.dueOf.size > 0) for (const d of [...this.dirty.values()]) this.closeDue(d.group);
    if (this.dirty.size === 0) return;
    const pending = [...this.dirty.values()];
    this.dirty.clear();
    for (const d of pending) {
      d.group.pending = null;
      this.emitChange(d.group, d.start, d.session);
    }
  }

  private emitChange(group: Group, start: number, session: Session | null): void {
    this.snap?.touch(group, group.keyStr);
    const computed = this.compute(group, start, session, false);
    if (!computed) return;
    const { window, row, pass } = computed;
    const plan = this.plan;
    // As ksqlDB's table filter: every update that fails HAVING is a retraction (a tombstone),
    // whether or not a row of that group and window was shown before.
    if (pass) this.sink.row(plan, window, row, group.keyStr, { visible: true, closed: false });
    else this.sink.retract(plan, window, keyRow(plan, groupKeys(group)), group.keyStr);
  }

  /**
   * Computes the row of a group's window. `final` feeds baselines (a closed window); otherwise they
   * are peeked. Returns null when the window has no data.
   */
  private compute(
    group: Group,
    start: number,
    session: Session | null,
    final: boolean,
  ): { window: WindowBounds | null; row: Row; pass: boolean } | null {
    const plan = this.plan;
    const w = plan.window;
    let states: unknown[] | undefined;
    let window: WindowBounds | null = null;
    if (!w) states = getPane(group, 0);
    else if (session) {
      states = session.states;
      window = { start: session.start, end: session.end };
    } else if (w.type === 'SESSION') return null;
    else {
      const bounds = w.type === 'SLIDING' ? slidingWindowFor(start, w) : { start, end: start + w.sizeMs };
      window = bounds;
      if (w.paneMs === w.sizeMs) states = getPane(group, bounds.start);
      else {
        const panes = this.panesOf(group, bounds, w);
        if (panes.length > 1) return this.finish(group, null, window, final, panes);
        states = panes[0];
      }
    }
    if (!states) return null;
    return this.finish(group, states, window, final);
  }

  /** The row of a group's window from its states, or from its panes (`panes`, several, in order). */
  private finish(group: Group, states: unknown[] | null, window: WindowBounds | null, final: boolean, panes: unknown[][] | null = null) {
    const plan = this.plan;
    const env = this.env;
    if (group.keys) env.keys = group.keys;
    else {
      this.oneKey[0] = group.keyStr;
      env.keys = this.oneKey;
    }
    env.aggs = panes ? resultsOfPanes(plan, panes, this.aggOut) : results(plan, states!, this.aggOut);
    env.wstart = window ? window.start : null;
    env.wend = window ? window.end : null;
    if (plan.baselines.length > 0) evalBaselines(plan, (group.detectors ??= createDetectors(plan)), env, window ? window.start : group.lastSeen, final);
    const row = projectRow(plan, env);
    const pass = plan.having ? plan.having(env) === true : true;
    return { window, row, pass };
  }

  /** The panes of one time window that hold data, oldest first. */
  private panesOf(group: Group, bounds: WindowBounds, w: TimeWindowDef): unknown[][] {
    const panes: unknown[][] = [];
    for (let p = Math.max(0, bounds.start); p < bounds.end; p += w.paneMs) {
      const states = getPane(group, p);
      if (states) panes.push(states);
    }
    return panes;
  }

  /** Moves event time forward: closes every window whose end plus grace the watermark reached. */
  advanceTo(watermark: number): void {
    if (watermark <= this.watermark) return;
    const outputBefore = this.outputWatermark();
    this.watermark = watermark;
    const w = this.plan.window;
    if (!w) return;
    if (this.opts.sliceCloses && this.plan.kind === 'view' && w.type !== 'SESSION') {
      while (this.closing.peekPriority() <= watermark) this.queueClose(this.closing.pop() as number, w);
      if (this.due.length > 0) this.heldOutput ??= outputBefore;
      return;
    }
    // Absence is evaluated for tumbling and hopping windows only: a sliding window exists only
    // where events are (ksqlDB), so an empty pane says nothing about its trailing window.
    const absence = this.plan.kind === 'alert' && (w.type === 'TUMBLING' || w.type === 'HOPPING');
    while (this.closing.peekPriority() <= watermark) {
      const item = this.closing.pop()!;
      if (typeof item === 'number') {
        // Empty windows before this one first: a group's evaluations must reach its alert in
        // window order even when one watermark step closes several windows (a burst, a catch-up
        // after restart), or the outcome would depend on how the watermark was batched.
        if (absence) this.evaluateAbsence(w as TimeWindowDef, item - 1);
        this.closeTimeWindow(item, w as TimeWindowDef);
      } else if (!item.session.closed) {
        // Lazy entries: a session extended in place since its entry was pushed is pushed again.
        const due = item.session.end + (w as SessionWindowDef).gapMs + w.graceMs;
        if (due > watermark) this.closing.push(due, item);
        else this.closeSession(item.group, item.session);
      }
    }
    if (absence) this.evaluateAbsence(w as TimeWindowDef, watermark - w.sizeMs - w.graceMs);
  }

  private closeTimeWindow(start: number, w: TimeWindowDef): void {
    this.scheduled.delete(start);
    for (const group of this.groupsOfWindow(start, w)) this.closeGroupWindow(group, start);
    // Panes whose last window this was can no longer change anything: evict them.
    this.evictPanes(evictBefore(start, w), w);
  }

  /** Closes time window `start` of one group: its last change (if pending), then its closed row. */
  private closeGroupWindow(group: Group, start: number): void {
    this.snap?.touch(group, group.keyStr);
    // Pending changes exist only while someone watches the view (undirty() then skips the key).
    if (this.undirty(group, start)) this.emitChange(group, start, null);
    const computed = this.compute(group, start, null, true);
    if (computed) this.emitClosed(group, computed.window, computed.row, computed.pass, start);
    group.absence?.closedWithData.add(start);
  }

  /** Sliced closes: window `start` is due; its groups close in closeSlice(), or at their barrier. */
  private queueClose(start: number, w: TimeWindowDef): void {
    this.scheduled.delete(start);
    const groups = this.groupsOfWindow(start, w);
    for (const g of groups) {
      const starts = this.dueOf.get(g);
      if (starts === undefined) this.dueOf.set(g, [start]);
      else starts.push(start);
    }
    this.due.push({ start, groups, next: 0 });
  }

  /**
   * Whether an event at `ts` lands in a pane one of the group's due windows reads: then they
   * close first. An event for a later window (the rule at a boundary: every group's next event
   * belongs to the next window) leaves them to the slices, so a boundary's closes are spread
   * between batches instead of packed into the ~100 ms in which every group sees its next event.
   */
  private changesDue(group: Group, ts: number): boolean {
    const starts = this.dueOf.get(group);
    if (starts === undefined) return false;
    const w = this.plan.window;
    if (!w || w.type === 'SESSION' || w.type === 'SLIDING') return true;
    let end = -Infinity;
    for (const s of starts) end = Math.max(end, s + w.sizeMs);
    return paneStart(ts, w.paneMs) < end;
  }

  /** The close barrier: closes the group's due windows, oldest first. */
  private closeDue(group: Group): void {
    const starts = this.dueOf.get(group);
    if (starts === undefined) return;
    this.dueOf.delete(group);
    for (const start of starts) this.closeGroupWindow(group, start);
  }

  closesDue(): boolean {
    return this.due.length > 0;
  }

  closeSlice(maxGroups: number): number {
    const w = this.plan.window as TimeWindowDef;
    let done = 0;
    while (this.due.length > 0 && done < maxGroups) {
      const job = this.due[0]!;
      while (job.next < job.groups.length && done < maxGroups) {
        const group = job.groups[job.next++]!;
        done++;
        const starts = this.dueOf.get(group);
        // Not there when the group's barrier closed it already.
        if (starts === undefined || starts[0] !== job.start) continue;
        starts.shift();
        if (starts.length === 0) this.dueOf.delete(group);
        this.closeGroupWindow(group, job.start);
      }
      if (job.next < job.groups.length) break;
      this.due.shift();
      this.evictPanes(evictBefore(job.start, w), w);
    }
    if (this.due.length === 0) this.heldOutput = null;
    return done;
  }

  /**
   * A session closes when the watermark reaches end + gap + grace: from then on no event can
   * extend it (ksqlDB's EMIT FINAL suppression uses the same time).
   */
  private closeSession(group: Group, session: Session): void {
    this.snap?.touch(group, group.keyStr);
    session.closed = true;
    if (this.undirty(group, session.start)) this.emitChange(group, session.start, session);
    const { window, row, pass } = this.finish(group, session.states, { start: session.start, end: session.end }, true);
    group.sessions = group.sessions.filter((s) => s !== session);
    this.emitClosed(group, window, row, pass, session.start);
    this.maybeForget(group);
  }

  private emitClosed(group: Group, window: WindowBounds | null, row: Row, pass: boolean, start: number): void {
    const plan = this.plan;
    if (plan.kind === 'alert') {
      this.evaluateAlert(group, row, pass, window ? window.end : group.lastSeen, window);
      return;
    }
    if (!pass) return;
    this.sink.row(plan, window, row, group.keyStr, { visible: plan.emit === 'FINAL', closed: true });
    if (this.downstream.length) {
      const out = rowWithBounds(plan, row, window?.start ?? null, window?.end ?? null);
      for (const d of this.downstream) d.onRow(out, window ? window.end : start, group.keyStr, null);
    }
  }

  private evaluateAlert(group: Group, row: Row, matched: boolean, at: number, window: WindowBounds | null): void {
    this.opts.alert?.evaluate(this.plan, keyRow(this.plan, groupKeys(group)), row, matched, at, window);
  }

  /**
   * Windowed alerts see absence: a known group with no data in a closed window is evaluated on an
   * empty window (COUNT(*) = 0, other aggregates NULL), so `HAVING COUNT(*) = 0` fires for a
   * source that went silent and other conditions resolve. Evaluates the windows starting at or
   * before `limit` (all closed) that absence has not reached yet.
   */
  private evaluateAbsence(w: TimeWindowDef, limit: number): void {
    if (this.absenceCursor === null) {
      if (this.groups.size === 0) return;
      let first = Infinity;
      for (const g of this.groups.values()) first = Math.min(first, g.absence?.firstSeen ?? g.lastSeen);
      // The first window holding `first`, aligned like windowStartsFor: a cursor off the window
      // grid (size not a multiple of advance) would never meet closedWithData and report every
      // window as empty.
      this.absenceCursor = windowStartsFor(first, w)[0] ?? 0;
    }
    const forget = typeof this.plan.options.forget_after === 'number' ? this.plan.options.forget_after : DEFAULT_FORGET_AFTER_MS;
    const empty = initStates(this.plan);
    for (let n = 0; this.absenceCursor <= limit && n < 10_000; n++, this.absenceCursor += w.advanceMs) {
      const s = this.absenceCursor;
      for (const g of this.groups.values()) {
        if ((g.absence?.firstSeen ?? g.lastSeen) >= s + w.sizeMs || g.lastSeen < s - forget) continue;
        this.snap?.touch(g, g.keyStr);
        if (g.absence?.closedWithData.delete(s)) continue;
        const { row, pass } = this.finish(g, empty, { start: s, end: s + w.sizeMs }, true);
        this.evaluateAlert(g, row, pass, s + w.sizeMs, { start: s, end: s + w.sizeMs });
      }
    }
    for (const [k, g] of this.groups) {
      if (g.lastSeen < limit - forget && paneCount(g) === 0) {
        this.snap?.touch(g, g.keyStr);
        this.groups.delete(k);
      }
    }
  }

  /**
   * The view's current rows, computed on demand (a new subscriber's snapshot): per group, its
   * newest open time window, its open sessions, or its single row. Baselines are peeked.
   */
  currentRows(): Row[] {
    const out: Row[] = [];
    const w = this.plan.window;
    for (const group of this.groups.values()) {
      if (this.dueOf.size > 0) this.closeDue(group);
      if (!group.detectors && this.plan.baselines.length > 0) this.snap?.touch(group, group.keyStr); // peeking creates detectors
      if (w?.type === 'SESSION') {
        for (const s of group.sessions) {
          const c = this.compute(group, s.start, s, false);
          if (c?.pass) out.push(withWindow(c.row, c.window));
        }
        continue;
      }
      let start = 0;
      if (w) {
        start = -Infinity;
        for (const [p] of paneEntries(group)) if (p > start) start = p;
        if (w.type !== 'SLIDING') start = windowStartsFor(start, w).at(-1) ?? start;
      }
      const c = Number.isFinite(start) ? this.compute(group, start, null, false) : null;
      if (c?.pass) out.push(withWindow(c.row, c.window));
    }
    return out;
  }

  /**
   * Begins a snapshot of this query's state as it is now (checkpoints; pending coalesced changes
   * must be flushed first). With `barrier`, groups are serialised before they change, so the
   * snapshot can be finished in steps while events keep coming (snapshot.ts).
   */
  beginSnapshot(barrier: boolean): OpSnapshot {
    if (barrier && this.snap) throw new Error(`query ${this.plan.name}: a snapshot is already in progress`);
    const w = this.plan.window;
    const olderPanes = barrier && w !== null && w.type !== 'SESSION' && w.paneMs < w.sizeMs ? new OlderPanes((g, newest) => this.olderPaneTexts(g, newest)) : null;
    // Behind the write barrier a group's text is not built when it is touched: what the next
    // change can alter is copied (the newest pane's states cloned, or in their checkpoint form
    // where that is the smaller copy; a few numbers), and the text is built by the slices.
    // A group the slices reach untouched is serialised at once, with nothing copied.
    const atCut = (states: unknown[]) => this.statesAtCut(states);
    const serialise = (g: Group, _key: string, touched: boolean): string | (() => string) => {
      if (!barrier || !touched) return this.groupText(g, cutOf(g, null), this.olderPaneTexts(g, g.pane));
      const cut = cutOf(g, atCut);
      if (g.morePanes === null) return () => this.groupText(g, cut, []);
      if (olderPanes !== null) return olderPanes.defer(g, g.pane, (older) => this.groupText(g, cut, older));
      // Sliding windows whose panes all take events: every pane copied like the newest.
      const copies = [...g.morePanes].map(([p, st]) => [p, atCut(st)] as const);
      return () => this.groupText(g, cut, copies.map(([p, st]) => this.paneText(p, st)));
    };
    const head = `{"watermark":${Number.isFinite(this.watermark) ? this.watermark : null},"absenceCursor":${JSON.stringify(this.absenceCursor)},"groups":[`;
    // A checkpoint's snapshot (one at a time per operator) marks the groups it took on the groups
    // themselves; a synchronous one, which may run while a checkpoint's is in progress, keeps a Set.
    const snap = new GroupSnapshot(this.groups, serialise, head, ']}', barrier ? markTaken : null);
    return opSnapshot(
      snap,
      barrier
        ? (x) => {
            this.snap = x;
            this.olderPanes = x && olderPanes;
          }
        : null,
    );
  }

  /**
   * A group's checkpoint text from its cut and its older panes' texts. Empty parts are left out
   * (restore() defaults them): a million groups is a lot of text.
   */
  private groupText(g: Group, cut: GroupCut, olderTexts: readonly string[]): string {
    const o: Record<string, unknown> = {};
    if (cut.sessions) o.sessions = cut.sessions.map((x) => ({ start: x.start, end: x.end, states: this.statesJSON(x.states) }));
    if (cut.det) o.det = cut.det;
    if (cut.cw) o.cw = cut.cw;
    o.f = cut.first;
    if (cut.last !== cut.first) o.l = cut.last;
    o.o = g.ordinal;
    const panes = cut.newestStates === null ? olderTexts : [this.paneText(cut.newest, cut.newestStates), ...olderTexts];
    return `{"k":${JSON.stringify(g.keyStr)}${g.keys ? `,"keys":${JSON.stringify(g.keys)}` : ''}${panes.length > 0 ? `,"panes":[${panes.join(',')}]` : ''},${JSON.stringify(o).slice(1)}`;
  }

  /** The checkpoint text of a group's panes older than `newest`, in the group's order. */
  private olderPaneTexts(g: Group, newest: number): string[] {
    const out: string[] = [];
    if (g.morePanes !== null) for (const [p, st] of g.morePanes) if (p < newest) out.push(this.paneText(p, st));
    return out;
  }

  /**
   * What the write barrier keeps of a pane's or session's states for the checkpoint text, which
   * later changes to them leave alone: a copy, or the checkpoint form itself where that is
   * smaller than a copy (Aggregator.barrierKeepsJSON).
   */
  private statesAtCut(states: unknown[]): unknown[] {
    return this.plan.aggregates.map((a, i) => {
      const agg = a.aggregator;
      return agg.barrierKeepsJSON ? new FrozenState(agg.toJSON(states[i])) : agg.clone(states[i]);
    });
  }

  /** The checkpoint form of one pane's or session's states: one JSON value per aggregate. */
  private statesJSON(states: unknown[]): unknown[] {
    return this.plan.aggregates.map((a, i) => {
      const st = states[i];
      return st instanceof FrozenState ? st.json : a.aggregator.toJSON(st);
    });
  }

  /** One pane's checkpoint text: `[paneStart, [state per aggregate]]`. */
  private paneText(p: number, states: unknown[]): string {
    return `[${p},${JSON.stringify(this.statesJSON(states))}]`;
  }

  /** Restores a snapshot() into this (fresh) operator and rebuilds the window index. */
  restore(json: unknown): void {
    const plan = this.plan;
    const s = json as {
      watermark: number | null;
      absenceCursor: number | null;
      groups: {
        k: string; keys?: Value[]; panes?: [number, unknown[]][];
        sessions?: { start: number; end: number; states: unknown[] }[];
        det?: unknown[] | null; cw?: number[] | null; f: number; l?: number; o?: number;
      }[];
    };
    const de = (states: unknown[]) => plan.aggregates.map((a, i) => a.aggregator.fromJSON(states[i]));
    this.watermark = s.watermark === null ? -Infinity : s.watermark;
    this.absenceCursor = s.absenceCursor;
    const w = plan.window;
    // Groups come in serialisation order (a checkpoint serialises changed groups first); their
    // creation order decides the order of rows closing together, so it is kept.
    const groups = s.groups.every((g) => typeof g.o === 'number') ? [...s.groups].sort((a, b) => a.o! - b.o!) : s.groups;
    for (const g of groups) {
      const group = newGroup(g.k, g.keys ?? [g.k], g.f, this.nextOrdinal++);
      group.lastSeen = g.l ?? g.f;
      if (plan.kind === 'alert' && w) group.absence = { firstSeen: g.f, closedWithData: new Set(g.cw ?? []) };
      group.detectors = g.det ? restoreDetectors(plan, g.det) : null;
      for (const [p, st] of g.panes ?? []) setPane(group, p, de(st));
      this.openPanes += paneCount(group);
      this.groups.set(g.k, group);
      if (g.sessions?.length) group.sessions = []; // not the shared NO_SESSIONS
      for (const ss of g.sessions ?? []) {
        const session: Session = { start: ss.start, end: ss.end, states: de(ss.states), closed: false };
        group.sessions.push(session);
        if (w?.type === 'SESSION') this.closing.push(ss.end + w.gapMs + w.graceMs, { group, session });
      }
      if (!w || w.type === 'SESSION') continue;
      for (const [p] of paneEntries(group)) this.indexPane(p, group, w);
    }
  }

  private maybeForget(group: Group): void {
    if (this.plan.kind === 'alert') return; // alerts remember groups for absence
    if (paneCount(group) === 0 && group.sessions.length === 0 && !group.detectors) this.groups.delete(group.keyStr);
  }
}

/**
 * What of a group its checkpoint text needs besides its older panes and its immutable key and
 * ordinal. With `copy`, partial states are copied (the write barrier: the group is about to change).
 */
interface GroupCut {
  readonly sessions: readonly { readonly start: number; readonly end: number; readonly states: unknown[] }[] | null;
  readonly det: unknown[] | null;
  readonly cw: number[] | null;
  readonly first: number;
  readonly last: number;
  readonly newest: number;
  readonly newestStates: unknown[] | null;
}

/** GroupSnapshot's mark for aggregate groups: the group records the snapshot that took it. */
function markTaken(g: Group, id: number): boolean {
  if (g.snapshot === id) return false;
  g.snapshot = id;
  return true;
}

/** A state's checkpoint form, taken by the write barrier at the cut (AggregateOp.statesAtCut). */
class FrozenState {
  constructor(readonly json: unknown) {}
}

function cutOf(g: Group, copy: ((states: unknown[]) => unknown[]) | null): GroupCut {
  const states = (st: unknown[]) => (copy === null ? st : copy(st));
  return {
    sessions: g.sessions.length > 0 ? g.sessions.map((x) => ({ start: x.start, end: x.end, states: states(x.states) })) : null,
    det: g.detectors ? detectorsToJSON(g.detectors) : null,
    cw: g.absence ? [...g.absence.closedWithData] : null,
    first: g.absence?.firstSeen ?? g.lastSeen,
    last: g.lastSeen,
    newest: g.pane,
    newestStates: g.paneStates === null ? null : states(g.paneStates),
  };
}

/** Panes below this start are in no open window once time window `start` has closed. */
function evictBefore(start: number, w: TimeWindowDef): number {
  return w.type === 'SLIDING' ? start - w.sizeMs + 2 * w.paneMs : start + w.advanceMs;
}

function withWindow(row: Row, window: WindowBounds | null): Row {
  return window ? { ...row, windowstart: window.start, windowend: window.end } : row;
}

/**
 * The older panes of groups touched during a snapshot (AggregateOp.olderPanes): serialised when
 * the slices reach the group, or earlier by barrier() when one of them is about to change.
 */
class OlderPanes {
  /** Groups whose older panes are still as at the cut, with the newest pane's start then. */
  private readonly pending = new Map<Group, number>();
  /** Text of older panes serialised early, by barrier(). */
  private readonly early = new Map<Group, string[]>();

  constructor(private readonly texts: (g: Group, newest: number) => string[]) {}

  /** The group's deferred text: `text` given its older panes' texts, once the slices ask for it. */
  defer(g: Group, newest: number, text: (older: readonly string[]) => string): () => string {
    this.pending.set(g, newest);
    return () => {
      const early = this.early.get(g);
      if (early !== undefined) {
        this.early.delete(g);
        return text(early);
      }
      this.pending.delete(g);
      return text(this.texts(g, newest));
    };
  }

  /** Call before an older pane of `g` changes (or one is created or evicted). */
  barrier(g: Group): void {
    if (this.pending.size === 0) return;
    const newest = this.pending.get(g);
    if (newest === undefined) return;
    this.pending.delete(g);
    this.early.set(g, this.texts(g, newest));
  }
}
