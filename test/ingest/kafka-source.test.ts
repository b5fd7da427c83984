/**
 * The ingest path against a real broker: decoding, dead-lettering, dedupe and offsets
 * (shared test broker), and reconnection across a broker restart (a second broker this file
 * starts and stops itself).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, stopBroker } from '../../src/devkafka/broker.js';
import type { DecodeReason } from '../../src/ingest/decode.js';
import { registry } from '../../src/metrics.js';
import type { StreamPlan } from '../../src/plan.js';
import { consumeAll } from '../helpers/kafka.js';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  IngestHarness,
  memoryLogger,
  parseLetters,
  produce,
  testBrokers,
  unique,
  waitUntil,
} from './harness.js';

const streamOn = (topic: string): StreamPlan => ({
  name: unique('s'),
  topic,
  columns: [
    { name: 'event_id', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'event_time', type: { kind: 'scalar', name: 'TIMESTAMP' }, key: false },
    { name: 'value', type: { kind: 'scalar', name: 'DOUBLE' }, key: false },
  ],
  timestampColumn: 'event_time',
  eventIdColumn: 'event_id',
  retainMs: null,
});

const T0 = Date.parse('2026-11-24T10:00:00Z');
const event = (i: number) => JSON.stringify({ event_id: `e${i}`, event_time: new Date(T0 + i * 10).toISOString(), value: i % 97 });

type Rec = { partition: number; key: Buffer | string | null; value: Buffer | string | null };

/** 200 invalid records of every kind, with the reason each must be dead-lettered for. */
function invalidRecords(): { rec: Rec; reason: DecodeReason }[] {
  const kinds: [number, DecodeReason, (i: number) => Buffer | string][] = [
    [35, 'not_json', (i) => `{"event_id":"bad${i}",`],
    [30, 'not_json', (i) => Buffer.concat([Buffer.from(`{"event_id":"u${i}","v":"`), Buffer.from([0xff, 0xfe, 0x80 + (i % 16)]), Buffer.from('"}')])],
    [30, 'not_object', (i) => `[${i}]`],
    [30, 'missing_timestamp', (i) => JSON.stringify({ event_id: `m${i}`, value: 1 })],
    [15, 'bad_timestamp', (i) => JSON.stringify({ event_id: `b${i}`, event_time: 'last tuesday' })],
    [30, 'missing_event_id', (i) => JSON.stringify({ event_time: T0, value: i })],
    [30, 'wrong_type', (i) => JSON.stringify({ event_id: `w${i}`, event_time: T0, value: 'high' })],
  ];
  const out: { rec: Rec; reason: DecodeReason }[] = [];
  for (const [n, reason, make] of kinds) {
    for (let i = 0; i < n; i++) out.push({ rec: { partition: out.length % 3, key: `bad-${out.length}`, value: make(i) }, reason });
  }
  return out;
}

const counterValue = async (name: string, labels: Record<string, string>): Promise<number> => {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((n, v) => n + v.value, 0);
};

