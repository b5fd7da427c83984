import { describe, expect, it } from 'vitest';
import { assertTransition, INACTIVE, step, TRANSITIONS, type AlertPhase, type AlertState } from '../../src/alerts/state.js';
import { parseSeries, STEP } from './series.js';

/** Runs step() over a series and returns the phase after each evaluated step (`-` for gaps). */
function phases(series: string, forMs: number, keepFiringForMs: number): string {
  let s: AlertState = INACTIVE;
  return parseSeries(series)
    .map((v, i) => {
      if (v === null) return '-';
      const r = step(s, v, i * STEP, { forMs, keepFiringForMs });
      s = r.next;
      return r.transition === null ? s.phase[0]! : s.phase[0]!.toUpperCase();
    })
    .join(' ');
}

describe('step', () => {
  // i/p/f/r: phase after the step; upper case marks a notification (transition).
  const cases: { name: string; series: string; for: number; keep: number; want: string }[] = [
    { name: 'for=0 fires at once, resolves on first false', series: '0 1 1 0 0', for: 0, keep: 0, want: 'i F f R r' },
    { name: 'for=2m fires once held 2 minutes', series: '1 1 1 1 0', for: 2, keep: 0, want: 'p p F f R' },
    { name: 'true, false, true within for never fires', series: '1 1 0 1 1 0', for: 2, keep: 0, want: 'p p i p p i' },
    { name: 'alternating within for never fires', series: '1 0 1 0 1 0', for: 1, keep: 0, want: 'p i p i p i' },
    { name: 'gaps do not reset pending', series: '1 _ _ 1', for: 2, keep: 0, want: 'p - - F' },
    { name: 'keep_firing_for bridges a dip', series: '1 0 1 0 0 0', for: 0, keep: 2, want: 'F f f f R r' },
    { name: 'keep_firing_for counts from the last match', series: '1 1 1 0 0', for: 0, keep: 2, want: 'F f f f R' },
    { name: 'a new activation after resolution', series: '1 0 1 1 0', for: 1, keep: 0, want: 'p i p F R' },
    { name: 'resolved can go pending again', series: '1 0 1 0', for: 0, keep: 0, want: 'F R F R' },
    { name: 'resolved to pending to inactive', series: '1 1 0 1 0', for: 1, keep: 0, want: 'p F R p i' },
  ];
  it.each(cases)('$name', (c) => {
    expect(phases(c.series, c.for * STEP, c.keep * STEP)).toBe(c.want);
  });

  it('records activeSince, firingSince, lastActiveAt and resolvedAt in event time', () => {
    const o = { forMs: 2 * STEP, keepFiringForMs: 0 };
    let s = step(INACTIVE, true, 10 * STEP, o).next;
    expect(s).toEqual({ phase: 'pending', activeSince: 10 * STEP, firingSince: null, lastActiveAt: 10 * STEP, resolvedAt: null });
    s = step(s, true, 12 * STEP, o).next;
    expect(s).toEqual({ phase: 'firing', activeSince: 10 * STEP, firingSince: 12 * STEP, lastActiveAt: 12 * STEP, resolvedAt: null });
    s = step(s, false, 13 * STEP, o).next;
    expect(s).toMatchObject({ phase: 'resolved', firingSince: 12 * STEP, resolvedAt: 13 * STEP, activeSince: null });
    s = step(s, true, 20 * STEP, o).next;
    expect(s).toMatchObject({ phase: 'pending', activeSince: 20 * STEP, firingSince: null });
  });

  it('an out-of-order earlier event does not move lastActiveAt back', () => {
    const o = { forMs: 0, keepFiringForMs: 5 * STEP };
    let s = step(INACTIVE, true, 10 * STEP, o).next;
    s = step(s, true, 8 * STEP, o).next;
    expect(s.lastActiveAt).toBe(10 * STEP);
  });
});

describe('transition table', () => {
  const all: AlertPhase[] = ['inactive', 'pending', 'firing', 'resolved'];
  const illegal: [AlertPhase, AlertPhase][] = [
    ['inactive', 'resolved'],
    ['pending', 'resolved'],
    ['firing', 'pending'],
    ['firing', 'inactive'],
    ['resolved', 'inactive'],
  ];
  it.each(illegal)('%s -> %s throws', (from, to) => {
    expect(() => assertTransition(from, to)).toThrow(`alert state machine: illegal transition ${from} -> ${to}`);
  });
  it('every other edge is legal', () => {
    const legal = all.flatMap((f) => all.map((t) => [f, t] as const)).filter(([f, t]) => !illegal.some(([a, b]) => a === f && b === t));
    expect(legal.length).toBe(11);
    for (const [f, t] of legal) expect(TRANSITIONS[f]).toContain(t);
    for (const [f, t] of legal) expect(() => assertTransition(f, t)).not.toThrow();
  });
  it('step throws on a corrupted state instead of guessing', () => {
    const o = { forMs: 0, keepFiringForMs: 0 };
    expect(() => step({ ...INACTIVE, phase: 'bogus' as AlertPhase }, true, 0, o)).toThrow("unknown phase 'bogus'");
    expect(() => step({ ...INACTIVE, phase: 'firing', lastActiveAt: 0 }, false, 0, o)).toThrow('firing state without firingSince');
    expect(() => step({ ...INACTIVE, phase: 'pending' }, true, 0, o)).toThrow('pending state without activeSince');
  });
});
