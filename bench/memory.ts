/**
 * bench:memory — heap and RSS per active series, fed straight through the Engine (no Kafka).
 *
 * Per size (100,000 and 1,000,000 series, BENCH_MEMORY_SIZES to override) and per query set:
 * - `view`: a 1-minute tumbling COUNT/AVG view per series;
 * - `view_zscore`: the same view plus an alert reading it with ZSCORE(avg) (a baseline per series).
 * Every series gets one event in window 1, the watermark closes window 1 (so the view's closed rows
 * reach the alert and create its per-series baseline), then one event in window 2, which stays
 * open. Measured: (heap after − heap before) / series, after global.gc(), in the same process.
 * Compared in the same run with a hand-written floor: a Map from the series key to a two-number
 * object (what one open COUNT/AVG per series needs at least in plain JS).
 *
 * Run with `node --expose-gc` (npm run bench:memory does). Prints one JSON line.
 */
import { compileText } from '../src/program.js';
import { Engine } from '../src/engine/engine.js';
import { countingSink } from './counting-sink.js';
import type { Row } from '../src/types.js';

const SIZES = (process.env.BENCH_MEMORY_SIZES ?? '100000,1000000').split(',').map(Number);
/** The per-series target (docs/performance.md). */
const TARGET_BYTES = 600;
const T0 = Date.UTC(2026, 0, 1);

const STREAM = `CREATE STREAM m (series VARCHAR, event_time BIGINT, value DOUBLE) WITH (kafka_topic = 'm', timestamp = 'event_time');`;
const VIEW = `CREATE VIEW v WITH (max_groups = 10000000) AS
  SELECT series, COUNT(*) AS n, AVG(value) AS avg_v FROM m WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY series;`;
const ALERT = `CREATE ALERT z AS SELECT series, avg_v, ZSCORE(avg_v) AS z FROM v HAVING ZSCORE(avg_v) > 4;`;

const gc = (globalThis as { gc?: () => void }).gc;

/** Discards everything: only the engine's own state is measured. */
const sink = countingSink();

function engineFor(sql: string): Engine {
  const program = compileText(sql, 'memory.sql');
  return new Engine(program, sink, { coalesce: true, wantsChanges: () => false });
}

function settle(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Bytes per series that `build`'s result holds, while it is alive; dropped afterwards. */
function measure(series: number, build: () => unknown): { heap: number; rss: number } {
  const before = settle();
  let keep: unknown = build();
  const after = settle();
  if (keep === undefined) throw new Error('nothing built');
  keep = null;
  return { heap: (after.heap - before.heap) / series, rss: (after.rss - before.rss) / series };
}

/** Two windows per series; window 1 closed (baselines fed), window 2 open. */
function feed(engine: Engine, series: number): Engine {
  const view = engine.ops.get('v') as unknown as { groups: Map<string, unknown> };
  const row = (i: number, t: number): Row => ({ series: `s-${i}`, event_time: t, value: 10 + (i % 97) });
  for (let i = 0; i < series; i++) engine.process('m', row(i, T0 + 1_000), T0 + 1_000);
  engine.advance('m', T0 + 60_000 + 5_000); // end of window 1 + default grace: closes it
  for (let i = 0; i < series; i++) engine.process('m', row(i, T0 + 61_000), T0 + 61_000);
  engine.advance('m', T0 + 62_000);
  if (view.groups.size !== series) throw new Error(`expected ${series} groups, got ${view.groups.size}`);
  const alert = engine.ops.get('z') as unknown as { groups: Map<string, unknown> } | undefined;
  if (alert && (alert.groups.size !== series || alert.groups.values().next().value === undefined)) {
    throw new Error(`expected ${series} baselines, got ${alert.groups.size}`);
  }
  return engine;
}

/** The floor: one plain object of two numbers per series in a Map keyed by the series name. */
function floor(series: number): Map<string, { n: number; sum: number }> {
  const m = new Map<string, { n: number; sum: number }>();
  for (let i = 0; i < series; i++) m.set(`s-${i}`, { n: 1, sum: 10 + (i % 97) });
  return m;
}

function main(): void {
  if (!gc) {
    console.error('bench:memory: run node with --expose-gc (npm run bench:memory does)');
    process.exitCode = 1;
    return;
  }
  const result: Record<string, unknown> = { bench: 'memory', target_heap_bytes_per_series: TARGET_BYTES };
  for (const n of SIZES) {
    const tag = n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
    const base = measure(n, () => floor(n));
    const view = measure(n, () => feed(engineFor(`${STREAM}\n${VIEW}`), n));
    const zscore = measure(n, () => feed(engineFor(`${STREAM}\n${VIEW}\n${ALERT}`), n));
    result[`floor_heap_bytes_per_series_${tag}`] = Math.round(base.heap);
    result[`view_heap_bytes_per_series_${tag}`] = Math.round(view.heap);
    result[`view_zscore_heap_bytes_per_series_${tag}`] = Math.round(zscore.heap);
    result[`view_zscore_rss_bytes_per_series_${tag}`] = Math.round(zscore.rss);
    result[`ratio_view_zscore_floor_${tag}`] = Number((zscore.heap / base.heap).toFixed(2));
  }
  console.log(JSON.stringify(result));
}

main();
