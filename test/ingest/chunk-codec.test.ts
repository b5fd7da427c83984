import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ChunkEncoder,
  ChunkOrigin,
  ChunkReader,
  chunkMessages,
  recordBytes,
  type DecodedChunk,
} from '../../src/ingest/chunk-codec.js';
import { makeDecoder, type DecodeReason, type DecodeResult, type Decoder } from '../../src/ingest/decode.js';
import type { SourceBatch, SourceMessage } from '../../src/ingest/kafka-source.js';
import type { ColumnType, ScalarType } from '../../src/lang/ast.js';
import type { StreamPlan } from '../../src/plan.js';
import { prng } from '../../src/prng.js';

// The contract under test: for every record and every stream of its topic, what ChunkReader's
// cursor returns is exactly what makeDecoder(plan) returns for the same bytes, whether the chunk
// is read in the thread that encoded it or after a structuredClone with transfer (postMessage).

const s = (name: ScalarType): ColumnType => ({ kind: 'scalar', name });
const MAP: ColumnType = { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' };

/** One column of every type, plus a VARCHAR KEY column read from the record key. */
const metrics: StreamPlan = {
  name: 'metrics',
  topic: 'telemetry',
  columns: [
    { name: 'host', type: s('VARCHAR'), key: true },
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

/** A second stream of the same topic: a BIGINT key (refuses non-numeric keys), record timestamps, an INT event id. */
const byKey: StreamPlan = {
  name: 'by_key',
  topic: 'telemetry',
  columns: [
    { name: 'id', type: s('BIGINT'), key: true },
    { name: 'seq', type: s('INT'), key: false },
    { name: 'value', type: s('DOUBLE'), key: false },
    { name: 'labels', type: MAP, key: false },
    { name: 'note', type: s('VARCHAR'), key: false },
  ],
  timestampColumn: null,
  eventIdColumn: 'seq',
  retainMs: null,
};

/** A stream of another topic, with a column of mostly unique strings (msg). */
const logs: StreamPlan = {
  name: 'logs',
  topic: 'app.logs',
  columns: [
    { name: 'ts', type: s('TIMESTAMP'), key: false },
    { name: 'level', type: s('VARCHAR'), key: false },
    { name: 'msg', type: s('VARCHAR'), key: false },
    { name: 'attrs', type: MAP, key: false },
  ],
  timestampColumn: 'ts',
  eventIdColumn: null,
  retainMs: null,
};

const PLANS = [metrics, byKey, logs];

/** Deep equality that tells -0 from 0 and compares key order and prototypes too (rows share one shape). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k, j) => k === kb[j] && same(ra[k], rb[k]));
}

const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity });

// ---------------------------------------------------------------------------------------------
// Random records. Field values are written as raw JSON text, so -0, `3.0`, `1e3`, escapes and
// duplicate fields reach the decoder as written (JSON.stringify would normalise them away).

type Raw = string | Buffer | null;
type Layout = 'pooled' | 'separate' | 'shared';

const VARCHARS = ['cpu', 'mem', 'disk io', '', 'ünïcödé', '日本語', '🚀 launch', 'a"b\\c', 'tab\there', '\ud800 lone surrogate'].map((x) => JSON.stringify(x));
const INTS = ['0', '-0', '7', '-2147483648', '2147483647', '"12"', '"-0"', '3.0', '1e3'];
const BIGINTS = ['9007199254740991', '-9007199254740991', '"9007199254740991"', '-0', '1e15', '4503599627370497'];
const DOUBLES = ['-0', '0', '1.5', '"1.25"', '" -3e2 "', '5e-324', '1.7976931348623157e308', '"1e999"', '-0.0', '0.1'];
const BOOLEANS = ['true', 'false', '"TRUE"', '" false "'];
const TIMESTAMPS = [
  '"2026-11-24T10:15:00.000Z"',
  '"2026-11-24 10:15:00"',
  '"2026-02-28T23:59:59.999+05:30"',
  '1764000000000',
  '1764000000000.7',
  '"1764000000123"',
  '-0',
  '0',
];
/** Label sets that repeat (the dictionary): the same set in two key orders, sets differing only in keys or only in values, coerced values. */
const LABEL_SETS = [
  '{"service":"checkout","env":"prod"}',
  '{"env":"prod","service":"checkout"}',
  '{"service":"cart"}',
  '{"app":"cart"}', // same value, another key
  '{"service":"prod","env":"checkout"}', // same keys, values swapped
  '{}',
  '{"région":"ü","城市":"東京"}',
  '{"__proto__":"x","a":"b"}',
  '{"2":"b","1":"a"}',
  '{"a":1,"b":true,"c":null}',
  '{"a":"1","a":"2"}',
  '{"service":"checkout","env":"prod","zone":""}',
];
/** Values that are refused before any column is read. */
const BAD_VALUES: Raw[] = [
  null, // tombstone
  Buffer.alloc(0),
  '{"a":',
  'hello',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), // invalid UTF-8
  '[1,2]',
  'null',
  '"text"',
  '42',
];
const KEYS = ['web-1', 'db-ü', '42', '"7"', '', ' 9 ', '9007199254740991'];

function generator(seed: number) {
  const rand = prng(seed);
  let unique = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const chance = (p: number) => rand() < p;
  /** A field: absent (undefined), null, wrong-typed, or valid. */
  const field = (valid: () => string, wrong: readonly string[]): string | undefined => {
    const r = rand();
    if (r < 0.08) return undefined;
    if (r < 0.13) return 'null';
    if (r < 0.15) return pick(wrong);
    return valid();
  };
  const varchar = () =>
    chance(0.75) ? pick(VARCHARS) : chance(0.4) ? pick(['42', 'true', '1.5', '-0']) : JSON.stringify(`u-${unique++}-é`);
  const int = () => (chance(0.7) ? pick(INTS) : String(Math.floor(rand() * 2 ** 32) - 2 ** 31));
  const bigint = () => (chance(0.6) ? pick(BIGINTS) : String(Math.floor(rand() * 2 ** 53) * (chance(0.5) ? -1 : 1)));
  const double = () => (chance(0.7) ? pick(DOUBLES) : String((rand() - 0.5) * 10 ** Math.floor(rand() * 12)));
  const timestamp = () => (chance(0.7) ? pick(TIMESTAMPS) : String(1764e9 + Math.floor(rand() * 1e9)));
  const labels = () => (chance(0.8) ? pick(LABEL_SETS) : `{"id":"${unique++}","service":"cart"}`);

  /** Writes an object from [name, JSON text] pairs, sometimes upper-casing a name (the JSON.parse fallback). */
  const object = (fields: [string, string | undefined][]): string => {
    const parts: string[] = [];
    for (const [name, text] of fields) {
      if (text === undefined) continue;
      const written = chance(0.03) ? name.toUpperCase() : name;
      if (chance(0.01)) parts.push(`${JSON.stringify(written)}:"overwritten by the duplicate"`);
      parts.push(`${JSON.stringify(written)}:${text}`);
    }
    if (chance(0.1)) parts.splice(Math.floor(rand() * (parts.length + 1)), 0, '"extra":[1,{"x":"y"}]');
    return chance(0.1) ? `{ ${parts.join(' , ')} }` : `{${parts.join(',')}}`;
  };

  const telemetryValue = (): Raw => {
    if (chance(0.12)) return pick(BAD_VALUES);
    const r = rand();
    const eventId =
      r < 0.03 ? undefined : r < 0.045 ? '""' : r < 0.06 ? 'null' : r < 0.08 ? String(unique++) : JSON.stringify(`evt-${unique++}-${Math.floor(rand() * 1e9)}`);
    const t = rand();
    const eventTime = t < 0.04 ? undefined : t < 0.06 ? 'null' : t < 0.08 ? pick(['"yesterday"', '-5', 'true']) : timestamp();
    return object([
      ['event_id', eventId],
      ['event_time', eventTime],
      ['name', field(varchar, ['{"x":1}', '[1]'])],
      ['n', field(int, ['1.5', '2147483648', '"seven"', 'true'])],
      ['big', field(bigint, ['9007199254740992', '"x"', '{}'])],
      ['value', field(double, ['"abc"', 'true', '""'])],
      ['ok', field(() => pick(BOOLEANS), ['1', '"yes"'])],
      ['at', field(timestamp, ['"soon"', 'true'])],
      ['labels', field(labels, ['"a=b"', '["a"]', '{"a":{"b":1}}'])],
      ['seq', chance(0.95) ? String(unique++) : undefined],
      ['note', field(varchar, ['[]'])],
    ]);
  };
  const logsValue = (): Raw => {
    if (chance(0.08)) return pick(BAD_VALUES);
    return object([
      ['ts', chance(0.96) ? timestamp() : undefined],
      ['level', field(() => pick(['"info"', '"warn"', '"error"', '"débogage"']), ['{}'])],
      ['msg', field(() => (chance(0.9) ? JSON.stringify(`request ${unique++} took ${Math.floor(rand() * 1000)} ms${chance(0.2) ? ' ✓' : ''}`) : varchar()), ['[]'])],
      ['attrs', field(labels, ['"k=v"'])],
    ]);
  };

  /** A batch of `n` records of a topic, laid out as `layout` says. */
  const batch = (topic: string, partition: number, firstOffset: number, n: number, layout: Layout): SourceBatch => {
    const raws: { key: Raw; value: Raw }[] = [];
    for (let i = 0; i < n; i++) {
      if (topic === 'app.logs') raws.push({ key: chance(0.7) ? null : 'svc-a', value: logsValue() });
      else raws.push({ key: chance(0.15) ? null : chance(0.45) ? pick(KEYS) : String(Math.floor(rand() * 1e6)), value: telemetryValue() });
    }
    const bufs = layOut(raws, layout, rand);
    const messages: SourceMessage[] = bufs.map((b, i) => ({
      offset: String(firstOffset + i),
      timestamp: chance(0.03) ? '-1' : String(1764000000000 + 10 * i),
      key: b.key,
      value: b.value,
    }));
    const last = firstOffset + n;
    return { topic, partition, messages, highWatermark: String(last + 17) };
  };
  return { batch, rand };
}

const bytesOf = (raw: Raw): Buffer | null => (raw === null ? null : typeof raw === 'string' ? Buffer.from(raw) : raw);

/**
 * Key and value buffers as the Kafka client could hand them over: small separate Buffers from
 * Node's shared pool ('pooled'), unpooled Buffers with an ArrayBuffer each ('separate'), or views
 * of one fetch-response buffer with garbage bytes between them ('shared').
 */
function layOut(raws: readonly { key: Raw; value: Raw }[], layout: Layout, rand: () => number): { key: Buffer | null; value: Buffer | null }[] {
  const parts = raws.map((r) => ({ key: bytesOf(r.key), value: bytesOf(r.value) }));
  if (layout === 'pooled') return parts;
  if (layout === 'separate') {
    const own = (b: Buffer | null) => {
      if (b === null) return null;
      const copy = Buffer.alloc(b.length);
      b.copy(copy);
      return copy;
    };
    return parts.map((p) => ({ key: own(p.key), value: own(p.value) }));
  }
  const gap = () => Math.floor(rand() * 8);
  let total = 16;
  for (const p of parts) total += (p.key?.length ?? 0) + (p.value?.length ?? 0) + 16;
  const big = Buffer.alloc(total, 0xee);
  let at = gap();
  const view = (b: Buffer | null) => {
    if (b === null) return null;
    b.copy(big, at);
    const v = big.subarray(at, at + b.length);
    at += b.length + gap();
    return v;
  };
  return parts.map((p) => ({ key: view(p.key), value: view(p.value) }));
}

// ---------------------------------------------------------------------------------------------
// Encoding and checking a sequence of batches through one encoder and one reader.

interface Tally {
  chunks: DecodedChunk[];
  mismatches: string[];
  ok: Map<string, number>;
  reasons: Map<string, Set<DecodeReason>>;
  /** Per `stream.column`: values sent by dictionary code and inline. */
  coded: Map<string, { dictionary: number; inline: number }>;
  seen: { negativeZero: number; infinity: number; nulls: number; emptyString: number; nonAscii: number; maps: number; largeSafe: number };
}

function newTally(): Tally {
  return {
    chunks: [],
    mismatches: [],
    ok: new Map(),
    reasons: new Map(),
    coded: new Map(),
    seen: { negativeZero: 0, infinity: 0, nulls: 0, emptyString: 0, nonAscii: 0, maps: 0, largeSafe: 0 },
  };
}

/** Records where the messages of chunkMessages differ from the batch's (bytes, nullness, offsets, timestamps). */
function messageDiffs(got: SourceBatch, want: SourceBatch): string[] {
  const diffs: string[] = [];
  if (got.topic !== want.topic || got.partition !== want.partition || got.highWatermark !== want.highWatermark) diffs.push('batch header');
  if (got.messages.length !== want.messages.length) return [...diffs, `count ${got.messages.length} != ${want.messages.length}`];
  const eq = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));
  want.messages.forEach((w, i) => {
    const g = got.messages[i] as SourceMessage;
    if (g.offset !== w.offset || g.timestamp !== w.timestamp || !eq(g.key, w.key) || !eq(g.value, w.value)) {
      diffs.push(`#${i}: got ${show(g)} want ${show(w)}`);
    }
  });
  return diffs;
}

