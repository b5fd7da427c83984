/**
 * The live watermark with the engine: per partition the largest event time, for the stream the
 * smallest over partitions that are not idle. A quiet partition holds windows open until it is
 * declared idle; then they close.
 */
import { describe, expect, it } from 'vitest';
import { WatermarkTracker } from '../../src/ingest/watermark.js';
import { compileText } from '../../src/program.js';
import { Engine } from '../../src/engine/engine.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { STREAM } from './helpers.js';

describe('watermarks over partitions', () => {
  it('a quiet partition holds windows open until it is idle', () => {
    const program = compileText(`${STREAM}
      CREATE VIEW f AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;`);
    const sink = new CollectingSink();
    const engine = new Engine(program, sink, { coalesce: false });
    const wm = new WatermarkTracker({ idleMs: 30_000 });
    let wall = 1_000_000;
    wm.assign([0, 1], wall);
    const event = (partition: number, tSec: number) => {
      engine.process('s', { k: `p${partition}`, t: tSec * 1000, v: 1, id: null }, tSec * 1000);
      wm.observe(partition, tSec * 1000, wall);
      engine.advance('s', wm.current());
    };
    const finals = () => sink.out.filter((o) => o.kind === 'row').map((o) => (o.kind === 'row' ? `${o.row.k}:${o.row.n}` : ''));

    event(0, 1);
    event(1, 2);
    event(0, 15); // partition 1 is still at 2 s: [0, 10) stays open
    expect(finals()).toEqual([]);
    event(1, 3); // in time: partition 1 is behind, not late
    event(1, 12); // now both passed 10 s
    expect(finals()).toEqual(['p0:1', 'p1:2']);

    // Partition 1 goes quiet; partition 0 moves on. Nothing closes until partition 1 is idle.
    event(0, 25);
    wall += 20_000;
    event(0, 26);
    expect(finals()).toHaveLength(2);
    wall += 11_000; // partition 1 quiet for 31 s: idle; partition 0 (quiet 11 s) now leads alone
    engine.advance('s', wm.tick(wall));
    expect(finals()).toEqual(['p0:1', 'p1:2', 'p0:1', 'p1:1']);
    // When every partition is idle, the watermark follows wall time, so the last window closes.
    wall += 40_000;
    engine.advance('s', wm.tick(wall));
    expect(finals()).toEqual(['p0:1', 'p1:2', 'p0:1', 'p1:1', 'p0:2']);
  });
});
