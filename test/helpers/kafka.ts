/**
 * Kafka helpers for integration tests, against the broker test/global-setup.ts provides. Every
 * test makes its own topics (uniqueTopic) and consumer groups, so test files can run in parallel
 * on one broker and a rerun never sees an earlier run's records.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, Partitioners, type IHeaders } from 'kafkajs';
import { createTopicsAndWait } from '../../src/ingest/kafka-source.js';

/** One record as a test sees it: key and value decoded as UTF-8. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** A record to produce (produceJson sends plain event objects). */
export interface TestMessage {
  key?: string | null;
  value: string | Buffer | null;
  partition?: number;
  /** Epoch ms. */
  timestamp?: number;
  headers?: Record<string, string>;
}

/** The bootstrap addresses of the test Kafka; throws the setup's reason when there is none. */
export function brokers(): string[] {
  const list = inject('kafkaBrokers');
  if (list.length === 0) throw new Error(inject('kafkaError') ?? 'no Kafka brokers were provided to the tests');
  return list;
}

/** A kafkajs client for the test Kafka, quiet except for errors worth seeing. */
export function kafkaClient(clientId = 'seismo-test'): Kafka {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
}

/** A topic name no other test (or earlier run) uses: prefix, time and random suffix. */
export function uniqueTopic(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Creates a topic and waits until every partition has a leader. */
export async function createTopic(name: string, partitions = 1): Promise<void> {
  const admin = kafkaClient('seismo-test-admin').admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic: name, numPartitions: partitions }]);
  } finally {
    await admin.disconnect();
  }
}

function toKafkaMessage(m: TestMessage | string): { key?: string | null; value: string | Buffer | null; partition?: number; timestamp?: string; headers?: IHeaders } {
  if (typeof m === 'string') return { value: m };
  return {
    ...(m.key === undefined ? {} : { key: m.key }),
    value: m.value,
    ...(m.partition === undefined ? {} : { partition: m.partition }),
    ...(m.timestamp === undefined ? {} : { timestamp: String(m.timestamp) }),
    ...(m.headers === undefined ? {} : { headers: m.headers }),
  };
}

/**
 * Produces records (acks from all in-sync replicas) and resolves once the broker has them. A
 * string is a value. Idempotent: a send kafkajs retries (a just-created topic's partition not led
 * yet) must not append records twice, or tests see the producer's duplicates as the consumer's.
 */
export async function produce(topic: string, messages: ReadonlyArray<TestMessage | string>): Promise<void> {
  const producer = kafkaClient('seismo-test-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map(toKafkaMessage) });
  } finally {
    await producer.disconnect();
  }
}

/** Produces each event as one JSON record value, keyed by keyOf(event) when given. */
export async function produceJson<T extends object>(topic: string, events: readonly T[], keyOf?: (event: T) => string): Promise<void> {
  await produce(topic, events.map((e) => ({ key: keyOf ? keyOf(e) : null, value: JSON.stringify(e) })));
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `count` records arrived,
 * then returns them (in arrival order; ordered within each partition). Rejects after timeoutMs
 * saying how many arrived, so a missing record fails the test instead of hanging it.
 */
export async function consumeAll(topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const consumer = kafkaClient('seismo-test-consumer').consumer({
    groupId: `seismo-test-${randomBytes(6).toString('hex')}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 200,
  });
  const records: ConsumedRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolvePromise, reject) => {
      timer = setTimeout(() => reject(new Error(`consumeAll(${topic}): ${records.length} of ${count} records within ${timeoutMs} ms`)), timeoutMs);
      if (count === 0) resolvePromise();
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) {
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
            }
            records.push({
              topic: t,
              partition,
              offset: message.offset,
              timestamp: Number(message.timestamp),
              key: message.key === null ? null : message.key.toString('utf8'),
              value: message.value === null ? null : message.value.toString('utf8'),
              headers,
            });
            if (records.length >= count) resolvePromise();
          },
        })
        .catch(reject);
    });
    return records;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
