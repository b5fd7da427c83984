/**
 * The ingest worker against the shared test broker: worker-source.ts runs the Kafka source and
 * the decoders in a worker thread, and these tests read its chunks back here with a ChunkReader,
 * as the service does. Every record is checked against makeDecoder on the bytes that were
 * produced (by offset), and offsets across stop and restart are checked record by record: each
 * offset exactly once, in order, none missing.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { SeismoError } from '../../src/errors.js';
import { ChunkReader, recordBytes, type DecodedChunk } from '../../src/ingest/chunk-codec.js';
import { makeDecoder, type DecodeReason, type DecodeResult } from '../../src/ingest/decode.js';
import type { KafkaSourceOptions } from '../../src/ingest/kafka-source.js';
import { createWorkerSource, type WorkerSource } from '../../src/ingest/worker-source.js';
import type { ColumnType, ScalarType } from '../../src/lang/ast.js';
import type { StreamPlan } from '../../src/plan.js';
import { committedOffsets, createTopic, endOffsets, memoryLogger, produce, testBrokers, unique, waitUntil } from './harness.js';

/** Every ingest worker thread started, so a test can end one as a crash would. */
const workers = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  class TrackedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...original, Worker: TrackedWorker };
});

const s = (name: ScalarType): ColumnType => ({ kind: 'scalar', name });

