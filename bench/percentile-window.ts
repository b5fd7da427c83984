/**
 * bench:percentile — a hopping window's PERCENTILE at close: quantileResultOfMany (the panes read
 * in place) against the same run's baseline of cloning the first pane and merging the others into
 * it (what a merge-based engine does), for 10,000 groups of 6 panes in four shapes: sparse
 * (exact panes), a partial first pane, binned panes, and tiny panes. Prints one JSON line with
 * milliseconds per 10,000 windows (median of 5) and the speed-up per shape.
 */
import {
  QuantileState,
  quantileAdd,
  quantileClone,
  quantileMerge,
  quantileResult,
  quantileResultOfMany,
} from '../src/window/quantile-sketch.js';

const GROUPS = 10_000;
const SHAPES: Record<string, number[]> = {
  sparse_6x8: [8, 8, 8, 8, 8, 8],
  partial_first: [12, 40, 40, 40, 40, 40],
  binned_6x40: [40, 40, 40, 40, 40, 40],
  tiny_6x3: [3, 3, 3, 3, 3, 3],
};

function pane(values: number, group: number): QuantileState {
  const s = new QuantileState();
  for (let i = 0; i < values; i++) quantileAdd(s, 20 + ((group * 7 + i * 31) % 977) / 7);
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const out: Record<string, unknown> = { bench: 'percentile-window', groups: GROUPS, panes: 6 };
for (const [shape, sizes] of Object.entries(SHAPES)) {
  const windows = Array.from({ length: GROUPS }, (_, g) => sizes.map((n) => pane(n, g)));
  const merged: number[] = [];
  const inPlace: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    let t = performance.now();
    let a = 0;
    for (const parts of windows) {
      const m = quantileClone(parts[0]!);
      for (let i = 1; i < parts.length; i++) quantileMerge(m, parts[i]!);
      a += quantileResult(m, 0.99);
    }
    merged.push(performance.now() - t);
    t = performance.now();
    let b = 0;
    for (const parts of windows) b += quantileResultOfMany(parts, 0.99);
    inPlace.push(performance.now() - t);
    if (a !== b) throw new Error(`${shape}: results differ (${a} vs ${b})`);
  }
  out[`${shape}_merge_ms`] = +median(merged).toFixed(2);
  out[`${shape}_in_place_ms`] = +median(inPlace).toFixed(2);
  out[`${shape}_speedup`] = +(median(merged) / median(inPlace)).toFixed(2);
}
console.log(JSON.stringify(out));
