import { describe, expect, it } from 'vitest';
import { NOT_FLAPPING, recordEvaluation, type FlapState } from '../../src/alerts/flapping.js';

/** Feeds change flags ('1' changed, '0' not) and returns the enter/leave events as `E`/`L`, `.` otherwise. */
function events(changes: string, maxChanges: number, window: number): string {
  let s: FlapState = NOT_FLAPPING;
  return [...changes]
    .map((c, i) => {
      const r = recordEvaluation(s, c === '1', i, { maxChanges, window });
      s = r.next;
      return r.event === 'enter' ? 'E' : r.event === 'leave' ? 'L' : '.';
    })
    .join('');
}

describe('recordEvaluation', () => {
  it.each([
    ['1111', 4, 10, '....'], // exactly maxChanges: not flapping
    ['11111', 4, 10, '....E'], // more than maxChanges
    ['1111100000000', 4, 10, '....E......L.'], // leaves once fewer than 4 remain in the last 10
    ['11111111111111', 4, 10, '....E.........'], // stays flapping while toggling
    ['101010101', 2, 4, '.........'], // 2 changes in any 4: never more than 2
    ['111000111', 2, 3, '..E.L...E'], // hysteresis: leaves below 2, re-enters above 2
  ])('%s max=%i window=%i', (changes, max, window, want) => {
    expect(events(changes, max, window)).toBe(want);
  });

  it('keeps only the last `window` evaluations', () => {
    let s: FlapState = NOT_FLAPPING;
    for (let i = 0; i < 50; i++) s = recordEvaluation(s, i % 2 === 0, i, { maxChanges: 4, window: 10 }).next;
    expect(s.recent).toHaveLength(10);
    expect(s).toMatchObject({ flapping: true, since: 8 });
  });
});
