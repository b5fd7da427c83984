/**
 * PERCENTILE(x, q) as a mergeable partial state: exact sorted values for small counts, then a
 * DDSketch (relative accuracy 1%) over @datadog/sketches-js's LogarithmicMapping.
 *
 * Why not the library's DDSketch object itself (v2.1.1): its merge() drops the negative store
 * (negative values vanish after a merge), its DenseStore's range extension treats a key of 0 as
 * "absent" (`secondKey || key`), toProto/fromProto need protobufjs (not installed) and lose
 * min/max, and every store starts at 128 bins (~1 KiB) even for one value. So this file keeps the
 * library's mapping (the same bins as the library for the same values, which the tests check) and
 * holds the bins itself: tightly sized arrays, both stores merged, plain JSON for checkpoints.
 */
import ddsketch from '@datadog/sketches-js';

/** Relative accuracy of every returned quantile (see docs/aggregates.md for the exact bound). */
export const PERCENTILE_RELATIVE_ACCURACY = 0.01;
/** Bins per sign before the lowest-magnitude bins collapse: bounds memory at 2 × 2048 bins. */
export const PERCENTILE_BIN_LIMIT = 2048;
/** Values kept exactly (sorted) before switching to bins: small panes stay small and exact. */
export const PERCENTILE_EXACT_LIMIT = 32;

/** The library's LogarithmicMapping (not re-exported at its top level, so taken from a sketch). */
const mapping = new ddsketch.DDSketch({ relativeAccuracy: PERCENTILE_RELATIVE_ACCURACY }).mapping;
/** Magnitudes at or below this are counted as zero (the mapping cannot index them). */
const MIN_MAGNITUDE = mapping.minPossible;

/**
 * Counts per bin key, for one sign. Every unit of count sits at max(key, maxKey - LIMIT + 1), so
 * the store is a function of the multiset of keys added: merges in any order give the same store.
 */
class BinStore {
  /** bins[i] counts key offset + i; entries outside [minKey, maxKey] are zero. */
  bins: number[] = [];
  offset = 0;
  minKey = 0;
  maxKey = 0;
  count = 0;

  add(key: number, weight: number): void {
    if (this.count === 0) {
      this.bins = [weight];
      this.offset = this.minKey = this.maxKey = key;
      this.count = weight;
      return;
    }
    const floor = this.maxKey - PERCENTILE_BIN_LIMIT + 1;
    if (key < floor) key = floor;
    if (key < this.minKey || key > this.maxKey) this.extend(key);
    const i = key - this.offset;
    this.bins[i] = (this.bins[i] as number) + weight;
    this.count += weight;
  }

  private extend(key: number): void {
    const newMax = Math.max(this.maxKey, key);
    const floor = newMax - PERCENTILE_BIN_LIMIT + 1;
    const newMin = Math.max(Math.min(this.minKey, key), floor);
    const old = this.bins;
    if (newMin >= this.offset && newMax < this.offset + old.length) {
      // Fits the slack; the array never exceeds the limit, so nothing needs collapsing here.
      this.minKey = newMin;
      this.maxKey = newMax;
      return;
    }
    const range = newMax - newMin + 1;
    const slack = Math.min(PERCENTILE_BIN_LIMIT - range, Math.max(4, range >> 1));
    const newOffset = key < this.minKey ? newMin - slack : newMin;
    const bins = new Array<number>(range + slack).fill(0);
    for (let i = 0; i < old.length; i++) {
      const c = old[i] ?? 0;
      if (c === 0) continue;
      const j = Math.max(this.offset + i, floor) - newOffset;
      bins[j] = (bins[j] as number) + c;
    }
    this.bins = bins;
    this.offset = newOffset;
    this.minKey = newMin;
    this.maxKey = newMax;
  }

  merge(from: BinStore): void {
    if (from.count === 0) return;
    // Span from's range first: one allocation instead of one per key beyond the current range.
    if (this.count > 0) {
      if (from.maxKey > this.maxKey) this.extend(from.maxKey);
      if (from.minKey < this.minKey) this.extend(from.minKey);
    }
    if (this.count === 0) {
      this.restore(from.minKey, from.toArray());
      return;
    }
    // The range now spans from's keys, except those below the collapse floor, which add to it.
    const floor = this.maxKey - PERCENTILE_BIN_LIMIT + 1;
    const bins = this.bins;
    const src = from.bins;
    for (let k = from.minKey; k <= from.maxKey; k++) {
      const c = src[k - from.offset] ?? 0;
      if (c === 0) continue;
      const i = (k < floor ? floor : k) - this.offset;
      bins[i] = (bins[i] as number) + c;
    }
    this.count += from.count;
  }

