import { describe, expect, it } from 'vitest';
import { Deduper } from '../../src/ingest/dedupe.js';

describe('Deduper', () => {
  it('drops a repeated id and records new ones', () => {
    const d = new Deduper();
    expect([d.isDuplicate('a', 1), d.isDuplicate('b', 2), d.isDuplicate('a', 3), d.isDuplicate('b', 1)]).toEqual([false, false, true, true]);
    expect(d.size).toBe(2);
  });

  it.each([
    // horizon 100 ms of event time: steps of [id, ts, expected isDuplicate]
    ['within the horizon', [['a', 0, false], ['x', 100, false], ['a', 100, true]]],
    ['just beyond the horizon', [['a', 0, false], ['x', 101, false], ['a', 101, false]]],
    ['a late id is kept until it reaches the queue head and expires', [['x', 500, false], ['a', 10, false], ['a', 20, true]]],
    ['out-of-order ids are never forgotten early', [['b', 50, false], ['a', 0, false], ['x', 120, false], ['b', 120, true]]],
  ] as [string, [string, number, boolean][]][])('%s', (_name, steps) => {
    const d = new Deduper({ horizonMs: 100 });
    for (const [id, ts, want] of steps) expect(d.isDuplicate(id, ts), `${id}@${ts}`).toBe(want);
  });

  it('keeps at most maxIds, evicting the oldest first', () => {
    const d = new Deduper({ maxIds: 3 });
    for (const id of ['a', 'b', 'c', 'd']) d.isDuplicate(id, 0);
    expect(d.size).toBe(3);
    expect(d.isDuplicate('b', 0)).toBe(true);
    expect(d.isDuplicate('a', 0)).toBe(false); // evicted, so counted again
  });

  it('stays bounded over a long stream (queue compaction)', () => {
    const d = new Deduper({ horizonMs: 1000, maxIds: 5000 });
    for (let i = 0; i < 200_000; i++) expect(d.isDuplicate(`e${i}`, i)).toBe(false);
    expect(d.size).toBe(1001);
    expect(d.toJSON().n).toBe(1001);
    expect(d.isDuplicate('e199500', 199_999)).toBe(true);
  });

  it('round-trips through JSON for checkpoints', () => {
    const d = new Deduper({ horizonMs: 1000, maxIds: 10 });
    for (let i = 0; i < 20; i++) d.isDuplicate(`e${i}`, i * 10);
    const json = JSON.parse(JSON.stringify(d));
    const r = Deduper.fromJSON(json);
    expect(r.toJSON()).toEqual(d.toJSON());
    expect(r.isDuplicate('e15', 0)).toBe(true);
    expect(r.isDuplicate('e5', 0)).toBe(false);
    expect(r.horizonMs).toBe(1000);
  });

  it('fromJSON applies smaller limits at once', () => {
    const d = new Deduper({ maxIds: 10 });
    for (let i = 0; i < 10; i++) d.isDuplicate(`e${i}`, i);
    const r = Deduper.fromJSON(d.toJSON(), { maxIds: 2 });
    expect(r.size).toBe(2);
    expect(r.isDuplicate('e9', 0)).toBe(true);
  });

  it('an empty deduper serialises without infinities', () => {
    expect(JSON.parse(JSON.stringify(new Deduper()))).toMatchObject({ maxTs: null, n: 0 });
  });

  it('rejects nonsense limits', () => {
    expect(() => new Deduper({ maxIds: 0 })).toThrow(RangeError);
  });
});

describe('Deduper table', () => {
  // 3,000 ids: the table grows twice, then evictions. 1,025 and 4,097: the cap sits just above a
  // growth threshold, so the next table is filled while every insert evicts the oldest id. A
  // 600 ms horizon with ids 1 ms apart: the count swings around a threshold as time evicts.
  it.each([
    [5000, 3000, 20_000],
    [5000, 1025, 20_000],
    [100_000, 4097, 6_000],
    [600, 1_000_000, 2_000],
  ])('agrees with a plain Set over a long random stream with evictions (horizon %i ms, cap %i, %i distinct ids)', (horizonMs, maxIds, distinct) => {
    const d = new Deduper({ horizonMs, maxIds });
    const reference = new Map<string, number>(); // id -> ts, insertion order = eviction order
    let maxTs = -Infinity;
    let x = 12345;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 100_000; i++) {
      const id = `id-${next() % distinct}`;
      const ts = i + (next() % 50);
      const want = reference.has(id);
      expect(d.isDuplicate(id, ts)).toBe(want);
      if (!want) {
        reference.set(id, ts);
        maxTs = Math.max(maxTs, ts);
        for (const [k, t] of reference) {
          if (reference.size > maxIds || t < maxTs - horizonMs) reference.delete(k);
          else break;
        }
      }
    }
    expect(d.size).toBe(reference.size);
  });

  it('restores the same ids from its checkpoint form', () => {
    const d = new Deduper();
    for (let i = 0; i < 5000; i++) d.isDuplicate(`event-${i}`, 1_700_000_000_000 + i);
    const r = Deduper.fromJSON(JSON.parse(JSON.stringify(d)));
    expect(r.size).toBe(5000);
    expect(r.isDuplicate('event-4999', 1_700_000_005_000)).toBe(true);
    expect(r.isDuplicate('event-5000', 1_700_000_005_000)).toBe(false);
  });
});
