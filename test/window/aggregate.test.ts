import { describe, expect, it } from 'vitest';
import ddsketch from '@datadog/sketches-js';
import {
  makeAggregator,
  type AggregateKind,
  type AggregateOptions,
  type Aggregator,
} from '../../src/window/aggregate.js';
import { DISTINCT_EXACT_LIMIT, HLL_STANDARD_ERROR } from '../../src/window/distinct-sketch.js';
import { PERCENTILE_BIN_LIMIT, PERCENTILE_EXACT_LIMIT } from '../../src/window/quantile-sketch.js';
import type { Value } from '../../src/types.js';
import { prng } from '../../src/prng.js';


function aggregate(agg: Aggregator, values: readonly Value[], firstSeq = 0): unknown {
  const s = agg.init();
  values.forEach((v, i) => agg.add(s, v, firstSeq + i));
  return s;
}

function resultOf(kind: AggregateKind, values: readonly Value[], opts?: AggregateOptions): Value {
  const agg = makeAggregator(kind, opts);
  return agg.result(aggregate(agg, values));
}

describe('aggregate results', () => {
  const m = { a: '1' };
  const cases: Array<[AggregateKind, AggregateOptions | undefined, Value[], Value]> = [
    ['COUNT_STAR', undefined, [], 0],
    ['COUNT_STAR', undefined, [1, null, 'x', null], 4],
    ['COUNT', undefined, [], 0],
    ['COUNT', undefined, [null, null], 0],
    ['COUNT', undefined, [1, null, 'x', false, m], 4],
    ['COUNT_DISTINCT', undefined, [], 0],
    ['COUNT_DISTINCT', undefined, [null], 0],
    ['COUNT_DISTINCT', undefined, [1, '1', 1, 1.0, null, 'a', 'a', true, 'true', false], 6],
    ['COUNT_DISTINCT', undefined, [0, -0, NaN, NaN], 2],
    ['COUNT_DISTINCT', undefined, [{ a: '1', b: '2' }, { b: '2', a: '1' }, { a: '2' }], 2],
    ['SUM', undefined, [], null],
    ['SUM', undefined, [null, null], null],
    ['SUM', undefined, [1.5, null, 2.25, -1], 2.75],
    ['SUM', undefined, [1e16, 1, -1e16], 1], // compensation keeps the 1 a plain sum loses
    ['SUM', undefined, [0.1, 0.2, 0.3], 0.6],
    ['SUM', { integer: true }, [1, 2, null, 3], 6],
    ['SUM', { integer: true }, [], null],
    ['SUM', undefined, [1, NaN, Infinity, 2], 3],
    ['AVG', undefined, [], null],
    ['AVG', undefined, [null], null],
    ['AVG', undefined, [1, 2, null, 4], 7 / 3],
    ['MIN', undefined, [], null],
    ['MIN', undefined, [null], null],
    ['MIN', undefined, [3, null, -2, 7], -2],
    ['MIN', undefined, ['pear', 'apple', null, 'banana'], 'apple'],
    ['MIN', undefined, ['b', 'B', 'a'], 'B'],
    ['MIN', undefined, [1700000000000, 1600000000000], 1600000000000],
    ['MIN', undefined, ['x', 5, 'a'], 5], // numbers order before strings
    ['MIN', undefined, [NaN, 4, -Infinity], 4],
    ['MAX', undefined, [], null],
    ['MAX', undefined, [3, null, -2, 7], 7],
    ['MAX', undefined, ['pear', 'apple', 'banana'], 'pear'],
    ['MAX', undefined, ['x', 5, 'a'], 'x'],
    ['MAX', undefined, [true, m, 1], 1], // booleans and maps are not ordered: skipped
    ['VARIANCE', undefined, [], null],
    ['VARIANCE', undefined, [null, 5], 0], // one value: 0, as ksqlDB's STDDEV_SAMP
    ['VARIANCE', undefined, [2, 4, 4, 4, 5, 5, 7, 9], 32 / 7],
    ['STDDEV', undefined, [], null],
    ['STDDEV', undefined, [5], 0],
    ['STDDEV', undefined, [2, 4, 4, 4, 5, 5, 7, 9, null], Math.sqrt(32 / 7)],
    ['STDDEV', undefined, [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16], Math.sqrt(30)],
    ['PERCENTILE', { q: 0.5 }, [], null],
    ['PERCENTILE', { q: 0.5 }, [null, NaN], null],
    ['PERCENTILE', { q: 0.5 }, [5, 1, null, 3], 3],
    ['PERCENTILE', { q: 0 }, [5, 1, 3], 1],
    ['PERCENTILE', { q: 1 }, [5, 1, 3], 5],
    ['PERCENTILE', { q: 0.9 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 9],
    ['PERCENTILE', { q: 0.5 }, [-3, 0, -1], -1],
    ['EARLIEST', undefined, [], null],
    ['EARLIEST', undefined, [null, 'a', 'b'], 'a'],
    ['EARLIEST', { ignoreNulls: false }, [null, 'a', 'b'], null],
    ['LATEST', undefined, [], null],
    ['LATEST', undefined, ['a', 'b', null], 'b'],
    ['LATEST', { ignoreNulls: false }, ['a', 'b', null], null],
    ['LATEST', undefined, [1, m], m],
  ];
  it.each(cases)('%s %j of %j is %j', (kind, opts, values, expected) => {
    const got = resultOf(kind, values, opts);
    if (typeof expected === 'number' && !Number.isInteger(expected)) expect(got).toBeCloseTo(expected, 12);
    else expect(got).toEqual(expected);
  });

  it('EARLIEST and LATEST order by seq, not by call order', () => {
    for (const kind of ['EARLIEST', 'LATEST'] as const) {
      const agg = makeAggregator(kind);
      const s = agg.init();
      agg.add(s, 'second', 20);
      agg.add(s, 'third', 30);
      agg.add(s, 'first', 10);
      expect(agg.result(s)).toBe(kind === 'EARLIEST' ? 'first' : 'third');
    }
  });

  it('EARLIEST/LATEST keep values JSON cannot hold through a checkpoint', () => {
    for (const v of [NaN, Infinity, -Infinity]) {
      const agg = makeAggregator('LATEST');
      const restored = agg.fromJSON(JSON.parse(JSON.stringify(agg.toJSON(aggregate(agg, [1, v])))));
      expect(agg.result(restored)).toBe(v);
    }
  });

  it('rejects a PERCENTILE quantile outside 0..1 with one clear line', () => {
    expect(() => makeAggregator('PERCENTILE', { q: 1.5 })).toThrow(
      'PERCENTILE needs a quantile between 0 and 1, got 1.5',
    );
    expect(() => makeAggregator('PERCENTILE')).toThrow(/got undefined/);
  });

  it('rejects a corrupt checkpoint state with a message naming the aggregate', () => {
    expect(() => makeAggregator('AVG').fromJSON({ n: 'x' })).toThrow('invalid AVG state in checkpoint');
    expect(() => makeAggregator('COUNT_DISTINCT').fromJSON({ r: 'AAAA' })).toThrow(/COUNT_DISTINCT/);
    expect(() => makeAggregator('PERCENTILE', { q: 0.5 }).fromJSON({ n: 3, v: [1] })).toThrow(
      /PERCENTILE/,
    );
  });
});

// ---- merge and checkpoint properties over random inputs ----------------------------------------

interface Spec {
  kind: AggregateKind;
  opts?: AggregateOptions;
  /** Relative tolerance between differently merged results; 0 means bit-identical. */
  tolerance: number;
  gen: (rand: () => number) => Value;
}

const withNulls = (rand: () => number, f: () => Value): Value => (rand() < 0.1 ? null : f());
const specs: Spec[] = [
  { kind: 'COUNT_STAR', tolerance: 0, gen: (r) => withNulls(r, () => r()) },
  { kind: 'COUNT', tolerance: 0, gen: (r) => withNulls(r, () => r()) },
  // Few distinct values (stays exact) and many (switches to the HyperLogLog).
  { kind: 'COUNT_DISTINCT', tolerance: 0, gen: (r) => withNulls(r, () => `k${Math.floor(r() * 40)}`) },
  { kind: 'COUNT_DISTINCT', tolerance: 0, gen: (r) => withNulls(r, () => Math.floor(r() * 5000)) },
  { kind: 'SUM', opts: { integer: true }, tolerance: 0, gen: (r) => withNulls(r, () => Math.floor(r() * 2e6) - 1e6) },
  { kind: 'SUM', tolerance: 1e-12, gen: (r) => withNulls(r, () => (r() - 0.5) * 1e3) },
  { kind: 'AVG', tolerance: 1e-12, gen: (r) => withNulls(r, () => r() * 100) },
  { kind: 'MIN', tolerance: 0, gen: (r) => withNulls(r, () => r() * 100) },
  { kind: 'MAX', tolerance: 0, gen: (r) => withNulls(r, () => `s${Math.floor(r() * 1e6)}`) },
  { kind: 'VARIANCE', tolerance: 1e-9, gen: (r) => withNulls(r, () => 1e6 + r() * 10) },
  { kind: 'STDDEV', tolerance: 1e-9, gen: (r) => withNulls(r, () => r() * 50 - 25) },
  // The sketch is a function of the multiset of values, so even PERCENTILE merges exactly.
  { kind: 'PERCENTILE', opts: { q: 0.99 }, tolerance: 0, gen: (r) => withNulls(r, () => Math.exp(r() * 10) - 50) },
  { kind: 'PERCENTILE', opts: { q: 0.5 }, tolerance: 0, gen: (r) => withNulls(r, () => (r() < 0.2 ? 0 : (r() - 0.5) * 1e4)) },
  { kind: 'EARLIEST', tolerance: 0, gen: (r) => withNulls(r, () => r()) },
  { kind: 'LATEST', opts: { ignoreNulls: false }, tolerance: 0, gen: (r) => withNulls(r, () => r()) },
];

function expectSame(kind: AggregateKind, got: Value, want: Value, tolerance: number): void {
  if (tolerance > 0 && typeof got === 'number' && typeof want === 'number') {
    expect(Math.abs(got - want)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(want)));
  } else {
    expect(got, kind).toEqual(want);
  }
}

