import { describe, expect, it } from 'vitest';
import { detectorFactory } from '../../src/detect/index.js';
import { dayOfWeek, hourOfDay, localMs, utcOffset } from '../../src/detect/local-time.js';
import { gaussian, prng } from './prng.js';

const HOUR = 3_600_000;

describe('local time', () => {
  it.each([
    ['UTC', '2024-03-31T00:30:00Z', 0],
    ['Europe/Berlin', '2024-03-31T00:30:00Z', 1], // before the spring-forward at 01:00 UTC
    ['Europe/Berlin', '2024-03-31T01:00:00Z', 2], // after it
    ['Europe/Berlin', '2024-10-27T00:59:00Z', 2],
    ['Europe/Berlin', '2024-10-27T01:00:00Z', 1], // fall back
    ['America/New_York', '2024-07-01T12:00:00Z', -4],
    ['Asia/Kathmandu', '2024-07-01T12:00:00Z', 5.75],
  ])('%s at %s is UTC%+f', (tz, iso, hours) => {
    expect(utcOffset(tz, Date.parse(iso))).toBe(hours * HOUR);
  });

  it('gives local hour and Monday-based weekday', () => {
    const t = Date.parse('2024-03-31T01:30:00Z'); // Sunday 03:30 in Berlin after the switch
    expect(hourOfDay(localMs('Europe/Berlin', t))).toBe(3);
    expect(dayOfWeek(localMs('Europe/Berlin', t))).toBe(6);
    expect(dayOfWeek(Date.parse('2024-04-01T00:00:00Z'))).toBe(0);
  });
});

describe('SEASONAL_ZSCORE', () => {
  /** Hourly values that follow Berlin wall-clock time: high 09-17 local, low otherwise. */
  function berlinOffice(days: number, start: string, seed = 1): { x: number; t: number }[] {
    const g = gaussian(prng(seed));
    const t0 = Date.parse(start);
    return Array.from({ length: days * 24 }, (_, i) => {
      const t = t0 + i * HOUR;
      const h = hourOfDay(localMs('Europe/Berlin', t));
      return { t, x: (h >= 9 && h < 17 ? 100 : 20) + 2 * g() };
    });
  }

  it('in Europe/Berlin, a DST change does not produce a burst of high scores', () => {
    const det = detectorFactory('SEASONAL_ZSCORE', ['hour_of_day'], { tz: 'Europe/Berlin' }).create();
    const rows = berlinOffice(28, '2024-03-17T00:00:00Z'); // DST starts 2024-03-31
    const z = rows.map((r) => det.update(r.x, r.t));
    const dst = rows.findIndex((r) => r.t >= Date.parse('2024-03-31T01:00:00Z'));
    const after = z.slice(dst, dst + 72).map((v) => Math.abs(v!));
    expect(Math.max(...after)).toBeLessThan(6);
  });

  it('the same data judged in UTC does burst at the DST change (the test can fail)', () => {
    const det = detectorFactory('SEASONAL_ZSCORE', ['hour_of_day'], {}).create();
    const rows = berlinOffice(28, '2024-03-17T00:00:00Z');
    const z = rows.map((r) => det.update(r.x, r.t));
    const dst = rows.findIndex((r) => r.t >= Date.parse('2024-03-31T01:00:00Z'));
    expect(z.slice(dst, dst + 24).filter((v) => Math.abs(v!) > 6).length).toBeGreaterThanOrEqual(2);
  });

  it('is NULL until the row\'s own season bucket has warmed up', () => {
    const det = detectorFactory('SEASONAL_ZSCORE', ['hour_of_day'], { warmup: 3 }).create();
    const z = berlinOffice(5, '2024-01-01T00:00:00Z').map((r) => det.update(r.x, r.t));
    expect(z.slice(0, 72).every((v) => v === null)).toBe(true);
    expect(z.slice(72).every((v) => v !== null)).toBe(true);
  });

  it('scores an off-season value high even when it is normal for other hours', () => {
    const det = detectorFactory('SEASONAL_ZSCORE', ['hour_of_day'], { tz: 'Europe/Berlin' }).create();
    const rows = berlinOffice(14, '2024-01-01T00:00:00Z');
    for (const r of rows) det.update(r.x, r.t);
    // 100 at 03:00 local: normal for office hours, anomalous at night.
    const night = Date.parse('2024-01-15T02:00:00Z');
    expect(det.update(100, night)!).toBeGreaterThan(10);
  });
});
