/** The contract between the engine and the baseline functions (re-exported from index.ts). */

/** The SQL baseline functions this module implements. */
export type BaselineFunction =
  | 'ZSCORE'
  | 'ROBUST_ZSCORE'
  | 'SEASONAL_ZSCORE'
  | 'EWMA'
  | 'BASELINE'
  | 'BASELINE_STDDEV'
  | 'ANOMALY_SCORE';

/** A detector instance: state for one group. */
export interface Detector {
  /** Scores x (observed at event time t, epoch ms) against the state BEFORE x, then updates the state with x. Returns null while warming up or when x is null. */
  update(x: number | null, t: number): number | null;
  /**
   * JSON-serialisable state for checkpoints: a copy, sharing nothing the detector goes on changing
   * (a checkpoint's write barrier takes it and turns it into text later).
   */
  toJSON(): unknown;
}

/** Builds detectors of one validated configuration: fresh ones, or from checkpoint JSON. */
export interface DetectorFactory {
  create(): Detector;
  restore(json: unknown): Detector;
}
