/**
 * Incremental checkpoint snapshots (src/engine/snapshot.ts): a snapshot begun at a cut and
 * finished in small steps while events keep changing groups must hold exactly the state at the
 * cut — the same as a synchronous snapshot taken at that moment — and restore to an engine that
 * continues exactly like one that never stopped.
 */
import { describe, expect, it } from 'vitest';
import { compileText } from '../../src/program.js';
import { Engine } from '../../src/engine/engine.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { STREAM } from './helpers.js';

const SQL = `${STREAM}
  CREATE VIEW tumb AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT CHANGES;
  CREATE VIEW hop AS SELECT k, COUNT(*) AS n, PERCENTILE(v, 0.5) AS med FROM s
    WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT FINAL;
  CREATE VIEW sess AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s
    WINDOW SESSION (3 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT FINAL;
  CREATE VIEW every_kind AS SELECT k, COUNT(*) AS n, COUNT(v) AS nv, COUNT(DISTINCT v) AS d, SUM(v) AS total,
      MIN(v) AS lo, MAX(v) AS hi, AVG(v) AS mean, STDDEV(v) AS sd, VARIANCE(v) AS var, PERCENTILE(v, 0.9) AS p90,
      EARLIEST(v) AS first_v, LATEST(v) AS last_v FROM s
    WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT CHANGES;
  CREATE VIEW zs AS SELECT k, n, ZSCORE(n) AS z FROM tumb;
  CREATE VIEW per_event AS SELECT k, v, ZSCORE(v) AS z FROM s PARTITION BY k;
  CREATE ALERT quiet AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k HAVING COUNT(*) = 0;`;

function engine(sink = new CollectingSink()) {
  const plan = compileText(SQL);
  return { engine: new Engine(plan, sink, { coalesce: true, wantsChanges: () => true }), sink };
}

/** 300 keys; each is active in bursts (so sessions close), times rise with up to 1 s of disorder. */
const EVENTS = Array.from({ length: 6000 }, (_, i) => {
  const key = (i * 7919) % 300;
  const t = 100_000 + i * 40 - ((i * 613) % 1000);
  return { k: `k${key}`, t, v: (i * 31) % 17, id: null, active: Math.floor(t / 7000 + key) % 3 !== 0 };
}).filter((e) => e.active);
const CUT = Math.floor(EVENTS.length / 2);

/** Feeds events, moving the watermark as replay does; `between` runs after each event. */
function feed(e: Engine, events: typeof EVENTS, between: (i: number) => void = () => {}): void {
  let wm = e.watermark('s');
  events.forEach((ev, i) => {
    e.process('s', { k: ev.k, t: ev.t, v: ev.v, id: null }, ev.t);
    if (ev.t - 1000 > wm) e.advance('s', (wm = ev.t - 1000));
    between(i);
  });
}

/** Snapshot chunks with each query's groups in key order (serialisation order may differ). */
function normalise(chunks: string[]): unknown[] {
  return chunks.map((c) => {
    const x = JSON.parse(c) as { kind: string; state?: { groups?: { k: string }[] } };
    if (x.kind === 'query' && x.state?.groups) x.state.groups.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    return x;
  });
}

/** Two engines fed the events before the cut, and the reference's synchronous snapshot there. */
function twoAtTheCut() {
  const reference = engine();
  const live = engine();
  feed(reference.engine, EVENTS.slice(0, CUT));
  feed(live.engine, EVENTS.slice(0, CUT));
  return { reference, live, atCut: reference.engine.snapshot() };
}

