/**
 * Exactly-once state across crashes (SPEC section 6): the real `seismo run` (bin/seismo.js, so
 * `npm run build` first) consumes 200,000 records from 4 partitions and is killed with SIGKILL
 * several times, restarted each time on the same DuckDB file and consumer group, then stopped
 * with SIGTERM once everything is consumed. Every stored `view_<name>` table must then hold
 * exactly, row for row, the closed windows the same engine computes over the same events in one
 * uninterrupted pass.
 *
 * Kill points: run 1 at a random number of consumed events; run 2 right after a checkpoint
 * starts writing to DuckDB; run 3 right after a checkpoint's cut (while its state is serialised
 * between batches, or already being written). The service logs those steps at debug level
 * (`checkpoint N: cut at ...`, `... serialised ...; writing`, `... stored ...`), synchronously to
 * stderr, and the test sends SIGKILL the moment it reads the line. A kill counts as "during a checkpoint" only if that checkpoint's `stored` line
 * never appeared, which the test checks after the process is gone (and retries otherwise).
 *
 * Why the comparison is exact: each host's events stay in one partition (keyed), event times rise
 * per partition with less disorder (2 s) than the windows' grace (3 s; for sessions 5 s, more
 * than gap + disorder). The live watermark is per partition the largest event time, for the
 * stream their minimum; an event is at most 2 s older than its partition's maximum, so no event
 * is ever late, and no event can join a session after its final row, whatever order the
 * partitions are interleaved in. So every window holds the same events, each
 * host's events come in partition order (same sums), and the windows closed at the end are those
 * whose end + grace the final watermark reached, which is the same minimum of partition maxima in
 * both runs. The reference feeds the engine (replay mode, no coalescing) the partitions
 * round-robin with that same watermark, dedupes by event id, and keeps rows with flags.closed —
 * what the service stores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { loadProgram } from '../../src/program.js';
import { Engine } from '../../src/engine/engine.js';
import type { EngineSink, RowFlags } from '../../src/engine/sink.js';
import type { QueryPlan } from '../../src/lang/compile.js';
import { makeDecoder } from '../../src/ingest/decode.js';
import { openStore } from '../../src/sinks/store.js';
import { viewColumnSpecs } from '../../src/view-schema.js';
import type { Row, WindowBounds } from '../../src/types.js';
import { brokers, createTopic, kafkaClient, uniqueTopic } from '../helpers/kafka.js';

const PARTITIONS = 4;
const RECORDS = 200_000;
const HOSTS_PER_PARTITION = 10;
const DISORDER_MS = 2_000;
const T0 = Date.UTC(2026, 10, 24);
const BIN = join(import.meta.dirname, '../../bin/seismo.js');

const dir = mkdtempSync(join(tmpdir(), 'seismo-crash-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const queries = (topic: string) => `
CREATE STREAM ev (event_id VARCHAR, event_time TIMESTAMP, host VARCHAR, value DOUBLE)
  WITH (kafka_topic = '${topic}', timestamp = 'event_time', event_id = 'event_id');
CREATE VIEW per10s AS
  SELECT host, COUNT(*) AS n, SUM(value) AS total, MIN(value) AS lo, MAX(value) AS hi
  FROM ev WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 3 SECONDS) GROUP BY host EMIT CHANGES;
CREATE VIEW hop AS
  SELECT host, COUNT(*) AS n, AVG(value) AS mean, PERCENTILE(value, 0.9) AS p90
  FROM ev WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS, GRACE PERIOD 3 SECONDS) GROUP BY host EMIT CHANGES;
CREATE VIEW sess AS
  SELECT host, COUNT(*) AS n, SUM(value) AS total
  FROM ev WINDOW SESSION (2 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY host EMIT FINAL;
CREATE VIEW zs AS SELECT host, n, ZSCORE(total) AS z, WINDOWSTART AS ws FROM per10s;
`;
const VIEWS = ['per10s', 'hop', 'sess', 'zs'];

interface Rec {
  partition: number;
  key: string;
  value: string;
}

/** mulberry32: the same records on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Records per partition: 10 hosts each, 20 ms of event time per record, up to 2 s of disorder,
 * each host quiet for 8 s out of every 32 (so sessions close), and about 1% re-published
 * (a producer retry: the same record again right after, same event id).
 */