/** A column of every kind the codec carries (inline ids, dictionary strings, numbers, booleans, maps, a KEY column). */
const metricsOn = (topic: string): StreamPlan => ({
  name: 'metrics',
  topic,
  columns: [
    { name: 'device', type: s('VARCHAR'), key: true },
    { name: 'event_id', type: s('VARCHAR'), key: false },
    { name: 'event_time', type: s('TIMESTAMP'), key: false },
    { name: 'host', type: s('VARCHAR'), key: false },
    { name: 'value', type: s('DOUBLE'), key: false },
    { name: 'n', type: s('INT'), key: false },
    { name: 'ok', type: s('BOOLEAN'), key: false },
    { name: 'labels', type: { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' }, key: false },
  ],
  timestampColumn: 'event_time',
  eventIdColumn: 'event_id',
  retainMs: null,
});

const T0 = Date.parse('2026-11-24T10:00:00Z');

/** Valid event i; some with NULL fields, some with values the decoder coerces. */
const event = (i: number): string =>
  JSON.stringify({
    event_id: `e${i}`,
    event_time: new Date(T0 + i * 10).toISOString(),
    host: i % 11 === 0 ? null : `web-${i % 7}`,
    value: i % 5 === 0 ? String(i / 4) : (i % 97) / 4,
    n: i,
    ok: i % 2 === 0,
    labels: i % 13 === 0 ? undefined : { region: i % 3 === 0 ? 'us' : 'eu', tier: `t${i % 4}` },
    extra: 'ignored',
  });

type Rec = { partition: number; key: string | null; value: Buffer | string | null };

const validRecord = (i: number, partitions: number): Rec => ({ partition: i % partitions, key: i % 17 === 0 ? null : `dev-${i % 40}`, value: event(i) });

/** 300 bad records of every kind, with the reason each must be refused for. */
function badRecords(): { rec: Omit<Rec, 'partition'>; reason: DecodeReason }[] {
  const kinds: [number, DecodeReason, (i: number) => Buffer | string | null][] = [
    [60, 'not_json', (i) => `{"event_id":"bad${i}",`],
    [30, 'not_json', (i) => Buffer.concat([Buffer.from(`{"event_id":"u${i}","host":"`), Buffer.from([0xff, 0xfe, 0x80 + (i % 16)]), Buffer.from('"}')])],
    [30, 'not_object', (i) => `[${i}]`],
    [60, 'wrong_type', (i) => JSON.stringify({ event_id: `w${i}`, event_time: T0, value: 'high' })],
    [20, 'wrong_type', (i) => JSON.stringify({ event_id: `f${i}`, event_time: T0, n: i + 0.5 })],
    [40, 'empty', () => null],
    [20, 'missing_event_id', (i) => JSON.stringify({ event_time: T0, value: i })],
    [20, 'missing_timestamp', (i) => JSON.stringify({ event_id: `m${i}`, value: i })],
    [20, 'bad_timestamp', (i) => JSON.stringify({ event_id: `b${i}`, event_time: 'last tuesday' })],
  ];
  const out: { rec: Omit<Rec, 'partition'>; reason: DecodeReason }[] = [];
  for (const [n, reason, make] of kinds) for (let i = 0; i < n; i++) out.push({ rec: { key: `bad-${out.length}`, value: make(i) }, reason });
  return out;
}

/** What was produced, per partition in offset order (a fresh topic: the k-th record has offset k). */
function byPartition(records: readonly Rec[], base: Map<number, Rec[]> = new Map()): Map<number, Rec[]> {
  for (const r of records) {
    const list = base.get(r.partition) ?? [];
    list.push(r);
    base.set(r.partition, list);
  }
  return base;
}

const bytesOf = (v: Buffer | string | null): Buffer | null => (v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));

/** A decode result as plain data (the ok result of a Decoder or cursor is reused by the next call). */
const copyResult = (r: DecodeResult): DecodeResult => (r.ok ? { ok: true, row: r.row, ts: r.ts, eventId: r.eventId } : { ...r });

/** One record of one stream, as read from a chunk. */
interface Got {
  readonly partition: number;
  readonly offset: number;
  readonly version: number;
  readonly result: DecodeResult;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

interface CollectorOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly streams: readonly StreamPlan[];
  readonly chunkSize?: number;
  readonly maxPending?: number;
  readonly onAssign?: KafkaSourceOptions['onAssign'];
  readonly sessionTimeoutMs?: number;
  /** Called after each chunk is read (on this thread, inside onChunk). */
  readonly afterChunk?: (c: Collector) => void;
}

/**
 * A worker source whose onChunk reads every chunk the way the service does: accept() it, then a
 * cursor per stream, unless it was decoded with plans older than the current ones (counted as
 * stale: the service decodes those itself from the raw bytes).
 */
class Collector {
  readonly source: WorkerSource;
  readonly logger = memoryLogger();
  /** Offsets delivered per partition, in delivery order (every chunk, stale or not). */
  readonly offsets = new Map<number, number[]>();
  /** Records read per stream name. */
  readonly got = new Map<string, Got[]>();
  readonly chunks: { partition: number; first: number; count: number; version: number; streams: string[]; busy: boolean }[] = [];
  /** Chunks decoded with plans older than the current ones. */
  stale = 0;
  private readonly reader: ChunkReader;
  private version = 0;

  constructor(private readonly opts: CollectorOptions) {
    this.reader = new ChunkReader(opts.streams);
    this.source = createWorkerSource({
      brokers: testBrokers(),
      groupId: opts.groupId,
      topics: [opts.topic],
      fromBeginning: true,
      streams: opts.streams,
      logger: this.logger,
      onChunk: (chunk) => this.read(chunk),
      ...(opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize }),
      ...(opts.maxPending === undefined ? {} : { maxPending: opts.maxPending }),
      ...(opts.onAssign === undefined ? {} : { onAssign: opts.onAssign }),
      ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
    });
  }

  /** A reload: the worker and the reader take the new plans. */
  setStreams(plans: readonly StreamPlan[]): number {
    this.reader.setStreams(plans);
    this.version = this.source.setStreams(plans);
    return this.version;
  }

  /** Positions of the topic's partitions as a map. */
  positions(): Map<number, bigint> {
    return new Map(this.source.positions().filter((p) => p.topic === this.opts.topic).map((p) => [p.partition, BigInt(p.offset)]));
  }

  caughtUp(ends: Map<number, bigint>): boolean {
    const pos = this.positions();
    return [...ends].every(([p, end]) => end === 0n || (pos.get(p) ?? 0n) >= end);
  }

  /** Records delivered so far, over all partitions. */
  delivered(): number {
    let n = 0;
    for (const list of this.offsets.values()) n += list.length;
    return n;
  }

  private read(chunk: DecodedChunk): void {
    this.reader.accept(chunk);
    this.chunks.push({
      partition: chunk.partition,
      first: chunk.offsets[0]!,
      count: chunk.count,
      version: chunk.version,
      streams: chunk.streams.map((c) => c.stream),
      busy: this.source.busy(),
    });
    const list = this.offsets.get(chunk.partition) ?? [];
    this.offsets.set(chunk.partition, list);
    for (let i = 0; i < chunk.count; i++) list.push(chunk.offsets[i]!);
    if (chunk.version !== this.version) this.stale++;
    else {
      for (const columns of chunk.streams) {
        const at = this.reader.cursor(columns);
        const out = this.got.get(columns.stream) ?? [];
        this.got.set(columns.stream, out);
        for (let i = 0; i < chunk.count; i++) {
          const { key, value } = recordBytes(chunk, i);
          out.push({ partition: chunk.partition, offset: chunk.offsets[i]!, version: chunk.version, result: copyResult(at(i)), key, value });
        }
      }
    }
    this.opts.afterChunk?.(this);
  }
}

