/**
 * bench:e2e — seismo end to end against the local broker, compared in the same run with the two
 * baselines that bound it: a bare kafkajs consumer that only JSON-parses (the client seismo is
 * built on) and kcat (librdkafka, C) reading the same topic to /dev/null.
 *
 * 1. Throughput: N demo-like metric events (~200 bytes, SERIES series, keyed by series, 6
 *    partitions) are produced with `kcat -P` into a fresh topic. Then, per run: kcat reads it to
 *    the end; a kafkajs consumer reads it to the end; `seismo run` (a child process, so it has its
 *    event loop to itself, as in production) consumes it with demo-like queries until
 *    seismo_events_consumed_total (GET /metrics) reaches N, timed from the moment the service
 *    reports ready (startup excluded); then `seismo run --no-ingest-worker` the same way (engine,
 *    Kafka client and decoding on one thread: the reference for the ingest worker). Rates are
 *    medians over BENCH_RUNS runs; ratios are the median of each run's own ratio.
 * 2. Latency: a generator produces at half seismo's measured maximum into another fresh topic,
 *    with probe events carrying their produce wall time. A `ws` client subscribed to a probe view
 *    measures produce -> WebSocket update; a consumer of the alerts topic measures window close
 *    (event time = produce wall time) -> alert on the topic. BENCH_LATENCY_RUNS runs (default
 *    BENCH_RUNS), each with a fresh service and topic; p50 and p99 are medians of the runs' own.
 *
 * Prints one JSON line. Env: BENCH_EVENTS (2,000,000), BENCH_RUNS (1), BENCH_SERIES (10,000),
 * BENCH_LATENCY_SECONDS (60 measured after the warm-up, 0 to skip), BENCH_LATENCY_WARMUP_SECONDS
 * (15), SEISMO_KAFKA_BROKERS (127.0.0.1:9092),
 * BENCH_CPU_PROF=DIR (run the seismo child with --cpu-prof into DIR), BENCH_NODE_ARGS (more node flags for it), BENCH_KEEP_TOPICS=1 (keep the
 * topics), BENCH_TOPIC=T (reuse a kept topic of BENCH_EVENTS records instead of producing one),
 * BENCH_ONLY=seismo (skip the two baselines, for profiling iterations), BENCH_SEISMO_LOG=FILE (the seismo
 * child's debug log to FILE.<tag>), BENCH_LATENCY_RATE=R (skip
 * the throughput part, measure latency at R events/s), BENCH_FLUSH_INTERVAL (seismo's
 * --flush-interval, default its own 100ms), BENCH_CHECKPOINT_INTERVAL (its --checkpoint-interval),
 * BENCH_LATENCY_TRACE=FILE (every latency sample with its time in the run: when the spikes come),
 * BENCH_LATENCY_RUNS (latency runs, default BENCH_RUNS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { WebSocket } from 'ws';

const { Kafka, logLevel } = kafkajs;

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
/** One latency run is at the mercy of the shared machine's worst minute: report medians of several. */
const LATENCY_RUNS = Math.max(1, Number(process.env.BENCH_LATENCY_RUNS ?? RUNS));
const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const PARTITIONS = 6;
/** 60 s at 5 probes a second: ~300 samples, so p99 is not just the second-worst sample. */
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 60);
/**
 * The generator runs this long before samples count: the steady state is what p50/p99 describe.
 * A cold start into 70,000 events/s (producer, broker topic, seismo's JIT and young generation,
 * 20,000 groups created, the first checkpoint serialising with cold code) stays 0.5–2 s behind for
 * 3–8 s here; that start is reported on its own (`ws_latency_warmup_*`), not hidden.
 */
