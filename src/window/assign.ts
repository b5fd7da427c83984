/**
 * Window assignment, as in ksqlDB / Kafka Streams: time windows are aligned to the epoch, start
 * inclusive, end exclusive, and never start before 0. Hopping and tumbling windows are built from
 * panes of gcd(size, advance) so each event updates one partial aggregate.
 */

/** A time-window definition in milliseconds. */
export interface TimeWindowDef {
  readonly type: 'TUMBLING' | 'HOPPING' | 'SLIDING';
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly paneMs: number;
  readonly graceMs: number;
}

export interface SessionWindowDef {
  readonly type: 'SESSION';
  readonly gapMs: number;
  readonly graceMs: number;
}

export type WindowDef = TimeWindowDef | SessionWindowDef;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The pane width of a sliding window: the coarsest round unit at most 1/60 of its size. */
export function slidingPaneMs(sizeMs: number): number {
  const units = [3_600_000, 600_000, 60_000, 10_000, 1000, 100, 10, 1];
  return units.find((u) => u <= sizeMs / 60 && sizeMs % u === 0) ?? 1;
}

/** Builds a window definition from the parsed clause. */
export function makeWindowDef(
  type: 'TUMBLING' | 'HOPPING' | 'SESSION' | 'SLIDING',
  sizeMs: number,
  advanceMs: number | null,
  graceMs: number,
): WindowDef {
  if (type === 'SESSION') return { type, gapMs: sizeMs, graceMs };
  if (type === 'SLIDING') {
    const paneMs = slidingPaneMs(sizeMs);
    return { type, sizeMs, advanceMs: paneMs, paneMs, graceMs };
  }
  const advance = type === 'TUMBLING' ? sizeMs : (advanceMs ?? sizeMs);
  return { type, sizeMs, advanceMs: advance, paneMs: gcd(sizeMs, advance), graceMs };
}

/** Start of the pane holding event time t. */
export function paneStart(t: number, paneMs: number): number {
  return t - mod(t, paneMs);
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/**
 * Starts of the tumbling/hopping windows holding t, oldest first (Kafka Streams' windowsFor):
 * aligned starts in (t - size, t], none below 0.
 */
export function windowStartsFor(t: number, w: TimeWindowDef): number[] {
  const last = t - mod(t, w.advanceMs);
  const earliest = Math.max(0, t - w.sizeMs + w.advanceMs);
  const first = earliest - mod(earliest, w.advanceMs);
  const starts: number[] = [];
  for (let s = first; s <= last; s += w.advanceMs) starts.push(s);
  return starts;
}

/** The latest window start whose window contains the pane starting at p (its last window). */
export function lastWindowStartOfPane(p: number, w: TimeWindowDef): number {
  return p - mod(p, w.advanceMs);
}

/**
 * The start of the trailing sliding window that ends with the pane holding t: the window covers
 * the `size / pane` panes up to and including that pane.
 */
export function slidingWindowFor(t: number, w: TimeWindowDef): { start: number; end: number } {
  const end = paneStart(t, w.paneMs) + w.paneMs;
  return { start: end - w.sizeMs, end };
}