const range = (from: bigint, to: bigint): number[] => Array.from({ length: Number(to - from) }, (_, k) => Number(from) + k);

/** Each offset of [from, to) delivered exactly once per partition, in order. */
function expectDelivered(c: Collector, from: Map<number, bigint>, to: Map<number, bigint>): void {
  const partitions = [...to.keys()].sort();
  const actual = partitions.map((p) => c.offsets.get(p) ?? []);
  const want = partitions.map((p) => range(from.get(p) ?? 0n, to.get(p) ?? 0n));
  // Compare counts first: a failure then says which partition, not a 20,000-element diff.
  expect(actual.map((a) => a.length)).toEqual(want.map((w) => w.length));
  expect(actual).toEqual(want);
}

/**
 * Every record read compared with makeDecoder(plan) on the produced bytes at its offset: result,
 * key and value. Returns the mismatches (first few) so a failure shows them.
 */
function mismatches(got: readonly Got[], plan: StreamPlan, produced: Map<number, Rec[]>): string[] {
  const decode = makeDecoder(plan);
  const out: string[] = [];
  for (const g of got) {
    const rec = produced.get(g.partition)?.[g.offset];
    if (rec === undefined) {
      if (out.length < 5) out.push(`${g.partition}:${g.offset}: nothing was produced there`);
      continue;
    }
    const key = bytesOf(rec.key);
    const value = bytesOf(rec.value);
    const want = copyResult(decode(value, key, 0));
    const problems = [
      isDeepStrictEqual(g.result, want) ? null : `result ${JSON.stringify(g.result)}, decoder ${JSON.stringify(want)}`,
      isDeepStrictEqual(g.key, key) ? null : `key ${String(g.key)}, produced ${String(key)}`,
      isDeepStrictEqual(g.value, value) ? null : `value ${String(g.value)}, produced ${String(value)}`,
    ].filter((p) => p !== null);
    if (problems.length > 0 && out.length < 5) out.push(`${g.partition}:${g.offset}: ${problems.join('; ')}`);
  }
  return out;
}

/** Zero for every partition of the topic. */
const zeros = (ends: Map<number, bigint>): Map<number, bigint> => new Map([...ends.keys()].map((p) => [p, 0n]));

const errorLines = (c: Collector): string[] => c.logger.lines.filter((l) => l.startsWith('error '));