  /**
   * A copy with room on both sides. Clones are merge accumulators (a hopping window merging its
   * panes): the other panes span nearly the same keys, so the merges then never reallocate.
   */
  clone(): BinStore {
    const c = new BinStore();
    if (this.count === 0) return c;
    const range = this.maxKey - this.minKey + 1;
    const slack = Math.min((PERCENTILE_BIN_LIMIT - range) >> 1, Math.max(4, range >> 1));
    const bins = new Array<number>(range + 2 * slack).fill(0);
    const from = this.minKey - this.offset;
    for (let i = 0; i < range; i++) bins[slack + i] = this.bins[from + i] ?? 0;
    c.bins = bins;
    c.offset = this.minKey - slack;
    c.minKey = this.minKey;
    c.maxKey = this.maxKey;
    c.count = this.count;
    return c;
  }

  toArray(): number[] {
    return this.bins.slice(this.minKey - this.offset, this.maxKey - this.offset + 1);
  }

  restore(minKey: number, counts: number[]): void {
    this.bins = counts;
    this.offset = this.minKey = minKey;
    this.maxKey = minKey + counts.length - 1;
    this.count = counts.reduce((a, b) => a + b, 0);
  }
}

/** Partial state of PERCENTILE(x, q). */
export class QuantileState {
  /** Number of values added. */
  n = 0;
  min = Infinity;
  max = -Infinity;
  /** The values, sorted, while n <= PERCENTILE_EXACT_LIMIT; null once binned. */
  exact: number[] | null = [];
  zeroCount = 0;
  positive: BinStore | null = null;
  negative: BinStore | null = null;
}

function binValue(s: QuantileState, v: number): void {
  if (v > MIN_MAGNITUDE) (s.positive ??= new BinStore()).add(mapping.key(v), 1);
  else if (v < -MIN_MAGNITUDE) (s.negative ??= new BinStore()).add(mapping.key(-v), 1);
  else s.zeroCount++;
}

function toBins(s: QuantileState): void {
  const values = s.exact as number[];
  s.exact = null;
  // The extremes first (values are sorted): a store then spans its final range in one allocation
  // instead of growing bin by bin. The order of adds does not change the result.
  const n = values.length;
  if (n === 0) return;
  binValue(s, values[n - 1]!);
  if (n > 1) binValue(s, values[0]!);
  for (let i = 1; i < n - 1; i++) binValue(s, values[i]!);
}

/** Adds one finite number (callers skip NULL and non-finite values). */
export function quantileAdd(s: QuantileState, v: number): void {
  s.n++;
  if (v < s.min) s.min = v;
  if (v > s.max) s.max = v;
  const exact = s.exact;
  if (exact === null) {
    binValue(s, v);
    return;
  }
  // Insertion into a sorted array of at most 32: cheaper than sorting at every result().
  let i = exact.length;
  exact.push(v);
  while (i > 0 && (exact[i - 1] as number) > v) {
    exact[i] = exact[i - 1] as number;
    i--;
  }
  exact[i] = v;
  if (exact.length > PERCENTILE_EXACT_LIMIT) toBins(s);
}

/** Merges `from` into `into`; the result depends only on the multiset of values added. */
export function quantileMerge(into: QuantileState, from: QuantileState): void {
  if (from.n === 0) return;
  if (into.exact !== null && from.exact !== null && into.n + from.n <= PERCENTILE_EXACT_LIMIT) {
    for (const v of from.exact) quantileAdd(into, v);
    return;
  }
  into.n += from.n;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
  if (into.exact !== null) toBins(into);
  if (from.exact !== null) {
    for (const v of from.exact) binValue(into, v);
    return;
  }
  into.zeroCount += from.zeroCount;
  if (from.positive !== null) (into.positive ??= new BinStore()).merge(from.positive);
  if (from.negative !== null) (into.negative ??= new BinStore()).merge(from.negative);
}

