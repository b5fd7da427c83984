/**
 * Alerts end to end against the real broker: the real service in-process (startService), events
 * produced with kafkajs, the alerts topic consumed with kafkajs, the `alerts` table read through
 * POST /api/query, active alerts through GET /api/alerts; and a crash mid-incident.
 *
 * The crash: startService only exposes a graceful stop, which always writes a final checkpoint.
 * So the test stops the first run gracefully before the incident, keeps a copy of its DuckDB file
 * (checkpoint C1), lets a second run see the incident begin and fire, then discards that run's
 * file and restarts from the copy. Everything the second run did after C1 is lost exactly as with
 * kill -9 after the alert was produced but before its checkpoint: the restarted service re-reads
 * from C1's offsets and emits the firing again.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startService, type Service } from '../../src/app.js';
import { runConfig } from '../../src/config.js';
import { fingerprint, type AlertPayload } from '../../src/alerts/payload.js';
import { brokers, consumeAll, createTopic, kafkaClient, produceJson, uniqueTopic } from '../helpers/kafka.js';

/** Minute-aligned, two hours ago: event time is all that matters (the watermark is event time). */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000;
const iso = (sec: number) => new Date(T0 + sec * 1000).toISOString();

const dir = mkdtempSync(join(tmpdir(), 'seismo-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Event {
  event_id: string;
  event_time: string;
  service: string;
  value: number;
}

/** One event per second per service in [from, to); `value(sec, service)` gives the latency. */
function events(from: number, to: number, value: (sec: number, service: string) => number): Event[] {
  const out: Event[] = [];
  for (let sec = from; sec < to; sec++) {
    for (const service of ['checkout', 'search']) {
      out.push({ event_id: `${service}-${sec}`, event_time: iso(sec), service, value: value(sec, service) });
    }
  }
  return out;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Polls until check() returns a value (not undefined); fails with `what` after the deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** seismo_events_consumed_total of a stream, from GET /metrics (process-wide: it adds up over restarts). */
async function consumed(url: string, stream: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^seismo_events_consumed_total\\{stream="${stream}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** How many records a topic holds (sum over partitions), read once every producer is done. */
async function recordCount(topic: string): Promise<number> {
  const admin = kafkaClient('seismo-test-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('alerts through Kafka', () => {
  it('fires, survives a crash mid-incident with only droppable duplicates, and resolves', { timeout: 240_000 }, async () => {
    const input = uniqueTopic('alerts-in');
    const alertsTopic = uniqueTopic('alerts-out');
    const dlqTopic = uniqueTopic('alerts-dlq');
    const group = `seismo-test-${randomBytes(6).toString('hex')}`;
    await createTopic(input);

    const queries = join(dir, 'alerts.sql');
    writeFileSync(
      queries,
      `CREATE STREAM ev (event_id VARCHAR, event_time TIMESTAMP, service VARCHAR, value DOUBLE)
         WITH (kafka_topic = '${input}', timestamp = 'event_time', event_id = 'event_id');
       CREATE ALERT slow WITH (
         for = '20 SECONDS', severity = 'page', labels = 'team=payments',
         summary = '{{service}} averages {{avg_ms}} ms'
       ) AS
       SELECT service, COUNT(*) AS n, AVG(value) AS avg_ms FROM ev
       WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS)
       GROUP BY service HAVING AVG(value) > 100;`,
    );
    const db = join(dir, 'live.duckdb');
    const crashDb = join(dir, 'crash.duckdb');
    const log = pino({ level: 'silent' });
    const start = (file: string): Promise<Service> =>
      startService(
        runConfig(
          {
            brokers: brokers().join(','),
            queries: [queries],
            db: file,
            port: '0',
            group,
            alertsTopic,
            dlqTopic,
            checkpointInterval: '1s',
            // Event time only: no partition goes idle (and advances the watermark by wall time) mid-test.
            idleTimeout: '1h',
          },
          {},
        ),
        log,
      );
    const normal = () => 20;
    const spike = (sec: number, service: string) => (service === 'checkout' && sec >= 60 && sec < 120 ? 300 : 20);

    // Run 1: a minute of normal traffic, then a graceful stop (checkpoint C1) and a copy of the file.
    const first = await start(db);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/); // port 0 picked a free port
    await produceJson(input, events(0, 60, normal));
    await until('run 1 to consume 120 events', async () => ((await consumed(first.url, 'ev')) >= 120 ? true : undefined));
    await first.stop();
    for (const suffix of ['', '.wal']) if (existsSync(db + suffix)) copyFileSync(db + suffix, crashDb + suffix);

    // Run 2: checkout's latency spikes from 60 s; pending at 70, firing at 90 (for = 20 s).
    const second = await start(db);
    await produceJson(input, events(60, 120, spike));
    const [firstFiring] = await consumeAll(alertsTopic, 1);
    const fired = JSON.parse(firstFiring!.value!) as AlertPayload;
    const labels = { alertname: 'slow', service: 'checkout', team: 'payments', severity: 'page' };
    expect(fired).toMatchObject({
      fingerprint: fingerprint(labels),
      status: 'firing',
      labels,
      annotations: { summary: 'checkout averages 300 ms' },
      startsAt: iso(90),
      endsAt: null,
      values: { n: 10, avg_ms: 300 },
      window: { start: iso(80), end: iso(90) },
    });
    expect(firstFiring!.key).toBe(fired.fingerprint);
    const active = await getJson<AlertPayload[]>(`${second.url}/api/alerts`);
    expect(active.map((a) => [a.status, a.labels.service, a.startsAt])).toEqual([['firing', 'checkout', iso(90)]]);

    // The crash: run 2's state after C1 is lost; run 3 restarts from the copy, same group.
    await second.stop();
    const third = await start(crashDb);
    // It re-reads the spike from C1's offsets and fires again: the same transition.
    await consumeAll(alertsTopic, 2);
    await until('run 3 to list the firing alert', async () => {
      const list = await getJson<AlertPayload[]>(`${third.url}/api/alerts`);
      return list.length === 1 && list[0]!.startsAt === iso(90) ? true : undefined;
    });

    // The spike ends at 120: [120,130) is normal again, so it resolves at 130.
    await produceJson(input, events(120, 180, normal));
    await consumeAll(alertsTopic, 3);
    const stored = await until('the alerts table to hold both transitions', async () => {
      const r = await getJson<{ columns: { name: string }[]; rows: unknown[][] }>(`${third.url}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sql: `SELECT fingerprint, status, alertname, epoch_ms(starts_at) AS s, epoch_ms(ends_at) AS e
                FROM alerts ORDER BY emitted_at, status`,
        }),
      });
      return r.rows.length >= 2 ? r.rows : undefined;
    });
    expect(stored).toEqual([
      [fired.fingerprint, 'firing', 'slow', T0 + 90_000, null],
      [fired.fingerprint, 'resolved', 'slow', T0 + 90_000, T0 + 130_000],
    ]);
    expect(await getJson<AlertPayload[]>(`${third.url}/api/alerts`)).toEqual([]);
    await third.stop();

    // Every record on the topic: keyed by its fingerprint, and either a new transition or an exact
    // duplicate of an earlier one (what a consumer deduplicating on fingerprint+startsAt+status drops).
    const total = await recordCount(alertsTopic);
    const records = await consumeAll(alertsTopic, total);
    expect(records).toHaveLength(total);
    const seen = new Map<string, AlertPayload>();
    for (const r of records) {
      const a = JSON.parse(r.value!) as AlertPayload;
      expect(r.key).toBe(a.fingerprint);
      const id = `${a.fingerprint}|${a.startsAt}|${a.status}`;
      const earlier = seen.get(id);
      if (earlier) expect({ ...a, emittedAt: '' }).toEqual({ ...earlier, emittedAt: '' });
      else seen.set(id, a);
    }
    expect([...seen.values()].map((a) => [a.status, a.startsAt, a.endsAt])).toEqual([
      ['firing', iso(90), null],
      ['resolved', iso(90), iso(130)],
    ]);
    // The crash did produce a duplicate (otherwise this test would not exercise dedupe).
    expect(records.length).toBeGreaterThan(seen.size);
  });
});