describe('worker source: decoded chunks', () => {
  it('delivers every record of 3 partitions once, decoded as makeDecoder decodes it, and ends at the end offsets', async () => {
    const shared = testBrokers();
    const topic = unique('wsrc');
    await createTopic(shared, topic, 3);
    const plan = metricsOn(topic);

    // 20,000 valid events with 300 bad records spread through them, then 150 redeliveries of
    // earlier events (new offsets, repeated event ids).
    const bad = badRecords();
    const records: Rec[] = [];
    let k = 0;
    for (let i = 0; i < 20_000; i++) {
      records.push(validRecord(i, 3));
      if (i % 66 === 0 && k < bad.length) records.push({ partition: k % 3, ...bad[k++]!.rec });
    }
    expect(k).toBe(bad.length);
    for (let d = 0; d < 150; d++) records.push(validRecord(d * 131, 3));
    await produce(shared, topic, records);
    const produced = byPartition(records);
    const ends = await endOffsets(shared, topic);
    expect(ends).toEqual(new Map([...produced].map(([p, list]) => [p, BigInt(list.length)])));

    const groupId = unique('g');
    const c = new Collector({ topic, groupId, streams: [plan] });
    await c.source.start();
    try {
      expect(c.source.status().state).toBe('connected');
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends));
      expect(c.source.busy()).toBe(false);
      await c.source.commit(c.source.positions());
    } finally {
      await c.source.stop();
    }

    expect(c.positions()).toEqual(ends);
    expectDelivered(c, zeros(ends), ends);
    expect(await committedOffsets(shared, groupId, topic)).toEqual(ends);

    const got = c.got.get(plan.name) ?? [];
    expect(got.length).toBe(records.length);
    expect(mismatches(got, plan, produced)).toEqual([]);

    // The decoder agreeing is not enough: what it agrees on must be the produced events.
    const ok = got.filter((g) => g.result.ok);
    expect(ok.length).toBe(20_150);
    const ids = ok.map((g) => (g.result.ok ? g.result.eventId : null));
    expect(new Set(ids).size).toBe(20_000);
    const e79 = ok.find((g) => g.result.ok && g.result.eventId === 'e79');
    expect(e79?.result).toEqual({
      ok: true,
      ts: T0 + 790,
      eventId: 'e79',
      row: { device: 'dev-39', event_id: 'e79', event_time: T0 + 790, host: 'web-2', value: 79 / 4, n: 79, ok: false, labels: { region: 'eu', tier: 't3' } },
    });
    const e0 = ok.find((g) => g.result.ok && g.result.eventId === 'e0');
    expect(e0?.result.ok && e0.result.row).toMatchObject({ device: null, host: null, value: 0, labels: null });

    const reasons = new Map<string, number>();
    for (const g of got) if (!g.result.ok) reasons.set(g.result.reason, (reasons.get(g.result.reason) ?? 0) + 1);
    const wantReasons = new Map<string, number>();
    for (const b of bad) wantReasons.set(b.reason, (wantReasons.get(b.reason) ?? 0) + 1);
    expect(new Map([...reasons].sort())).toEqual(new Map([...wantReasons].sort()));
    const refused = got.filter((g) => !g.result.ok).map((g) => g.result);
    expect(refused).toContainEqual({ ok: false, reason: 'wrong_type', detail: 'value: expected DOUBLE, got "high"' });
    expect(refused).toContainEqual({ ok: false, reason: 'empty', detail: 'record has no value (tombstone)' });

    // A chunk is processed while the worker counts it pending; none was decoded with other plans.
    expect(c.chunks.every((ch) => ch.busy && ch.version === 0 && ch.streams.join() === plan.name)).toBe(true);
    expect(c.stale).toBe(0);
    expect(errorLines(c)).toEqual([]);
  }, 120_000);
});

describe('worker source: offsets across a restart', () => {
  it('resumes a new source in the group at the positions its onAssign returns: no record twice, none missing', async () => {
    const shared = testBrokers();
    const topic = unique('wrestart');
    await createTopic(shared, topic, 3);
    const plan = metricsOn(topic);
    const groupId = unique('g');
    const phase = (from: number, n: number) => Array.from({ length: n }, (_, i) => validRecord(from + i, 3));

    // Phase 1 is processed and committed; phase 2 is being processed when the source stops, with
    // chunks of 250 records and the worker up to 2 chunks ahead (posted, never processed).
    const phase1 = phase(0, 3000);
    await produce(shared, topic, phase1);
    const ends1 = await endOffsets(shared, topic);
    let stopping: Promise<void> | null = null;
    const a = new Collector({
      topic,
      groupId,
      streams: [plan],
      chunkSize: 250,
      maxPending: 2,
      afterChunk: (c) => {
        // stop() from inside onChunk: later chunks, already posted, must not count as processed.
        if (c.delivered() >= 4500) stopping ??= c.source.stop();
      },
    });
    await a.source.start();
    let committed: Map<number, bigint>;
    try {
      await waitUntil(() => `positions ${JSON.stringify([...a.positions()].map(String))}`, () => a.caughtUp(ends1));
      committed = a.positions();
      await a.source.commit(a.source.positions());
      const phase2 = phase(3000, 6000);
      await produce(shared, topic, phase2);
      await waitUntil(() => `delivered ${a.delivered()}`, () => stopping !== null);
    } finally {
      await (stopping ?? a.source.stop());
    }
    expect(committed).toEqual(ends1);
    expect(await committedOffsets(shared, groupId, topic)).toEqual(ends1);
    expect(a.source.status().state).toBe('stopped');
    await expect(a.source.commit(a.source.positions())).rejects.toBeInstanceOf(SeismoError);

    // A stopped part-way through phase 2: its positions are exactly what it delivered.
    const stoppedAt = a.positions();
    expectDelivered(a, zeros(ends1), stoppedAt);
    const total = (m: Map<number, bigint>) => [...m.values()].reduce((x, y) => x + y, 0n);
    expect(total(stoppedAt)).toBeGreaterThanOrEqual(4500n);
    expect(total(stoppedAt)).toBeLessThan(9000n);
    expect(a.chunks.every((ch) => ch.count <= 250)).toBe(true);

    // More records after the stop; B restores A's positions (a checkpoint ahead of the commit).
    await produce(shared, topic, phase(9000, 3000));
    const ends = await endOffsets(shared, topic);
    const assigned: string[] = [];
    const b = new Collector({
      topic,
      groupId,
      streams: [plan],
      onAssign: async (parts) => {
        for (const { topic: t, partitions } of parts) for (const p of partitions) assigned.push(`${t}:${p}`);
        return new Map(a.source.positions().map((p) => [`${p.topic}:${p.partition}`, p.offset]));
      },
    });
    await b.source.start();
    try {
      await waitUntil(() => `positions ${JSON.stringify([...b.positions()].map(String))}`, () => b.caughtUp(ends));
      expect(b.source.busy()).toBe(false);
      await b.source.commit(b.source.positions());
    } finally {
      await b.source.stop();
    }
    expect(assigned.sort()).toEqual([0, 1, 2].map((p) => `${topic}:${p}`));
    expectDelivered(b, stoppedAt, ends);
    expect(b.positions()).toEqual(ends);
    expect(await committedOffsets(shared, groupId, topic)).toEqual(ends);
    // B's records are the produced ones at those offsets.
    const produced = byPartition([...phase1, ...phase(3000, 6000), ...phase(9000, 3000)]);
    expect(mismatches(b.got.get(plan.name) ?? [], plan, produced)).toEqual([]);

    // Without onAssign a source starts from the group's committed offsets (B's commit went through).
    await produce(shared, topic, phase(12_000, 300));
    const ends2 = await endOffsets(shared, topic);
    const c = new Collector({ topic, groupId, streams: [plan] });
    await c.source.start();
    try {
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends2));
    } finally {
      await c.source.stop();
    }
    expectDelivered(c, ends, ends2);
    for (const x of [a, b, c]) expect(errorLines(x)).toEqual([]);
  }, 120_000);
});

