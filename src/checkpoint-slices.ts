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

/** Groups serialised per step: small, since a group of a hopping percentile view can hold 30 sketches. */
const GROUP_SLICE = 100;

/** Meta state as taken at the cut (dedupe state is compact: base64 of its fingerprint arrays). */
export interface CheckpointMeta {
  readonly positions: readonly unknown[];
  readonly dedupe: readonly (readonly [string, unknown])[];
  readonly watermarks: readonly unknown[];
}

/**
 * Appends the checkpoint text to `out` in pieces, yielding after each bounded unit of work; the
 * concatenation of `out` is `JSON.stringify(meta)` (same values) + `\n` + the engine's chunks
 * joined by `\n`.
 */
export function* checkpointPieces(meta: CheckpointMeta, snap: EngineSnapshot, out: string[]): Generator<void> {
  out.push(`{"positions":${JSON.stringify(meta.positions)},"watermarks":${JSON.stringify(meta.watermarks)},"dedupe":[`);
  for (let i = 0; i < meta.dedupe.length; i++) {
    out.push((i > 0 ? ',' : '') + JSON.stringify(meta.dedupe[i]));
    yield;
  }
  out.push(']}');
  yield;
  while (!snap.step(GROUP_SLICE)) yield;
  for (const chunk of snap.chunks()) out.push('\n', ...chunk);
}

/**
 * Runs `steps` to the end in slices of about `sliceMs` (each slice runs whole steps, so it may
 * overrun by one step), letting the event loop run between slices. Returns the longest slice,
 * i.e. the longest the hot path waited, and the number of slices.
 */
export async function runInSlices(steps: Iterator<void>, sliceMs: number, now: () => number): Promise<{ longestMs: number; slices: number }> {
  let longestMs = 0;
  let slices = 0;
  for (let done = false; !done; ) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = now();
    do done = steps.next().done === true;
    while (!done && now() - started < sliceMs);
    longestMs = Math.max(longestMs, now() - started);
    slices++;
  }
  return { longestMs, slices };
}
