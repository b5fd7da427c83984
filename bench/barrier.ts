/**
 * bench:barrier — what a checkpoint's write barrier costs the hot path. The views of bench:e2e (a
 * 10-second tumbling COUNT/AVG and a 1-minute/10-second hopping PERCENTILE per series) hold
 * 10,000 series after 65 s of events at 70,000 a second. Then, several times:
 *
 * - baseline: one event for every series with no snapshot in progress;
 * - touched: a snapshot begins (the cut) and the same events follow, each the first change to
 *   its group since the cut, so the write barrier keeps every group's newest pane first;
 * - slices: the snapshot is then finished in steps, as app.ts does between batches.
 *
 * Prints one JSON line: medians in ms, the ratio touched / baseline (what the barrier adds to
 * those events), and the heap the touched events left behind (before any GC).
 * BENCH_SERIES overrides the number of series.
 */
import { compileText } from '../src/program.js';
import { Engine } from '../src/engine/engine.js';
import { countingSink } from './counting-sink.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const RATE = 70_000;
const ROUNDS = 8;
const T0 = Date.UTC(2026, 10, 24);

const SQL = `
CREATE STREAM metrics (event_id VARCHAR, event_time BIGINT, name VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>)
  WITH (kafka_topic = 'metrics', timestamp = 'event_time');
CREATE VIEW rate AS SELECT labels['series'] AS series, COUNT(*) AS requests, AVG(value) AS avg_ms FROM metrics
  WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY labels['series'] EMIT CHANGES;
CREATE VIEW latency AS SELECT labels['series'] AS series, PERCENTILE(value, 0.99) AS p99_ms FROM metrics
  WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY labels['series'] EMIT CHANGES;
`;

const engine = new Engine(compileText(SQL, 'bench.sql'), countingSink(), { coalesce: true, wantsChanges: () => false });
const labels = Array.from({ length: SERIES }, (_, i) => ({ series: `s${i}` }));
let now = T0;
let seq = 0;

/** One event of series s at time ts, with bench:e2e's values (20–160 ms: ~100 bins a sketch). */
function event(s: number, ts: number): void {
  const value = 20 + ((seq++ * 31) % 977) / 7;
  engine.process('metrics', { name: 'http', value, labels: labels[s]!, event_time: ts }, ts);
}

function feedSeconds(seconds: number): void {
  for (let sec = 0; sec < seconds; sec++) {
    for (let i = 0; i < RATE; i++) event(seq % SERIES, now + Math.floor((i * 1000) / RATE));
    now += 1000;
    engine.advance('metrics', now - 1000);
    engine.flush();
  }
}

/** One event for every series (inside the open panes), timed. */
function everySeries(): number {
  const t = performance.now();
  for (let s = 0; s < SERIES; s++) event(s, now - 500);
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number) => Math.round(x * 10) / 10;

feedSeconds(65);
const baseline: number[] = [];
const touched: number[] = [];
const slices: number[] = [];
const heap: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  baseline.push(everySeries());
  const heapBefore = process.memoryUsage().heapUsed;
  const snap = engine.beginSnapshot();
  touched.push(everySeries());
  heap.push((process.memoryUsage().heapUsed - heapBefore) / 1e6);
  const t = performance.now();
  while (!snap.step(100));
  snap.chunks();
  slices.push(performance.now() - t);
  feedSeconds(1);
}
process.stdout.write(
  `${JSON.stringify({
    bench: 'barrier',
    series: SERIES,
    baseline_ms: round(median(baseline)),
    touched_ms: round(median(touched)),
    ratio_touched_baseline: round(median(touched) / median(baseline)),
    slices_ms: round(median(slices)),
    heap_mb_after_touched: round(median(heap)),
  })}\n`,
);