describe('worker source: reloads and status', () => {
  it('decodes with the plans setStreams hands over, and chunks carry their version', async () => {
    const shared = testBrokers();
    const topic = unique('wreload');
    await createTopic(shared, topic, 2);
    const v0 = metricsOn(topic);
    // The reload changes a column's type and drops others: the chunks' columns show which plans decoded them.
    const v1: StreamPlan = {
      ...v0,
      columns: [
        { name: 'event_id', type: s('VARCHAR'), key: false },
        { name: 'event_time', type: s('TIMESTAMP'), key: false },
        { name: 'value', type: s('VARCHAR'), key: false },
      ],
    };
    const phase = (from: number, n: number) => Array.from({ length: n }, (_, i) => validRecord(from + i, 2));
    const c = new Collector({ topic, groupId: unique('g'), streams: [v0] });
    await c.source.start();
    const produced = new Map<number, Rec[]>();
    const gotFrom = (version: number) => (c.got.get(v0.name) ?? []).filter((g) => g.version === version);
    try {
      const p1 = phase(0, 2000);
      await produce(shared, topic, p1);
      byPartition(p1, produced);
      const ends1 = await endOffsets(shared, topic);
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends1));

      expect(c.setStreams([v1])).toBe(1);
      const p2 = phase(2000, 2000);
      await produce(shared, topic, p2);
      byPartition(p2, produced);
      const ends2 = await endOffsets(shared, topic);
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends2));
      // Records fetched after the reload were decoded with its plans.
      expect(c.stale).toBe(0);
      expect(gotFrom(1).length).toBe(2000);
      expect(mismatches(gotFrom(1), v1, produced)).toEqual([]);
      const first = gotFrom(1).find((g) => g.result.ok && g.result.eventId === 'e2001');
      expect(first?.result.ok && first.result.row).toEqual({ event_id: 'e2001', event_time: T0 + 20_010, value: '15.25' });

      expect(c.setStreams([v0])).toBe(2);
      const p3 = phase(4000, 300);
      await produce(shared, topic, p3);
      byPartition(p3, produced);
      const ends3 = await endOffsets(shared, topic);
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends3));
      expect(c.stale).toBe(0);
      expect(gotFrom(2).length).toBe(300);
      expect(mismatches(gotFrom(2), v0, produced)).toEqual([]);
      expectDelivered(c, zeros(ends3), ends3);
    } finally {
      await c.source.stop();
    }
    expect(gotFrom(0).length).toBe(2000);
    expect(mismatches(gotFrom(0), v0, produced)).toEqual([]);
    // Per partition, offset ranges by version: 0 up to the first reload, then 1, then 2.
    for (const p of [0, 1]) {
      const versions = c.chunks.filter((ch) => ch.partition === p).map((ch) => ch.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      const firstOf = (v: number) => c.chunks.find((ch) => ch.partition === p && ch.version === v)?.first;
      expect([firstOf(0), firstOf(1), firstOf(2)]).toEqual([0, 1000, 2000]);
    }
    expect(errorLines(c)).toEqual([]);
  });

  it('reports its status, is not busy once everything is processed, and refuses commits after stop', async () => {
    const shared = testBrokers();
    const topic = unique('wstatus');
    await createTopic(shared, topic, 1);
    await produce(shared, topic, Array.from({ length: 500 }, (_, i) => validRecord(i, 1)));
    const ends = await endOffsets(shared, topic);
    const groupId = unique('g');
    const c = new Collector({ topic, groupId, streams: [metricsOn(topic)] });
    expect(c.source.status().state).toBe('starting');
    await expect(c.source.commit([{ topic, partition: 0, offset: '1' }])).rejects.toThrow('cannot commit offsets: not connected to Kafka');
    await c.source.start();
    try {
      expect(c.source.status()).toMatchObject({ state: 'connected', lastError: null });
      expect(c.source.assignment()).toEqual([{ topic, partitions: [0] }]);
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends));
      expect(c.source.busy()).toBe(false);
      expect(c.chunks.length).toBeGreaterThan(0);
      expect(c.chunks.every((ch) => ch.busy)).toBe(true);
      expect(c.source.positions()).toEqual([{ topic, partition: 0, offset: '500' }]);
      await c.source.commit(c.source.positions());
      expect(await committedOffsets(shared, groupId, topic)).toEqual(ends);
    } finally {
      await c.source.stop();
    }
    expect(c.source.status().state).toBe('stopped');
    const err = await c.source.commit([{ topic, partition: 0, offset: '500' }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SeismoError);
    expect(err).toMatchObject({ code: 'KAFKA', retriable: true, message: 'cannot commit offsets: not connected to Kafka' });
    // stop() again is a no-op; positions stay what was processed.
    await c.source.stop();
    expect(c.source.status().state).toBe('stopped');
    expect(c.source.positions()).toEqual([{ topic, partition: 0, offset: '500' }]);
    expect(errorLines(c)).toEqual([]);
  });

  it('is stopped by stop() with no worker running (before start)', async () => {
    const c = new Collector({ topic: unique('never'), groupId: unique('g'), streams: [metricsOn('never')] });
    await c.source.stop();
    expect(c.source.status().state).toBe('stopped');
    await expect(c.source.commit([{ topic: 'never', partition: 0, offset: '1' }])).rejects.toBeInstanceOf(SeismoError);
  });
});