/**
 * Encodes each batch, optionally passes the chunk through structuredClone with its transfer list,
 * accepts it, and compares every cursor result with a reference decoder's result for the record.
 */
function roundTrip(batches: readonly SourceBatch[], encoder: ChunkEncoder, reader: ChunkReader, plans: readonly StreamPlan[], viaClone: boolean, tally = newTally()): Tally {
  const refs = new Map<string, Decoder>(plans.map((p) => [p.name, makeDecoder(p)]));
  for (const batch of batches) {
    const { chunk, transfer } = encoder.encode(batch);
    const received = viaClone ? structuredClone(chunk, { transfer }) : chunk;
    tally.chunks.push(received);
    reader.accept(received);
    const wantStreams = plans.filter((p) => p.topic === batch.topic).map((p) => p.name);
    const gotStreams = received.streams.map((c) => c.stream);
    if (!same(gotStreams, wantStreams)) tally.mismatches.push(`${batch.topic}: streams ${show(gotStreams)}, want ${show(wantStreams)}`);
    if (received.count !== batch.messages.length) tally.mismatches.push(`count ${received.count}`);
    tally.mismatches.push(...messageDiffs(chunkMessages(received), batch).map((d) => `${batch.topic} messages ${d}`));
    for (const columns of received.streams) {
      const plan = plans.find((p) => p.name === columns.stream) as StreamPlan;
      plan.columns.forEach((col, c) => {
        const codes = columns.columns[c];
        if (!(codes instanceof Int32Array)) return;
        const k = `${plan.name}.${col.name}`;
        const t = tally.coded.get(k) ?? { dictionary: 0, inline: 0 };
        for (const code of codes) {
          if (code > 0) t.dictionary++;
          else if (code < 0) t.inline++;
        }
        tally.coded.set(k, t);
      });
      const ref = refs.get(columns.stream) as Decoder;
      const at = reader.cursor(columns);
      for (let i = 0; i < batch.messages.length; i++) {
        const m = batch.messages[i] as SourceMessage;
        const want = ref(m.value, m.key, m.timestamp);
        const got = at(i);
        if (!same(got, want)) tally.mismatches.push(`${columns.stream} offset ${m.offset}: got ${show(got)}, want ${show(want)}`);
        count(tally, columns.stream, want);
      }
    }
  }
  return tally;
}