describe('kafka source: decode, dead-letter, dedupe, offsets', () => {
  it('counts 30,000 valid events once, dead-letters 200, drops 300 duplicates', async () => {
    const shared = testBrokers();
    const topic = unique('ingest');
    const dlqTopic = unique('dlq');
    await createTopic(shared, topic, 3);
    const stream = streamOn(topic);

    // Per partition: valid events in order, invalid records spread through them, then 300
    // redeliveries of earlier events (same partition, as a retrying producer would send them).
    const bad = invalidRecords();
    const records: Rec[] = [];
    for (let i = 0; i < 30_000; i++) {
      records.push({ partition: i % 3, key: `k${i % 50}`, value: event(i) });
      if (i % 150 === 0 && bad.length > 0) records.push(bad[(i / 150) % bad.length]!.rec);
    }
    for (let i = 0; i < 300; i++) {
      const j = i * 97;
      records.push({ partition: j % 3, key: `k${j % 50}`, value: event(j) });
    }
    expect(records.length).toBe(30_500);
    await produce(shared, topic, records);
    const ends = await endOffsets(shared, topic);

    const groupId = unique('g');
    const h = new IngestHarness({ brokers: shared, stream, groupId, dlqTopic });
    const t0 = Date.now();
    await h.start();
    try {
      await waitUntil(() => `positions ${JSON.stringify([...h.positions()].map(String))}`, () => h.caughtUp(ends));
      if (process.env.SEISMO_TEST_VERBOSE) console.log(`ingested 30,500 records in ${Date.now() - t0} ms (including group join)`);
      expect(h.source.status().state).toBe('connected');
      await h.commit();
    } finally {
      await h.stop();
    }

    expect(h.accepted.length).toBe(30_000);
    expect(new Set(h.accepted).size).toBe(30_000);
    expect(h.duplicates).toBe(300);
    const wantReasons = new Map<DecodeReason, number>();
    for (const b of bad) wantReasons.set(b.reason, (wantReasons.get(b.reason) ?? 0) + 1);
    expect(new Map([...h.invalid].sort())).toEqual(new Map([...wantReasons].sort()));

    // Metrics say the same.
    expect(await counterValue('seismo_events_consumed_total', { stream: stream.name })).toBe(30_000);
    expect(await counterValue('seismo_events_deduplicated_total', { stream: stream.name })).toBe(300);
    expect(await counterValue('seismo_events_invalid_total', { stream: stream.name })).toBe(200);
    expect(await counterValue('seismo_events_invalid_total', { stream: stream.name, reason: 'not_json' })).toBe(65);
    for (const p of [0, 1, 2]) expect(await counterValue('seismo_consumer_lag', { topic, partition: String(p) })).toBe(0);

    // Committed offsets are exactly the processed positions.
    expect(await committedOffsets(shared, groupId, topic)).toEqual(ends);

    // The dead-letter topic holds the 200 with their reasons, keyed by the original key.
    const letters = (await consumeAll(dlqTopic, 200)).map((r) => ({ key: r.key, value: r.value ?? '' }));
    expect(letters.length).toBe(200);
    const parsed = parseLetters(letters);
    const byReason = new Map<string, number>();
    for (const l of parsed) byReason.set(l.reason, (byReason.get(l.reason) ?? 0) + 1);
    expect(new Map([...byReason].sort())).toEqual(new Map([...wantReasons].sort()));
    for (const [i, l] of parsed.entries()) {
      expect(l.topic).toBe(topic);
      expect(letters[i]!.key).toMatch(/^bad-\d+$/);
      expect(typeof l.offset).toBe('number');
      expect(l.detail.length).toBeGreaterThan(0);
    }
    const binary = parsed.filter((l) => l.encoding === 'base64');
    expect(binary.length).toBe(30);
    expect(Buffer.from(binary[0]!.value!, 'base64').includes(Buffer.from([0xff, 0xfe]))).toBe(true);
    const wrong = parsed.find((l) => l.reason === 'wrong_type')!;
    expect(JSON.parse(wrong.value!)).toMatchObject({ value: 'high' });
    expect(wrong.detail).toBe('value: expected DOUBLE, got "high"');
  });

  it('redelivers nothing when a rebalance takes partitions away and gives them back', async () => {
    const shared = testBrokers();
    const topic = unique('split');
    await createTopic(shared, topic, 4);
    const stream = streamOn(topic);
    await produce(shared, topic, Array.from({ length: 4000 }, (_, i) => ({ partition: i % 4, key: null, value: event(i) })));
    const groupId = unique('g');
    const h = new IngestHarness({ brokers: shared, stream, groupId, dlqTopic: unique('dlq') });
    await h.start();
    // A second member that reads nothing and commits nothing joins for a while: the harness
    // gives up some partitions, processed past their last commit (nothing is committed here).
    const { default: kafkajs } = await import('kafkajs');
    const other = new kafkajs.Kafka({ brokers: [...shared], logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId });
    try {
      await waitUntil(() => `accepted ${h.accepted.length}`, () => h.accepted.length === 4000);
      let otherGot = 0;
      await other.connect();
      await other.subscribe({ topics: [topic] });
      const joined = new Promise<void>((resolve) => other.on(other.events.GROUP_JOIN, (e) => {
        otherGot = Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0);
        resolve();
      }));
      await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => new Promise<void>(() => {}) });
      await joined;
      expect(otherGot).toBeGreaterThan(0);
      await waitUntil(() => `harness owns ${JSON.stringify(h.source.assignment())}`, () => h.source.assignment()[0]!.partitions.length < 4);
      await other.disconnect();
      await waitUntil(() => `harness owns ${JSON.stringify(h.source.assignment())}`, () => h.source.assignment()[0]?.partitions.length === 4, 60_000);
      // More events on every partition: the harness must take up where it stopped.
      await produce(shared, topic, Array.from({ length: 400 }, (_, i) => ({ partition: i % 4, key: null, value: event(4000 + i) })));
      const ends = await endOffsets(shared, topic);
      await waitUntil(() => `positions ${[...h.positions()].join(' ')}`, () => h.caughtUp(ends));
    } finally {
      await other.disconnect().catch(() => undefined);
      await h.stop();
    }
    expect(h.accepted.length).toBe(4400);
    expect(h.duplicates).toBe(0);
  }, 120_000);

  it('resumes at the offsets onAssign returns, overriding the committed ones', async () => {
    const shared = testBrokers();
    const topic = unique('seek');
    await createTopic(shared, topic, 1);
    await produce(shared, topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, key: null, value: event(i) })));
    const seen: string[] = [];
    const { createKafkaSource } = await import('../../src/ingest/kafka-source.js');
    const source = createKafkaSource({
      brokers: shared,
      groupId: unique('g'),
      topics: [topic],
      fromBeginning: true,
      onAssign: async () => new Map([[`${topic}:0`, '60']]),
      onBatch: async (b) => void seen.push(...b.messages.map((m) => m.offset)),
    });
    await source.start();
    try {
      await waitUntil(() => `seen ${seen.length}`, () => seen.length >= 40);
    } finally {
      await source.stop();
    }
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => String(60 + i)));
    expect(source.positions()).toEqual([{ topic, partition: 0, offset: '100' }]);
  });
});

