/**
 * Baseline functions of the SQL dialect (SPEC section 3): per-group detectors with
 * JSON-serialisable state. The engine validates arguments once per query through
 * detectorFactory, then creates (or restores) one Detector per group.
 */
import type { ConstArg } from './args.js';
import { anomalyScoreFactory } from './anomaly-score.js';
import { ewFactory, ewmaFactory } from './baselines.js';
import { robustFactory } from './robust.js';
import { seasonalFactory } from './seasonal.js';
import type { BaselineFunction, DetectorFactory } from './types.js';

export type { BaselineFunction, Detector, DetectorFactory } from './types.js';

/** Names of the baseline functions, for the compiler's function table. */
export const BASELINE_FUNCTIONS: readonly BaselineFunction[] = [
  'ZSCORE',
  'ROBUST_ZSCORE',
  'SEASONAL_ZSCORE',
  'EWMA',
  'BASELINE',
  'BASELINE_STDDEV',
  'ANOMALY_SCORE',
];

/** Validates arguments once at load time (positional constant args after x, and named args such as halflife, window, alpha, season, tz); throws an Error with a user-facing one-line message on bad args. */
export function detectorFactory(
  fn: BaselineFunction,
  constArgs: readonly ConstArg[],
  named: Readonly<Record<string, ConstArg>>,
): DetectorFactory {
  switch (fn) {
    case 'ZSCORE':
    case 'BASELINE':
    case 'BASELINE_STDDEV':
      return ewFactory(fn, constArgs, named);
    case 'EWMA':
      return ewmaFactory(constArgs, named);
    case 'ROBUST_ZSCORE':
      return robustFactory(constArgs, named);
    case 'SEASONAL_ZSCORE':
      return seasonalFactory(constArgs, named);
    case 'ANOMALY_SCORE':
      return anomalyScoreFactory(constArgs, named);
    default: {
      const never: never = fn;
      throw new Error(`unknown baseline function ${String(never)}`);
    }
  }
}