function count(tally: Tally, stream: string, r: DecodeResult): void {
  if (!r.ok) {
    const set = tally.reasons.get(stream) ?? new Set<DecodeReason>();
    set.add(r.reason);
    tally.reasons.set(stream, set);
    return;
  }
  tally.ok.set(stream, (tally.ok.get(stream) ?? 0) + 1);
  const seen = tally.seen;
  for (const v of [...Object.values(r.row), r.ts]) {
    if (v === null) seen.nulls++;
    else if (Object.is(v, -0)) seen.negativeZero++;
    else if (v === Infinity) seen.infinity++;
    else if (v === '') seen.emptyString++;
    else if (typeof v === 'string' && /[^\x00-\x7f]/.test(v)) seen.nonAscii++;
    else if (typeof v === 'object') seen.maps++;
    else if (typeof v === 'number' && Math.abs(v) > 2 ** 52 && Number.isSafeInteger(v)) seen.largeSafe++;
  }
}

/** Topics, partitions, sizes and buffer layouts of the batches, in order. */
const SCHEDULE: { topic: string; partition: number; n: number; layout: Layout }[] = [
  { topic: 'telemetry', partition: 0, n: 500, layout: 'shared' },
  { topic: 'telemetry', partition: 1, n: 450, layout: 'pooled' },
  { topic: 'app.logs', partition: 0, n: 400, layout: 'shared' },
  { topic: 'telemetry', partition: 0, n: 600, layout: 'separate' },
  { topic: 'unplanned', partition: 0, n: 50, layout: 'pooled' },
  { topic: 'telemetry', partition: 0, n: 0, layout: 'shared' },
  { topic: 'app.logs', partition: 0, n: 500, layout: 'pooled' },
  { topic: 'telemetry', partition: 1, n: 500, layout: 'shared' },
  { topic: 'telemetry', partition: 0, n: 550, layout: 'shared' },
  { topic: 'app.logs', partition: 1, n: 450, layout: 'separate' },
  { topic: 'telemetry', partition: 1, n: 500, layout: 'pooled' },
  { topic: 'app.logs', partition: 0, n: 500, layout: 'shared' },
];