/**
 * The value at 0-based rank floor(q × (n − 1)) in sorted order: exact while n <= 32, else within
 * 1% relative error of it; q = 0 and q = 1 give the exact minimum and maximum. NaN when empty.
 */
export function quantileResult(s: QuantileState, q: number): number {
  if (s.exact === null) return binnedQuantile([s], q);
  if (s.n === 0) return NaN;
  if (q <= 0) return s.min;
  if (q >= 1) return s.max;
  return s.exact[Math.floor(q * (s.n - 1))] as number;
}

/**
 * quantileResult of the merge of `parts` (in any order: a merge depends only on the values),
 * without building the merge: a hopping window reads its panes in place instead of cloning one
 * and merging the others into it. Exact parts are binned first when the merge would be binned
 * (sparse series: most panes hold a few exact values).
 */
export function quantileResultOfMany(parts: readonly QuantileState[], q: number): number {
  let exactCount = 0;
  let binned = false;
  for (const s of parts) {
    if (s.n === 0) continue;
    if (s.exact === null) binned = true;
    else exactCount += s.n;
  }
  if (!binned && exactCount <= PERCENTILE_EXACT_LIMIT) return exactCount === 0 ? NaN : exactQuantile(parts, exactCount, q);
  return binnedQuantile(parts, q);
}

/** Sorted values of exact parts whose merge stays exact (at most PERCENTILE_EXACT_LIMIT). */
const exactScratch = new Float64Array(PERCENTILE_EXACT_LIMIT);

/** quantileResult of the merge of exact parts holding `count` <= PERCENTILE_EXACT_LIMIT values. */
function exactQuantile(parts: readonly QuantileState[], count: number, q: number): number {
  let min = Infinity;
  let max = -Infinity;
  let at = 0;
  for (const s of parts) {
    if (s.n === 0) continue;
    if (s.min < min) min = s.min;
    if (s.max > max) max = s.max;
    for (const v of s.exact!) exactScratch[at++] = v;
  }
  if (q <= 0) return min;
  if (q >= 1) return max;
  const sorted = exactScratch.subarray(0, count).sort();
  return sorted[Math.floor(q * (count - 1))]!;
}

/**
 * The quantile of states taken together once binned (an exact state's values count as the bins a
 * merge would put them in), as the library's getValueAtQuantile computes it over one store:
 * negative bins from the largest magnitude down, then zeros, then positive bins.
 */
function binnedQuantile(parts: readonly QuantileState[], q: number): number {
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeroCount = 0;
  let negCount = 0;
  for (const s of parts) {
    if (s.n === 0) continue;
    n += s.n;
    if (s.min < min) min = s.min;
    if (s.max > max) max = s.max;
    if (s.exact === null) {
      zeroCount += s.zeroCount;
      negCount += s.negative?.count ?? 0;
    } else {
      for (const v of s.exact) {
        if (v < -MIN_MAGNITUDE) negCount++;
        else if (v <= MIN_MAGNITUDE) zeroCount++;
      }
    }
  }
  if (n === 0) return NaN;
  if (q <= 0) return min;
  if (q >= 1) return max;
  const rank = q * (n - 1);
  let v: number;
  if (rank < negCount) {
    v = -mapping.value(keyAtRank(parts, true, negCount - rank - 1, false));
  } else if (rank < negCount + zeroCount) {
    v = 0;
  } else {
    v = mapping.value(keyAtRank(parts, false, rank - negCount - zeroCount, true));
  }
  // The exact quantile lies in [min, max], so clamping can only reduce the error.
  return Math.min(Math.max(v, min), max);
}

/**
 * The key holding the element of 0-based rank `rank` (fractional ranks round as DDSketch does) in
 * the merge of the parts' values of one sign, read in place: every unit sits at
 * max(key, maxKey - LIMIT + 1) of the merged range, as a merged store would hold it.
 */
