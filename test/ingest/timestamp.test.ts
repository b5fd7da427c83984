import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/ingest/timestamp.js';

const utc = (iso: string) => Date.parse(iso);

describe('parseTimestamp', () => {
  it.each([
    ['2026-11-24T10:15:00.000Z', utc('2026-11-24T10:15:00.000Z')],
    ['2026-11-24T10:15:00Z', utc('2026-11-24T10:15:00.000Z')],
    ['2026-11-24T10:15:00', utc('2026-11-24T10:15:00.000Z')],
    ['2026-11-24 10:15:00', utc('2026-11-24T10:15:00.000Z')],
    ['2026-11-24 10:15:00.5', utc('2026-11-24T10:15:00.500Z')],
    ['2026-11-24 10:15:00.123456789', utc('2026-11-24T10:15:00.123Z')],
    ['2026-11-24T10:15', utc('2026-11-24T10:15:00.000Z')],
    ['2026-11-24', utc('2026-11-24T00:00:00.000Z')],
    ['2026-11-24T10:15:00+02:00', utc('2026-11-24T08:15:00.000Z')],
    ['2026-11-24T10:15:00-0130', utc('2026-11-24T11:45:00.000Z')],
    ['2026-11-24T10:15:00+05', utc('2026-11-24T05:15:00.000Z')],
    ['2024-02-29T00:00:00Z', utc('2024-02-29T00:00:00Z')],
    ['2026-11-24T10:15:00.05Z', utc('2026-11-24T10:15:00.050Z')],
    ['1969-12-31T23:59:59.999Z', -1],
    ['1900-03-01T00:00:00Z', utc('1900-03-01T00:00:00Z')],
    ['2000-02-29T12:00:00Z', utc('2000-02-29T12:00:00Z')],
    ['  2026-11-24T10:15:00Z ', utc('2026-11-24T10:15:00.000Z')],
    ['1700000000000', 1700000000000],
    [1700000000000, 1700000000000],
    [1700000000000.9, 1700000000000],
    [0, 0],
  ] as [unknown, number][])('%j -> %d', (input, want) => {
    expect(parseTimestamp(input)).toBe(want);
  });

  it('agrees with Date.parse on ISO strings with Z, across four centuries', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor((rand() - 0.3) * 1.3e13);
      const iso = new Date(ms).toISOString();
      expect(parseTimestamp(iso), iso).toBe(ms);
      expect(parseTimestamp(iso.replace('T', ' ').replace('Z', '')), iso).toBe(ms);
    }
  });

  it.each([
    '1900-02-29',
    'yesterday', '', '2026-13-01', '2026-02-30', '2023-02-29', '2026-11-24T24:00:00', '2026-11-24T10:60',
    '2026-11-24T10:15:60', '2026-11-24T10:15:00.', '2026-11-24T10:15:00Q', '2026-11-24X10:15', '2026/11/24',
    '0050-01-01', '12.5', NaN, Infinity, 1e20, null, undefined, true, {}, [],
  ] as unknown[])('rejects %j', (input) => {
    expect(parseTimestamp(input)).toBeNull();
  });
});