describe('worker source: a worker that dies', () => {
  it('is replaced by one that resumes after the records processed here: no record twice, none missing', async () => {
    const shared = testBrokers();
    const topic = unique('wdie');
    await createTopic(shared, topic, 3);
    const plan = metricsOn(topic);
    const records = Array.from({ length: 6000 }, (_, i) => validRecord(i, 3));
    await produce(shared, topic, records);
    const ends = await endOffsets(shared, topic);
    const before = workers.length;
    let ended: Promise<number> | null = null;
    // The dead worker's consumer stays in the group until its session times out (6 s, the
    // broker's minimum), so the replacement's first assignment waits for that.
    const c = new Collector({
      topic,
      groupId: unique('g'),
      streams: [plan],
      chunkSize: 250,
      maxPending: 2,
      sessionTimeoutMs: 6000,
      afterChunk: (x) => {
        // The thread ends mid-stream, with chunks posted ahead of this one.
        if (x.delivered() >= 2000 && ended === null) ended = workers[before]!.terminate();
      },
    });
    await c.source.start();
    try {
      await waitUntil(() => `delivered ${c.delivered()}`, () => ended !== null);
      await ended;
      await waitUntil(() => `workers ${workers.length - before}`, () => workers.length - before === 2);
      await waitUntil(() => `positions ${JSON.stringify([...c.positions()].map(String))}`, () => c.caughtUp(ends), 90_000);
      expect(c.source.status().state).toBe('connected');
      await c.source.commit(c.source.positions());
    } finally {
      await c.source.stop();
    }
    expectDelivered(c, zeros(ends), ends);
    expect(mismatches(c.got.get(plan.name) ?? [], plan, byPartition(records))).toEqual([]);
    expect(c.stale).toBe(0);
    expect(errorLines(c)).toEqual([]);
  }, 120_000);
});