/** Splits values (with their seqs) into 1..12 random contiguous panes, some possibly empty. */
function panes(rand: () => number, n: number): Array<[number, number]> {
  const count = 1 + Math.floor(rand() * 12);
  const cuts = Array.from({ length: count - 1 }, () => Math.floor(rand() * (n + 1))).sort((a, b) => a - b);
  const bounds = [0, ...cuts, n];
  return bounds.slice(1).map((end, i) => [bounds[i] as number, end]);
}

function shuffle<T>(rand: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

describe.each(specs)('$kind $opts', ({ kind, opts, tolerance, gen }) => {
  it('merging random panes in any grouping equals adding everything to one state', () => {
    const agg = makeAggregator(kind, opts);
    for (let trial = 0; trial < 30; trial++) {
      const rand = prng(1000 + trial);
      const n = Math.floor(rand() * 400);
      const values = Array.from({ length: n }, () => gen(rand));
      const whole = agg.result(aggregate(agg, values));
      const states = panes(rand, n).map(([a, b]) => aggregate(agg, values.slice(a, b), a));
      const frozen = states.map((s) => JSON.stringify(agg.toJSON(s)));

      // Left fold in a shuffled order, starting from a clone (as a window is built).
      const order = shuffle(rand, states.map((_, i) => i));
      const folded = agg.clone(states[order[0] as number]);
      for (const i of order.slice(1)) agg.merge(folded, states[i]);
      expectSame(kind, agg.result(folded), whole, tolerance);

      // A balanced tree of merges over fresh clones.
      let level = states.map((s) => agg.clone(s));
      while (level.length > 1) {
        const next: unknown[] = [];
        for (let i = 0; i < level.length; i += 2) {
          const left = level[i];
          if (i + 1 < level.length) agg.merge(left, level[i + 1]);
          next.push(left);
        }
        level = next;
      }
      expectSame(kind, agg.result(level[0]), whole, tolerance);

      // Merging into an empty state and merging an empty state change nothing.
      const empty = agg.init();
      agg.merge(empty, folded);
      agg.merge(empty, agg.init());
      expectSame(kind, agg.result(empty), agg.result(folded), 0);

      // merge never mutates `from`.
      expect(states.map((s) => JSON.stringify(agg.toJSON(s)))).toEqual(frozen);
    }
  });

  it('toJSON/fromJSON round-trips, then behaves identically for adds and merges', () => {
    const agg = makeAggregator(kind, opts);
    for (let trial = 0; trial < 30; trial++) {
      const rand = prng(5000 + trial);
      const n = Math.floor(rand() * 300);
      const values = Array.from({ length: n }, () => gen(rand));
      const original = aggregate(agg, values);
      const restored = agg.fromJSON(JSON.parse(JSON.stringify(agg.toJSON(original))));
      expect(agg.result(restored)).toEqual(agg.result(original));

      const more = Array.from({ length: Math.floor(rand() * 100) }, () => gen(rand));
      const other = aggregate(agg, more, n + 1000);
      more.forEach((v, i) => {
        agg.add(original, v, n + i);
        agg.add(restored, v, n + i);
      });
      agg.merge(original, other);
      agg.merge(restored, other);
      expect(agg.result(restored)).toEqual(agg.result(original));
      expect(JSON.stringify(agg.toJSON(restored))).toEqual(JSON.stringify(agg.toJSON(original)));
    }
  });

  it('clone is independent of the original', () => {
    const agg = makeAggregator(kind, opts);
    const rand = prng(77);
    const s = aggregate(agg, Array.from({ length: 200 }, () => gen(rand)));
    const before = JSON.stringify(agg.toJSON(s));
    const c = agg.clone(s);
    for (let i = 0; i < 200; i++) agg.add(c, gen(rand), 10_000 + i);
    expect(JSON.stringify(agg.toJSON(s))).toBe(before);
  });
});

// ---- PERCENTILE accuracy ----------------------------------------------------------------------

describe('PERCENTILE accuracy', () => {
  const normal = (r: () => number): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const distributions: Array<[string, (r: () => number) => number]> = [
    ['uniform 0..1000', (r) => r() * 1000],
    ['exponential', (r) => -Math.log(1 - r()) * 20],
    ['lognormal latencies', (r) => Math.exp(3 + 1.5 * normal(r))],
    ['normal around 0', (r) => normal(r) * 100],
    ['pareto heavy tail', (r) => 1 / Math.pow(1 - r(), 1 / 1.2)],
    ['a third zeros, negatives', (r) => (r() < 0.33 ? 0 : -Math.exp(r() * 8))],
    ['integers 1..5', (r) => 1 + Math.floor(r() * 5)],
  ];
  const qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

  it.each(distributions)('%s: within 1%% of the exact quantile, pane-merged or not', (_name, draw) => {
    const rand = prng(42);
    const values = Array.from({ length: 20_000 }, () => draw(rand));
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of qs) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))] as number;
      const agg = makeAggregator('PERCENTILE', { q });
      const whole = aggregate(agg, values);
      const got = agg.result(whole) as number;
      expect(Math.abs(got - exact), `q=${q}`).toBeLessThanOrEqual(0.01 * Math.abs(exact) + 1e-12);
      // 100 panes of 200 merged: the same result (merges are exact for this sketch).
      const merged = agg.init();
      for (let i = 0; i < values.length; i += 200) agg.merge(merged, aggregate(agg, values.slice(i, i + 200)));
      expect(agg.result(merged)).toBe(got);
    }
  });

  it('is exact while at most PERCENTILE_EXACT_LIMIT values were added', () => {
    const base = [0.123, 7, -3.5, 1e-9, 42, 42, 8.25, -0.5, 19, 3, 5, 2, 1, 0, 6, 11];
    const values = Array.from({ length: PERCENTILE_EXACT_LIMIT }, (_, i) => base[i % base.length]! * (1 + i / 1000));
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.1, 0.3, 0.5, 0.77, 0.95]) {
      expect(resultOf('PERCENTILE', values, { q })).toBe(sorted[Math.floor(q * (values.length - 1))]);
    }
  });

  it('returns what the library DDSketch returns on the same values (same mapping and ranks)', () => {
    const rand = prng(9);
    const values = Array.from({ length: 5000 }, () => (rand() < 0.1 ? 0 : (rand() - 0.3) * 1e4));
    const lib = new ddsketch.DDSketch({ relativeAccuracy: 0.01 });
    for (const v of values) lib.accept(v);
    const min = Math.min(...values);
    const max = Math.max(...values);
    for (const q of [0.05, 0.2, 0.31, 0.5, 0.8, 0.99]) {
      const expected = Math.min(Math.max(lib.getValueAtQuantile(q), min), max);
      expect(resultOf('PERCENTILE', values, { q })).toBe(expected);
    }
  });

  it('keeps negative values through merges (the library DDSketch 2.1.1 merge drops them)', () => {
    const agg = makeAggregator('PERCENTILE', { q: 0 + 0.01 });
    const a = aggregate(agg, Array.from({ length: 50 }, (_, i) => i + 1));
    const b = aggregate(agg, Array.from({ length: 50 }, (_, i) => -(i + 1)));
    agg.merge(a, b);
    expect(agg.result(a) as number).toBeLessThan(-40);
  });

  it('bounds memory over 600 orders of magnitude; quantiles within ~17 decades of the top stay accurate', () => {
    const rand = prng(3);
    const values = Array.from({ length: 20_000 }, () => Math.pow(10, rand() * 600 - 300));
    const sorted = [...values].sort((a, b) => a - b);
    const exactAt = (q: number): number => sorted[Math.floor(q * (sorted.length - 1))] as number;
    for (const q of [0.975, 0.99, 0.999]) {
      const agg = makeAggregator('PERCENTILE', { q });
      const s = aggregate(agg, values);
      const { p } = readBinned((agg.toJSON(s) as { b: string }).b);
      expect(p!.length - 1).toBeLessThanOrEqual(PERCENTILE_BIN_LIMIT);
      expect(p!.length - 1).toBeGreaterThan(PERCENTILE_BIN_LIMIT / 2);
      expect(Math.abs((agg.result(s) as number) - exactAt(q))).toBeLessThanOrEqual(0.01 * exactAt(q));
    }
    // Below the kept range, values were collapsed upwards: the answer overestimates, never under.
    const low = makeAggregator('PERCENTILE', { q: 0.5 });
    expect(low.result(aggregate(low, values)) as number).toBeGreaterThan(exactAt(0.5));
  });
});

