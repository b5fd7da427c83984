import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { brokerStatus, startBroker, stopBroker } from '../../src/devkafka/broker.js';
import { isAlive } from '../../src/devkafka/process.js';
import { consumeAll, createTopic, produce, uniqueTopic } from '../helpers/kafka.js';

const localPort = inject('kafkaLocalPort');

/** A port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolvePromise(address.port) : reject(new Error('no port'))));
    });
  });
}

describe('the shared test broker', () => {
  it('round-trips records through a new topic', async () => {
    const topic = uniqueTopic('devkafka-roundtrip');
    await createTopic(topic, 3);
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, value: JSON.stringify({ i }) }));
    await produce(topic, sent);
    const got = await consumeAll(topic, sent.length);
    expect(got.map((r) => r.value).sort()).toEqual(sent.map((m) => m.value).sort());
    // Same key, same partition: the default partitioner is what engine scale-out relies on.
    const partitionsOfKey = new Map<string | null, Set<number>>();
    for (const r of got) partitionsOfKey.set(r.key, (partitionsOfKey.get(r.key) ?? new Set()).add(r.partition));
    for (const parts of partitionsOfKey.values()) expect(parts.size).toBe(1);
  });
});

describe.skipIf(localPort === null)('the local broker (src/devkafka)', () => {
  const port = localPort ?? 9092;

  it('reports running with its address, pid and log file', async () => {
    const s = await brokerStatus({ port });
    expect(s.state).toBe('running');
    expect(s.bootstrap).toBe(`127.0.0.1:${port}`);
    expect(s.pid).toBeGreaterThan(0);
    expect(s.logFile).toMatch(/broker\.log$/);
  });

  it('reuses the running broker on a second start', async () => {
    const before = await brokerStatus({ port });
    const again = await startBroker({ port });
    expect(again.reused).toBe(true);
    expect(again.pid).toBe(before.pid);
  });
});

describe('stop', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('never signals a process that is not the broker it started', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'seismo-devkafka-'));
    dirs.push(dataDir);
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await writeFile(join(dataDir, 'broker.pid'), `${bystander.pid}\n`);
      const r = await stopBroker({ port: await freePort(), dataDir });
      expect(r.result).toBe('not-running');
      expect(isAlive(bystander.pid ?? -1)).toBe(true);
      expect((await brokerStatus({ port: 1, controllerPort: 2, dataDir })).state).toBe('stopped');
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe.skipIf(localPort === null)('a second, independent broker', () => {
  const opts = { port: 0, controllerPort: 0, dataDir: '' };

  afterAll(async () => {
    if (opts.dataDir === '') return;
    await stopBroker(opts);
    await rm(opts.dataDir, { recursive: true, force: true });
  });

  it('starts on other ports beside the shared one, serves clients, and stops', async () => {
    opts.port = await freePort();
    opts.controllerPort = await freePort();
    opts.dataDir = await mkdtemp(join(tmpdir(), 'seismo-broker2-'));
    const b = await startBroker(opts);
    expect(b.reused).toBe(false);
    expect(b.bootstrap).toBe(`127.0.0.1:${opts.port}`);

    const kafka = new Kafka({ clientId: 'broker2-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    expect(cluster.brokers.map((x) => x.port)).toEqual([opts.port]);

    const stopped = await stopBroker(opts);
    expect(stopped.result).toBe('stopped');
    expect(isAlive(b.pid)).toBe(false);
    expect((await brokerStatus(opts)).state).toBe('stopped');
    expect((await brokerStatus({ port: localPort ?? 9092 })).state).toBe('running');
  }, 180_000);
});