const LATENCY_WARMUP_MS = 1000 * Number(process.env.BENCH_LATENCY_WARMUP_SECONDS ?? 15);
const BROKERS = (process.env.SEISMO_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
/** Event-time density of the throughput topic: 20,000 events per second of event time. */
const EVENT_TIME_RATE = 20_000;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SEISMO_BIN = join(ROOT, 'bin/seismo.js');
const SELF = fileURLToPath(import.meta.url);
/**
 * BENCH_LATENCY_TRACE=FILE: `start <epoch ms>` when the generator starts (to line the samples up
 * with the service's log), then one line per latency sample, `ws|alert <ms since the generator
 * started> <latency ms>`.
 */
const TRACE = process.env.BENCH_LATENCY_TRACE;

/** Same fetch settings as seismo's source (src/ingest/kafka-source.ts), so the ratio isolates processing. */
const FETCH = { maxBytes: 32 * 1024 * 1024, maxBytesPerPartition: 4 * 1024 * 1024, minBytes: 64 * 1024, maxWaitTimeInMs: 100 };

/** The demo's metrics stream plus produced_ms (wall time at produce, for latency probes). */
function queries(topic: string): string {
  return `
CREATE STREAM metrics (
  event_id VARCHAR, event_time TIMESTAMP, source VARCHAR, schema_version INT,
  name VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>, produced_ms BIGINT
) WITH (kafka_topic = '${topic}', timestamp = 'event_time', event_id = 'event_id');

CREATE VIEW rate AS
SELECT labels['series'] AS series, COUNT(*) AS requests, AVG(value) AS avg_ms
FROM metrics WHERE name = 'http.request.duration'
WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY labels['series'] EMIT CHANGES;

CREATE VIEW latency AS
SELECT labels['series'] AS series, PERCENTILE(value, 0.99) AS p99_ms
FROM metrics WHERE name = 'http.request.duration'
WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY labels['series'] EMIT CHANGES;

CREATE ALERT avg_anomaly WITH (severity = 'page') AS
SELECT series, avg_ms, ZSCORE(avg_ms) AS z FROM rate HAVING ZSCORE(avg_ms) > 6;

-- Latency probes: one row per probe event (each has its own series).
CREATE VIEW probe AS
SELECT labels['series'] AS series, MAX(produced_ms) AS produced_ms
FROM metrics WHERE name = 'probe'
WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY labels['series'] EMIT CHANGES;

-- One tick event a second, each its own group: fires once when its 1-second window closes.
CREATE ALERT tick WITH (severity = 'info') AS
SELECT labels['series'] AS series, COUNT(*) AS n
FROM metrics WHERE name = 'tick'
WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY labels['series']
HAVING COUNT(*) > 0;
`;
}

/** One record as `kcat -K '\t'` reads it: key, tab, JSON value. */
function line(i: number, at: number, producedMs: number, name = 'http.request.duration', series = `s-${i % SERIES}`, iso = new Date(at).toISOString()): string {
  const value = 20 + ((i * 31) % 977) / 7;
  const host = i % 3;
  return `${series}\t{"event_id":"m-${producedMs}-${i}","event_time":"${iso}","source":"${series}-${host}","schema_version":1,"name":"${name}","value":${value},"labels":{"series":"${series}","region":"eu-west-1"},"produced_ms":${producedMs}}\n`;
}

// ---- helpers -----------------------------------------------------------------------------------

const kafka = new Kafka({ clientId: 'seismo-bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
/** Topics seismo creates for a run (alerts, dead letters), deleted at the end. */
const outputTopics: string[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

async function createTopics(names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: names.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function deleteTopics(names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const gone = names.filter((n) => existing.has(n));
    if (gone.length) await admin.deleteTopics({ topics: gone });
  } finally {
    await admin.disconnect();
  }
}

/** Records a topic holds, from its partitions' offsets. */
function recordsIn(offsets: readonly { high: string; low: string }[]): number {
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

async function topicSize(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return recordsIn(await admin.fetchTopicOffsets(topic));
  } finally {
    await admin.disconnect();
  }
}

/** CPU seconds (user + system) a live process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * CPU seconds the whole machine has been busy so far (every core, every process: the broker and
 * the generator too), from /proc/stat: user, nice, system, irq, softirq and steal, not idle or iowait.
 */
function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

/** A throughput measurement: events per wall-clock second and per CPU second (robust to a noisy machine). */
interface Rate {
  wall: number;
  cpu: number;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res(child.exitCode);
    child.once('exit', (code) => res(code));
  });
}

const KCAT_PRODUCE = ['-P', '-K', '\t', '-X', 'linger.ms=50', '-X', 'batch.num.messages=100000', '-X', 'batch.size=4000000', '-X', 'queue.buffering.max.kbytes=2097151'];

/** Produces the throughput topic with kcat -P fed from this process; returns events/s. */
async function produceTopic(topic: string): Promise<number> {
  const kcat = spawn('kcat', ['-b', BROKERS.join(','), '-t', topic, ...KCAT_PRODUCE], { stdio: ['pipe', 'ignore', 'inherit'] });
  const started = performance.now();
  const t0 = Date.UTC(2026, 0, 1);
  const stdin = kcat.stdin!;
  for (let i = 0; i < EVENTS; ) {
    let chunk = '';
    for (const end = Math.min(EVENTS, i + 5000); i < end; i++) {
      const at = t0 + Math.floor((i * 1000) / EVENT_TIME_RATE);
      chunk += line(i, at, at);
    }
    if (!stdin.write(chunk)) await new Promise((r) => stdin.once('drain', r));
  }
  stdin.end();
  const code = await waitExit(kcat);
  if (code !== 0) throw new Error(`kcat -P exited with ${code}`);
  const seconds = (performance.now() - started) / 1000;
  const size = await topicSize(topic);
  if (size !== EVENTS) throw new Error(`topic ${topic} holds ${size} records, expected ${EVENTS}`);
  return EVENTS / seconds;
}

// ---- (c) kcat ------------------------------------------------------------------------------------

async function kcatRead(topic: string): Promise<Rate> {
  const started = performance.now();
  // bash's `time` reports the CPU seconds (user, system) of kcat (and wc, negligible).
  const script = `TIMEFORMAT='cpu %U %S'; { time (kcat -C -b ${BROKERS.join(',')} -t ${topic} -o beginning -e -q | wc -l) ; } 2>&1`;
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitExit(child);
  const seconds = (performance.now() - started) / 1000;
  const lines = /^\s*(\d+)\s*$/m.exec(out);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(out);
  const n = lines ? Number(lines[1]) : NaN;
  if (n !== EVENTS || !cpu) throw new Error(`kcat read ${n} records, expected ${EVENTS} (${out.trim()})`);
  return { wall: EVENTS / seconds, cpu: EVENTS / (Number(cpu[1]) + Number(cpu[2])) };
}

// ---- (b) bare kafkajs ------------------------------------------------------------------------------

async function kafkajsRead(topic: string): Promise<Rate> {
  const consumer = kafka.consumer({ groupId: uniqueName('bench-bare'), ...FETCH });
  let n = 0;
  let sink = 0;
  let joinedAt = 0;
  let cpuAt = process.cpuUsage();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt = performance.now();
    cpuAt = process.cpuUsage();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let cpu = 0;
  const done = new Promise<number>((res) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (m.value) sink += (JSON.parse(m.value.toString('utf8')) as { value: number }).value > 0 ? 1 : 0;
          n++;
        }
        if (n >= EVENTS && cpu === 0) {
          const used = process.cpuUsage(cpuAt);
          cpu = (used.user + used.system) / 1e6;
          res(performance.now());
        }
      },
    });
  });
  const end = await done;
  await consumer.disconnect();
  if (sink < 0) console.log(sink);
  return { wall: EVENTS / ((end - joinedAt) / 1000), cpu: EVENTS / cpu };
}

