/**
 * A checkpoint's text, produced in small steps so the hot path never waits long for it: the
 * service runs steps for at most a few milliseconds, then lets batches through, then goes on
 * (docs/storage.md, "Checkpoints and recovery"). Used by app.ts and bench/checkpoint.ts.
 *
 * The text is what restore reads: the meta JSON (positions, dedupe and watermark state), then
 * per engine chunk a newline and the chunk. Nothing here may change state: the meta object holds
 * copies taken at the cut, and the engine snapshot serialises groups as they were at the cut.
 */
import type { EngineSnapshot } from './engine/engine.js';
import { cutPieces, type DeduperCut } from './ingest/dedupe.js';

/** Groups serialised per step: small, since a group of a hopping percentile view can hold 30 sketches. */
const GROUP_SLICE = 100;

/** Meta state as taken at the cut; each deduper's fingerprints are base64-encoded in slices. */
export interface CheckpointMeta {
  readonly positions: readonly unknown[];
  readonly dedupe: readonly (readonly [string, DeduperCut])[];
  readonly watermarks: readonly unknown[];
}

/**
 * Appends the checkpoint text to `out` in pieces, yielding after each bounded unit of work; the
 * concatenation of `out` is `JSON.stringify(meta)` (same values) + `\n` + the engine's chunks
 * joined by `\n`, where each deduper cut stands for its `toJSON()` form.
 */
export function* checkpointPieces(meta: CheckpointMeta, snap: EngineSnapshot, out: string[]): Generator<void> {
  out.push(`{"positions":${JSON.stringify(meta.positions)},"watermarks":${JSON.stringify(meta.watermarks)},"dedupe":[`);
  for (let i = 0; i < meta.dedupe.length; i++) {
    const [stream, cut] = meta.dedupe[i]!;
    out.push(`${i > 0 ? ',' : ''}[${JSON.stringify(stream)},`);
    yield* cutPieces(cut, out);
    out.push(']');
  }
  out.push(']}');
  yield;
  while (!snap.step(GROUP_SLICE)) yield;
  for (const chunk of snap.chunks()) out.push('\n', ...chunk);
}

/** What a checkpoint gives way to: while `busy()`, a slice waits, but never longer than `maxWaitMs`. */
export interface SliceYield {
  readonly busy: () => boolean;
  readonly maxWaitMs: number;
}

/**
 * Runs `steps` to the end in slices of about `sliceMs` (each slice runs whole steps, so it may
 * overrun by one step), letting the event loop run between slices. With `yieldTo`, a slice
 * starts only when the hot path is not busy or has had `maxWaitMs` to itself: ingest comes
 * first, and the checkpoint still progresses under full load (at sliceMs / (sliceMs + maxWaitMs)
 * of the thread at most). Returns the longest slice, i.e. the longest the hot path waited, and
 * the number of slices.
 */
export async function runInSlices(
  steps: Iterator<void>,
  sliceMs: number,
  now: () => number,
  yieldTo?: SliceYield,
): Promise<{ longestMs: number; slices: number }> {
  let longestMs = 0;
  let slices = 0;
  for (let done = false; !done; ) {
    await nextTurn();
    if (yieldTo) await giveWay(yieldTo, now);
    const started = now();
    do done = steps.next().done === true;
    while (!done && now() - started < sliceMs);
    longestMs = Math.max(longestMs, now() - started);
    slices++;
  }
  return { longestMs, slices };
}

/** Waits, a loop turn at a time, while the hot path is busy, for at most `yieldTo.maxWaitMs`. */
export async function giveWay(yieldTo: SliceYield, now: () => number): Promise<void> {
  const started = now();
  while (yieldTo.busy() && now() - started < yieldTo.maxWaitMs) await nextTurn();
}

/** Resolves after the event loop's current turn: timers and I/O callbacks run first. */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
