import { describe, expect, it } from 'vitest';
import {
  MAX_TP,
  NAB_PROFILES,
  matchWindows,
  probationRows,
  rowValues,
  scaledSigmoid,
  scoreCorpus,
  type NabFile,
  type NabProfile,
} from '../../src/detect/nab-score.js';

const standard = NAB_PROFILES[0]!;

/** A small corpus: three files of 1000 rows (probation 150) with windows after probation. */
function corpus(score: (file: number, row: number, windows: readonly (readonly [number, number])[]) => number): NabFile[] {
  const layouts: [number, number][][] = [[[300, 399]], [[200, 249], [600, 699]], []];
  return layouts.map((windows, f) => ({
    name: `f${f}`,
    category: f === 2 ? 'quiet' : 'busy',
    windows,
    scores: Array.from({ length: 1000 }, (_, i) => score(f, i, windows)),
  }));
}

describe('scaledSigmoid', () => {
  it.each([
    [0, 0],
    [-1, 0.9866142981514305],
    [3, 2 / (1 + Math.exp(15)) - 1],
    [3.0001, -1],
    [100, -1],
  ])('S(%f) = %f', (x, want) => {
    expect(scaledSigmoid(x)).toBeCloseTo(want, 12);
  });
  it('maxTP is S(-1)', () => expect(MAX_TP).toBeCloseTo(0.9866143, 7));
});

describe('probationRows', () => {
  it.each([
    [1000, 150],
    [4032, 604],
    [15902, 750],
    [5000, 750],
    [10, 1],
  ])('n=%i -> %i', (n, want) => expect(probationRows(n)).toBe(want));
});

describe('matchWindows', () => {
  const ts = ['2014-01-01 00:00:00', '2014-01-01 00:05:00', '2014-01-01 00:10:00', '2014-01-01 00:15:00'];
  it('matches exact timestamps, ignoring a zero fractional suffix', () => {
    expect(matchWindows(ts, [['2014-01-01 00:05:00.000000', '2014-01-01 00:10:00.000000']])).toEqual([[1, 2]]);
  });
  it('throws when a boundary is not a row timestamp', () => {
    expect(() => matchWindows(ts, [['2014-01-01 00:06:00', '2014-01-01 00:10:00']])).toThrow(/not found/);
  });
});

describe('rowValues', () => {
  const { values, windowOf } = rowValues(20, [[5, 9]], standard);
  it('charges -A_FP before any window has ended', () => {
    expect(values[0]).toBeCloseTo(-0.11, 12);
    expect(windowOf[0]).toBe(-1);
  });
  it('weights window rows from A_TP on the first row down to about 0 on the last', () => {
    expect(values[5]).toBeCloseTo(1, 12);
    expect(values[7]).toBeCloseTo(scaledSigmoid(-3 / 5) / MAX_TP, 12);
    expect(values[9]).toBeCloseTo(scaledSigmoid(-1 / 5) / MAX_TP, 12);
    expect(windowOf[7]).toBe(0);
  });
  it('charges little just after a window and -A_FP three widths later', () => {
    expect(values[10]).toBeCloseTo(0.11 * scaledSigmoid(1 / 4), 12);
    expect(values[19]).toBeCloseTo(-0.11, 3);
    expect(values[10]!).toBeGreaterThan(values[12]!);
  });
});

describe('scoreCorpus', () => {
  it.each(NAB_PROFILES.map((p) => [p.name, p] as const))('a constant 0.5 detector scores 0 (%s)', (_name, profile) => {
    const r = scoreCorpus(corpus(() => 0.5), profile);
    expect(r.score).toBeCloseTo(0, 9);
    expect(r.threshold).toBe(1.1);
  });

  it.each(NAB_PROFILES.map((p) => [p.name, p] as const))('a perfect detector scores 100 (%s)', (_name, profile) => {
    const r = scoreCorpus(corpus((_f, i, ws) => (ws.some(([a]) => a === i) ? 1 : 0)), profile);
    expect(r.score).toBeCloseTo(100, 9);
    expect(r.tp).toBe(3);
    expect(r.fp).toBe(0);
  });

  it('ignores detections inside probation', () => {
    const r = scoreCorpus(corpus((_f, i, ws) => (i < 150 || ws.some(([a]) => a === i) ? 1 : 0)), standard);
    expect(r.score).toBeCloseTo(100, 9);
  });

  it('credits a window once, with its earliest detection', () => {
    // Detect the middle and the last row of every window: credit is the middle row's weight.
    const files = corpus((_f, i, ws) => (ws.some(([a, b]) => i === b || i === Math.floor((a + b) / 2)) ? 1 : 0));
    const r = scoreCorpus(files, standard);
    const mid = (a: number, b: number): number => scaledSigmoid(-(b - Math.floor((a + b) / 2) + 1) / (b - a + 1)) / MAX_TP;
    const raw = mid(300, 399) + mid(200, 249) + mid(600, 699);
    expect(r.raw).toBeCloseTo(raw, 9);
    expect(r.score).toBeCloseTo((100 * (raw + 3)) / 6, 9);
  });

  it('charges every detected row outside windows, and the sweep picks the best threshold', () => {
    // Windows get 0.9 on their first row; file 2 has 0.95 on 5 rows far from any window.
    const files = corpus((f, i, ws) => (ws.some(([a]) => a === i) ? 0.9 : f === 2 && i >= 500 && i < 505 ? 0.95 : 0));
    const lowFn: NabProfile = NAB_PROFILES[2]!;
    const r = scoreCorpus(files, lowFn);
    // At 0.9: 3 windows (+3) and 5 FPs (-0.55) beat no detection (-6).
    expect(r.threshold).toBe(0.9);
    expect(r.raw).toBeCloseTo(3 - 0.55, 9);
    expect(r.fp).toBe(5);
    expect(r.categories['quiet']).toEqual({ score: null, raw: expect.closeTo(-0.55, 9) as unknown as number, fp: 5 });
    expect(r.categories['busy']!.score).toBeCloseTo(100, 9);
  });

  it('prefers no detection when false positives outweigh the windows', () => {
    const files = corpus((f, i, ws) => (ws.some(([a]) => a === i) ? 0.5 : f === 2 && i >= 200 ? 0.9 : 0));
    const r = scoreCorpus(files, standard);
    // 0.9 catches only the 800 FPs of file 2; 0.5 adds the windows but cannot pay the FPs back.
    expect(r.threshold).toBe(1.1);
    expect(r.score).toBeCloseTo(0, 9);
  });
});