function batchesFor(seed: number, schedule = SCHEDULE): SourceBatch[] {
  const gen = generator(seed);
  const next = new Map<string, number>();
  return schedule.map(({ topic, partition, n, layout }) => {
    const k = `${topic}:${partition}`;
    // Offsets near 2^53 - 1 (the largest a double holds exactly) on partition 1.
    const first = next.get(k) ?? (partition === 1 ? 2 ** 53 - 1 - 10_000 : 0);
    next.set(k, first + n);
    return gen.batch(topic, partition, first, n, layout);
  });
}

/**
 * Strings that travelled in dictionaryAdded more than once between two resets. (Maps are left out:
 * the encoder may give equal label sets decoded as different objects codes of their own.)
 */
function resentStrings(chunks: readonly DecodedChunk[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const c of chunks) {
    if (c.dictionaryReset) seen.clear();
    for (const v of c.dictionaryAdded) {
      if (typeof v !== 'string') continue;
      if (seen.has(v)) twice.push(v);
      seen.add(v);
    }
  }
  return twice;
}

describe('ChunkEncoder / ChunkReader: property', () => {
  it.each([
    [1, false],
    [1, true],
    [20260124, false],
    [20260124, true],
  ])('seed %i, through structuredClone %s: every cursor result equals makeDecoder(plan)', (seed, viaClone) => {
    const encoder = new ChunkEncoder(PLANS);
    const reader = new ChunkReader(PLANS);
    const tally = roundTrip(batchesFor(seed), encoder, reader, PLANS, viaClone);

    expect(tally.mismatches.slice(0, 5)).toEqual([]);
    expect(tally.mismatches).toHaveLength(0);

    // The run exercised what it claims to (otherwise the equality above proves little).
    const allReasons: DecodeReason[] = ['empty', 'not_json', 'not_object', 'missing_timestamp', 'bad_timestamp', 'missing_event_id', 'wrong_type'];
    expect([...(tally.reasons.get('metrics') ?? [])].sort()).toEqual([...allReasons].sort());
    expect(tally.reasons.get('by_key')).toContain('wrong_type'); // non-numeric keys for the BIGINT KEY column
    expect(tally.reasons.get('by_key')).toContain('missing_event_id');
    for (const stream of ['metrics', 'by_key', 'logs']) expect(tally.ok.get(stream)).toBeGreaterThan(500);
    for (const [what, n] of Object.entries(tally.seen)) expect(n, what).toBeGreaterThan(0);
    // Event ids and log messages rarely repeat: after the first 1024 they travel inline.
    for (const col of ['metrics.event_id', 'logs.msg']) {
      expect(tally.coded.get(col)?.dictionary, col).toBeGreaterThanOrEqual(1024);
      expect(tally.coded.get(col)?.inline, col).toBeGreaterThan(0);
    }
    // Columns of repeating strings stay in the dictionary, and the dictionary persists across
    // chunks: a string crosses once. Maps use the dictionary at least while sampled.
    for (const col of ['metrics.host', 'metrics.name', 'by_key.note', 'logs.level']) expect(tally.coded.get(col)?.inline, col).toBe(0);
    for (const col of ['metrics.labels', 'by_key.labels', 'logs.attrs']) expect(tally.coded.get(col)?.dictionary, col).toBeGreaterThan(0);
    // Only a new encoder's first chunk starts the dictionary over (it may replace a dead worker's).
    expect(tally.chunks.map((c) => c.dictionaryReset)).toEqual(tally.chunks.map((_, k) => k === 0));
    expect(resentStrings(tally.chunks)).toEqual([]);
    const carryingCpu = tally.chunks.filter((c) => c.dictionaryAdded.includes('cpu'));
    expect(carryingCpu).toHaveLength(1);
    // A batch yields only its topic's streams; a topic no stream reads yields none.
    expect(tally.chunks.map((c) => c.streams.length)).toEqual(SCHEDULE.map((b) => (b.topic === 'telemetry' ? 2 : b.topic === 'app.logs' ? 1 : 0)));
  });

  it('plans with unread columns: every cursor result equals makeDecoder(plan), and rows hold only the read columns', () => {
    const plans = [
      { ...metrics, unread: ['name', 'at', 'labels'] },
      { ...byKey, unread: ['note'] },
      { ...logs, unread: ['msg'] },
    ];
    const reader = new ChunkReader(plans);
    const tally = roundTrip(batchesFor(7), new ChunkEncoder(plans), reader, plans, true);
    expect(tally.mismatches.slice(0, 5)).toEqual([]);
    expect(tally.reasons.get('metrics')).toContain('wrong_type');
    const chunk = tally.chunks.find((c) => c.streams.some((x) => x.stream === 'metrics'))!;
    const cols = chunk.streams.find((x) => x.stream === 'metrics')!;
    expect(cols.columns).toHaveLength(7);
    const cursor = reader.cursor(cols);
    const first = [...Array(chunk.count).keys()].map(cursor).find((r) => r.ok);
    expect(first?.ok && Object.keys(first.row)).toEqual(['host', 'event_id', 'event_time', 'n', 'big', 'value', 'ok']);
  });

  it('a record whose decoded row has every column NULL reads back as NULLs, not 0, false or ""', () => {
    const encoder = new ChunkEncoder([metrics]);
    const reader = new ChunkReader([metrics]);
    const batch: SourceBatch = {
      topic: 'telemetry',
      partition: 0,
      highWatermark: '3',
      messages: [
        { offset: '0', timestamp: '5', key: null, value: Buffer.from('{"event_id":"a","event_time":7}') },
        { offset: '1', timestamp: '5', key: Buffer.from(''), value: Buffer.from('{"event_id":"b","event_time":8,"n":0,"value":0,"ok":false,"name":"","labels":{}}') },
      ],
    };
    const { chunk } = encoder.encode(batch);
    reader.accept(chunk);
    const at = reader.cursor(chunk.streams[0]!);
    expect(at(0)).toEqual({
      ok: true,
      row: { host: null, event_id: 'a', event_time: 7, name: null, n: null, big: null, value: null, ok: null, at: null, labels: null },
      ts: 7,
      eventId: 'a',
    });
    expect(at(1)).toEqual({
      ok: true,
      row: { host: '', event_id: 'b', event_time: 8, name: '', n: 0, big: null, value: 0, ok: false, at: null, labels: {} },
      ts: 8,
      eventId: 'b',
    });
  });
});

