/**
 * seismo keeps state per group key and does not repartition yet, so one process must own every
 * partition of its topics. A second process in the same consumer group takes some partitions
 * away: both must refuse with a clear reason instead of silently producing partial aggregates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startService } from '../../src/app.js';
import { runConfig } from '../../src/config.js';
import { brokers, createTopic, uniqueTopic } from '../helpers/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'seismo-owner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('one process per consumer group', () => {
  it('refuses to run with partial partitions', async () => {
    const topic = uniqueTopic('owner');
    await createTopic(topic, 2);
    const queries = join(dir, 'q.sql');
    writeFileSync(queries, `CREATE STREAM s (t BIGINT) WITH (kafka_topic = '${topic}', timestamp = 't');
      CREATE VIEW c AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE);`);
    const config = (n: number) =>
      runConfig({ brokers: brokers().join(','), queries: [queries], db: join(dir, `db${n}.duckdb`), port: '0', group: `g-${topic}`, dlqTopic: `${topic}-dlq`, alertsTopic: `${topic}-alerts` });
    const a = await startService(config(1), pino({ level: 'silent' }));
    const b = await startService(config(2), pino({ level: 'silent' }));
    try {
      const reason = await Promise.race([a.fatal, b.fatal, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
      expect(reason?.message).toMatch(/another process in consumer group g-owner-\S+ owns partitions of owner-\S+ \(\d of 2\)/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 90_000);
});
