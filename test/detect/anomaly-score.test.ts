import { describe, expect, it } from 'vitest';
import { ANOMALY_PARAMS, AnomalyScore, normalTail } from '../../src/detect/anomaly-score.js';
import { gaussian, prng } from './prng.js';

const T0 = Date.UTC(2024, 0, 1);
const STEP = 5 * 60_000;

/** Scores a series (one row every 5 minutes) with a fresh detector. */
function score(values: readonly number[]): number[] {
  const d = new AnomalyScore();
  return values.map((x, i) => d.update(x, T0 + i * STEP) ?? 0);
}

describe('normalTail', () => {
  it.each([
    [0, 0.5],
    [1, 0.15865525],
    [3, 0.0013498980],
    [-2, 0.97724987],
  ])('Q(%f) = %f', (z, want) => expect(normalTail(z)).toBeCloseTo(want, 6));
});

describe('ANOMALY_SCORE behaviour', () => {
  const g = gaussian(prng(11));
  const noise = Array.from({ length: 2000 }, () => 50 + 2 * g());

  it('fires once at the onset of a level shift, then rests', () => {
    const shifted = [...noise.slice(0, 1000), ...noise.slice(1000).map((x) => x + 30)];
    const out = score(shifted);
    const alerts = out.map((v, i) => [v, i] as const).filter(([v, i]) => i >= 100 && v >= 0.4);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts[0]![1]).toBeGreaterThanOrEqual(1000);
    expect(alerts[0]![1]).toBeLessThan(1005);
    // Onset suppression: nothing for ANOMALY_PARAMS.rest rows after the first alert.
    expect(out.slice(alerts[0]![1] + 1, alerts[0]![1] + 1 + ANOMALY_PARAMS.rest).every((v) => v === 0)).toBe(true);
  });

  it('stays quiet on a flat line and on a clean daily sine', () => {
    const flat = score(Array(3000).fill(7));
    expect(Math.max(...flat)).toBeLessThan(0.4);
    const sine = score(Array.from({ length: 4000 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 288)));
    expect(Math.max(...sine.slice(600))).toBeLessThan(0.4);
  });

  it('flags a daily pattern that breaks (the peak goes missing) via the time-of-day predictor', () => {
    const daily = (i: number): number => 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + 0.5 * g();
    const values = Array.from({ length: 4000 }, (_, i) => (i >= 3000 && i < 3100 ? 100 : daily(i)));
    const out = score(values);
    expect(Math.max(...out.slice(600, 3000))).toBeLessThan(0.4);
    expect(Math.max(...out.slice(3000, 3100))).toBeGreaterThanOrEqual(0.4);
  });
});
