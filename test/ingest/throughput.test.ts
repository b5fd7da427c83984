/**
 * Opt-in measurement (SEISMO_BENCH=1): records/s through the source alone and through
 * source + decode + dedupe, on the shared broker. Prints one JSON line; asserts only the count.
 */
import { describe, expect, it } from 'vitest';
import { makeDecoder } from '../../src/ingest/decode.js';
import { Deduper } from '../../src/ingest/dedupe.js';
import { createKafkaSource } from '../../src/ingest/kafka-source.js';
import type { StreamPlan } from '../../src/plan.js';
import { createTopic, produce, testBrokers, unique, waitUntil } from './harness.js';

const N = 300_000;

describe.runIf(process.env.SEISMO_BENCH)('ingest throughput', () => {
  it('consumes and decodes', async () => {
    const brokers = testBrokers();
    const topic = unique('tput');
    await createTopic(brokers, topic, 3);
    const T0 = Date.parse('2026-11-24T10:00:00Z');
    const records = Array.from({ length: N }, (_, i) => ({
      partition: i % 3,
      key: null,
      value: JSON.stringify({
        event_id: `id-${i}`,
        event_time: new Date(T0 + i).toISOString(),
        name: 'http.request.duration',
        value: i % 1000,
        labels: { service: `svc-${i % 12}`, region: 'eu-west-1' },
      }),
    }));
    await produce(brokers, topic, records);
    const stream: StreamPlan = {
      name: 'tput',
      topic,
      columns: [
        { name: 'event_id', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
        { name: 'event_time', type: { kind: 'scalar', name: 'TIMESTAMP' }, key: false },
        { name: 'name', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
        { name: 'value', type: { kind: 'scalar', name: 'DOUBLE' }, key: false },
        { name: 'labels', type: { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' }, key: false },
      ],
      timestampColumn: 'event_time',
      eventIdColumn: 'event_id',
      retainMs: null,
    };
    const run = async (decodeToo: boolean) => {
      const decode = makeDecoder(stream);
      const dedupe = new Deduper();
      let n = 0;
      let firstAt = 0;
      const source = createKafkaSource({
        brokers,
        groupId: unique('g'),
        topics: [topic],
        fromBeginning: true,
        ...(process.env.SEISMO_BENCH_KAFKAJS_DEFAULTS
          ? { fetch: { maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024, minBytes: 1, maxWaitTimeInMs: 5000 } }
          : {}),
        onBatch: async (b) => {
          if (firstAt === 0) firstAt = Date.now();
          for (const m of b.messages) {
            if (decodeToo) {
              const r = decode(m.value, m.key, Number(m.timestamp));
              if (r.ok && r.eventId !== null && !dedupe.isDuplicate(r.eventId, r.ts)) n++;
            } else n++;
          }
        },
      });
      await source.start();
      await waitUntil(() => `${n} of ${N}`, () => n >= N, 120_000);
      const ms = Date.now() - firstAt;
      await source.stop();
      expect(n).toBe(N);
      return Math.round((N / ms) * 1000);
    };
    const sourceOnly = await run(false);
    const withDecode = await run(true);
    console.log(JSON.stringify({ records: N, sourceOnlyPerSec: sourceOnly, sourceDecodeDedupePerSec: withDecode }));
  }, 300_000);
});
