import { describe, expect, it } from 'vitest';
import { compileText } from '../../src/program.js';
import { Engine } from '../../src/engine/engine.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { STREAM } from './helpers.js';

function engineFor(sql: string, sink = new CollectingSink()) {
  return { engine: new Engine(compileText(sql), sink, { coalesce: false }), sink };
}

const KEEP = `CREATE VIEW keep AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k EMIT FINAL;`;

describe('snapshot and restore (checkpoints and reloads)', () => {
  it('keeps the state of unchanged queries and drops changed ones', () => {
    const before = engineFor(`${STREAM}\n${KEEP}\nCREATE VIEW changed AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k EMIT FINAL;`);
    for (const t of [1000, 2000, 3000]) before.engine.process('s', { k: 'a', t, v: 1, id: null }, t);
    before.engine.advance('s', 3000);

    const after = engineFor(`${STREAM}\n${KEEP}\nCREATE VIEW changed AS SELECT k, SUM(v) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k EMIT FINAL;`);
    const { restored, dropped } = after.engine.restore(before.engine.snapshot());
    expect(restored).toEqual(['keep']);
    expect(dropped).toContain('changed');

    after.engine.process('s', { k: 'a', t: 4000, v: 5, id: null }, 4000);
    after.engine.advance('s', 20_000);
    const rows = after.sink.out.filter((o) => o.kind === 'row').map((o) => (o.kind === 'row' ? [o.view, o.row.n] : []));
    expect(rows).toEqual([
      ['keep', 4],
      ['changed', 5],
    ]);
  });

  it('round-trips sessions, hopping panes and baselines exactly', () => {
    const sql = `${STREAM}
      CREATE VIEW hop AS SELECT k, COUNT(*) AS n, PERCENTILE(v, 0.5) AS med FROM s
        WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY k EMIT FINAL;
      CREATE VIEW sess AS SELECT k, COUNT(*) AS n FROM s WINDOW SESSION (5 SECONDS) GROUP BY k EMIT FINAL;
      CREATE VIEW z AS SELECT k, v, ZSCORE(v) AS z FROM s PARTITION BY k;`;
    const events = Array.from({ length: 400 }, (_, i) => ({ k: `g${i % 3}`, t: i * 700 + ((i * 37) % 900), v: (i * 13) % 29, id: null }));
    const whole = engineFor(sql);
    const first = engineFor(sql);
    let wm = -Infinity;
    events.forEach((e, i) => {
      for (const x of i < 200 ? [whole, first] : [whole]) x.engine.process('s', e, e.t);
      wm = Math.max(wm, e.t);
      for (const x of i < 200 ? [whole, first] : [whole]) x.engine.advance('s', wm);
    });
    const second = engineFor(sql);
    second.engine.restore(first.engine.snapshot());
    wm = -Infinity;
    events.forEach((e, i) => {
      wm = Math.max(wm, e.t);
      if (i < 200) return;
      second.engine.process('s', e, e.t);
      second.engine.advance('s', wm);
    });
    const tail = whole.sink.out.slice(whole.sink.out.length - second.sink.out.length);
    expect(second.sink.out.length).toBeGreaterThan(100);
    expect(second.sink.out).toEqual(tail);
  });
});
