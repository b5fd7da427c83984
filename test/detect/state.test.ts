import { describe, expect, it } from 'vitest';
import { detectorFactory, type BaselineFunction } from '../../src/detect/index.js';
import { gaussian, prng } from './prng.js';

/** Each function with arguments that exercise its state (small windows so rings wrap). */
const CASES: [BaselineFunction, (string | number)[], Record<string, string | number>][] = [
  ['ZSCORE', [], {}],
  ['ZSCORE', [5], { warmup: 3 }],
  ['BASELINE', [], {}],
  ['BASELINE_STDDEV', [20], {}],
  ['EWMA', [0.2], {}],
  ['ROBUST_ZSCORE', [7], { warmup: 3 }],
  ['ROBUST_ZSCORE', [], {}],
  ['SEASONAL_ZSCORE', ['hour_of_day'], { tz: 'Europe/Berlin', warmup: 2 }],
  ['SEASONAL_ZSCORE', ['hour_of_week'], {}],
  ['SEASONAL_ZSCORE', ['day_of_week'], { tz: 'America/New_York' }],
  ['ANOMALY_SCORE', [], {}],
];

/** A messy stream: noise, level shifts, spikes, NULLs, irregular and repeated timestamps. */
function stream(seed: number, n: number): { x: number | null; t: number }[] {
  const rnd = prng(seed);
  const g = gaussian(rnd);
  let t = Date.UTC(2024, 2, 20);
  let level = 100 * rnd();
  const out: { x: number | null; t: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.01) level += 50 * g();
    t += rnd() < 0.05 ? 0 : Math.floor(rnd() * 3_600_000);
    const x = rnd() < 0.02 ? null : rnd() < 0.01 ? level + 1000 * g() : level + 5 * g();
    out.push({ x, t });
  }
  return out;
}

describe('checkpoint round trip: toJSON -> JSON text -> restore gives identical outputs', () => {
  it.each(CASES)('%s %j %j', (fn, args, named) => {
    const factory = detectorFactory(fn, args, named);
    for (let seed = 1; seed <= 20; seed++) {
      const rows = stream(seed, 600);
      const cut = Math.floor(prng(seed * 7919)() * rows.length);
      const original = factory.create();
      for (const r of rows.slice(0, cut)) original.update(r.x, r.t);
      const restored = factory.restore(JSON.parse(JSON.stringify(original.toJSON())));
      expect(restored.toJSON()).toEqual(original.toJSON());
      for (const r of rows.slice(cut)) expect(restored.update(r.x, r.t)).toBe(original.update(r.x, r.t));
    }
  });

  it.each(CASES)('%s state stays finite JSON (no NaN or Infinity)', (fn, args, named) => {
    const det = detectorFactory(fn, args, named).create();
    for (const r of stream(99, 2000)) det.update(r.x, r.t);
    const text = JSON.stringify(det.toJSON());
    expect(text).not.toMatch(/null|NaN|Infinity/);
  });

  it('restore rejects state of the wrong shape with a one-line message', () => {
    expect(() => detectorFactory('ZSCORE', [], {}).restore({ ew: [1, 2] })).toThrow("detector state: 'ew' has 2 entries, expected 3");
    expect(() => detectorFactory('ANOMALY_SCORE', [], {}).restore({})).toThrow(/detector state/);
    expect(() => detectorFactory('ROBUST_ZSCORE', [5], {}).restore({ ring: [1, 2, 3, 4, 5, 6], next: 0 })).toThrow(/ring/);
  });
});
