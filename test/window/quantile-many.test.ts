/**
 * quantileResultOfMany (a hopping window's percentile read across its panes without merging
 * them) answers exactly what merging the panes and asking the merge answers.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../../src/prng.js';
import {
  PERCENTILE_EXACT_LIMIT,
  QuantileState,
  quantileAdd,
  quantileClone,
  quantileMerge,
  quantileResult,
  quantileResultOfMany,
} from '../../src/window/quantile-sketch.js';

function pane(rand: () => number, values: number, draw: () => number): QuantileState {
  const s = new QuantileState();
  for (let i = 0; i < values; i++) quantileAdd(s, draw());
  return s;
}

describe('quantileResultOfMany', () => {
  it('equals the result of the merged panes, for binned, exact, empty, negative, zero and collapsing panes', () => {
    const rand = prng(42);
    const draws: (() => number)[] = [
      () => 20 + rand() * 140, // latencies
      () => Math.exp(rand() * 10) * (rand() < 0.3 ? -1 : 1), // both signs
      () => (rand() < 0.2 ? 0 : rand() * 5), // zeros
      () => 10 ** (rand() * 40 - 20) * (rand() < 0.5 ? -1 : 1), // 40 decades: the 2048-bin limit collapses keys
      () => Math.round(rand() * 3), // few distinct values
    ];
    let lazy = 0;
    let exactMerges = 0;
    let mixed = 0;
    for (let t = 0; t < 4_000; t++) {
      const draw = draws[t % draws.length]!;
      const parts = Array.from({ length: 1 + Math.floor(rand() * 7) }, () => {
        const r = rand();
        // Half the windows mostly binned panes, half sparse (a few exact values per pane), with
        // empty ones: every path (binned, exact merge, exact parts binned) in many mixes.
        const n = (t % 2 === 0 ? r < 0.7 : r < 0.1)
          ? PERCENTILE_EXACT_LIMIT + 1 + Math.floor(rand() * 200)
          : r < 0.9 ? Math.floor(rand() * (t % 4 === 1 ? 8 : PERCENTILE_EXACT_LIMIT)) : 0;
        return pane(rand, n, draw);
      });
      const exact = parts.reduce((n, p) => n + (p.exact === null ? 0 : p.n), 0);
      if (exact === 0) lazy++;
      else if (parts.every((p) => p.exact !== null) && exact <= PERCENTILE_EXACT_LIMIT) exactMerges++;
      else mixed++;
      const merged = quantileClone(parts[0]!);
      for (let i = 1; i < parts.length; i++) quantileMerge(merged, parts[i]!);
      for (const q of [0, 1, 0.5, 0.99, 0.01, rand(), rand()]) {
        const want = quantileResult(merged, q);
        const got = quantileResultOfMany(parts, q);
        if (Number.isNaN(want)) expect(got).toBeNaN();
        else expect(got).toBe(want);
      }
    }
    expect(lazy).toBeGreaterThan(300);
    expect(exactMerges).toBeGreaterThan(300);
    expect(mixed).toBeGreaterThan(300);
  });

  it('equals the merge for a long window of sparse panes (hundreds of exact values)', () => {
    const rand = prng(7);
    for (let t = 0; t < 50; t++) {
      const parts = Array.from({ length: 20 + Math.floor(rand() * 60) }, () =>
        pane(rand, Math.floor(rand() * (PERCENTILE_EXACT_LIMIT + 1)), () => (rand() - 0.2) * 10 ** (rand() * 6)),
      );
      const merged = quantileClone(parts[0]!);
      for (let i = 1; i < parts.length; i++) quantileMerge(merged, parts[i]!);
      for (const q of [0.5, 0.9, 0.99, 0.1, rand()]) expect(quantileResultOfMany(parts, q)).toBe(quantileResult(merged, q));
    }
  });

  it('leaves its panes as they were', () => {
    const rand = prng(3);
    const parts = [pane(rand, 100, () => rand() * 50), pane(rand, 80, () => rand() * 500), pane(rand, 7, () => rand() * 9)];
    const before = parts.map((p) => JSON.stringify(quantileClone(p)));
    quantileResultOfMany(parts, 0.9);
    expect(parts.map((p) => JSON.stringify(quantileClone(p)))).toEqual(before);
  });
});