function records(): Rec[][] {
  const rnd = prng(7);
  const out: Rec[][] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const list: Rec[] = [];
    for (let i = 0; list.length < RECORDS / PARTITIONS; i++) {
      const base = T0 + i * 20;
      let h = Math.floor(rnd() * HOSTS_PER_PARTITION);
      while (Math.floor(base / 8_000 + h) % 4 === 0) h = (h + 1) % HOSTS_PER_PARTITION;
      const host = `p${p}-h${h}`;
      const event = { event_id: `${p}-${i}`, event_time: base - Math.floor(rnd() * DISORDER_MS), host, value: Math.floor(rnd() * 10_000) / 10 };
      const rec = { partition: p, key: host, value: JSON.stringify(event) };
      list.push(rec);
      if (rnd() < 0.01 && list.length < RECORDS / PARTITIONS) list.push(rec);
    }
    out.push(list);
  }
  return out;
}

/** Closed rows as the service stores them, from one uninterrupted engine pass. */
function reference(recs: Rec[][], dedupe: boolean): Map<string, Row[]> {
  const loaded = loadProgram([join(dir, 'q.sql')]);
  if (!loaded.ok) throw new Error(loaded.errors);
  const rows = new Map<string, Row[]>(VIEWS.map((v) => [v, []]));
  let late = 0;
  const sink: EngineSink = {
    row(plan: QueryPlan, window: WindowBounds | null, row: Row, _key: string, flags: RowFlags) {
      if (flags.closed) rows.get(plan.name)?.push({ window_start: window?.start ?? null, window_end: window?.end ?? null, ...row });
    },
    retract() {},
    alert() {},
    late() {
      late++;
    },
    rejected() {},
    ruleError(_p, err) {
      throw err;
    },
  };
  const engine = new Engine(loaded.program, sink, { coalesce: false });
  const decode = makeDecoder(loaded.program.streams[0]!);
  const seen = new Set<string>();
  const maxTs = Array.from({ length: PARTITIONS }, () => -Infinity);
  const CHUNK = 500;
  for (let at = 0; at < RECORDS / PARTITIONS; at += CHUNK) {
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of recs[p]!.slice(at, at + CHUNK)) {
        const d = decode(Buffer.from(r.value), Buffer.from(r.key), 0);
        if (!d.ok) throw new Error(`reference cannot decode ${r.value}`);
        if (dedupe && d.eventId !== null) {
          if (seen.has(d.eventId)) continue;
          seen.add(d.eventId);
        }
        engine.process('ev', d.row, d.ts);
        maxTs[p] = Math.max(maxTs[p]!, d.ts);
      }
      engine.advance('ev', Math.min(...maxTs));
    }
  }
  if (late > 0) throw new Error(`the reference saw ${late} late events: the comparison would not be exact`);
  return rows;
}

/** Rows as sortable canonical text (keys in order), for a multiset comparison. */
function canonical(rows: Row[]): string[] {
  return rows
    .map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)))))
    .sort();
}

/** Multiset difference: what `want` has that `got` lacks, and the reverse. */
function diff(got: string[], want: string[]): { missing: string[]; extra: string[] } {
  const count = new Map<string, number>();
  for (const r of want) count.set(r, (count.get(r) ?? 0) + 1);
  const extra: string[] = [];
  for (const r of got) {
    const n = count.get(r) ?? 0;
    if (n === 0) extra.push(r);
    else count.set(r, n - 1);
  }
  const missing = [...count].flatMap(([r, n]) => Array<string>(n).fill(r));
  return { missing, extra };
}

