/**
 * Aggregate hot-path benchmark: adds per second for every aggregate kind, called through the
 * Aggregator interface the way the engine calls it (1,024 group states round-robin), against a bare
 * loop summing the same numbers in the same run. Also measures bytes per state (heap plus array
 * buffers over many states). Prints one JSON line.
 *
 * Run: npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/aggregate.js
 */
import {
  makeAggregator,
  type AggregateKind,
  type AggregateOptions,
  type Aggregator,
} from '../src/window/aggregate.js';
import type { Value } from '../src/types.js';
import { prng } from '../src/prng.js';

const N = 4_000_000;
const GROUPS = 1024;


const rand = prng(1);
/** Latency-like doubles: lognormal around 20 ms. */
const numbers: number[] = Array.from({ length: N }, () => Math.exp(3 + (rand() + rand() + rand() - 1.5)));
/** Identifiers drawn from 100k users, for COUNT(DISTINCT). */
const users: string[] = Array.from({ length: N }, () => `user-${Math.floor(rand() * 100_000)}`);

const kinds: Array<[string, AggregateKind, AggregateOptions | undefined, readonly Value[]]> = [
  ['COUNT_STAR', 'COUNT_STAR', undefined, numbers],
  ['COUNT', 'COUNT', undefined, numbers],
  ['SUM', 'SUM', undefined, numbers],
  ['SUM_INTEGER', 'SUM', { integer: true }, numbers],
  ['AVG', 'AVG', undefined, numbers],
  ['MIN', 'MIN', undefined, numbers],
  ['MAX', 'MAX', undefined, numbers],
  ['STDDEV', 'STDDEV', undefined, numbers],
  ['VARIANCE', 'VARIANCE', undefined, numbers],
  ['PERCENTILE', 'PERCENTILE', { q: 0.99 }, numbers],
  ['COUNT_DISTINCT', 'COUNT_DISTINCT', undefined, users],
  ['EARLIEST', 'EARLIEST', undefined, numbers],
  ['LATEST', 'LATEST', undefined, numbers],
];

function best(run: () => number): number {
  let fastest = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  return N / (fastest / 1000);
}

let sink = 0;
const baseline = best(() => {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += numbers[i] as number;
  sink += sum;
  return sum;
});

type AddLoop = (agg: Aggregator, states: unknown[], values: readonly Value[], n: number) => void;
/**
 * A fresh copy of the loop per kind: one shared loop would see every aggregator class at its
 * agg.add call site and go megamorphic, which measures the order of the kinds, not their cost.
 * The source names the kind because V8 caches `new Function` by source text, feedback included.
 */
function freshLoop(name: string): AddLoop {
  return new Function(
    'agg',
    'states',
    'values',
    'n',
    `// ${name}\nfor (let i = 0; i < n; i++) agg.add(states[i & ${GROUPS - 1}], values[i], i);`,
  ) as AddLoop;
}

const throughput: Record<string, { addsPerSec: number; ratioToBaseline: number }> = {};
for (const [name, kind, opts, values] of kinds) {
  const agg = makeAggregator(kind, opts);
  const states = Array.from({ length: GROUPS }, () => agg.init());
  const loop = freshLoop(name);
  const addsPerSec = best(() => {
    loop(agg, states, values, N);
    return 0;
  });
  sink += Number(agg.result(states[0]));
  throughput[name] = { addsPerSec: Math.round(addsPerSec), ratioToBaseline: round(addsPerSec / baseline) };
}

// Engine-like: every row updates all 13 aggregates of its group through one call site.
const all = kinds.map(([, kind, opts, values]) => ({ agg: makeAggregator(kind, opts), values }));
const allStates = all.map(({ agg }) => Array.from({ length: GROUPS }, () => agg.init()));
const rowsPerSec = best(() => {
  for (let i = 0; i < N; i++) {
    const g = i & (GROUPS - 1);
    for (let k = 0; k < all.length; k++) {
      const slot = all[k] as (typeof all)[number];
      slot.agg.add((allStates[k] as unknown[])[g], slot.values[i] as Value, i);
    }
  }
  return 0;
});
const mixed = {
  rowsPerSec: Math.round(rowsPerSec),
  addsPerSec: Math.round(rowsPerSec * all.length),
  ratioToBaseline: round((rowsPerSec * all.length) / baseline),
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const gc = (globalThis as { gc?: () => void }).gc;
/** Heap plus array buffers once garbage (and asynchronously freed buffers) has settled. */
async function settledUsage(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Bytes per state after `adds` values per state, averaged over `count` states. */
async function bytesPerState(
  kind: AggregateKind,
  opts: AggregateOptions | undefined,
  adds: number,
  count: number,
): Promise<number> {
  const agg = makeAggregator(kind, opts);
  const r = prng(7);
  const states: unknown[] = new Array(count).fill(null);
  const before = await settledUsage();
  for (let i = 0; i < count; i++) {
    const s = agg.init();
    for (let j = 0; j < adds; j++) {
      const v = kind === 'COUNT_DISTINCT' ? `user-${Math.floor(r() * 1e9)}` : Math.exp(3 + 3 * (r() - 0.5));
      agg.add(s, v, j);
    }
    states[i] = s;
  }
  const bytes = ((await settledUsage()) - before) / count;
  sink += states.length;
  return Math.round(bytes);
}

const memory: Record<string, { empty: number; adds10: number; adds1000: number }> = {};
for (const [name, kind, opts] of kinds) {
  memory[name] = {
    empty: await bytesPerState(kind, opts, 0, 100_000),
    adds10: await bytesPerState(kind, opts, 10, 100_000),
    adds1000: await bytesPerState(kind, opts, 1000, 20_000),
  };
}

console.log(
  JSON.stringify({
    bench: 'aggregate',
    values: N,
    groups: GROUPS,
    node: process.version,
    gcExposed: gc !== undefined,
    baselineSumPerSec: Math.round(baseline),
    throughput,
    allKindsPerRow: mixed,
    bytesPerState: memory,
    sink: Number.isFinite(sink) ? 1 : 0,
  }),
);
