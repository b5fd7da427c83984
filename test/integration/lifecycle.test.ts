/**
 * `seismo run` as a process: it becomes ready, reloads its queries on SIGHUP all or nothing
 * (a broken file leaves the running set in place), and exits 0 on SIGTERM after its last
 * checkpoint, also when the signal comes while it is still starting; that last checkpoint's
 * offsets are committed to the group (with the ingest worker and without).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokers, createTopic, kafkaClient, produceJson, uniqueTopic } from '../helpers/kafka.js';

const BIN = join(import.meta.dirname, '../../bin/seismo.js');
const dir = mkdtempSync(join(tmpdir(), 'seismo-life-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seismo run lifecycle', () => {
  it('reloads on SIGHUP all or nothing and stops cleanly on SIGTERM', async () => {
    const topic = uniqueTopic('life');
    await createTopic(topic, 1);
    const queries = join(dir, 'q.sql');
    const stream = `CREATE STREAM s (t BIGINT, v DOUBLE) WITH (kafka_topic = '${topic}', timestamp = 't');`;
    writeFileSync(queries, `${stream}\nCREATE VIEW a AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE);`);
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--brokers', brokers().join(','), '--queries', queries, '--db', join(dir, 'db.duckdb'), '--port', '0', '--group', `g-${topic}`, '--dlq-topic', `${topic}-dlq`, '--alerts-topic', `${topic}-alerts`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await expect.poll(() => log, { timeout: 60_000, interval: 200 }).toMatch(/dashboard at (http:\/\/\S+?)\/?\s/);
    const url = /dashboard at (http:\/\/[^\s/]+)/.exec(log)![1]!;
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 30_000 }).toBe(200);
    const views = async () => ((await (await fetch(`${url}/api/views`)).json()) as { name: string }[]).map((v) => v.name);
    expect(await views()).toEqual(['a']);

    writeFileSync(queries, `${stream}\nCREATE VIEW a AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE);\nCREATE VIEW b AS SELECT MAX(v) AS m FROM s WINDOW TUMBLING (SIZE 1 MINUTE);`);
    child.kill('SIGHUP');
    await expect.poll(views, { timeout: 15_000 }).toEqual(['a', 'b']);
    expect(log).toMatch(/kept the state of 1 unchanged queries/);

    writeFileSync(queries, `${stream}\nCREATE VIEW a AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE);\nCREATE VIEW b AS SELECT MAX(nope) AS m FROM s;`);
    child.kill('SIGHUP');
    await expect.poll(() => log, { timeout: 15_000 }).toMatch(/reload refused[\s\S]*unknown column 'nope'/);
    expect(await views()).toEqual(['a', 'b']);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).not.toMatch(/\n\s+at /);
  }, 120_000);

  // A signal at each step of the start, the last one as the service is about to be up (the step
  // where the stop handlers used to be swapped, leaving the default action: death by SIGTERM).
  it.each(['loaded', 'kafka: connected', 'consuming'])('exits 0 on a SIGTERM at "%s"', async (step) => {
    const topic = uniqueTopic('life-early');
    await createTopic(topic, 1);
    const queries = join(dir, `${topic}.sql`);
    writeFileSync(queries, `CREATE STREAM s (t BIGINT, v DOUBLE) WITH (kafka_topic = '${topic}', timestamp = 't');`);
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--brokers', brokers().join(','), '--queries', queries, '--db', join(dir, `${topic}.duckdb`), '--port', '0', '--group', `g-${topic}`, '--dlq-topic', `${topic}-dlq`, '--alerts-topic', `${topic}-alerts`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      const sent = log.includes(step);
      log += d.toString();
      if (!sent && log.includes(step)) child.kill('SIGTERM');
    });
    const exited = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    expect(log).toContain(step);
    expect(exited, log).toEqual({ code: 0, signal: null });
    expect(log).toMatch(/SIGTERM: stopping/);
  }, 60_000);

  // No periodic checkpoint runs (1 h): only the stop's last checkpoint can commit the offsets.
  it.each([
    { mode: 'with the ingest worker', extra: [] },
    { mode: 'on one thread', extra: ['--no-ingest-worker'] },
  ])('commits the last checkpoint\'s offsets on SIGTERM ($mode)', async ({ extra }) => {
    const topic = uniqueTopic('life-commit');
    await createTopic(topic, 3);
    const queries = join(dir, `${topic}.sql`);
    writeFileSync(queries, `CREATE STREAM s (t BIGINT, v DOUBLE) WITH (kafka_topic = '${topic}', timestamp = 't');\nCREATE VIEW a AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE);`);
    const t0 = Date.now() - 600_000;
    await produceJson(topic, Array.from({ length: 3000 }, (_, i) => ({ t: t0 + i * 10, v: i })), (e) => String(e.v % 7));
    const group = `g-${topic}`;
    const child = spawn(
      process.execPath,
      [BIN, 'run', ...extra, '--brokers', brokers().join(','), '--queries', queries, '--db', join(dir, `${topic}.duckdb`), '--port', '0', '--group', group, '--checkpoint-interval', '1h', '--dlq-topic', `${topic}-dlq`, '--alerts-topic', `${topic}-alerts`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await expect.poll(() => /seismo: dashboard at (http:\/\/[^\s/]+)/.exec(log)?.[1], { timeout: 60_000, interval: 100 }).toBeTruthy();
    const url = /seismo: dashboard at (http:\/\/[^\s/]+)/.exec(log)![1]!;
    const consumed = async () => Number(/^seismo_events_consumed_total\{stream="s"\} (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    await expect.poll(consumed, { timeout: 30_000 }).toBe(3000);
    child.kill('SIGTERM');
    expect(await exited, log).toBe(0);
    expect(log).not.toMatch(/offset commit failed/);
    const admin = kafkaClient('seismo-life-admin').admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      expect(committed!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual(ends.map((e) => [e.partition, e.high]).sort());
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});