// ---- (a) seismo run ----------------------------------------------------------------------------

interface RunningService {
  child: ChildProcess;
  url: string;
  readyAt: number;
  /** CPU seconds used when it became ready. */
  readyCpu: number;
  stop(): Promise<void>;
}

/** Starts `seismo run` as a child and resolves once it reports its dashboard URL (ready). */
async function startSeismo(dir: string, topic: string, alertsTopic: string, tag: string, extraArgs: string[] = []): Promise<RunningService> {
  outputTopics.push(alertsTopic, `${alertsTopic}-dlq`);
  const qfile = join(dir, `${tag}.sql`);
  writeFileSync(qfile, queries(topic));
  const prof = process.env.BENCH_CPU_PROF;
  const nodeArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const args = [
    ...nodeArgs, SEISMO_BIN, 'run', '--brokers', BROKERS.join(','), '--queries', qfile, '--db', join(dir, `${tag}.duckdb`),
    '--port', '0', '--group', uniqueName('bench-seismo'), '--alerts-topic', alertsTopic, '--dlq-topic', `${alertsTopic}-dlq`,
    '--log-level', process.env.BENCH_SEISMO_LOG ? 'debug' : 'warn', '--dashboards', join(dir, 'no-dashboards'),
    ...(process.env.BENCH_FLUSH_INTERVAL ? ['--flush-interval', process.env.BENCH_FLUSH_INTERVAL] : []),
    ...(process.env.BENCH_CHECKPOINT_INTERVAL ? ['--checkpoint-interval', process.env.BENCH_CHECKPOINT_INTERVAL] : []),
    ...extraArgs,
  ];
  const logFile = process.env.BENCH_SEISMO_LOG;
  // With a log file, stdout goes there too (node's --trace-gc writes to stdout).
  const child = spawn(process.execPath, args, { stdio: ['ignore', logFile ? 'pipe' : 'ignore', 'pipe'] });
  if (logFile) {
    child.stderr!.on('data', (d: Buffer) => appendFileSync(`${logFile}.${tag}`, d));
    child.stdout!.on('data', (d: Buffer) => appendFileSync(`${logFile}.${tag}`, d));
  }
  let err = '';
  const url = await new Promise<string>((res, rej) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /dashboard at (http:\/\/[^\s"\\]+)/.exec(err);
      if (m) res(m[1]!.replace(/\/$/, ''));
    });
    child.once('exit', (code) => rej(new Error(`seismo run exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  const readyAt = performance.now();
  const readyCpu = cpuSeconds(child.pid!);
  return {
    child,
    url,
    readyAt,
    readyCpu,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await waitExit(child);
      clearTimeout(timer);
    },
  };
}

/** Sums a metric's samples (over labels) in a Prometheus text exposition. */
function sample(text: string, name: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) n += Number(m[1]);
  return n;
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

async function consumedTotal(url: string): Promise<{ consumed: number; invalid: number }> {
  const text = await scrape(url);
  return { consumed: sample(text, 'seismo_events_consumed_total'), invalid: sample(text, 'seismo_events_invalid_total') };
}

/** `seismo run` reading the topic to its end; `singleThread`: with --no-ingest-worker (the reference of round 6). */
async function seismoRead(dir: string, topic: string, run: number, singleThread = false): Promise<Rate> {
  const tag = `tput-${run}${singleThread ? '-1t' : ''}`;
  const svc = await startSeismo(dir, topic, uniqueName('bench-alerts'), tag, singleThread ? ['--no-ingest-worker'] : []);
  try {
    for (;;) {
      const { consumed, invalid } = await consumedTotal(svc.url);
      if (invalid > 0) throw new Error(`seismo dead-lettered ${invalid} records`);
      if (consumed >= EVENTS) {
        const cpu = cpuSeconds(svc.child.pid!) - svc.readyCpu;
        return { wall: EVENTS / ((performance.now() - svc.readyAt) / 1000), cpu: EVENTS / cpu };
      }
      // Each scrape renders every metric in the service: poll rarely until the end is near,
      // then often, so the observer costs little and the end time is still sharp.
      await new Promise((r) => setTimeout(r, consumed < 0.9 * EVENTS ? 200 : 10));
    }
  } finally {
    await svc.stop();
  }
}

// ---- latency -------------------------------------------------------------------------------------

/**
 * Generator mode (child process, stdout piped into kcat -P): `rate` events/s for `seconds`, event
 * time = produce wall time; a probe every 200 ms and a tick event every second.
 */
/** At most this much written and not yet read by kcat (~1 MB: about 50 ms of lines at 85,000 events/s). */
const PIPE_BACKLOG_BYTES = 1 << 20;

function generate(rate: number, seconds: number): void {
  const start = Date.now();
  let sent = 0;
  let probes = 0;
  let lastTick = -1;
  let nextProbe = start;
  const timer = setInterval(() => {
    const now = Date.now();
    const due = Math.min(Math.floor((rate * (now - start)) / 1000), rate * seconds);
    let out = '';
    // The generator shares the machine with seismo and the broker: one date string per tick.
    const iso = new Date(now).toISOString();
    // Back-pressure: while kcat has not taken what was written, write nothing; what is due goes
    // out later, stamped with the time it is written. Without this, a producer slowed down by a
    // busy machine made this process queue hundreds of MB of lines (their produced_ms ever older)
    // and spend a core on garbage collection.
    const room = process.stdout.writableLength < PIPE_BACKLOG_BYTES ? Math.floor(PIPE_BACKLOG_BYTES / 250) : 0;
    for (const end = Math.min(due, sent + room); sent < end; sent++) out += line(sent, now, now, undefined, undefined, iso);
    if (now >= nextProbe) {
      out += line(sent, now, now, 'probe', `p-${probes++}`);
      nextProbe += 200;
    }
    const sec = Math.floor(now / 1000);
    if (sec !== lastTick) {
      out += line(sent, now, now, 'tick', `t-${sec}`);
      lastTick = sec;
    }
    if (out) process.stdout.write(out);
    if (now - start >= seconds * 1000) {
      clearInterval(timer);
      process.stderr.write(`${JSON.stringify({ sent, seconds: (now - start) / 1000 })}\n`);
    }
  }, 5);
}

/**
 * With BENCH_LATENCY_TRACE, a line a second: `progress <ms since start> <events due> <on the topic>
 * <consumed by seismo>`, to tell a producer that fell behind from a consumer that did.
 */
function traceProgress(topic: string, url: string, genStart: number, rate: number): () => Promise<void> {
  const admin = kafka.admin();
  let stopped = false;
  const loop = (async () => {
    await admin.connect();
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 1000));
      const t = Date.now() - genStart;
      const onTopic = recordsIn(await admin.fetchTopicOffsets(topic));
      const { consumed } = await consumedTotal(url);
      appendFileSync(TRACE!, `progress ${t} ${Math.round((rate * t) / 1000)} ${onTopic} ${consumed}\n`);
    }
  })();
  return async () => {
    stopped = true;
    await loop.catch(() => undefined);
    await admin.disconnect();
  };
}

interface LatencyResult {
  rate: number;
  achievedRate: number;
  /** produce -> WebSocket after the warm-up, and during it. */
  ws: number[];
  wsWarmup: number[];
  alerts: number[];
  /** Checkpoints during the run: count, mean duration, last hot-path pause (seconds). */
  checkpoints: { count: number; meanS: number; lastPauseS: number };
  /** seismo's CPU seconds per second of the run (both threads and the rest of the process). */
  cores: number;
  /** The machine's busy CPU seconds per second of the run, of `os.availableParallelism()` cores. */
  machineCores: number;
  /** Events on the topic that seismo had not consumed when the generator stopped. */
  behind: number;
}

async function measureLatency(dir: string, rate: number): Promise<LatencyResult> {
  const topic = uniqueName('bench-lat');
  const alertsTopic = uniqueName('bench-lat-alerts');
  await createTopics([topic, alertsTopic]);
  const svc = await startSeismo(dir, topic, alertsTopic, 'latency');
  const ws: number[] = [];
  const wsWarmup: number[] = [];
  const alerts: number[] = [];
  let genStart = Infinity;
  // minBytes 1: the broker answers as soon as an alert is there; maxWait only bounds the empty
  // polls (at 10 ms they were 100 requests a second for the broker, on the cores seismo uses).
  const alertConsumer = kafka.consumer({ groupId: uniqueName('bench-alerts'), maxWaitTimeInMs: 500, minBytes: 1 });
  try {
    // The WebSocket client: first sighting of each probe row.
    const client = new WebSocket(`${svc.url.replace(/^http/, 'ws')}/ws`);
    const seen = new Set<string>();
    await new Promise<void>((res, rej) => {
      client.once('error', rej);
      client.on('message', (data: Buffer) => {
        const now = Date.now();
        const msg = JSON.parse(data.toString()) as { op: string; rows?: { series?: string; produced_ms?: number }[] };
        if (msg.op === 'snapshot') res();
        for (const r of msg.rows ?? []) {
          if (typeof r.series !== 'string' || typeof r.produced_ms !== 'number' || seen.has(r.series)) continue;
          seen.add(r.series);
          (r.produced_ms >= genStart + LATENCY_WARMUP_MS ? ws : wsWarmup).push(now - r.produced_ms);
          if (TRACE) appendFileSync(TRACE, `ws ${r.produced_ms - genStart} ${now - r.produced_ms}\n`);
        }
      });
      client.once('open', () => client.send(JSON.stringify({ op: 'subscribe', id: 'p', view: 'probe' })));
    });
    await alertConsumer.connect();
    await alertConsumer.subscribe({ topics: [alertsTopic], fromBeginning: true });
    await alertConsumer.run({
      eachMessage: async ({ message }) => {
        const now = Date.now();
        const a = JSON.parse(message.value!.toString()) as { status: string; labels: { alertname: string }; window: { end: string } | null };
        if (a.status !== 'firing' || a.labels.alertname !== 'tick' || !a.window) return;
        const end = Date.parse(a.window.end); // grace 0: the window closes at its end
        if (end >= genStart + LATENCY_WARMUP_MS) alerts.push(now - end);
        if (TRACE) appendFileSync(TRACE, `alert ${end - genStart} ${now - end}\n`);
      },
    });
    genStart = Date.now();
    if (TRACE) appendFileSync(TRACE, `start ${genStart}\n`);
    const cpu0 = cpuSeconds(svc.child.pid!);
    const machine0 = machineBusySeconds();
    const gen = spawn('sh', ['-c', `"${process.execPath}" "${SELF}" --generate ${Math.round(rate)} ${(LATENCY_WARMUP_MS / 1000 + LATENCY_SECONDS)} | kcat -P -b ${BROKERS.join(',')} -t ${topic} -K '\t' -X linger.ms=5`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let report = '';
    gen.stderr!.on('data', (d: Buffer) => (report += d.toString()));
    const stopTrace = TRACE ? traceProgress(topic, svc.url, genStart, rate) : undefined;
    await waitExit(gen);
    await stopTrace?.();
    // How busy seismo was and whether it kept up: CPU over the run, and what it had not consumed
    // when the generator stopped (lag that latency samples taken so far may not show yet).
    const seconds = (Date.now() - genStart) / 1000;
    const cores = (cpuSeconds(svc.child.pid!) - cpu0) / seconds;
    const machineCores = (machineBusySeconds() - machine0) / seconds;
    const behind = (await topicSize(topic)) - (await consumedTotal(svc.url)).consumed;
    await new Promise((r) => setTimeout(r, 2000));
    client.close();
    const text = await scrape(svc.url);
    const count = sample(text, 'seismo_checkpoint_duration_seconds_count');
    const checkpoints = {
      count,
      meanS: count ? sample(text, 'seismo_checkpoint_duration_seconds_sum') / count : 0,
      lastPauseS: sample(text, 'seismo_checkpoint_pause_seconds'),
    };
    const m = /\{"sent":(\d+),"seconds":([\d.]+)\}/.exec(report);
    const achievedRate = m ? Number(m[1]) / Number(m[2]) : NaN;
    return { rate, achievedRate, ws, wsWarmup, alerts, checkpoints, cores, machineCores, behind };
  } finally {
    await alertConsumer.disconnect().catch(() => undefined);
    await svc.stop();
    if (!process.env.BENCH_KEEP_TOPICS) await deleteTopics([topic, alertsTopic]).catch(() => undefined);
  }
}

// ---- main --------------------------------------------------------------------------------------

const round = (x: number | null) => (x === null || !Number.isFinite(x) ? null : Math.round(x));
const round2 = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);

/** Latency runs at `rate`, one after another (each its own service and topic). */
async function latencyRuns(dir: string, rate: number): Promise<LatencyResult[]> {
  const runs: LatencyResult[] = [];
  for (let r = 0; r < LATENCY_RUNS; r++) runs.push(await measureLatency(dir, rate));
  return runs;
}

/** The JSON fields of the latency part: each figure the median of the runs' own, and the runs. */
function latencyFields(runs: readonly LatencyResult[]): Record<string, unknown> {
  const per = (f: (r: LatencyResult) => number | null) => runs.map(f);
  const med = (f: (r: LatencyResult) => number | null) => {
    const xs = per(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return xs.length ? median(xs) : null;
  };
  const ws50 = (r: LatencyResult) => quantile(r.ws, 0.5);
  const ws99 = (r: LatencyResult) => quantile(r.ws, 0.99);
  const al50 = (r: LatencyResult) => quantile(r.alerts, 0.5);
  const al99 = (r: LatencyResult) => quantile(r.alerts, 0.99);
  return {
    latency_runs: runs.length,
    latency_target_events_per_s: round(runs[0]!.rate),
    latency_achieved_events_per_s: round(med((r) => r.achievedRate)),
    ws_latency_p50_ms: round(med(ws50)),
    ws_latency_p99_ms: round(med(ws99)),
    ws_latency_p99_runs: per(ws99).map(round),
    ws_latency_samples: runs.reduce((n, r) => n + r.ws.length, 0),
    latency_warmup_s: LATENCY_WARMUP_MS / 1000,
    ws_latency_warmup_p99_runs: per((r) => quantile(r.wsWarmup, 0.99)).map(round),
    ws_latency_warmup_max_runs: per((r) => (r.wsWarmup.length ? Math.max(...r.wsWarmup) : null)).map(round),
    alert_latency_p50_ms: round(med(al50)),
    alert_latency_p99_ms: round(med(al99)),
    alert_latency_p99_runs: per(al99).map(round),
    alert_latency_samples: runs.reduce((n, r) => n + r.alerts.length, 0),
    latency_run_seismo_cores: round2(med((r) => r.cores) ?? NaN),
    // The broker, the generator and the harness share the cores: at half of seismo's maximum
    // the machine itself is 75–90% busy, so any burst of work (a checkpoint) queues events.
    latency_run_machine_cores: per((r) => round2(r.machineCores)),
    machine_cores: availableParallelism(),
    latency_run_behind_events: per((r) => r.behind),
    latency_run_checkpoints: per((r) => r.checkpoints.count),
    latency_run_checkpoint_mean_ms: round(med((r) => r.checkpoints.meanS * 1000)),
    latency_run_last_checkpoint_pause_ms: round(med((r) => r.checkpoints.lastPauseS * 1000)),
  };
}

/** BENCH_LATENCY_RATE: the latency part alone, at a given rate. */
async function latencyOnly(rate: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'seismo-e2e-'));
  try {
    const runs = await latencyRuns(dir, rate);
    console.log(JSON.stringify({ bench: 'e2e-latency', flush_interval: process.env.BENCH_FLUSH_INTERVAL ?? '100ms', ...latencyFields(runs) }));
  } finally {
    await deleteTopics(outputTopics).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_LATENCY_RATE) return latencyOnly(Number(process.env.BENCH_LATENCY_RATE));
  const dir = mkdtempSync(join(tmpdir(), 'seismo-e2e-'));
  const reuse = process.env.BENCH_TOPIC;
  const topic = reuse ?? uniqueName('bench-e2e');
  const only = process.env.BENCH_ONLY === 'seismo';
  try {
    let produceRate = NaN;
    if (reuse) {
      const size = await topicSize(topic);
      if (size !== EVENTS) throw new Error(`BENCH_TOPIC ${topic} holds ${size} records; set BENCH_EVENTS=${size}`);
    } else {
      await createTopics([topic]).catch((err: unknown) => {
        throw new Error(`cannot reach Kafka at ${BROKERS.join(',')} (start it with: node bin/seismo.js kafka start): ${String(err)}`);
      });
      produceRate = await produceTopic(topic);
    }
    const kcatRuns: Rate[] = [];
    const bareRuns: Rate[] = [];
    const seismoRuns: Rate[] = [];
    const singleRuns: Rate[] = [];
    for (let r = 0; r < RUNS; r++) {
      if (!only) kcatRuns.push(await kcatRead(topic));
      if (!only) bareRuns.push(await kafkajsRead(topic));
      seismoRuns.push(await seismoRead(dir, topic, r));
      if (!only) singleRuns.push(await seismoRead(dir, topic, r, true));
    }
    // Each run measures the consumers back to back; on a shared machine the rate moves between
    // runs, so the ratio is the median of the runs' own ratios rather than a ratio of medians.
    const ratioOf = (a: Rate[], b: Rate[]) => (only ? null : +median(a.map((x, i) => x.wall / b[i]!.wall)).toFixed(3));
    const wall = (rs: Rate[]) => median(rs.map((r) => r.wall));
    const cpu = (rs: Rate[]) => median(rs.map((r) => r.cpu));
    const seismo = wall(seismoRuns);
    const bare = only ? NaN : wall(bareRuns);
    const kc = only ? NaN : wall(kcatRuns);
    const lat = LATENCY_SECONDS > 0 ? latencyFields(await latencyRuns(dir, seismo / 2)) : {};
    console.log(
      JSON.stringify({
        bench: 'e2e',
        events: EVENTS,
        series: SERIES,
        partitions: PARTITIONS,
        runs: RUNS,
        seismo_events_per_s: round(seismo),
        kafkajs_bare_events_per_s: round(bare),
        kcat_events_per_s: round(kc),
        ratio_seismo_kcat: ratioOf(seismoRuns, kcatRuns),
        ratio_seismo_kafkajs: ratioOf(seismoRuns, bareRuns),
        ratio_seismo_kafkajs_per_run: only ? null : seismoRuns.map((x, i) => Number((x.wall / bareRuns[i]!.wall).toFixed(3))),
        seismo_single_thread_events_per_s: only ? null : round(wall(singleRuns)),
        ratio_single_thread_kafkajs: ratioOf(singleRuns, bareRuns),
        seismo_single_thread_runs: singleRuns.map((r) => round(r.wall)),
        seismo_runs: seismoRuns.map((r) => round(r.wall)),
        kafkajs_bare_runs: bareRuns.map((r) => round(r.wall)),
        kcat_runs: kcatRuns.map((r) => round(r.wall)),
        seismo_events_per_cpu_s: round(cpu(seismoRuns)),
        kafkajs_bare_events_per_cpu_s: only ? null : round(cpu(bareRuns)),
        kcat_events_per_cpu_s: only ? null : round(cpu(kcatRuns)),
        seismo_cpu_runs: seismoRuns.map((r) => round(r.cpu)),
        produce_events_per_s: round(produceRate),
        ...lat,
      }),
    );
  } finally {
    if (process.env.BENCH_KEEP_TOPICS && !reuse) console.error(`bench:e2e: kept topic ${topic}`);
    const mine = process.env.BENCH_KEEP_TOPICS || reuse ? [] : [topic];
    await deleteTopics([...mine, ...outputTopics]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--generate') {
  generate(Number(process.argv[3]), Number(process.argv[4]));
} else {
  main().catch((err: unknown) => {
    console.error(`bench:e2e: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