describe('incremental snapshots', () => {
  it('hold the state at the cut while events keep changing groups, and restore exactly', () => {
    const { reference, live, atCut } = twoAtTheCut();

    const snap = live.engine.beginSnapshot();
    let steps = 0;
    let finishedAt = -1;
    feed(live.engine, EVENTS.slice(CUT), (i) => {
      if (i % 50 === 0) live.engine.flush();
      if (i % 500 === 0) live.engine.currentRows('tumb');
      if (finishedAt < 0 && (steps++, snap.step(3))) finishedAt = i;
    });
    while (!snap.step(3)) steps++;
    const incremental = snap.chunks().map((pieces) => pieces.join(''));

    // The snapshot really was spread over many events, and groups changed meanwhile.
    expect(steps).toBeGreaterThan(100);
    expect(finishedAt === -1 || finishedAt > 100).toBe(true);
    expect(normalise(incremental)).toEqual(normalise(atCut));

    // Restored, it continues exactly like the engine that never stopped.
    const restored = engine();
    restored.engine.restore(incremental);
    const tailStart = reference.sink.out.length;
    feed(reference.engine, EVENTS.slice(CUT));
    feed(restored.engine, EVENTS.slice(CUT));
    reference.engine.flush();
    restored.engine.flush();
    const tail = reference.sink.out.slice(tailStart);
    expect(tail.filter((o) => o.kind === 'row' && o.closed).length).toBeGreaterThan(500);
    expect(restored.sink.out).toEqual(tail);
  });

  it('hold the state at the cut for groups touched before any step, for every aggregate kind', () => {
    const { live, atCut } = twoAtTheCut();
    const snap = live.engine.beginSnapshot();
    // Every group is touched (by the write barrier) before any step and changed right after:
    // what is written must still be the cut's state.
    const order = [...new Set(EVENTS.slice(0, CUT).map((e) => e.k))];
    let t = EVENTS[CUT - 1]!.t;
    for (const k of order) live.engine.process('s', { k, t, v: 1000 + t++, id: null }, t);
    while (!snap.step(7));
    const touched = snap.chunks().map((pieces) => pieces.join(''));
    const queries = (chunks: string[]) => chunks.filter((c) => c.startsWith('{"kind":"query"'));
    expect(queries(touched).length).toBeGreaterThan(4);
    expect(normalise(queries(touched))).toEqual(normalise(queries(atCut)));
  });

  it('hold the cut state of older panes that late events change after the group was touched', () => {
    const { live, atCut } = twoAtTheCut();
    const snap = live.engine.beginSnapshot();
    // Touch every group with an event in its newest pane (the barrier serialises that pane at
    // once and defers the older ones of the hopping views), then change the older panes with
    // events in panes that were already older at the cut (each key's earlier events, in windows
    // still open): the deferred text must still be the cut's.
    const before = EVENTS.slice(0, CUT);
    const newestPane = new Map(before.map((e) => [e.k, Math.floor(e.t / 5000)]));
    const open = live.engine.watermark('s') - 17_000;
    const older = before.filter((e) => e.t > open && Math.floor(e.t / 5000) < newestPane.get(e.k)!);
    expect(older.length).toBeGreaterThan(5);
    const t = before.at(-1)!.t + 10_000;
    for (const k of newestPane.keys()) live.engine.process('s', { k, t, v: 1000, id: null }, t);
    for (const e of older) live.engine.process('s', { k: e.k, t: e.t, v: 2000, id: null }, e.t);
    while (!snap.step(7));
    const touched = snap.chunks().map((pieces) => pieces.join(''));
    const queries = (chunks: string[]) => chunks.filter((c) => c.startsWith('{"kind":"query"'));
    expect(normalise(queries(touched))).toEqual(normalise(queries(atCut)));
    // The late events did land in older panes (they changed the state after the cut).
    expect(normalise(queries(live.engine.snapshot()))).not.toEqual(normalise(queries(atCut)));
  });

  it('would be wrong without the write barrier (the test above can fail)', () => {
    const { live, atCut } = twoAtTheCut();
    live.engine.flush();
    // Snapshots of the operators without their barrier, stepped while events change groups.
    const parts = [...live.engine.ops.values()].map((op) => op.beginSnapshot(false));
    feed(live.engine, EVENTS.slice(CUT), () => parts.forEach((p) => p.step(3)));
    parts.forEach((p) => p.step(Number.POSITIVE_INFINITY));
    const queries = normalise(atCut).filter((c) => (c as { kind: string }).kind === 'query');
    const unguarded = parts.map((p) => ({ groups: (JSON.parse(p.text().join('')) as { groups: { k: string }[] }).groups }));
    const states = queries.map((q) => ({ groups: (q as { state: { groups: unknown[] } }).state.groups }));
    expect(normalise(unguarded.map((u) => JSON.stringify({ kind: 'query', state: u })))).not.toEqual(
      normalise(states.map((u) => JSON.stringify({ kind: 'query', state: u }))),
    );
  });

  it('are not disturbed by a synchronous snapshot (a reload) taken while one is in progress', () => {
    const { live, atCut } = twoAtTheCut();
    const snap = live.engine.beginSnapshot();
    const rest = EVENTS.slice(CUT);
    const half = Math.floor(rest.length / 2);
    feed(live.engine, rest.slice(0, half), (i) => i % 8 === 0 && snap.step(1));
    // A reload's snapshot of the state now, taken in the middle of the checkpoint's.
    expect(snap.step(0)).toBe(false);
    const reload = live.engine.snapshot();
    const reference = engine();
    feed(reference.engine, EVENTS.slice(0, CUT + half));
    const middle = reference.engine.snapshot();
    feed(live.engine, rest.slice(half), () => snap.step(3));
    while (!snap.step(3));
    expect(normalise(snap.chunks().map((p) => p.join('')))).toEqual(normalise(atCut));
    expect(normalise(reload)).toEqual(normalise(middle));
  });

  it('allows one snapshot in progress; abort() switches the barrier off', () => {
    const { engine: e } = engine();
    feed(e, EVENTS.slice(0, 100));
    const first = e.beginSnapshot();
    expect(() => e.beginSnapshot()).toThrow(/already in progress/);
    first.abort();
    const second = e.beginSnapshot();
    while (!second.step(10));
    expect(normalise(second.chunks().map((p) => p.join('')))).toEqual(normalise(e.snapshot()));
    expect(() => e.beginSnapshot().abort()).not.toThrow();
  });
});
