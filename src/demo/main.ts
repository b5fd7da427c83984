/**
 * `npm start`: the demo. Starts (or reuses) the local Kafka, creates the topics, backfills twenty
 * minutes of history so baselines are warm, then produces live synthetic traffic with incidents
 * and runs the engine on queries/. Ctrl-C stops everything it started.
 */
import { rmSync } from 'node:fs';
import pino from 'pino';
import { startBroker, stopBroker } from '../devkafka/broker.js';
import { createKafkaProducer } from '../ingest/kafka-producer.js';
import { deleteTopics, ensureTopics } from '../ingest/kafka-source.js';
import { runConfig } from '../config.js';
import { startService } from '../app.js';
import { describeError, retry } from '../errors.js';
import { tick, INCIDENTS } from './traffic.js';
import { prng } from '../prng.js';

const PER_SECOND = Number(process.env.SEISMO_DEMO_RATE ?? 20);
const BACKFILL_MS = 20 * 60_000;
const TICK_MS = 250;

/**
 * Ctrl-C (or SIGTERM) at any moment stops what has been started so far, last started first; a
 * signal during a start step takes effect when that step is done. A second one exits at once.
 */
const closers: (() => Promise<unknown>)[] = [];
let stopRequested = false;
let running = false;

async function stop(): Promise<never> {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  process.exit(0);
}

function onSignal(): void {
  if (stopRequested) process.exit(1);
  stopRequested = true;
  process.stderr.write('\nseismo demo: stopping...\n');
  if (running) void stop();
}

/** Called after each start step: stops here if a signal came meanwhile. */
async function continueStarting(): Promise<void> {
  if (stopRequested) await stop();
}

async function main(): Promise<void> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const log = pino({ level: process.env.SEISMO_LOG_LEVEL ?? 'info', base: undefined }, pino.destination(2));
  process.stderr.write('seismo demo: starting the local Kafka broker (first run downloads it, about a minute)...\n');
  const broker = await startBroker({});
  if (!broker.reused) closers.push(() => stopBroker({}));
  await continueStarting();
  const brokers = [broker.bootstrap];
  // Fresh topics each run: history from an earlier run would arrive out of order (late).
  await deleteTopics({ brokers }, ['telemetry.metrics', 'telemetry.logs']);
  await retry(() => ensureTopics({ brokers }, [
    { topic: 'telemetry.metrics', numPartitions: 3 },
    { topic: 'telemetry.logs', numPartitions: 3 },
  ]), { retries: 10, initialMs: 200, maxMs: 2000 });
  const producer = await createKafkaProducer({ brokers });
  closers.push(() => producer.disconnect());
  await continueStarting();
  const rnd = prng(42);
  const seq = { n: 0 };
  const start = Date.now();
  // SEISMO_DEMO_FIRST_INCIDENT (ms after the start) moves the incident schedule; tests use it.
  const firstIncident = Number(process.env.SEISMO_DEMO_FIRST_INCIDENT ?? INCIDENTS[0].from);
  const schedule = start - (INCIDENTS[0].from - firstIncident);
  const send = async (t: number, tickMs: number) => {
    const ev = tick(t, tickMs, schedule, PER_SECOND, rnd, seq);
    const key = (e: object) => String((e as { source: string }).source);
    await producer.send('telemetry.metrics', ev.metrics.map((e) => ({ key: key(e), value: JSON.stringify(e) })));
    await producer.send('telemetry.logs', ev.logs.map((e) => ({ key: key(e), value: JSON.stringify(e) })));
  };
  // History first (in 10-second steps) so the engine starts with warm baselines.
  for (let t = start - BACKFILL_MS + 10_000; t <= start; t += 10_000) await send(t, 10_000);
  await continueStarting();

  // The demo's own database, fresh each run like its topics (a checkpoint of an earlier run
  // would point at offsets of the deleted topics).
  const db = 'data/demo.duckdb';
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const cfg = runConfig({ brokers: broker.bootstrap, group: `seismo-demo-${start}`, db, port: process.env.SEISMO_PORT ?? '8080' });
  const service = await startService(cfg, log);
  closers.push(() => service.stop());
  await continueStarting();
  process.stdout.write(`\nseismo demo is running. Dashboard: ${service.url}/\n`);
  const at = (ms: number) => Math.round((ms - INCIDENTS[0].from + firstIncident) / 1000);
  process.stdout.write(`Incidents every 6 minutes: ${INCIDENTS.map((i) => `${i.kind} in ${i.service} at +${at(i.from)}s`).join(', ')}\n`);
  process.stdout.write('Press Ctrl-C to stop.\n');

  const timer = setInterval(() => {
    send(Date.now(), TICK_MS).catch((err: unknown) => log.warn(`demo producer: ${describeError(err)}`));
  }, TICK_MS);

  closers.push(async () => clearInterval(timer));
  running = true;
}

main().catch((err: unknown) => {
  process.stderr.write(`seismo demo: ${describeError(err)}\n`);
  process.exit(1);
});