/** An independent reader of PERCENTILE's binary checkpoint form (see quantileToJSON). */
function readBinned(base64: string) {
  const bytes = Buffer.from(base64, 'base64');
  let at = 0;
  const double = () => ((at += 8), bytes.readDoubleLE(at - 8));
  const varint = () => {
    let v = 0;
    for (let scale = 1; ; scale *= 128) {
      const byte = bytes[at++]!;
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
    }
  };
  const store = () => {
    const bins = varint();
    if (bins === 0) return null;
    const zz = varint();
    const minKey = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    return [minKey, ...Array.from({ length: bins }, varint)];
  };
  const out = { min: double(), max: double(), n: varint(), z: varint(), p: store(), m: store() };
  expect(at).toBe(bytes.length);
  return out;
}

describe('PERCENTILE checkpoint form', () => {
  const agg = makeAggregator('PERCENTILE', { q: 0.9 });
  const binned = () => {
    const rand = prng(11);
    // Counts past one varint byte (and past 2^32), zeros between keys, both signs, zero values.
    const s = aggregate(agg, Array.from({ length: 5_000 }, (_, i) => (i % 7 === 0 ? 0 : (rand() < 0.3 ? -1 : 1) * Math.exp(rand() * 20 - 5))));
    const big = aggregate(agg, Array.from({ length: 300 }, () => 42));
    for (let i = 0; i < 24; i++) agg.merge(big, big);
    agg.merge(s, big);
    return s;
  };
  const quantiles = (s: unknown) => [0.01, 0.5, 0.9, 0.999].map((q) => makeAggregator('PERCENTILE', { q }).result(s));

  it('writes a binned sketch as one base64 string and reads it back exactly', () => {
    const s = binned();
    const json = agg.toJSON(s) as { b: string };
    expect(Object.keys(json)).toEqual(['b']);
    const parts = readBinned(json.b);
    expect(parts.n).toBeGreaterThan(2 ** 32);
    expect(parts.z).toBeGreaterThan(0);
    expect(parts.p![0]).toBeLessThan(0); // keys of magnitudes below 1 are negative
    expect(parts.m).not.toBeNull();
    const restored = agg.fromJSON(JSON.parse(JSON.stringify(json)));
    expect(agg.toJSON(restored)).toEqual(json);
    expect(quantiles(restored)).toEqual(quantiles(s));
  });

  it('writes exact values as doubles, -0 and all', () => {
    const values = [3.25, -0, 1e-300, -7, 0.1 + 0.2];
    const s = aggregate(agg, values);
    const json = agg.toJSON(s) as { x: string };
    expect(Object.keys(json)).toEqual(['x']);
    const restored = agg.fromJSON(JSON.parse(JSON.stringify(json)));
    expect(agg.toJSON(restored)).toEqual(json);
    expect(quantiles(restored)).toEqual(quantiles(s));
  });

  it('still reads the JSON-number form of earlier versions', () => {
    const s = binned();
    const { min, max, n, z, p, m } = readBinned((agg.toJSON(s) as { b: string }).b);
    const legacy = { n, min, max, z, p, m };
    expect(agg.toJSON(agg.fromJSON(legacy))).toEqual(agg.toJSON(s));
    const exact = aggregate(agg, [5, 1, 3]);
    expect(agg.toJSON(agg.fromJSON({ n: 3, v: [1, 3, 5] }))).toEqual(agg.toJSON(exact));
  });

  it('refuses encodings it could not have written', () => {
    const json = agg.toJSON(binned()) as { b: string };
    const bytes = Buffer.from(json.b, 'base64');
    const nan = Buffer.from(bytes);
    nan.writeDoubleLE(NaN, 0);
    const bad = [
      { b: '' },
      { b: bytes.subarray(0, bytes.length - 1).toString('base64') }, // truncated
      { b: Buffer.concat([bytes, Buffer.from([0])]).toString('base64') }, // trailing byte
      { b: nan.toString('base64') },
      { b: json.b.replace(/=+$/, '') }, // without its padding
      { b: ` ${json.b}` },
      { b: 42 },
      { x: '' },
      { x: Buffer.alloc(7).toString('base64') }, // not whole doubles
      { x: Buffer.alloc(8 * 33).toString('base64') }, // more values than are kept exact
      { n: 3, min: 1, max: 2, z: 0, p: [1, 1, -2], m: null },
    ];
    for (const j of bad) expect(() => agg.fromJSON(j), JSON.stringify(j).slice(0, 40)).toThrow(/invalid PERCENTILE state/);
  });
});