function keyAtRank(parts: readonly QuantileState[], negative: boolean, rank: number, lower: boolean): number {
  let lo = Infinity;
  let hi = -Infinity;
  let exactKeys = 0;
  for (const s of parts) {
    if (s.n === 0) continue;
    if (s.exact !== null) {
      for (const v of s.exact) {
        const magnitude = negative ? -v : v;
        if (magnitude <= MIN_MAGNITUDE) continue;
        const key = mapping.key(magnitude);
        if (exactKeys === keyScratch.length) keyScratch = growKeys(keyScratch);
        keyScratch[exactKeys++] = key;
        if (key < lo) lo = key;
        if (key > hi) hi = key;
      }
      continue;
    }
    const b = negative ? s.negative : s.positive;
    if (b === null || b.count === 0) continue;
    if (b.minKey < lo) lo = b.minKey;
    if (b.maxKey > hi) hi = b.maxKey;
  }
  // The merged counts per key, summed store by store (a sequential pass each) rather than key by
  // key across stores; keys under the limit collapse into the first.
  const start = Math.max(lo, hi - PERCENTILE_BIN_LIMIT + 1);
  const width = hi - start + 1;
  const merged = rankScratch.fill(0, 0, width);
  for (const s of parts) {
    const b = negative ? s.negative : s.positive;
    if (s.n === 0 || s.exact !== null || b === null || b.count === 0) continue;
    const bins = b.bins;
    let k = b.minKey;
    for (const below = Math.min(start, b.maxKey + 1); k < below; k++) merged[0] = merged[0]! + bins[k - b.offset]!;
    for (let i = k - b.offset, j = k - start, end = b.maxKey - b.offset; i <= end; i++, j++) merged[j] = merged[j]! + bins[i]!;
  }
  for (let i = 0; i < exactKeys; i++) {
    const j = Math.max(keyScratch[i]!, start) - start;
    merged[j] = merged[j]! + 1;
  }
  let running = 0;
  for (let j = 0; j < width; j++) {
    running += merged[j]!;
    if (lower ? running > rank : running >= rank + 1) return start + j;
  }
  return hi;
}

/** keyAtRank's keys of exact values (grown as needed; a window's exact panes hold 32 values each). */
let keyScratch: Float64Array = new Float64Array(256);

function growKeys(keys: Float64Array): Float64Array {
  const grown = new Float64Array(keys.length * 2);
  grown.set(keys);
  return grown;
}

/** keyAtRank's merged counts: one merged store spans at most PERCENTILE_BIN_LIMIT keys. */
const rankScratch = new Float64Array(PERCENTILE_BIN_LIMIT);

/** A deep copy. */
export function quantileClone(s: QuantileState): QuantileState {
  const c = new QuantileState();
  c.n = s.n;
  c.min = s.min;
  c.max = s.max;
  c.exact = s.exact === null ? null : s.exact.slice();
  c.zeroCount = s.zeroCount;
  c.positive = s.positive === null ? null : s.positive.clone();
  c.negative = s.negative === null ? null : s.negative.clone();
  return c;
}

/**
 * Checkpoint form: `{n: 0}`; `{x}`, the exact values as base64 of little-endian doubles; or
 * `{b}`, a binned sketch as base64 of: min and max (doubles), n and the zero count (varints), then
 * the positive and the negative store, each its bin count (0: none), its first key (zigzag) and
 * its counts (varints). Checkpoints write thousands of sketches at once: as JSON numbers their
 * doubles and bins were most of a checkpoint's text and of the time to write it.
 */
export function quantileToJSON(s: QuantileState): unknown {
  if (s.n === 0) return { n: 0 };
  const w = new ByteWriter();
  if (s.exact !== null) {
    for (const v of s.exact) w.double(v);
    return { x: w.base64() };
  }
  w.double(s.min);
  w.double(s.max);
  w.varint(s.n);
  w.varint(s.zeroCount);
  for (const b of [s.positive, s.negative]) {
    if (b === null || b.count === 0) {
      w.varint(0);
      continue;
    }
    w.varint(b.maxKey - b.minKey + 1);
    w.varint(b.minKey >= 0 ? 2 * b.minKey : -2 * b.minKey - 1);
    w.counts(b.bins, b.minKey - b.offset, b.maxKey - b.offset + 1);
  }
  return { b: w.base64() };
}

/** Scratch of quantileToJSON: two doubles, two varints and two stores of at most PERCENTILE_BIN_LIMIT varints. */
const scratch = Buffer.alloc(16 + 4 * 8 + 2 * (PERCENTILE_BIN_LIMIT + 2) * 8);

