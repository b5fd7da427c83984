/**
 * IngestHarness: the ingest path wired the way the engine wires it (source -> decoder -> DLQ /
 * deduper -> counter), plus Kafka helpers that take the broker list explicitly, because the
 * restart test runs its own second broker (test/helpers/kafka.ts serves the shared one).
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import { makeDecoder, type DecodeReason } from '../../src/ingest/decode.js';
import { deadLetterMessage, type DeadLetter } from '../../src/ingest/dead-letter.js';
import { Deduper } from '../../src/ingest/dedupe.js';
import type { IngestLogger } from '../../src/ingest/kafka-client.js';
import { createDeadLetterProducer, type DeadLetterProducer } from '../../src/ingest/kafka-producer.js';
import { createKafkaSource, createTopicsAndWait, type KafkaSource, type PartitionKey, type SourceBatch } from '../../src/ingest/kafka-source.js';
import { WatermarkTracker } from '../../src/ingest/watermark.js';
import { brokers } from '../helpers/kafka.js';
import { metrics } from '../../src/metrics.js';
import type { StreamPlan } from '../../src/plan.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

/** The broker test/global-setup.ts provides (shared by all test files). */
export const testBrokers = (): string[] => brokers();

/** A name unique to this run, so tests never see each other's topics or groups. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const client = (brokers: readonly string[]) =>
  new Kafka({ brokers: [...brokers], clientId: 'seismo-test', logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });

/** Runs fn with a connected admin client. */
export async function withAdmin<T>(brokers: readonly string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(brokers: readonly string[], topic: string, numPartitions: number): Promise<void> {
  await withAdmin(brokers, (a) => createTopicsAndWait(a, [{ topic, numPartitions, replicationFactor: 1 }]));
}

/**
 * Produces raw records to explicit partitions (acks=all), in chunks. Idempotent: a send retried
 * after a lost response (a broker that just restarted) must not append the records twice, or a
 * test counting duplicates sees the producer's (1,334 of them once: two partitions' share of a
 * 2,000-record chunk).
 */
export async function produce(
  brokers: readonly string[],
  topic: string,
  records: readonly { partition: number; key: Buffer | string | null; value: Buffer | string | null }[],
): Promise<void> {
  const producer = client(brokers).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 2000) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, i + 2000).map((r) => ({ ...r })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** High watermarks (next offset to be written) per partition. */
export async function endOffsets(brokers: readonly string[], topic: string): Promise<Map<number, bigint>> {
  const offsets = await withAdmin(brokers, (a) => a.fetchTopicOffsets(topic));
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

/** Committed group offsets per partition (-1 when none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<Map<number, bigint>> {
  const res = await withAdmin(brokers, (a) => a.fetchOffsets({ groupId, topics: [topic] }));
  return new Map((res[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

/** Polls `check` every 100 ms until it returns true; throws with `what` after timeoutMs. */
export async function waitUntil(what: () => string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A logger that keeps lines for assertions. */
export function memoryLogger(): IngestLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
}

export interface HarnessOptions {
  readonly brokers: readonly string[];
  readonly stream: StreamPlan;
  readonly groupId: string;
  readonly dlqTopic: string;
  readonly logger?: IngestLogger;
  readonly restart?: { initialMs?: number; maxMs?: number };
  /** Awaited before each batch with the count accepted so far; lets a test hold a batch in flight. */
  readonly gate?: (accepted: number) => Promise<void>;
}

/** Source + decoder + dead-letter producer + deduper + watermark + a counter of accepted events. */
export class IngestHarness {
  /** Accepted event ids in processing order (duplicates never reach it). */
  readonly accepted: string[] = [];
  readonly invalid = new Map<DecodeReason, number>();
  duplicates = 0;
  readonly source: KafkaSource;
  readonly watermark = new WatermarkTracker();
  private readonly deduper = new Deduper();
  private readonly decode;
  private dlq: DeadLetterProducer | null = null;

  constructor(private readonly opts: HarnessOptions) {
    this.decode = makeDecoder(opts.stream);
    this.source = createKafkaSource({
      brokers: opts.brokers,
      groupId: opts.groupId,
      topics: [opts.stream.topic],
      fromBeginning: true,
      onBatch: (b) => this.onBatch(b),
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.restart ? { restart: opts.restart } : {}),
    });
  }

  async start(): Promise<void> {
    this.dlq = await createDeadLetterProducer({ brokers: this.opts.brokers, topic: this.opts.dlqTopic });
    await this.source.start();
  }

  async stop(): Promise<void> {
    await this.source.stop();
    await this.dlq?.disconnect();
  }

  /** Records processed so far per partition (next offset). */
  positions(): Map<number, bigint> {
    return new Map(this.source.positions().map((p) => [p.partition, BigInt(p.offset)]));
  }

  /** True once every partition's position has reached `ends`. */
  caughtUp(ends: Map<number, bigint>): boolean {
    const pos = this.positions();
    return [...ends].every(([p, end]) => end === 0n || (pos.get(p) ?? 0n) >= end);
  }

  /** What the engine does after a checkpoint: commit what has been processed. */
  async commit(): Promise<void> {
    await this.source.commit(this.source.positions());
  }

  private async onBatch(batch: SourceBatch): Promise<void> {
    await this.opts.gate?.(this.accepted.length);
    const stream = this.opts.stream.name;
    const letters = [];
    const now = Date.now();
    for (const m of batch.messages) {
      const r = this.decode(m.value, m.key, Number(m.timestamp));
      if (!r.ok) {
        this.invalid.set(r.reason, (this.invalid.get(r.reason) ?? 0) + 1);
        metrics.eventsInvalid.inc({ stream, reason: r.reason });
        letters.push(deadLetterMessage({ topic: batch.topic, partition: batch.partition, offset: m.offset }, m, r.reason, r.detail));
        continue;
      }
      if (r.eventId !== null && this.deduper.isDuplicate(r.eventId, r.ts)) {
        this.duplicates++;
        metrics.eventsDeduplicated.inc({ stream });
        continue;
      }
      this.watermark.observe(batch.partition, r.ts, now);
      this.accepted.push(r.eventId ?? `${batch.partition}:${m.offset}`);
      metrics.eventsConsumed.inc({ stream });
    }
    // Dead letters are acknowledged before the batch counts as processed (at-least-once DLQ).
    if (letters.length > 0) await this.dlq?.send(letters);
  }
}

/** Parses dead letters read back from the DLQ topic. */
export const parseLetters = (records: readonly { value: string }[]): DeadLetter[] => records.map((r) => JSON.parse(r.value) as DeadLetter);

export type { PartitionKey };
