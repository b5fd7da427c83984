import { describe, expect, it } from 'vitest';
import type { ColumnType, ScalarType } from '../../src/lang/ast.js';
import type { StreamPlan } from '../../src/plan.js';
import { DECODE_REASONS, makeDecoder, makeObjectDecoder, type DecodeResult } from '../../src/ingest/decode.js';

const s = (name: ScalarType): ColumnType => ({ kind: 'scalar', name });
const MAP: ColumnType = { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' };

/** The SPEC's metrics stream plus one column of every type. */
const stream: StreamPlan = {
  name: 'metrics',
  topic: 'telemetry.metrics',
  columns: [
    { name: 'event_id', type: s('VARCHAR'), key: false },
    { name: 'event_time', type: s('TIMESTAMP'), key: false },
    { name: 'name', type: s('VARCHAR'), key: false },
    { name: 'n', type: s('INT'), key: false },
    { name: 'big', type: s('BIGINT'), key: false },
    { name: 'value', type: s('DOUBLE'), key: false },
    { name: 'ok', type: s('BOOLEAN'), key: false },
    { name: 'at', type: s('TIMESTAMP'), key: false },
    { name: 'labels', type: MAP, key: false },
  ],
  timestampColumn: 'event_time',
  eventIdColumn: 'event_id',
  retainMs: null,
};
const T = '2026-11-24T10:15:00.000Z';
const TMS = Date.parse(T);
const decode = makeDecoder(stream);
const run = (obj: unknown): DecodeResult => decode(Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)), null, 5);
const base = { event_id: 'e1', event_time: T };

describe('decode: values and coercions', () => {
  it.each([
    // [field, input, expected]
    ['name', 'cpu', 'cpu'],
    ['name', 42, '42'],
    ['name', 1.5, '1.5'],
    ['name', true, 'true'],
    ['name', null, null],
    ['n', 7, 7],
    ['n', '7', 7],
    ['n', 7.0, 7],
    ['n', -2147483648, -2147483648],
    ['big', 2 ** 40, 2 ** 40],
    ['big', '-9007199254740991', -9007199254740991],
    ['value', 1.25, 1.25],
    ['value', '1.25', 1.25],
    ['value', ' -3e2 ', -300],
    ['value', 0, 0],
    ['ok', true, true],
    ['ok', 'FALSE', false],
    ['at', '2026-11-24 10:15:00', TMS],
    ['at', TMS, TMS],
    ['labels', { service: 'checkout' }, { service: 'checkout' }],
    ['labels', { a: 1, b: true, c: null }, { a: '1', b: 'true' }],
    ['labels', {}, {}],
  ] as [string, unknown, unknown][])('%s = %j -> %j', (field, input, want) => {
    const r = run({ ...base, [field]: input });
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(r.row[field]).toEqual(want);
  });

  it('keeps declared columns only, NULL for absent ones, in declared order', () => {
    const r = run({ ...base, extra: 1, value: 2 });
    expect(r.ok && Object.keys(r.row)).toEqual(stream.columns.map((c) => c.name));
    expect(r.ok && r.row).toMatchObject({ value: 2, name: null, labels: null });
    expect(r.ok && 'extra' in r.row).toBe(false);
  });

  it('matches field names case-insensitively', () => {
    const r = run({ Event_ID: 'x', EVENT_TIME: T, Value: 3 });
    expect(r).toMatchObject({ ok: true, eventId: 'x', ts: TMS, row: { value: 3 } });
  });

  it('uses the timestamp column and the event id', () => {
    expect(run({ event_id: 99, event_time: T })).toMatchObject({ ok: true, ts: TMS, eventId: '99' });
  });
});

