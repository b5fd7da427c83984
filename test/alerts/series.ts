/**
 * Test helpers: Prometheus-style compact series notation for alert conditions, and a runner that
 * prints emitted payloads compactly so table-driven tests read like timelines.
 *
 * Series: space-separated tokens, one per step: `1` matched, `0` not matched, `_` no evaluation.
 * `vxn` expands like Prometheus: `1x3` is four 1s, `_x3` three gaps.
 */
import type { AlertPayload } from '../../src/alerts/payload.js';
import type { AlertTracker, Evaluation } from '../../src/alerts/tracker.js';

/** One minute: the step of every series. */
export const STEP = 60_000;

/** Parses a series into one entry per step: true, false, or null for a gap. */
export function parseSeries(s: string): (boolean | null)[] {
  const out: (boolean | null)[] = [];
  for (const tok of s.trim().split(/\s+/)) {
    const m = /^(0|1|_)(?:x(\d+))?$/.exec(tok);
    if (m === null) throw new Error(`bad series token '${tok}'`);
    const v = m[1] === '_' ? null : m[1] === '1';
    const n = m[2] === undefined ? 1 : v === null ? Number(m[2]) : Number(m[2]) + 1;
    for (let i = 0; i < n; i++) out.push(v);
  }
  return out;
}

/** Step index of an ISO time. */
function idx(iso: string): number {
  return Date.parse(iso) / STEP;
}

/**
 * A payload as `step status@start` (`-end` for resolved), with times as step indexes; e.g.
 * `5 resolved@2-5`.
 */
export function compact(p: AlertPayload): string {
  const end = p.endsAt === null ? '' : `-${idx(p.endsAt)}`;
  return `${idx(p.emittedAt)} ${p.status}@${idx(p.startsAt)}${end}`;
}

export interface RunOptions {
  /** Call tick(at) at every step after the evaluation (or instead of it on a gap). */
  tick?: boolean;
  /** First step index (for resuming a run). */
  from?: number;
  groupLabels?: Record<string, string>;
  values?: (step: number) => Evaluation['values'];
}

/** Feeds a series to a tracker, one step a minute, and returns every payload in order. */
export function run(tracker: AlertTracker, series: string, opts: RunOptions = {}): AlertPayload[] {
  const out: AlertPayload[] = [];
  const from = opts.from ?? 0;
  parseSeries(series).forEach((v, i) => {
    const step = from + i;
    const at = step * STEP;
    if (v !== null) {
      out.push(
        ...tracker.evaluate({
          groupLabels: opts.groupLabels ?? { host: 'a' },
          matched: v,
          values: opts.values?.(step) ?? { v: step },
          at,
          window: null,
        }),
      );
    }
    if (opts.tick === true) out.push(...tracker.tick(at));
  });
  return out;
}