/** One `seismo run` child: its stderr lines (pino JSON messages or plain text) as they come. */
class Run {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  url: string | null = null;
  private readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(this.child);
    let rest = '';
    this.child.stderr!.setEncoding('utf8').on('data', (data: string) => {
      const parts = (rest + data).split('\n');
      rest = parts.pop() ?? '';
      for (const raw of parts) this.line(raw);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        children.delete(this.child);
        resolve({ code, signal });
      }),
    );
  }

  private line(raw: string): void {
    let msg = raw;
    if (raw.startsWith('{')) {
      try {
        msg = String((JSON.parse(raw) as { msg?: unknown }).msg ?? raw);
      } catch {
        // not pino's: keep the raw text
      }
    }
    this.lines.push(msg);
    const url = /dashboard at (http:\/\/[\d.]+:\d+)/.exec(msg)?.[1];
    if (url && !this.url) this.url = url;
    for (const w of [...this.waiters]) {
      if (w.test(msg)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  }

  /** The first line (from now on) matching `re`; rejects if the process exits first. */
  next(re: RegExp): Promise<string> {
    return Promise.race([
      new Promise<string>((resolve) => this.waiters.push({ test: (l) => re.test(l), resolve })),
      this.exited.then(() => {
        throw new Error(`seismo exited before logging ${re}:\n${this.lines.slice(-20).join('\n')}`);
      }),
    ]);
  }

  /** seismo_events_consumed_total of this process (0 before its HTTP server answers). */
  async consumed(): Promise<number> {
    if (!this.url) return 0;
    const text = await fetch(`${this.url}/metrics`).then((r) => r.text(), () => '');
    return Number(/^seismo_events_consumed_total\{stream="ev"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('crash recovery', () => {
  it('stores exactly the rows of an uninterrupted run after repeated kill -9', { timeout: 300_000 }, async () => {
    if (!existsSync(join(import.meta.dirname, '../../dist/src/cli.js'))) throw new Error('run `npm run build` first: this test spawns bin/seismo.js');
    const topic = uniqueTopic('crash-in');
    const group = `seismo-crash-${randomBytes(6).toString('hex')}`;
    await createTopic(topic, PARTITIONS);
    writeFileSync(join(dir, 'q.sql'), queries(topic));
    const db = join(dir, 'live.duckdb');
    const recs = records();

    // Produce in the background, paced so that the first runs are killed mid-stream.
    const producer = kafkaClient('seismo-crash-producer').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const produced = (async () => {
      for (let at = 0; at < RECORDS / PARTITIONS; at += 2_500) {
        const messages = recs.flatMap((list) => list.slice(at, at + 2_500));
        await producer.send({ topic, acks: -1, messages });
      }
      await producer.disconnect();
    })();

    const args = [
      '--brokers', brokers().join(','), '--queries', join(dir, 'q.sql'), '--db', db, '--group', group, '--port', '0',
      '--checkpoint-interval', '1s', '--idle-timeout', '1h', '--log-level', 'debug',
      '--alerts-topic', uniqueTopic('crash-alerts'), '--dlq-topic', uniqueTopic('crash-dlq'),
    ];
    const kills: { run: number; how: string; during: boolean; checkpoint: string | null }[] = [];

    // Run 1: SIGKILL at a random point of consumption.
    const threshold = 20_000 + Math.floor(Math.random() * 40_000);
    const first = new Run(args);
    await until('run 1 to consume', async () => ((await first.consumed()) >= threshold ? true : undefined), 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    kills.push({ run: 1, how: `random, after ${threshold} events`, during: false, checkpoint: null });

    // Then: SIGKILL as a checkpoint writes to DuckDB, and right after a checkpoint's cut, until
    // each has landed inside its checkpoint at least once (at most 5 runs).
    for (const phase of ['writing', 'cut']) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const run = new Run(args);
        const minimum = 2_000 + Math.floor(Math.random() * 8_000);
        await until(`run ${kills.length + 1} to consume`, async () => ((await run.consumed()) >= minimum ? true : undefined), 120_000);
        const line = await run.next(new RegExp(`^checkpoint \\d+: ${phase === 'cut' ? 'cut at' : 'serialised'}`));
        run.child.kill('SIGKILL');
        await run.exited;
        const n = /^checkpoint (\d+)/.exec(line)![1]!;
        const during = !run.lines.some((l) => l.startsWith(`checkpoint ${n}: stored`));
        kills.push({ run: kills.length + 1, how: `at "checkpoint ${n}: ${phase}"`, during, checkpoint: n });
        if (during) break;
      }
    }

    // The last run consumes everything; it stops gracefully once the group's committed offsets
    // (committed only after a checkpoint holds them) reach the end of every partition.
    await produced;
    const admin = kafkaClient('seismo-crash-admin').admin();
    await admin.connect();
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
    expect([...ends.values()].reduce((a, b) => a + Number(b), 0)).toBe(RECORDS);
    const last = new Run(args);
    // The offsets may all be committed already (by the run killed last, when it had consumed
    // everything): the stop signal must still reach a started service, not a booting process.
    await last.next(/^seismo: dashboard at/);
    await until(
      'the last run to commit every offset',
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return committed!.partitions.every((p) => p.offset === ends.get(p.partition)) ? true : undefined;
      },
      150_000,
    );
    await admin.disconnect();
    last.child.kill('SIGTERM');
    expect(await last.exited).toEqual({ code: 0, signal: null });

    console.info(`crash test: ${kills.map((k) => `run ${k.run} killed ${k.how}${k.during ? ' (inside the checkpoint)' : ''}`).join('; ')}`);

    // What the service stored, read after it stopped.
    const loaded = loadProgram([join(dir, 'q.sql')]);
    if (!loaded.ok) throw new Error(loaded.errors);
    const store = await openStore(db, { log: () => {} });
    const live = new Map<string, Row[]>();
    let checkpointOffsets: { partition: number; offset: string }[] = [];
    try {
      for (const q of loaded.program.queries) {
        await store.ensureViewTable(q.name, viewColumnSpecs(q));
        live.set(q.name, await store.readViewRows(q.name));
      }
      checkpointOffsets = (await store.readLatestCheckpoint())!.offsets.map((o) => ({ partition: o.partition, offset: o.offset }));
    } finally {
      await store.close();
    }

    const want = reference(recs, true);
    const report = VIEWS.map((v) => {
      const got = canonical(live.get(v) ?? []);
      const exp = canonical(want.get(v) ?? []);
      const { missing, extra } = diff(got, exp);
      return { view: v, stored: got.length, expected: exp.length, missing: missing.slice(0, 3), extra: extra.slice(0, 3), missingCount: missing.length, extraCount: extra.length };
    });
    // Not vacuous: at least three kills, one inside a checkpoint's DuckDB write and one inside its
    // serialisation; every view has rows; the last checkpoint covers every record.
    expect(kills.length, JSON.stringify(kills)).toBeGreaterThanOrEqual(3);
    expect(kills.filter((k) => k.during).map((k) => k.how.includes('cut') ? 'cut' : 'writing').sort(), JSON.stringify(kills)).toEqual(['cut', 'writing']);
    expect(checkpointOffsets.sort((a, b) => a.partition - b.partition)).toEqual([...ends].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset })));
    for (const r of report) expect(r.expected, r.view).toBeGreaterThan(300);
    expect(report).toEqual(report.map((r) => ({ ...r, stored: r.expected, missing: [], extra: [], missingCount: 0, extraCount: 0 })));

    // The comparison catches double counting: counting the re-published records twice (what a
    // replay of already-checkpointed records would do) gives different rows.
    const doubled = reference(recs, false);
    const changed = VIEWS.filter((v) => diff(canonical(live.get(v) ?? []), canonical(doubled.get(v) ?? [])).extra.length > 0);
    expect(changed).toEqual(VIEWS);
  });
});
