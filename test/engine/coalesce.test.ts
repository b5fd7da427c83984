/**
 * Live mode coalesces EMIT CHANGES rows per group and window until flush(); replay emits every
 * change. Whatever the flush cadence, the state a subscriber ends up with (the last row per group
 * and window, or none after a retraction) must equal replay's.
 */
import { describe, expect, it } from 'vitest';
import { compileText } from '../../src/program.js';
import { Engine } from '../../src/engine/engine.js';
import { CollectingSink, type EngineOutput } from '../../src/engine/sink.js';
import { prng } from '../../src/prng.js';
import { STREAM } from './helpers.js';

const VIEWS = {
  tumbling: `CREATE VIEW v AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k HAVING SUM(v) > 3;`,
  hopping: `CREATE VIEW v AS SELECT k, COUNT(*) AS n, MAX(v) AS m FROM s WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY k;`,
  // The advance does not divide the size: panes are 2 seconds, the gcd.
  hopping_uneven: `CREATE VIEW v AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 4 SECONDS) GROUP BY k;`,
  session: `CREATE VIEW v AS SELECT k, COUNT(*) AS n FROM s WINDOW SESSION (4 SECONDS) GROUP BY k;`,
  // For these two only closed windows must agree: an open window's row is a snapshot taken when it
  // is pushed. A sliding window's row is not re-emitted when an out-of-order event lands in an
  // earlier pane, so a later flush shows a fresher value; a baseline is peeked against the windows
  // closed so far, so a later flush scores against a newer baseline.
  sliding: `CREATE VIEW v AS SELECT k, COUNT(*) AS n, AVG(v) AS a FROM s WINDOW SLIDING (SIZE 6 SECONDS, GRACE PERIOD 1 SECOND) GROUP BY k;`,
  zscore: `CREATE VIEW v AS SELECT k, AVG(v) AS a, ZSCORE(AVG(v)) AS z FROM s WINDOW TUMBLING (SIZE 2 SECONDS) GROUP BY k;`,
  unwindowed: `CREATE VIEW v AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM s GROUP BY k HAVING COUNT(*) > 2;`,
};

function engine(view: string, coalesce: boolean) {
  const sink = new CollectingSink();
  const e = new Engine(compileText(`${STREAM}\n${view}`), sink, { coalesce });
  return { e, sink };
}

/** What a subscriber shows at the end: the last visible row per group and window start. */
function screen(out: readonly EngineOutput[]): Map<string, unknown> {
  const shown = new Map<string, unknown>();
  for (const o of out) {
    if (o.kind === 'row' && o.visible) shown.set(`${o.key}|${o.window?.start ?? ''}`, o.row);
    if (o.kind === 'retract') shown.delete(`${o.key}|${o.window?.start ?? ''}`);
  }
  return shown;
}

describe('coalesced EMIT CHANGES', () => {
  for (const [name, view] of Object.entries(VIEWS)) {
    it(`ends where replay ends (${name})`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const rnd = prng(seed);
        const events = Array.from({ length: 400 }, (_, i) => ({ k: `g${Math.floor(rnd() * 4)}`, t: i * 300 + Math.floor(rnd() * 2000), v: Math.floor(rnd() * 5), id: null }));
        const replay = engine(view, false);
        const live = engine(view, true);
        let wm = -Infinity;
        events.forEach((ev, i) => {
          wm = Math.max(wm, ev.t);
          for (const x of [replay, live]) {
            x.e.process('s', ev, ev.t);
            x.e.advance('s', wm);
          }
          if (rnd() < 0.2 || i === events.length - 1) live.e.flush();
        });
        if (name !== 'sliding' && name !== 'zscore') expect(screen(live.sink.out)).toEqual(screen(replay.sink.out));
        // Closed windows are the same rows, in the same order.
        const closed = (out: readonly EngineOutput[]) => out.filter((o) => o.kind === 'row' && o.closed).map((o) => (o.kind === 'row' ? o.row : null));
        expect(closed(live.sink.out)).toEqual(closed(replay.sink.out));
      }
    });
  }
});

describe('onPending: the engine says when changes start waiting for flush()', () => {
  for (const name of ['tumbling', 'hopping', 'session', 'unwindowed'] as const) {
    it(`once per flush, and only when there is something to flush (${name})`, () => {
      let calls = 0;
      const sink = new CollectingSink();
      const e = new Engine(compileText(`${STREAM}\n${VIEWS[name]}`), sink, { coalesce: true, onPending: () => calls++ });
      const rows = () => sink.out.filter((o) => o.kind === 'row' && !o.closed).length;
      e.flush();
      expect(calls).toBe(0);
      for (let i = 0; i < 5; i++) e.process('s', { k: `g${i % 2}`, t: 1000 + i, v: 4, id: null }, 1000 + i);
      expect(calls).toBe(1);
      expect(rows()).toBe(0);
      e.flush();
      expect(rows()).toBeGreaterThan(0);
      e.process('s', { k: 'g0', t: 1010, v: 4, id: null }, 1010);
      expect(calls).toBe(2);
      e.flush();
      e.flush();
      expect(calls).toBe(2);
    });
  }
});