describe('decode: dead-letter reasons', () => {
  it.each([
    ['empty', null],
    ['empty', ''],
    ['not_json', '{"a":'],
    ['not_json', 'hello'],
    ['not_json', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['not_object', '[1,2]'],
    ['not_object', '42'],
    ['not_object', 'null'],
    ['not_object', '"text"'],
    ['missing_timestamp', { event_id: 'e' }],
    ['missing_timestamp', { event_id: 'e', event_time: null }],
    ['bad_timestamp', { event_id: 'e', event_time: 'yesterday' }],
    ['bad_timestamp', { event_id: 'e', event_time: true }],
    ['bad_timestamp', { event_id: 'e', event_time: -5 }],
    ['missing_event_id', { event_time: T }],
    ['missing_event_id', { event_time: T, event_id: '' }],
    ['missing_event_id', { event_time: T, event_id: null }],
    ['wrong_type', { ...base, event_id: { x: 1 } }],
    ['wrong_type', { ...base, name: { x: 1 } }],
    ['wrong_type', { ...base, name: [1] }],
    ['wrong_type', { ...base, n: 1.5 }],
    ['wrong_type', { ...base, n: 2147483648 }],
    ['wrong_type', { ...base, n: 'seven' }],
    ['wrong_type', { ...base, big: 2 ** 60 }],
    ['wrong_type', { ...base, value: 'abc' }],
    ['wrong_type', { ...base, value: '' }],
    ['wrong_type', { ...base, value: true }],
    ['wrong_type', { ...base, ok: 1 }],
    ['wrong_type', { ...base, ok: 'yes' }],
    ['wrong_type', { ...base, at: 'soon' }],
    ['wrong_type', { ...base, labels: 'a=b' }],
    ['wrong_type', { ...base, labels: ['a'] }],
    ['wrong_type', { ...base, labels: { a: { b: 1 } } }],
  ] as [string, unknown][])('%s: %j', (reason, input) => {
    const value = input === null ? null : Buffer.isBuffer(input) ? input : Buffer.from(typeof input === 'string' ? input : JSON.stringify(input));
    const r = decode(value, null, 5);
    expect(r).toMatchObject({ ok: false, reason });
    if (!r.ok) {
      expect(r.detail).not.toMatch(/\n/);
      expect(r.detail.length).toBeGreaterThan(0);
    }
  });

  it('covers every reason', () => {
    expect([...DECODE_REASONS].sort()).toEqual(
      // future_timestamp is decided by the live service against the wall clock (tested in
      // test/integration/retention-late.test.ts), not by the pure decoder.
      ['bad_timestamp', 'empty', 'future_timestamp', 'missing_event_id', 'missing_timestamp', 'not_json', 'not_object', 'wrong_type'],
    );
  });

  it('names the column and the type in the detail', () => {
    expect(run({ ...base, value: 'abc' })).toEqual({ ok: false, reason: 'wrong_type', detail: 'value: expected DOUBLE, got "abc"' });
  });

  it('accepts invalid UTF-8 replaced characters only when the bytes really were U+FFFD', () => {
    expect(run({ ...base, name: 'a\uFFFDb' })).toMatchObject({ ok: true, row: { name: 'a\uFFFDb' } });
  });
});

describe('decode: keys and record timestamps', () => {
  const keyed: StreamPlan = {
    name: 'orders',
    topic: 'orders',
    columns: [
      { name: 'id', type: s('BIGINT'), key: true },
      { name: 'amount', type: s('DOUBLE'), key: false },
    ],
    timestampColumn: null,
    eventIdColumn: null,
    retainMs: null,
  };
  const d = makeDecoder(keyed);
  const v = Buffer.from('{"amount":2,"id":999}');

  it.each([
    ['42', 42],
    ['"42"', 42],
    [' 7 ', 7],
  ])('key %j -> %j', (key, want) => {
    expect(d(v, Buffer.from(key), 1000)).toEqual({ ok: true, row: { id: want, amount: 2 }, ts: 1000, eventId: null });
  });

  it('a null key is a NULL column, the value field is ignored', () => {
    expect(d(v, null, 1000)).toMatchObject({ ok: true, row: { id: null } });
  });

  it('a non-numeric key for a BIGINT KEY column is wrong_type', () => {
    expect(d(v, Buffer.from('abc'), 1000)).toMatchObject({ ok: false, reason: 'wrong_type', detail: 'key column id: expected BIGINT, got "abc"' });
  });

  it('VARCHAR keys take the raw text', () => {
    const dv = makeDecoder({ ...keyed, columns: [{ name: 'id', type: s('VARCHAR'), key: true }] });
    expect(dv(v, Buffer.from('"quoted"'), 1)).toMatchObject({ ok: true, row: { id: '"quoted"' } });
  });

  it('several KEY columns read a JSON object key', () => {
    const d2 = makeDecoder({
      ...keyed,
      columns: [
        { name: 'region', type: s('VARCHAR'), key: true },
        { name: 'id', type: s('INT'), key: true },
      ],
    });
    expect(d2(Buffer.from('{}'), Buffer.from('{"region":"eu","ID":3}'), 1)).toMatchObject({ ok: true, row: { region: 'eu', id: 3 } });
    expect(d2(Buffer.from('{}'), Buffer.from('eu'), 1)).toMatchObject({ ok: false, reason: 'wrong_type' });
  });

  it('replay reads KEY columns from the value', () => {
    const od = makeObjectDecoder(keyed, { keysFromValue: true });
    expect(od({ id: '5', amount: 1 }, null, 3)).toEqual({ ok: true, row: { id: 5, amount: 1 }, ts: 3, eventId: null });
  });
});

describe('decode: columns no query reads (StreamPlan.unread)', () => {
  const pruned: StreamPlan = { ...stream, unread: ['name', 'n', 'labels'] };
  const decodeBytes = makeDecoder(pruned);
  const decodeObj = makeObjectDecoder(pruned);
  /** Both paths: the byte scanner, and JSON.parse (a non-ASCII field sends a record there). */
  const both = (obj: Record<string, unknown>): DecodeResult[] => [
    decodeBytes(Buffer.from(JSON.stringify(obj)), null, 5),
    decodeBytes(Buffer.from(JSON.stringify({ ...obj, other: 'é' })), null, 5),
    decodeObj(obj, null, 5),
  ];

  it('leaves them out of rows and keeps the rest', () => {
    for (const r of both({ ...base, name: 'cpu', n: 3, value: 1.5, labels: { a: 'b' } })) {
      expect(r).toMatchObject({ ok: true, ts: TMS, eventId: 'e1' });
      if (r.ok) expect(r.row).toEqual({ event_id: 'e1', event_time: TMS, big: null, value: 1.5, ok: null, at: null });
    }
  });

  it.each([
    ['name', { x: 1 }, 'name: expected VARCHAR, got an object'],
    ['name', [1], 'name: expected VARCHAR, got an array'],
    ['n', 'seven', 'n: expected INT, got "seven"'],
    ['n', 1.5, 'n: expected INT, got 1.5'],
    ['labels', 'a=b', 'labels: expected MAP<VARCHAR, VARCHAR>, got "a=b"'],
    ['labels', { a: { b: 1 } }, 'labels: expected MAP<VARCHAR, VARCHAR>, got an object'],
  ])('still refuses a wrong type: %s = %j', (field, value, detail) => {
    for (const r of both({ ...base, [field]: value })) expect(r).toEqual({ ok: false, reason: 'wrong_type', detail });
  });

  it('accepts what the column type accepts, and refuses malformed JSON inside a skipped value', () => {
    for (const name of ['x', 7, -1.5e3, true, false, null]) for (const r of both({ ...base, name })) expect(r.ok).toBe(true);
    expect(decodeBytes(Buffer.from(`{"event_id":"e1","event_time":"${T}","name":"a\\q"}`), null, 5)).toMatchObject({ ok: false, reason: 'not_json' });
    expect(decodeBytes(Buffer.from(`{"event_id":"e1","event_time":"${T}","name":01}`), null, 5)).toMatchObject({ ok: false, reason: 'not_json' });
  });
});