describe('ChunkEncoder: dictionary limit', () => {
  it.each([false, true])('starts over between chunks and stays exact (through structuredClone %s)', (viaClone) => {
    // A telemetry chunk of 500 records may add 500 × 6 coded columns: a limit of 4000 lets one or
    // two chunks through before the dictionary starts over.
    const encoder = new ChunkEncoder(PLANS, 0, 4000);
    const reader = new ChunkReader(PLANS);
    const tally = roundTrip(batchesFor(7), encoder, reader, PLANS, viaClone);

    expect(tally.mismatches.slice(0, 5)).toEqual([]);
    expect(tally.mismatches).toHaveLength(0);
    expect(tally.chunks.filter((c) => c.dictionaryReset).length).toBeGreaterThan(0);
    expect(tally.chunks.filter((c) => !c.dictionaryReset && c.count > 0).length).toBeGreaterThan(0);
    // Within a stretch between resets an entry still crosses once; after a reset it crosses again.
    expect(resentStrings(tally.chunks)).toEqual([]);
    expect(tally.chunks.filter((c) => c.dictionaryAdded.includes('cpu')).length).toBeGreaterThan(1);
    // A reset chunk's codes refer only to its own entries.
    for (const c of tally.chunks.filter((x) => x.dictionaryReset)) {
      for (const sc of c.streams) for (const col of sc.columns) if (col instanceof Int32Array) for (const code of col) expect(code).toBeLessThanOrEqual(c.dictionaryAdded.length);
    }
  });

  it('a limit smaller than one chunk still starts over before every chunk and stays exact', () => {
    const encoder = new ChunkEncoder(PLANS, 0, 10);
    const reader = new ChunkReader(PLANS);
    const tally = roundTrip(batchesFor(3).slice(0, 4), encoder, reader, PLANS, false);
    expect(tally.mismatches.slice(0, 5)).toEqual([]);
    expect(tally.chunks.map((c) => c.dictionaryReset)).toEqual([true, true, true, true]);
  });
});