/** Writes quantileToJSON's bytes into the shared scratch (one sketch at a time). */
class ByteWriter {
  private at = 0;
  double(v: number): void {
    this.at = scratch.writeDoubleLE(v, this.at);
  }
  /** Unsigned LEB128 of a safe integer. */
  varint(v: number): void {
    while (v >= 0x80) {
      scratch[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    scratch[this.at++] = v;
  }
  /** varint() of bins[from..to), with the one-byte case (nearly every bin) inline. */
  counts(bins: readonly number[], from: number, to: number): void {
    let at = this.at;
    for (let i = from; i < to; i++) {
      const c = bins[i] ?? 0;
      if (c < 0x80) scratch[at++] = c;
      else {
        this.at = at;
        this.varint(c);
        at = this.at;
      }
    }
    this.at = at;
  }
  base64(): string {
    return scratch.toString('base64', 0, this.at);
  }
}

/** Reads quantileToJSON's bytes; any read past the end or out of range throws badState(). */
class ByteReader {
  private at = 0;
  private readonly bytes: Buffer;
  constructor(text: unknown) {
    if (typeof text !== 'string') throw badState();
    this.bytes = Buffer.from(text, 'base64');
    // Only what quantileToJSON writes: canonical base64, nothing else tolerated.
    if (this.bytes.toString('base64') !== text) throw badState();
  }
  get done(): boolean {
    return this.at === this.bytes.length;
  }
  double(): number {
    if (this.at + 8 > this.bytes.length) throw badState();
    const v = this.bytes.readDoubleLE(this.at);
    this.at += 8;
    if (!Number.isFinite(v)) throw badState();
    return v;
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let n = 0; ; n++) {
      if (this.at >= this.bytes.length || n === 8) throw badState();
      const byte = this.bytes[this.at++]!;
      v += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) break;
    }
    if (!Number.isSafeInteger(v)) throw badState();
    return v;
  }
}

/** Inverse of quantileToJSON; also reads the JSON-number form of earlier versions. */
export function quantileFromJSON(json: unknown): QuantileState {
  const o = json as Record<string, unknown> | null;
  const s = new QuantileState();
  if (o === null || typeof o !== 'object') throw badState();
  if (o.x !== undefined) {
    const r = new ByteReader(o.x);
    const values: number[] = [];
    while (!r.done) values.push(r.double());
    if (values.length === 0 || values.length > PERCENTILE_EXACT_LIMIT) throw badState();
    for (const v of values) quantileAdd(s, v);
    return s;
  }
  if (o.b !== undefined) {
    const r = new ByteReader(o.b);
    s.min = r.double();
    s.max = r.double();
    s.n = r.varint();
    s.zeroCount = r.varint();
    s.exact = null;
    s.positive = readStore(r);
    s.negative = readStore(r);
    if (!r.done || s.n === 0) throw badState();
    return s;
  }
  if (!isCount(o.n)) throw badState();
  if (o.n === 0) return s;
  if (Array.isArray(o.v)) {
    if (!o.v.every(Number.isFinite) || o.v.length !== o.n) throw badState();
    for (const v of o.v as number[]) quantileAdd(s, v);
    return s;
  }
  if (!Number.isFinite(o.min) || !Number.isFinite(o.max) || !isCount(o.z)) throw badState();
  s.n = o.n;
  s.min = o.min as number;
  s.max = o.max as number;
  s.exact = null;
  s.zeroCount = o.z;
  s.positive = storeFromJSON(o.p);
  s.negative = storeFromJSON(o.m);
  return s;
}

function readStore(r: ByteReader): BinStore | null {
  const bins = r.varint();
  if (bins === 0) return null;
  if (bins > PERCENTILE_BIN_LIMIT) throw badState();
  const zz = r.varint();
  const minKey = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  const counts: number[] = [];
  for (let i = 0; i < bins; i++) counts.push(r.varint());
  const b = new BinStore();
  b.restore(minKey, counts);
  return b;
}

/** A store in the JSON form of earlier versions: `[minKey, ...counts]`. */
function storeFromJSON(json: unknown): BinStore | null {
  if (json === null || json === undefined) return null;
  if (!Array.isArray(json) || json.length < 2 || !json.every(Number.isSafeInteger)) throw badState();
  const [minKey, ...counts] = json as number[];
  if (counts.length > PERCENTILE_BIN_LIMIT || counts.some((c) => c < 0)) throw badState();
  const b = new BinStore();
  b.restore(minKey as number, counts);
  return b;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function badState(): Error {
  return new Error('invalid PERCENTILE state in checkpoint');
}
