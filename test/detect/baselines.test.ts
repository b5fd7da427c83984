import { describe, expect, it } from 'vitest';
import { detectorFactory, type BaselineFunction } from '../../src/detect/index.js';
import { gaussian, prng } from './prng.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** Runs a detector over values (one a minute) and returns its outputs. */
function run(fn: BaselineFunction, values: readonly (number | null)[], args: (string | number)[] = [], named: Record<string, number | string> = {}): (number | null)[] {
  const det = detectorFactory(fn, args, named).create();
  return values.map((x, i) => det.update(x, T0 + i * MINUTE));
}

/** n draws of N(mean, sd), seeded. */
function normal(n: number, mean = 100, sd = 5, seed = 1): number[] {
  const g = gaussian(prng(seed));
  return Array.from({ length: n }, () => mean + sd * g());
}

describe('warm-up: NULL for exactly the documented number of rows', () => {
  it.each([
    ['ZSCORE', [], {}, 10],
    ['ZSCORE', [], { warmup: 25 }, 25],
    ['BASELINE', [], {}, 10],
    ['BASELINE_STDDEV', [], {}, 10],
    ['ROBUST_ZSCORE', [], {}, 10],
    ['ROBUST_ZSCORE', [20], { warmup: 5 }, 5],
    ['EWMA', [0.5], {}, 0],
    ['EWMA', [0.5], { warmup: 4 }, 3],
    ['ZSCORE', [], { alpha: 0.1, warmup: 3 }, 3],
    ['ANOMALY_SCORE', [], {}, 30],
  ] as const)('%s %j %j -> %i NULLs', (fn, args, named, nulls) => {
    const out = run(fn, normal(100), [...args], { ...named });
    expect(out.findIndex((v) => v !== null)).toBe(nulls);
    expect(out.slice(nulls).every((v) => v !== null)).toBe(true);
  });

  it.each(['ZSCORE', 'ROBUST_ZSCORE', 'EWMA', 'BASELINE', 'ANOMALY_SCORE'] as const)('%s returns NULL for NULL input and keeps its state', (fn) => {
    const args = fn === 'EWMA' ? [0.3] : [];
    const values = normal(60);
    const plain = run(fn, values, args);
    const withNulls = run(fn, [...values.slice(0, 40), null, Number.NaN, ...values.slice(40)], args);
    expect(withNulls[40]).toBeNull();
    expect(withNulls[41]).toBeNull();
    expect([...withNulls.slice(0, 40), ...withNulls.slice(42)]).toEqual(plain);
  });
});

describe('known values', () => {
  it('EWMA is the textbook recursion starting at the first value', () => {
    expect(run('EWMA', [10, 20, 20, 0], [0.5])).toEqual([10, 15, 17.5, 8.75]);
    expect(run('EWMA', [10, 20], [], { alpha: 1 })).toEqual([10, 20]);
  });

  it('ZSCORE during start-up is the plain z against the mean and (population) deviation of earlier rows', () => {
    // warmup 2: row 3 (x=4) is scored against [1, 3]: mean 2, variance 1.
    expect(run('ZSCORE', [1, 3, 4], [], { warmup: 2 })[2]).toBeCloseTo(2, 12);
    expect(run('BASELINE', [1, 3, 4], [], { warmup: 2 })[2]).toBeCloseTo(2, 12);
    expect(run('BASELINE_STDDEV', [1, 3, 4], [], { warmup: 2 })[2]).toBeCloseTo(1, 12);
  });

  it('ZSCORE = (x - BASELINE) / BASELINE_STDDEV on every row', () => {
    const values = normal(300, 50, 3, 7);
    const z = run('ZSCORE', values);
    const b = run('BASELINE', values);
    const s = run('BASELINE_STDDEV', values);
    values.forEach((x, i) => {
      if (z[i] === null) return;
      expect(z[i]).toBeCloseTo((x - b[i]!) / s[i]!, 9);
    });
  });

  it('ROBUST_ZSCORE uses median and 1.4826·MAD of the trailing window', () => {
    // Window of the 5 earlier rows [1, 2, 3, 4, 100]: median 3, MAD 1 -> z(8) = 5 / 1.4826.
    const out = run('ROBUST_ZSCORE', [1, 2, 3, 4, 100, 8], [5], { warmup: 5 });
    expect(out[5]).toBeCloseTo(5 / 1.4826, 9);
    // The ring forgets: after 5 more rows of 10 the median is 10.
    const later = run('ROBUST_ZSCORE', [1, 2, 3, 4, 100, 10, 10, 10, 10, 10, 10], [5], { warmup: 5 });
    expect(later[10]).toBe(0);
  });

  it('BASELINE tracks a stationary series and BASELINE_STDDEV its deviation', () => {
    const b = run('BASELINE', normal(2000, 100, 5));
    const s = run('BASELINE_STDDEV', normal(2000, 100, 5));
    expect(b[1999]).toBeGreaterThan(97);
    expect(b[1999]).toBeLessThan(103);
    // Winsorising at 3σ shrinks the estimate slightly for normal data.
    expect(s[1999]).toBeGreaterThan(3.5);
    expect(s[1999]).toBeLessThan(6.5);
  });
});

