/**
 * Against the real broker and a real DuckDB file, through the real service: raw events of a
 * stream with `retain` are stored in events_<stream> (exactly the consumed ones), and events
 * later than their window go to the dead-letter topic with the reason `late` when the view says
 * `late = 'dead-letter'`, and are counted in seismo_events_late_total.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startService } from '../../src/app.js';
import { runConfig } from '../../src/config.js';
import { registry } from '../../src/metrics.js';
import { brokers, consumeAll, createTopic, produceJson, uniqueTopic } from '../helpers/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'seismo-retain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);
const LATE = /seismo_events_late_total\{view="c"\} (\d+)/;
const FUTURE = /seismo_events_invalid_total\{stream="s",reason="future_timestamp"\} (\d+)/;
/** A counter's value in a scrape (0 when absent): the registry is per process, shared by both runs. */
const counter = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);

// Both ingest paths: decoded in the worker thread (the default) and on the engine's thread.
describe.each([{ worker: true }, { worker: false }])('retention and late events (ingest worker: $worker)', ({ worker }) => {
  it('stores retained raw events and dead-letters late ones', async () => {
    const topic = uniqueTopic('retain');
    const dlq = uniqueTopic('dlq');
    await createTopic(topic, 1);
    const queries = join(dir, 'q.sql');
    writeFileSync(
      queries,
      `CREATE STREAM s (id VARCHAR, t TIMESTAMP, v DOUBLE) WITH (kafka_topic = '${topic}', timestamp = 't', event_id = 'id', retain = '7 DAYS');
       CREATE VIEW c WITH (late = 'dead-letter') AS SELECT COUNT(*) AS n FROM s
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) EMIT FINAL;`,
    );
    // 30 events in order, then 2 that are older than the closed window [0, 10 s).
    const events = Array.from({ length: 30 }, (_, i) => ({ id: `e${i}`, t: new Date(T0 + i * 1000).toISOString(), v: i }));
    const late = [{ id: 'late1', t: new Date(T0 + 1000).toISOString(), v: 1 }, { id: 'late2', t: new Date(T0 + 2000).toISOString(), v: 2 }];
    // And one from the year 2100: it would close every window; it is dead-lettered instead.
    const future = { id: 'future', t: '2100-01-01T00:00:00Z', v: 0 };
    await produceJson(topic, [...events, ...late, future]);

    const cfg = runConfig({
      brokers: brokers().join(','), queries: [queries], db: join(dir, `${topic}.duckdb`), port: '0',
      group: `g-${topic}`, dlqTopic: dlq, alertsTopic: `${dlq}-alerts`, checkpointInterval: '500ms', idleTimeout: '1h',
      ingestWorker: worker,
    });
    const before = await registry.metrics();
    const service = await startService(cfg, pino({ level: 'silent' }));
    try {
      const query = async (sql: string) => {
        const res = await fetch(`${service.url}/api/query`, { method: 'POST', body: JSON.stringify({ sql }) });
        return (await res.json()) as { rows: unknown[][] };
      };
      await expect
        .poll(async () => {
          try {
            return (await query('SELECT count(*) FROM events_s')).rows[0]?.[0];
          } catch {
            return undefined;
          }
        }, { timeout: 30_000, interval: 250 })
        .toBe(32);
      const letters = (await consumeAll(dlq, 3, 30_000)).map((m) => JSON.parse(String(m.value)) as { reason: string; offset: number; value: string });
      expect(letters.map((l) => l.reason)).toEqual(['late', 'late', 'future_timestamp']);
      expect(letters.map((l) => l.offset)).toEqual([30, 31, 32]);
      // Each letter carries its record's original value.
      expect(letters.map((l) => (JSON.parse(l.value) as { id: string }).id)).toEqual(['late1', 'late2', 'future']);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(counter(metrics, LATE) - counter(before, LATE)).toBe(2);
      expect(counter(metrics, FUTURE) - counter(before, FUTURE)).toBe(1);
      const stored = await query('SELECT n FROM view_c ORDER BY window_start');
      expect(stored.rows.map((r) => Number(r[0]))).toEqual([10, 10]);
    } finally {
      await service.stop();
    }
  });
});