describe('ChunkEncoder / ChunkReader: reload', () => {
  it('new plans on both sides keep the dictionary, and chunks carry the version', () => {
    const encoder = new ChunkEncoder(PLANS, 3);
    const reader = new ChunkReader(PLANS);
    const [first, second] = batchesFor(11, [
      { topic: 'telemetry', partition: 0, n: 300, layout: 'shared' },
      { topic: 'telemetry', partition: 0, n: 300, layout: 'pooled' },
    ]) as [SourceBatch, SourceBatch];
    const before = roundTrip([first], encoder, reader, PLANS, true);
    expect(before.chunks[0]?.version).toBe(3);
    expect(before.chunks[0]?.dictionaryAdded).toContain('cpu');

    // The reloaded metrics stream drops `big` and reads `note` instead; by_key is gone.
    const reloaded: StreamPlan = {
      ...metrics,
      columns: [...metrics.columns.filter((c) => c.name !== 'big'), { name: 'note', type: s('VARCHAR'), key: false }],
    };
    encoder.setStreams([reloaded, logs], 4);
    reader.setStreams([reloaded, logs]);
    const after = roundTrip([second], encoder, reader, [reloaded, logs], true);
    expect(after.mismatches.slice(0, 5)).toEqual([]);
    expect(after.chunks[0]?.version).toBe(4);
    expect(after.chunks[0]?.streams.map((c) => c.stream)).toEqual(['metrics']);
    expect(after.chunks[0]?.dictionaryReset).toBe(false);
    expect(after.chunks[0]?.dictionaryAdded).not.toContain('cpu');
    expect(resentStrings([...before.chunks, ...after.chunks])).toEqual([]);
  });

  it('a chunk of a stream the reader does not know is refused loudly', () => {
    const { chunk } = new ChunkEncoder([metrics]).encode(batchesFor(5, [{ topic: 'telemetry', partition: 0, n: 3, layout: 'pooled' }])[0]!);
    const reader = new ChunkReader([logs]);
    reader.accept(chunk);
    expect(() => reader.cursor(chunk.streams[0]!)).toThrow('chunk of unknown stream metrics');
  });
});

// ---------------------------------------------------------------------------------------------
// Raw bytes.

type Rec = [key: string | null, value: string | null];
/** Null keys, null values, empty keys and values, non-ASCII, and a key equal to its value. */
const RECORDS: Rec[] = [
  [null, '{"a":1}'],
  ['k1', null],
  [null, null],
  ['', ''],
  ['ключ', 'значение ✓'],
  ['', '{"b":2}'],
  ['same', 'same'],
  ['k7', ''],
  [null, ''],
  ['x'.repeat(3000), 'y'.repeat(5000)],
];
const OFFSETS = ['0', '1', '2', '41', '42', '100000', '2147483648', '9007199254740000', '9007199254740990', '9007199254740991'];
const TIMESTAMPS_MS = ['1764000000000', '-1', '0', '1764000000001', '1', '8640000000000000', '1764000000002', '1764000000003', '1764000000004', '1764000000005'];