describe('kafka source: broker restart', () => {
  const port = 19092 + Math.floor(Math.random() * 50) * 2;
  const brokers = [`127.0.0.1:${port}`];
  let dataDir = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'seismo-ingest-broker-'));
    await startBroker({ port, dataDir });
  }, 180_000);

  afterAll(async () => {
    await stopBroker({ port, dataDir });
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('loses and double-counts nothing when the broker restarts mid-stream', async () => {
    const topic = unique('restart');
    const dlqTopic = unique('dlq');
    await createTopic(brokers, topic, 3);
    const stream = streamOn(topic);
    const phase1 = Array.from({ length: 9000 }, (_, i) => ({ partition: i % 3, key: null, value: event(i) }));
    await produce(brokers, topic, phase1);

    const logger = memoryLogger();
    const groupId = unique('g');
    // Hold the first batch that arrives after 1,000 accepted events until the broker is down, so
    // a batch is in flight (processed, not yet resolved or committed) when the broker goes away.
    let held = false;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const gate = async (accepted: number) => {
      if (accepted >= 1000 && !held) {
        held = true;
        await released;
      }
    };
    const h = new IngestHarness({ brokers, stream, groupId, dlqTopic, logger, gate, restart: { initialMs: 200, maxMs: 2000 } });
    await h.start();
    try {
      await waitUntil(() => `accepted ${h.accepted.length}`, () => held);
      await h.commit();
      const committed1 = [...(await committedOffsets(brokers, groupId, topic)).values()].reduce((a, b) => a + b, 0n);
      expect(committed1).toBeGreaterThanOrEqual(1000n);
      expect(committed1).toBeLessThan(9000n);

      await stopBroker({ port, dataDir });
      release();
      await waitUntil(() => `status ${JSON.stringify(h.source.status())}`, () => h.source.status().state === 'disconnected', 120_000);
      await expect(h.commit()).rejects.toThrow('not connected to Kafka');

      await startBroker({ port, dataDir });
      await waitUntil(() => `status ${JSON.stringify(h.source.status())}`, () => h.source.status().state === 'connected', 120_000);

      // Phase 2: new events plus redeliveries of 300 phase-1 events.
      const phase2 = Array.from({ length: 9000 }, (_, k) => ({ partition: k % 3, key: null, value: event(9000 + k) }));
      const redelivered = Array.from({ length: 300 }, (_, k) => ({ partition: (k * 7) % 3, key: null, value: event(k * 7) }));
      await produce(brokers, topic, [...phase2, ...redelivered]);
      const ends = await endOffsets(brokers, topic);
      await waitUntil(() => `positions ${[...h.positions()].join(' ')}`, () => h.caughtUp(ends), 120_000);
      await h.commit();
      expect(await committedOffsets(brokers, groupId, topic)).toEqual(ends);
    } finally {
      await h.stop();
    }
    expect(h.accepted.length).toBe(18_000);
    expect(new Set(h.accepted).size).toBe(18_000);
    expect(h.duplicates).toBe(300);
    // One line per state change: connected, disconnected, reconnected, stopped.
    const states = logger.lines.filter((l) => /kafka: (re)?connected|kafka: disconnected|kafka: cannot connect|consumer stopped/.test(l));
    // (A fresh broker may first refuse the join while its group coordinator loads.)
    const first = states.findIndex((l) => l.startsWith('info '));
    expect(states[first]).toMatch(/^info kafka: connected to 127\.0\.0\.1:\d+ \(group .*, 3 partitions\)$/);
    expect(states.slice(0, first).every((l) => /^warn kafka: cannot connect to /.test(l))).toBe(true);
    expect(states.some((l) => /^warn kafka: (disconnected from|cannot connect to) /.test(l))).toBe(true);
    expect(states.some((l) => /^info kafka: reconnected to /.test(l))).toBe(true);
    expect(states.at(-1)).toBe('info kafka: consumer stopped');
    expect(states.length - first).toBeLessThanOrEqual(6);
    if (process.env.SEISMO_TEST_VERBOSE) console.log(logger.lines.join('\n'));
  }, 400_000);
});
