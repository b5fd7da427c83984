import { describe, expect, it } from 'vitest';
import { ANOMALY_PARAMS, AnomalyScore, normalTail, type AnomalyParams } from '../../src/detect/anomaly-score.js';
import { gaussian, prng } from './prng.js';

const T0 = Date.UTC(2024, 0, 1);
const STEP = 5 * 60_000;
/** The documented alert level (the NAB-optimal threshold), where onset suppression starts. */
const ALERT = ANOMALY_PARAMS.restLevel;

/** Scores a series (one row every 5 minutes) with a fresh detector. */
function score(values: readonly number[], params: AnomalyParams = ANOMALY_PARAMS): number[] {
  const d = new AnomalyScore(params);
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
    const alerts = out.map((v, i) => [v, i] as const).filter(([v, i]) => i >= 100 && v >= ALERT);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts[0]![1]).toBeGreaterThanOrEqual(1000);
    expect(alerts[0]![1]).toBeLessThan(1005);
    // Onset suppression: nothing for ANOMALY_PARAMS.rest rows after the first alert.
    expect(out.slice(alerts[0]![1] + 1, alerts[0]![1] + 1 + ANOMALY_PARAMS.rest).every((v) => v === 0)).toBe(true);
  });

  it('stays quiet on a flat line and on a clean daily sine', () => {
    const flat = score(Array(3000).fill(7));
    expect(Math.max(...flat)).toBeLessThan(ALERT);
    const sine = score(Array.from({ length: 4000 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 288)));
    expect(Math.max(...sine.slice(600))).toBeLessThan(ALERT);
  });

  it('flags a daily pattern that breaks (the peak goes missing) via the time-of-day predictor', () => {
    const daily = (i: number): number => 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + 0.5 * g();
    const values = Array.from({ length: 4000 }, (_, i) => (i >= 3000 && i < 3100 ? 100 : daily(i)));
    const out = score(values);
    expect(Math.max(...out.slice(600, 3000))).toBeLessThan(ALERT);
    expect(Math.max(...out.slice(3000, 3100))).toBeGreaterThanOrEqual(ALERT);
  });

  it('learns a spike that recurs daily (the empirical tail), yet flags a larger one', () => {
    // Low noise, and a 30σ spike at a drifting time of day (the hour buckets cannot learn it).
    const DAY = 288;
    const spikeRow = (day: number): number => day * DAY + 100 + 7 * day;
    const values = Array.from({ length: 14 * DAY }, () => 10 + 0.5 * g());
    for (let day = 0; day < 14; day++) values[spikeRow(day)] = 25;
    values[spikeRow(12)] = 50;
    const alertsOnDays = (out: number[]): number[] =>
      Array.from({ length: 14 }, (_, day) => day).filter((day) => out[spikeRow(day)]! >= ALERT);
    const out = score(values);
    // The first spikes are news; from the fourth day on the same spike is routine, the larger one on day 12 is not.
    expect(alertsOnDays(out).filter((day) => day >= 3)).toEqual([12]);
    // Without the empirical tail (the fitted Pareto tail only) every daily spike alerts.
    const paretoOnly = score(values, { ...ANOMALY_PARAMS, histWeight: 0 });
    expect(alertsOnDays(paretoOnly).filter((day) => day >= 3).length).toBeGreaterThan(5);
  });
});