function messagesOf(records: readonly Rec[], layout: Layout | 'mixed' | 'far apart'): SourceMessage[] {
  const raws = records.map(([key, value]) => ({ key, value }));
  let bufs: { key: Buffer | null; value: Buffer | null }[];
  if (layout === 'mixed') {
    // Views of one buffer, except every third value, which is a Buffer of its own.
    const shared = layOut(raws, 'shared', prng(1));
    bufs = shared.map((b, i) => (i % 3 === 0 && b.value !== null ? { ...b, value: Buffer.concat([b.value]) } : b));
  } else if (layout === 'far apart') {
    // Views of one buffer too far apart to copy as one span (the encoder copies each instead).
    const big = Buffer.alloc(2 << 20, 0xee);
    let at = 0;
    bufs = raws.map(({ key, value }) => {
      const view = (t: string | null) => {
        if (t === null) return null;
        const n = big.write(t, at);
        const v = big.subarray(at, at + n);
        at += n + (64 << 10);
        return v;
      };
      return { key: view(key), value: view(value) };
    });
  } else bufs = layOut(raws, layout, prng(2));
  return bufs.map((b, i) => ({ offset: OFFSETS[i] as string, timestamp: TIMESTAMPS_MS[i] as string, ...b }));
}

describe('recordBytes / chunkMessages', () => {
  it.each(['shared', 'pooled', 'separate', 'mixed', 'far apart'] as const)('round-trip keys, values, offsets and timestamps (%s buffers)', (layout) => {
    const messages = messagesOf(RECORDS, layout);
    const batch: SourceBatch = { topic: 'raw', partition: 3, messages, highWatermark: '9007199254740991' };
    const sources = messages.map((m) => ({ key: m.key === null ? null : Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value) }));
    const { chunk } = new ChunkEncoder(PLANS).encode(batch);
    // The chunk holds copies: the fetch buffer can be reused (or its chunk transferred) afterwards.
    for (const m of messages) {
      m.key?.fill(0x21);
      m.value?.fill(0x21);
    }
    const got = RECORDS.map((_, i) => recordBytes(chunk, i));
    const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
    expect(got.map((r) => [text(r.key), text(r.value)])).toEqual(RECORDS);
    expect(got.map((r) => [r.key === null ? null : Buffer.isBuffer(r.key), r.value === null ? null : Buffer.isBuffer(r.value)])).toEqual(
      RECORDS.map(([k, v]) => [k === null ? null : true, v === null ? null : true]),
    );
    const back = chunkMessages(chunk);
    expect(back).toMatchObject({ topic: 'raw', partition: 3, highWatermark: '9007199254740991' });
    expect(back.messages.map((m) => [m.offset, m.timestamp, text(m.key), text(m.value)])).toEqual(RECORDS.map(([k, v], i) => [OFFSETS[i], TIMESTAMPS_MS[i], k, v]));
    expect(messageDiffs(back, { ...batch, messages: messages.map((m, i) => ({ ...m, ...sources[i]! })) })).toEqual([]);

    // Memory bound: the bytes span the records' bytes plus little (framing gaps), however laid out.
    const size = RECORDS.reduce((n, [k, v]) => n + Buffer.byteLength(k ?? '') + Buffer.byteLength(v ?? ''), 0);
    expect(chunk.bytes.byteLength).toBeGreaterThanOrEqual(size);
    expect(chunk.bytes.byteLength).toBeLessThanOrEqual(2 * size + 4096);
    // Views of one buffer are copied as one span, gaps included (so that path is what was checked above).
    if (layout === 'shared') expect(chunk.bytes.byteLength).toBeGreaterThan(size);
    if (layout === 'separate' || layout === 'far apart') expect(chunk.bytes.byteLength).toBe(size);
  });

  it('records of nothing but null keys and values, and an empty batch', () => {
    const nulls: SourceBatch = { topic: 't', partition: 0, highWatermark: '2', messages: [0, 1].map((i) => ({ offset: String(i), timestamp: '5', key: null, value: null })) };
    const { chunk } = new ChunkEncoder([]).encode(nulls);
    expect(chunk.bytes.byteLength).toBe(0);
    expect(chunkMessages(chunk).messages).toEqual(nulls.messages);
    const empty = new ChunkEncoder(PLANS).encode({ topic: 'telemetry', partition: 0, highWatermark: '0', messages: [] }).chunk;
    expect(chunkMessages(empty)).toEqual({ topic: 'telemetry', partition: 0, highWatermark: '0', messages: [] });
    expect(empty.streams.map((c) => [c.stream, c.ts.length, c.refused])).toEqual([
      ['metrics', 0, []],
      ['by_key', 0, []],
    ]);
  });

  it('ChunkOrigin moves along the records of a chunk', () => {
    const messages = messagesOf(RECORDS, 'shared');
    const { chunk } = new ChunkEncoder([]).encode({ topic: 'raw', partition: 3, messages, highWatermark: '10' });
    const origin = new ChunkOrigin(chunk);
    expect([origin.topic, origin.partition]).toEqual(['raw', 3]);
    RECORDS.forEach(([key, value], i) => {
      origin.i = i;
      expect([origin.offset, origin.key?.toString() ?? null, origin.value?.toString() ?? null]).toEqual([OFFSETS[i], key, value]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Transfer, and what rows share.

describe('DecodedChunk: postMessage', () => {
  it('survives structuredClone with its transfer list, which detaches every typed array of the original', () => {
    const batch = batchesFor(99, [{ topic: 'telemetry', partition: 0, n: 400, layout: 'shared' }])[0]!;
    // Two encoders fed the same batch give equal chunks: read one in place, the other after a clone.
    const inPlace = new ChunkEncoder(PLANS).encode(batch).chunk;
    const { chunk, transfer } = new ChunkEncoder(PLANS).encode(batch);
    expect(new Set(transfer).size).toBe(transfer.length);
    const clone = structuredClone(chunk, { transfer });

    const arrays = (c: DecodedChunk) => [c.offsets, c.timestamps, c.bytes, c.spans, c.nulls, ...c.streams.flatMap((x) => [x.ts, ...x.columns])];
    expect(arrays(chunk).map((a) => a.byteLength)).toEqual(arrays(chunk).map(() => 0));
    expect(arrays(clone).map((a) => a.byteLength)).toEqual(arrays(inPlace).map((a) => a.byteLength));
    expect(arrays(clone).every((a) => a.byteLength > 0)).toBe(true);

    const readAll = (c: DecodedChunk) => {
      const reader = new ChunkReader(PLANS);
      reader.accept(c);
      return c.streams.map((columns) => {
        const at = reader.cursor(columns);
        // Copy each result: the ok object is reused by the next call.
        return Array.from({ length: c.count }, (_, i) => ({ ...at(i) }));
      });
    };
    const a = readAll(inPlace);
    const b = readAll(clone);
    const diffs = a.flatMap((results, k) => results.flatMap((r, i) => (same(r, b[k]?.[i]) ? [] : [`${k}/${i}: ${show(r)} vs ${show(b[k]?.[i])}`])));
    expect(diffs).toEqual([]);
    expect(a.flat().filter((r) => r.ok).length).toBeGreaterThan(100);
    expect(messageDiffs(chunkMessages(clone), batch)).toEqual([]);
    expect(messageDiffs(chunkMessages(inPlace), batch)).toEqual([]);
  });
});

describe('ChunkReader: shared map values', () => {
  // Rows of a chunk may share one label object: a dictionary entry is decoded once and every row
  // with that label set points at it. The reader freezes dictionary maps so that one consumer
  // changing a row's labels cannot change another row's (or a later chunk's).
  it.each([false, true])('dictionary maps are frozen and shared between rows (through structuredClone %s)', (viaClone) => {
    const value = (id: string) => Buffer.from(`{"event_id":"${id}","event_time":1,"labels":{"service":"checkout","env":"prod"}}`);
    const encoder = new ChunkEncoder([metrics]);
    const reader = new ChunkReader([metrics]);
    const rows = [];
    for (const ids of [['a', 'b'], ['c']]) {
      const batch: SourceBatch = { topic: 'telemetry', partition: 0, highWatermark: '3', messages: ids.map((id, i) => ({ offset: String(i), timestamp: '1', key: null, value: value(id) })) };
      const { chunk, transfer } = encoder.encode(batch);
      const received = viaClone ? structuredClone(chunk, { transfer }) : chunk;
      reader.accept(received);
      const at = reader.cursor(received.streams[0]!);
      for (let i = 0; i < received.count; i++) {
        const r = at(i);
        if (r.ok) rows.push(r.row);
      }
    }
    expect(rows).toHaveLength(3);
    const labels = rows.map((r) => r.labels as Record<string, string>);
    expect(labels[0]).toEqual({ service: 'checkout', env: 'prod' });
    expect(labels[1]).toBe(labels[0]);
    expect(labels[2]).toBe(labels[0]); // the next chunk reuses the entry
    expect(Object.isFrozen(labels[0])).toBe(true);
    expect(() => {
      (labels[0] as Record<string, string>).service = 'cart';
    }).toThrow(TypeError);
    expect(() => {
      (labels[1] as Record<string, string>).zone = 'eu';
    }).toThrow(TypeError);
    expect(labels[2]).toEqual({ service: 'checkout', env: 'prod' });
    // Rows themselves are fresh objects: changing one changes no other.
    rows[0]!.name = 'changed';
    expect(rows[1]!.name).toBeNull();
  });
});