describe('outlier robustness', () => {
  const base = normal(400, 100, 5, 3);

  it.each(['ZSCORE', 'ROBUST_ZSCORE'] as const)('%s: one 1000σ spike scores high and does not poison later scores', (fn) => {
    const spiked = [...base.slice(0, 300), 5100, ...base.slice(300)];
    const out = run(fn, spiked);
    expect(Math.abs(out[300]!)).toBeGreaterThan(100);
    // The next rows score like the same rows without the spike (within 25%).
    const clean = run(fn, base);
    for (let i = 301; i < 320; i++) expect(Math.abs(out[i]! - clean[i - 1]!)).toBeLessThan(0.25 * Math.abs(clean[i - 1]!) + 0.5);
  });

  it('BASELINE moves by at most alpha·3σ on a spike', () => {
    const spiked = [...base.slice(0, 300), 5100, base[300]!];
    const out = run('BASELINE', spiked);
    const sd = run('BASELINE_STDDEV', spiked)[300]!;
    expect(Math.abs(out[301]! - out[300]!)).toBeLessThan(3 * sd * 0.02);
  });

  it('ZSCORE: a 30-row incident does not drag the baseline to the incident level', () => {
    const incident = [...base.slice(0, 300), ...Array(30).fill(300), ...base.slice(300)];
    const b = run('BASELINE', incident);
    expect(b[330]!).toBeLessThan(150);
  });

  it('ZSCORE: a permanent level shift is learnt eventually', () => {
    const shifted = [...base.slice(0, 300), ...normal(1000, 200, 5, 9)];
    const z = run('ZSCORE', shifted);
    expect(Math.abs(z[1299]!)).toBeLessThan(4);
  });

  it('ANOMALY_SCORE: a 60σ spike scores high once (above the NAB-tuned alert level 0.3), then quiet', () => {
    const spiked = [...base.slice(0, 300), 400, ...base.slice(300)];
    const out = run('ANOMALY_SCORE', spiked);
    expect(out[300]!).toBeGreaterThan(0.5);
    expect(Math.max(...(out.slice(301) as number[]))).toBeLessThan(0.3);
    expect(Math.max(...(out.slice(40, 300) as number[]))).toBeLessThan(0.3);
  });

  it('ANOMALY_SCORE stays in [0, 1]', () => {
    const g = gaussian(prng(5));
    const wild = Array.from({ length: 3000 }, (_, i) => (i % 97 === 0 ? 1e9 : 0) + Math.exp(3 * g()));
    for (const v of run('ANOMALY_SCORE', wild)) if (v !== null) expect(v >= 0 && v <= 1).toBe(true);
  });
});

describe('argument validation: one-line messages', () => {
  it.each([
    ['EWMA', [], {}, "EWMA needs the argument 'alpha'"],
    ['EWMA', [0], {}, "EWMA argument 'alpha' must be a number between"],
    ['EWMA', [1.5], {}, "EWMA argument 'alpha' must be a number between"],
    ['EWMA', ['x'], {}, "EWMA argument 'alpha' must be a number, got \"x\""],
    ['EWMA', [0.5], { alpha: 0.2 }, "EWMA argument 'alpha' is given twice"],
    ['BASELINE', [], { alpha: 0.2, halflife: 5 }, 'BASELINE takes halflife or alpha, not both'],
    ['ZSCORE', [], { window: 5 }, "ZSCORE has no argument named 'window'; it accepts halflife, warmup, clip, alpha"],
    ['ZSCORE', [1, 2, 3, 4, 5], {}, 'ZSCORE takes at most 5 argument(s), got 6'],
    ['ROBUST_ZSCORE', [2], {}, "ROBUST_ZSCORE argument 'window' must be an integer between 3 and 100000, got 2"],
    ['ROBUST_ZSCORE', [10.5], {}, "ROBUST_ZSCORE argument 'window' must be an integer"],
    ['SEASONAL_ZSCORE', [], {}, "SEASONAL_ZSCORE needs the argument 'season'"],
    ['SEASONAL_ZSCORE', ['hourly'], {}, "SEASONAL_ZSCORE argument 'season' must be one of 'hour_of_day', 'day_of_week', 'hour_of_week', got \"hourly\""],
    ['SEASONAL_ZSCORE', ['hour_of_day'], { tz: 'Mars/Olympus' }, "unknown time zone 'Mars/Olympus'"],
    ['ANOMALY_SCORE', [3], {}, 'ANOMALY_SCORE takes at most 1 argument(s), got 2'],
    ['ANOMALY_SCORE', [], { halflife: 3 }, "ANOMALY_SCORE has no argument named 'halflife'; it takes none"],
  ] as const)('%s %j %j', (fn, args, named, message) => {
    let err: unknown;
    try {
      detectorFactory(fn, [...args], { ...named });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('accepts named arguments case-insensitively and season names in any case', () => {
    expect(() => detectorFactory('SEASONAL_ZSCORE', ['HOUR_OF_DAY'], { TZ: 'Europe/Berlin', HalfLife: 10 })).not.toThrow();
  });
});
