/**
 * SEASONAL_ZSCORE(x, season [, tz]): one winsorised EW baseline per season bucket (local hour of
 * day: 24, day of week: 7, hour of week: 168), scored against the bucket the row falls in.
 * Buckets use local time in `tz` (default UTC), so a daily pattern that follows people's clocks
 * stays aligned across DST changes.
 */
import { ArgReader, numArray, type ConstArg } from './args.js';
import { EW_STRIDE, ewCount, ewMean, ewStd, ewUpdate, type EwParams } from './ew-stats.js';
import { dayOfWeek, hourOfDay, localMs, validateTimeZone } from './local-time.js';
import type { Detector, DetectorFactory } from './types.js';

/** The seasons SEASONAL_ZSCORE understands. */
export const SEASONS = ['hour_of_day', 'day_of_week', 'hour_of_week'] as const;
type Season = (typeof SEASONS)[number];

/** Defaults of SEASONAL_ZSCORE: halflife and warmup count rows of one bucket. */
export const SEASONAL_DEFAULTS = { halflife: 20, warmup: 5, clip: 3, tz: 'UTC' } as const;

const BUCKETS: Record<Season, number> = { hour_of_day: 24, day_of_week: 7, hour_of_week: 168 };

/** Maps local time to a bucket index. */
const BUCKET_OF: Record<Season, (local: number) => number> = {
  hour_of_day: hourOfDay,
  day_of_week: dayOfWeek,
  hour_of_week: (local) => dayOfWeek(local) * 24 + hourOfDay(local),
};

/** Per-bucket EW triples packed in one array: 3 numbers per bucket. */
class SeasonalZ implements Detector {
  constructor(
    private readonly season: Season,
    private readonly tz: string,
    private readonly params: EwParams,
    private readonly s: Float64Array = new Float64Array(BUCKETS[season] * EW_STRIDE),
  ) {}

  update(x: number | null, t: number): number | null {
    if (x === null || !Number.isFinite(x) || !Number.isFinite(t)) return null;
    const o = BUCKET_OF[this.season](localMs(this.tz, t)) * EW_STRIDE;
    const out = ewCount(this.s, o) >= this.params.warmup ? (x - ewMean(this.s, o)) / ewStd(this.s, o) : null;
    ewUpdate(this.s, o, x, this.params);
    return out;
  }

  toJSON(): unknown {
    return { ew: Array.from(this.s) };
  }
}

/** Validates SEASONAL_ZSCORE's arguments (season required; tz checked against Intl) once. */
export function seasonalFactory(positional: readonly ConstArg[], named: Readonly<Record<string, ConstArg>>): DetectorFactory {
  const args = new ArgReader('SEASONAL_ZSCORE', ['season', 'tz', 'halflife', 'warmup', 'clip', 'alpha'], positional, named);
  const season = args.choice<Season>('season', undefined, SEASONS);
  const tz = args.string('tz', SEASONAL_DEFAULTS.tz);
  validateTimeZone(tz);
  const params: EwParams = {
    alpha: args.ewWeight(SEASONAL_DEFAULTS.halflife),
    warmup: args.number('warmup', SEASONAL_DEFAULTS.warmup, 1, 1e9, true),
    clip: args.number('clip', SEASONAL_DEFAULTS.clip, 1, 1000),
  };
  const size = BUCKETS[season] * EW_STRIDE;
  return {
    create: () => new SeasonalZ(season, tz, params),
    restore: (json) => new SeasonalZ(season, tz, params, Float64Array.from(numArray(json, 'ew', size))),
  };
}
