/**
 * The one Kafka producer module (the second file importing kafkajs), used for the dead-letter
 * topic, the alerts topic and view topics. Idempotent with acks=all: a retried send is never
 * written twice by the broker, and a record is acknowledged only once every in-sync replica has
 * it. One request in flight per broker keeps idempotent ordering safe in kafkajs. Sends retry
 * without limit while the broker is away (kafkajs' idempotent default), so a send outlasts a
 * broker restart instead of dropping dead letters or alerts.
 */
// First: it replaces kafkajs' record decoder, which must happen before kafkajs loads.
import './kafkajs-records.js';
import kafkajs from 'kafkajs';
import type { Producer } from 'kafkajs';
import { describeError, SeismoError } from '../errors.js';
import { DEFAULT_DLQ_TOPIC, type DeadLetterMessage } from './dead-letter.js';
import type { KafkaConnectionOptions } from './kafka-client.js';
import { createKafkaClient, ensureTopics } from './kafka-source.js';

const { Partitioners, CompressionTypes } = kafkajs;

/** A record to produce. A null key goes to a partition chosen by kafkajs' default partitioner. */
export interface ProducerMessage {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

/** A connected producer. */
export interface KafkaProducer {
  /** Sends messages to one topic; resolves once acknowledged by all in-sync replicas. */
  send(topic: string, messages: readonly ProducerMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Options: the connection plus topics to create (if missing) before the first send. */
export interface KafkaProducerOptions extends KafkaConnectionOptions {
  readonly ensureTopics?: readonly string[];
  /** Compress batches with gzip (kafkajs' only built-in codec); off by default, small JSON batches gain little. */
  readonly gzip?: boolean;
}

/** Connects an idempotent producer, creating `ensureTopics` first (existing topics are left alone). */
export async function createKafkaProducer(opts: KafkaProducerOptions): Promise<KafkaProducer> {
  if (opts.ensureTopics && opts.ensureTopics.length > 0) {
    await ensureTopics(opts, opts.ensureTopics.map((topic) => ({ topic })));
  }
  const kafka = createKafkaClient(opts);
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
  } catch (err) {
    throw new SeismoError('KAFKA', `cannot connect the Kafka producer: ${describeError(err)}`, { retriable: true, cause: err });
  }
  const compression = opts.gzip ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    async send(topic, messages) {
      // Requests stay well under the broker's default 1 MB message.max.bytes (a record batch is one
      // "message" to the broker): a burst of alerts or dead letters must not fail as one.
      for (const chunk of chunksOf(messages, MAX_REQUEST_BYTES)) {
        try {
          await producer.send({
            topic,
            acks: -1,
            compression,
            messages: chunk.map((m) => ({
              key: m.key,
              value: m.value,
              ...(m.headers === undefined ? {} : { headers: { ...m.headers } }),
            })),
          });
        } catch (err) {
          throw new SeismoError('KAFKA', `cannot produce to ${topic}: ${describeError(err)}`, { retriable: true, cause: err });
        }
      }
    },
    disconnect: () => producer.disconnect(),
  };
}

/** Bytes of keys and values per produce request, at most (the broker's default limit is 1 MB). */
export const MAX_REQUEST_BYTES = 512 * 1024;

const byteLength = (v: Buffer | string | null): number => (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

/** Splits messages into runs of at most `maxBytes` (a single larger message is a run of its own). */
export function chunksOf<M extends ProducerMessage>(messages: readonly M[], maxBytes: number): M[][] {
  const out: M[][] = [];
  let run: M[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = byteLength(m.key) + byteLength(m.value) + 64;
    if (run.length > 0 && bytes + size > maxBytes) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(m);
    bytes += size;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** The dead-letter sink: one producer bound to the DLQ topic. */
export interface DeadLetterProducer {
  readonly topic: string;
  /** Sends dead letters (deadLetterMessage()); resolves once acknowledged. */
  send(letters: readonly DeadLetterMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * Connects the dead-letter producer, creating the topic (default `seismo.dlq`) if missing. Create
 * it before the source starts, so the first bad record has somewhere to go.
 */
export async function createDeadLetterProducer(opts: KafkaConnectionOptions & { topic?: string }): Promise<DeadLetterProducer> {
  const topic = opts.topic ?? DEFAULT_DLQ_TOPIC;
  const producer = await createKafkaProducer({ ...opts, ensureTopics: [topic] });
  return {
    topic,
    send: (letters) => producer.send(topic, letters),
    disconnect: () => producer.disconnect(),
  };
}
