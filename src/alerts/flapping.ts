/**
 * Flapping detection for one alert instance, as plain data and a pure function. An instance
 * whose state changed more than `maxChanges` times in its last `window` evaluations is flapping:
 * its transitions are held back (one `flapping` notification instead of a storm) until fewer
 * than `maxChanges` changes remain in the window. The gap between "more than" and "fewer than"
 * is hysteresis, so an instance on the boundary does not flap in and out of flapping.
 */

/** Flapping thresholds of a rule. */
export interface FlappingOptions {
  /** More changes than this in the window enters flapping; fewer leaves it. */
  readonly maxChanges: number;
  /** How many of the instance's most recent evaluations are looked at. */
  readonly window: number;
}

/** Default: more than 4 changes in the last 10 evaluations, i.e. at most 4 notifications per 10 evaluations. */
export const DEFAULT_FLAPPING: FlappingOptions = { maxChanges: 4, window: 10 };

/** Bookkeeping per instance. JSON-serialisable. */
export interface FlapState {
  /** One entry per recorded evaluation, oldest first: 1 when the state changed, else 0. */
  readonly recent: readonly number[];
  readonly flapping: boolean;
  /** Event time at which the current flapping episode began; null when not flapping. */
  readonly since: number | null;
}

/** A fresh instance's flapping state. */
export const NOT_FLAPPING: FlapState = { recent: [], flapping: false, since: null };

/** Records one evaluation (`changed` when it caused a firing/resolved transition); says whether flapping began or ended. */
export function recordEvaluation(
  prev: FlapState,
  changed: boolean,
  at: number,
  opts: FlappingOptions,
): { next: FlapState; event: 'enter' | 'leave' | null } {
  const recent = [...prev.recent, changed ? 1 : 0].slice(-Math.max(1, opts.window));
  const changes = recent.reduce((a, b) => a + b, 0);
  if (!prev.flapping && changes > opts.maxChanges) {
    return { next: { recent, flapping: true, since: at }, event: 'enter' };
  }
  if (prev.flapping && changes < opts.maxChanges) {
    return { next: { recent, flapping: false, since: null }, event: 'leave' };
  }
  return { next: { ...prev, recent }, event: null };
}
