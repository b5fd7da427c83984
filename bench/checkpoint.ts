/**
 * bench:checkpoint — what a checkpoint costs the hot path with 1,000,000 open groups (a 1-minute
 * tumbling COUNT/AVG view, every group with data in the open window) plus a deduper holding
 * 1,000,000 event ids, as `seismo run` holds them.
 *
 * - baseline: JSON.stringify of 1M small objects one by one, measured in the same run;
 * - before: engine.snapshot(), the synchronous serialisation a checkpoint did until now (the
 *   whole of it was a pause of the hot path);
 * - after: the checkpoint as app.ts runs it (src/checkpoint-slices.ts): the cut (synchronous), then
 *   slices of ~10 ms of serialisation with the event loop free between them, while batches of
 *   5,000 events touch random groups meanwhile (so the write barrier works); pause_ms is the
 *   longest synchronous stretch of checkpoint work, i.e. the longest the hot path waits, and the
 *   batch times show what the barrier adds to the batches themselves;
 * - commit: store.commitCheckpoint of that state into a temporary DuckDB file, and the longest
 *   event-loop stall during it (measured with a setImmediate ticker).
 *
 * Prints one JSON line. BENCH_GROUPS overrides the number of groups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileText } from '../src/program.js';
import { Engine } from '../src/engine/engine.js';
import { countingSink } from './counting-sink.js';
import { Deduper } from '../src/ingest/dedupe.js';
import { openStore } from '../src/sinks/store.js';
import { checkpointPieces, runInSlices } from '../src/checkpoint-slices.js';

const GROUPS = Number(process.env.BENCH_GROUPS ?? 1_000_000);
const BATCH = 5_000;
const SLICE_MS = 10; // as in app.ts
/** Commits after the first, timed without the stall ticker (which would spin the main thread). */
const STEADY_COMMITS = Number(process.env.BENCH_COMMITS ?? 4);
const T0 = Date.UTC(2026, 10, 24);

const SQL = `
CREATE STREAM m (event_id VARCHAR, event_time BIGINT, host VARCHAR, value DOUBLE)
  WITH (kafka_topic = 'm', timestamp = 'event_time', event_id = 'event_id');
CREATE VIEW t1 WITH (max_groups = ${GROUPS * 2}) AS
  SELECT host, COUNT(*) AS n, AVG(value) AS mean FROM m WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;
`;

const sink = countingSink();

function build(): Engine {
  const plan = compileText(SQL, 'bench.sql');
  return new Engine(plan, sink, { coalesce: true, wantsChanges: () => false });
}

/** One event of group g (event times inside the first minute, so no window closes). */
function feed(engine: Engine, g: number, i: number): void {
  engine.process('m', { event_id: `e-${i}`, event_time: T0 + (i % 50_000), host: `host-${g}`, value: (i * 31) % 977 }, T0 + (i % 50_000));
}

const ms = (t: number) => Math.round((performance.now() - t) * 10) / 10;
const round = (x: number) => Math.round(x * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  // Baseline: stringify 1M small objects, one call each.
  const small = Array.from({ length: GROUPS }, (_, i) => ({ k: `host-${i}`, n: i, s: i * 1.5 }));
  let t = performance.now();
  let baselineChars = 0;
  for (const o of small) baselineChars += JSON.stringify(o).length;
  const baselineMs = ms(t);
  small.length = 0;

  const engine = build();
  const dedupe = new Deduper({ maxIds: GROUPS, horizonMs: 3_600_000 });
  let seq = 0;
  for (let round = 0; round < 2; round++) {
    for (let g = 0; g < GROUPS; g++) {
      dedupe.isDuplicate(`e-${seq}`, T0);
      feed(engine, g, seq++);
    }
  }
  engine.advance('m', T0);

  // Before: the synchronous snapshot (the whole of it stalled the hot path).
  t = performance.now();
  const before = engine.snapshot();
  const beforeMs = ms(t);
  const beforeChars = before.reduce((n, c) => n + c.length, 0);
  before.length = 0;

  // A batch of events outside any checkpoint, for comparison with batches during one.
  let rnd = 12345;
  const nextGroup = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) % GROUPS;
  const batch = () => {
    const b = performance.now();
    for (let i = 0; i < BATCH; i++) feed(engine, nextGroup(), seq++);
    return performance.now() - b;
  };
  let batchQuiet = 0;
  for (let i = 0; i < 5; i++) batchQuiet = Math.max(batchQuiet, batch());

  // After: the cut, then slices with batches in between, as app.ts does.
  const started = performance.now();
  const meta = { positions: [], dedupe: [['m', dedupe.cut()] as const], watermarks: [] };
  const snap = engine.beginSnapshot();
  const cutMs = ms(started);
  const during: number[] = [];
  let feeding = true;
  const feeder = () => {
    if (!feeding) return;
    during.push(batch());
    setImmediate(feeder);
  };
  setImmediate(feeder);
  const pieces: string[] = [];
  const { longestMs, slices } = await runInSlices(checkpointPieces(meta, snap, pieces), SLICE_MS, () => performance.now());
  feeding = false;
  const serialiseMs = ms(started);
  const pause = Math.max(cutMs, longestMs);
  const stateChars = pieces.reduce((n, p) => n + p.length, 0);
  during.sort((a, b) => a - b);

  // Commit into a real DuckDB file, watching the event loop meanwhile.
  const dir = mkdtempSync(join(tmpdir(), 'seismo-bench-cp-'));
  const store = await openStore(join(dir, 'bench.duckdb'), { log: () => {} });
  let stall = 0;
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  t = performance.now();
  await store.commitCheckpoint({ viewRows: new Map(), alerts: [], state: pieces, offsets: [{ topic: 'm', partition: 0, offset: String(seq) }] });
  const commitMs = ms(t);
  ticking = false;
  // Then steady state: further commits (pruning to the newest three) with nothing else running,
  // for their wall time and the CPU of all the process's threads (DuckDB works in its own).
  const steady: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < STEADY_COMMITS; i++) {
    const cpu0 = process.cpuUsage();
    t = performance.now();
    await store.commitCheckpoint({ viewRows: new Map(), alerts: [], state: pieces, offsets: [{ topic: 'm', partition: 0, offset: String(seq) }] });
    const cpu = process.cpuUsage(cpu0);
    steady.push({ wall: ms(t), cpu: round((cpu.user + cpu.system) / 1000) });
  }
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const out = {
    bench: 'checkpoint',
    groups: GROUPS,
    dedupe_ids: dedupe.size,
    state_bytes: stateChars,
    baseline_stringify_1m_ms: baselineMs,
    baseline_chars: baselineChars,
    before_snapshot_ms: beforeMs,
    before_state_bytes: beforeChars,
    snapshot_ms: serialiseMs,
    cut_ms: cutMs,
    pause_ms: round(pause),
    slices,
    batch_ms_quiet: round(batchQuiet),
    batches_during: during.length,
    batch_ms_during_median: round(during[Math.floor(during.length / 2)] ?? 0),
    batch_ms_during_max: round(during[during.length - 1] ?? 0),
    commit_ms: commitMs,
    commit_stall_ms: round(stall),
    commit_steady_ms_median: median(steady.map((c) => c.wall)),
    commit_steady_cpu_ms_median: median(steady.map((c) => c.cpu)),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