// ---- COUNT(DISTINCT x) accuracy -----------------------------------------------------------------

describe('COUNT(DISTINCT x) accuracy', () => {
  it(`is exact up to ${DISTINCT_EXACT_LIMIT} distinct values, whatever their types`, () => {
    const values: Value[] = [];
    for (let i = 0; i < DISTINCT_EXACT_LIMIT / 2; i++) values.push(i, String(i), i, String(i));
    expect(resultOf('COUNT_DISTINCT', values)).toBe(DISTINCT_EXACT_LIMIT);
  });

  const cardinalities = [65, 200, 1_000, 5_000, 20_000, 100_000, 400_000];
  const families: Array<[string, (i: number, r: () => number) => Value]> = [
    ['sequential strings', (i) => `user-${i}`],
    ['sequential integers', (i) => i],
    ['random doubles', (_i, r) => r() * 1e6],
    ['timestamps 1 ms apart', (i) => 1_700_000_000_000 + i],
  ];
  it.each(families)('%s: within 3 standard errors above the exact limit', (_name, make) => {
    const agg = makeAggregator('COUNT_DISTINCT');
    for (const n of cardinalities) {
      const rand = prng(n);
      const s = agg.init();
      // Every value twice: duplicates must not count.
      for (let i = 0; i < n; i++) {
        const v = make(i, rand);
        agg.add(s, v, i);
        agg.add(s, v, i);
      }
      const got = agg.result(s) as number;
      expect(Math.abs(got - n) / n, `n=${n} got=${got}`).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR);
    }
  });
});
