/**
 * `seismo run` as a process: it becomes ready, reloads its queries on SIGHUP all or nothing
 * (a broken file leaves the running set in place), and exits 0 on SIGTERM after its last
 * checkpoint, also when the signal comes while it is still starting.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokers, createTopic, uniqueTopic } from '../helpers/kafka.js';

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
});
