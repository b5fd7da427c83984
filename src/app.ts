/**
 * The composition root of `seismo run`: builds every component, owns the start and stop order,
 * the hot loop over Kafka batches, checkpoints and reloads. The core (lang, window, detect,
 * alerts, engine) stays pure; all I/O is wired here.
 */
import pino from 'pino';
import type { RunConfig } from './config.js';
import { SeismoError, describeError } from './errors.js';
import { loadProgram } from './program.js';
import type { ProgramPlan, QueryPlan } from './lang/compile.js';
import { Engine } from './engine/engine.js';
import { AggregateOp } from './engine/aggregate-op.js';
import { LiveSink, type EventOrigin } from './live-sink.js';
import { makeDecoder, type DecodeResult, type Decoder } from './ingest/decode.js';
import { ChunkOrigin, ChunkReader, chunkMessages, type DecodedChunk } from './ingest/chunk-codec.js';
import { createWorkerSource } from './ingest/worker-source.js';
import { Deduper, type DeduperState } from './ingest/dedupe.js';
import { WatermarkTracker, type WatermarkState } from './ingest/watermark.js';
import { deadLetterMessage } from './ingest/dead-letter.js';
import { checkBrokers, createKafkaSource, topicPartitions, type KafkaSource, type SourceBatch, type TopicPartitionOffset } from './ingest/kafka-source.js';
import { createKafkaProducer } from './ingest/kafka-producer.js';
import { openStore, type RetainedEvent, type Store } from './sinks/store.js';
import { createQueryEngine } from './api/query.js';
import { WsHub } from './api/ws-hub.js';
import { startHttpServer } from './api/http.js';
import { createAlertmanagerSink } from './sinks/alertmanager.js';
import { metrics, registry } from './metrics.js';
import { viewColumnSpecs } from './view-schema.js';
import type { StreamPlan } from './plan.js';
import type { Row } from './types.js';
import type { AlertPayload } from './alerts/payload.js';
import { checkpointPieces, giveWay, runInSlices, type CheckpointMeta } from './checkpoint-slices.js';
import { asAlertLike } from './live-sink.js';

export type Logger = pino.Logger;

/** A running service. */
export interface Service {
  readonly url: string;
  /** Stops consuming, flushes, writes a last checkpoint, commits and closes everything. */
  stop(): Promise<void>;
  /** Reloads the query files (all or nothing). */
  reload(): Promise<boolean>;
  /**
   * Resolves with a reason when the service cannot go on correctly (another process of the same
   * group took some partitions: aggregates would be partial). The caller should stop it.
   */
  readonly fatal: Promise<SeismoError>;
}

interface StreamRuntime {
  plan: StreamPlan;
  decode: Decoder;
  dedupe: Deduper;
  watermark: WatermarkTracker;
}

/** Target duration of one slice of checkpoint serialisation, ms (the hot path waits this long at most). */
const SLICE_MS = 10;
/** While fetched records wait, a checkpoint slice waits up to this long (ms) for them to be processed. */
const SLICE_WAIT_MS = 50;
/** Due windows close in slices of about this long (ms) between batches (EngineOptions.sliceCloses). */
const CLOSE_SLICE_MS = 5;
/** Groups closed between two looks at the clock. */
const CLOSE_SLICE_GROUPS = 256;

interface MetaState {
  positions: TopicPartitionOffset[];
  dedupe: [string, DeduperState][];
  watermarks: [string, WatermarkState][];
}

/**
 * Starts the service; throws SeismoError with a one-line reason on bad configuration. What was
 * opened before a failure (DuckDB, producer, consumer, listener) is closed again, so a refused
 * start leaves nothing running.
 */
export async function startService(cfg: RunConfig, log: Logger): Promise<Service> {
  const opened: (() => Promise<unknown>)[] = [];
  try {
    return await buildService(cfg, log, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function buildService(cfg: RunConfig, log: Logger, opened: (() => Promise<unknown>)[]): Promise<Service> {
  const loaded = loadProgram(cfg.queries);
  if (!loaded.ok) throw new SeismoError('QUERY_FILE', `${loaded.count} error(s) in the query files:\n${loaded.errors}`);
  let program = loaded.program;
  for (const q of program.queries) if (q.kind === 'alert') metrics.ruleHealth.set({ rule: q.name }, 1);
  const conn = { brokers: cfg.brokers, ssl: cfg.ssl, sasl: cfg.sasl, clientId: 'seismo' };
  await checkBrokers(conn, 10_000);
  log.info(`loaded ${loaded.summary}`);

  const store = await openStore(cfg.db, { log: (l) => log.warn(l) });
  opened.push(() => store.close());
  await ensureViewTables(store, program);
  const producer = await createKafkaProducer({ ...conn, ensureTopics: outputTopics(cfg, program) });
  opened.push(() => producer.disconnect());
  const amSink = cfg.alertmanagerUrl
    ? createAlertmanagerSink({ url: cfg.alertmanagerUrl, onError: (err) => log.warn(`alertmanager: ${describeError(err)}`) })
    : null;

  let ready = false;
  const hub: WsHub = new WsHub({
    flushIntervalMs: cfg.flushIntervalMs,
    snapshot: (view): Row[] | undefined => engine.currentRows(view),
    activeAlerts: () => engine.alerts.active().map(asAlertLike),
    // The engine coalesces EMIT CHANGES rows per group and window; each hub flush takes them.
    collect: () => engine.flush(),
  });
  const sink: LiveSink = new LiveSink({
    hub,
    alertsTopic: cfg.alertsTopic,
    deadLetterTopic: cfg.deadLetterTopic,
    now: Date.now,
    log: (line) => log.warn(line),
    onAlert: (a) => {
      if (amSink) amSink.send([a]).catch((err: unknown) => log.warn(`alertmanager: ${describeError(err)}`));
    },
  });
  // Asked per event and view: a set lookup, not a search of the program.
  const topicViews = (p: ProgramPlan) => new Set(p.queries.filter((q) => typeof q.options.kafka_topic === 'string').map((q) => q.name));
  let withTopic = topicViews(program);
  const wantsChanges = (view: string) => withTopic.has(view) || hub.hasSubscribers(view);
  // A watched view's first change since the last flush goes out as soon as the interval allows.
  const onPending = () => hub.changesPending();
  let engine = new Engine(program, sink, { coalesce: true, wantsChanges, onPending, sliceCloses: true });
  let streams = buildStreams(program, cfg);
  const positions = new Map<string, TopicPartitionOffset>();

  // Restore the newest checkpoint: engine state, dedupe, watermarks and the offsets they cover.
  const cp = await store.readLatestCheckpoint();
  if (cp) {
    const chunks = cp.state.split('\n');
    const meta = JSON.parse(chunks[0] ?? '{}') as MetaState;
    const { restored, dropped } = engine.restore(chunks.slice(1));
    for (const [name, st] of meta.dedupe ?? []) {
      const s = streams.get(name);
      if (s) s.dedupe = Deduper.fromJSON(st);
    }
    for (const [name, st] of meta.watermarks ?? []) {
      const s = streams.get(name);
      if (s) s.watermark = WatermarkTracker.fromJSON(st, Date.now(), { idleMs: cfg.idleMs });
    }
    for (const p of cp.offsets) positions.set(`${p.topic}:${p.partition}`, { topic: p.topic, partition: p.partition, offset: p.offset });
    log.info(`restored checkpoint ${cp.id}: ${restored.length} queries${dropped.length ? `, dropped changed: ${dropped.join(', ')}` : ''}`);
  }

  const byTopic = () => {
    const m = new Map<string, StreamRuntime[]>();
    for (const s of streams.values()) m.set(s.plan.topic, [...(m.get(s.plan.topic) ?? []), s]);
    return m;
  };
  let topics = byTopic();
  const inflight = new Set<Promise<void>>();
  /** Raw events of streams with `retain`, written by the next checkpoint (exactly once). */
  let retained = new Map<string, RetainedEvent[]>();

  /** Produces what the sink queued (alerts, dead letters, view rows); tracked for checkpoints. */
  const sendOutbox = () => {
    for (const [topic, messages] of sink.drainOutbox()) {
      const p = producer
        .send(topic, messages)
        .catch((err: unknown) => log.error(`cannot produce to ${topic}: ${describeError(err)}`))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  };

  /** Wall time the oldest event not yet pushed out was consumed (seismo_event_latency_seconds). */
  let unflushedSince: number | null = null;

  /**
   * One record of one stream, decoded or refused: dead letter, dedupe, engine, retention,
   * watermark. Event by event, as in replay: a later event of the same batch may be late.
   */
  const accept = (s: StreamRuntime, r: DecodeResult, origin: EventOrigin, now: number): boolean => {
    // One event stamped far in the future would move the watermark past every open window
    // and make all later events late: refuse it like any other bad record.
    if (r.ok && r.ts > now + cfg.maxFutureMs) {
      const when = Math.abs(r.ts) <= 8.64e15 ? new Date(r.ts).toISOString() : String(r.ts);
      r = { ok: false, reason: 'future_timestamp', detail: `event time ${when} is more than --max-future ahead of now` };
    }
    if (!r.ok) {
      metrics.eventsInvalid.inc({ stream: s.plan.name, reason: r.reason });
      sink.send(cfg.deadLetterTopic, deadLetterMessage(origin, origin, r.reason, r.detail));
      return false;
    }
    if (r.eventId !== null && s.dedupe.isDuplicate(r.eventId, r.ts)) {
      metrics.eventsDeduplicated.inc({ stream: s.plan.name });
      return false;
    }
    engine.process(s.plan.name, r.row, r.ts, origin);
    if (s.plan.retainMs !== null) {
      let list = retained.get(s.plan.name);
      if (!list) retained.set(s.plan.name, (list = []));
      list.push({ eventTime: r.ts, event: r.row });
    }
    s.watermark.observe(origin.partition, r.ts, now);
    engine.advance(s.plan.name, s.watermark.current());
    return true;
  };

  /**
   * Windows the watermark passed close in slices of a few milliseconds, a loop turn apart, so the
   * batches arriving meanwhile are not held up by a boundary where thousands of windows close.
   */
  let closesScheduled = false;
  const closeDueWindows = () => {
    if (closesScheduled || !engine.closesDue()) return;
    closesScheduled = true;
    setImmediate(() => {
      closesScheduled = false;
      const started = performance.now();
      while (engine.closeSlice(CLOSE_SLICE_GROUPS) && performance.now() - started < CLOSE_SLICE_MS);
      sendOutbox();
      closeDueWindows();
    });
  };

  /** After a batch: counters, the partition's position and lag, and what the sink queued. */
  const finishBatch = (topic: string, partition: number, runtimes: readonly StreamRuntime[], consumed: number[], next: string | null, highWatermark: string) => {
    // Counted per batch, not per event: a labelled prom-client inc() hashes its labels each call.
    for (let i = 0; i < runtimes.length; i++) if (consumed[i]! > 0) metrics.eventsConsumed.inc({ stream: runtimes[i]!.plan.name }, consumed[i]!);
    if (next !== null) {
      positions.set(`${topic}:${partition}`, { topic, partition, offset: next });
      metrics.consumerLag.set({ topic, partition: String(partition) }, Number(BigInt(highWatermark) - BigInt(next)));
    }
    sendOutbox();
    closeDueWindows();
  };

  /** Records as Kafka gives them, decoded here (the in-thread source, and chunks decoded with older plans). */
  const processRecords = (batch: SourceBatch) => {
    const runtimes = topics.get(batch.topic) ?? [];
    const now = Date.now();
    unflushedSince ??= now;
    const consumed = new Array<number>(runtimes.length).fill(0);
    // One origin per batch, updated per event: the engine reads it only synchronously (a late
    // event's dead letter is built inside process()), so no per-event object is needed.
    const origin: EventOrigin = { topic: batch.topic, partition: batch.partition, offset: '', key: null, value: null };
    for (const m of batch.messages) {
      origin.offset = m.offset;
      origin.key = m.key;
      origin.value = m.value;
      for (let i = 0; i < runtimes.length; i++) {
        const s = runtimes[i]!;
        if (accept(s, s.decode(m.value, m.key, m.timestamp), origin, now)) consumed[i]!++;
      }
    }
    const last = batch.messages[batch.messages.length - 1];
    finishBatch(batch.topic, batch.partition, runtimes, consumed, last ? (BigInt(last.offset) + 1n).toString() : null, batch.highWatermark);
  };

  /** Records the ingest worker decoded (worker-source.ts). */
  const chunkReader = new ChunkReader(program.streams);
  let streamsVersion = 0;
  const processChunk = (chunk: DecodedChunk) => {
    chunkReader.accept(chunk);
    if (chunk.version !== streamsVersion) return processRecords(chunkMessages(chunk));
    const runtimes: StreamRuntime[] = [];
    const cursors: ((i: number) => DecodeResult)[] = [];
    for (const columns of chunk.streams) {
      const s = streams.get(columns.stream);
      if (s === undefined) continue;
      runtimes.push(s);
      cursors.push(chunkReader.cursor(columns));
    }
    const now = Date.now();
    unflushedSince ??= now;
    const consumed = new Array<number>(runtimes.length).fill(0);
    const origin = new ChunkOrigin(chunk);
    for (let i = 0; i < chunk.count; i++) {
      origin.i = i;
      for (let k = 0; k < runtimes.length; k++) if (accept(runtimes[k]!, cursors[k]!(i), origin, now)) consumed[k]!++;
    }
    const last = chunk.offsets[chunk.count - 1];
    finishBatch(chunk.topic, chunk.partition, runtimes, consumed, last === undefined ? null : String(last + 1), chunk.highWatermark);
  };

  const sourceOptions = {
    ...conn,
    groupId: cfg.group,
    topics: [...topics.keys()],
    fromBeginning: cfg.from === 'earliest',
    logger: { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m), error: (m: string) => log.error(m), debug: (m: string) => log.debug(m) },
    onAssign: async (assigned: readonly { topic: string; partitions: readonly number[] }[]) => {
      const seek = new Map<`${string}:${number}`, string>();
      for (const a of assigned) {
        for (const p of a.partitions) {
          const pos = positions.get(`${a.topic}:${p}`);
          if (pos) seek.set(`${a.topic}:${p}`, pos.offset);
        }
        for (const s of topics.get(a.topic) ?? []) s.watermark.assign(a.partitions, Date.now());
      }
      return seek;
    },
  };
  const workerSource = cfg.ingestWorker ? createWorkerSource({ ...sourceOptions, streams: program.streams, onChunk: processChunk }) : null;
  const source: KafkaSource = workerSource ?? createKafkaSource({ ...sourceOptions, onBatch: async (batch) => processRecords(batch) });

  /**
   * A failed checkpoint's view rows, alerts and retained events go back in front of what came
   * since: the next checkpoint's state has those windows closed, so it must write their rows.
   */
  const requeue = (viewRows: Map<string, Row[]>, alerts: AlertPayload[], events: Map<string, RetainedEvent[]>) => {
    for (const [view, rows] of viewRows) sink.viewRows.set(view, [...rows, ...(sink.viewRows.get(view) ?? [])]);
    sink.alerts = [...alerts, ...sink.alerts];
    for (const [stream, list] of events) retained.set(stream, [...list, ...(retained.get(stream) ?? [])]);
  };

  /** Checkpoint work (serialising, then hashing and storing the text) gives way to fetched records. */
  const ingestFirst = { busy: () => source.busy(), maxWaitMs: SLICE_WAIT_MS };
  let checkpointCount = 0;
  let checkpointing: Promise<void> | null = null;
  /**
   * Writes a checkpoint (docs/storage.md, "Checkpoints and recovery"). The cut is taken
   * synchronously between two batches: Kafka positions, dedupe and watermark state, the engine's
   * snapshot start, closed rows and alerts, all as of the last processed batch. The engine's
   * groups are then serialised in slices of a few milliseconds while batches keep flowing (its
   * operators serialise a group before changing it, so the text is still the state at the cut),
   * and everything is committed to DuckDB in one transaction, then the offsets to Kafka.
   */
  const checkpoint = async (): Promise<void> => {
    if (checkpointing) return checkpointing;
    checkpointing = (async () => {
      const started = performance.now();
      const n = ++checkpointCount;
      const offsets = [...positions.values()];
      // Copies (ids, partition maxima) taken now, serialised later in slices.
      const meta: CheckpointMeta = {
        positions: offsets,
        dedupe: [...streams].map(([name, s]) => [name, s.dedupe.cut()] as const),
        watermarks: [...streams].map(([name, s]) => [name, s.watermark.toJSON()]),
      };
      const snap = engine.beginSnapshot();
      const { viewRows, alerts } = sink.drainForCheckpoint();
      const events = retained;
      retained = new Map();
      let pause = performance.now() - started;
      log.debug(`checkpoint ${n}: cut at ${offsets.map((o) => `${o.topic}:${o.partition}@${o.offset}`).join(' ') || 'no offsets'}`);
      sendOutbox();
      const pieces: string[] = [];
      try {
        const { longestMs } = await runInSlices(checkpointPieces(meta, snap, pieces), SLICE_MS, () => performance.now(), ingestFirst);
        if (longestMs > pause) pause = longestMs;
      } catch (err) {
        snap.abort();
        requeue(viewRows, alerts, events);
        throw err;
      }
      metrics.checkpointPause.set(pause / 1000);
      log.debug(`checkpoint ${n}: serialised in ${Math.round(performance.now() - started)} ms (longest pause ${pause.toFixed(1)} ms); writing`);
      // Alerts and dead letters are on Kafka before the offsets that caused them are committed.
      await Promise.all([...inflight]);
      try {
        await store.commitCheckpoint({ viewRows, alerts, state: pieces, offsets, events, pace: () => giveWay(ingestFirst, () => performance.now()) });
      } catch (err) {
        requeue(viewRows, alerts, events);
        throw err;
      }
      log.debug(`checkpoint ${n}: stored in ${Math.round(performance.now() - started)} ms`);
      if (offsets.length) await source.commit(offsets).catch((err: unknown) => log.warn(`offset commit failed: ${describeError(err)}`));
      metrics.checkpointDuration.observe((performance.now() - started) / 1000);
      metrics.lastCheckpoint.set(Date.now() / 1000);
    })().finally(() => (checkpointing = null));
    return checkpointing;
  };

  const queryEngine = await createQueryEngine(store);
  opened.push(() => queryEngine.close());
  const http = await listen(
    {
      hub,
      token: cfg.token ?? undefined,
      views: () => program.queries.filter((q) => q.kind === 'view').map(describeView),
      rules: () => program.queries.map((q) => ({ name: q.name, kind: q.kind, sql: q.text, ...(sink.health.get(q.name) ?? { healthy: true, lastError: null, errors: 0 }) })),
      alerts: () => engine.alerts.active(),
      query: (sql) => queryEngine.run(sql),
      metricsText: () => registry.metrics(),
      health: () => ({ live: true, ready: ready && source.status().state === 'connected', details: { kafka: source.status() } }),
      dashboardsDir: cfg.dashboardsDir,
    },
    { port: cfg.port, host: cfg.host },
  );

  opened.push(() => http.close());
  opened.push(() => source.stop());
  await source.start();
  ready = true;
  log.info(`consuming ${[...topics.keys()].join(', ')} as group ${cfg.group}; dashboard at ${http.url}/`);

  // One process owns every partition of its topics (state is per group key, not per partition):
  // a second process in the same group would leave both with partial aggregates, so refuse.
  let reportFatal: (e: SeismoError) => void = () => {};
  const fatal = new Promise<SeismoError>((resolve) => (reportFatal = resolve));
  const partitionCounts = await topicPartitions(conn, [...topics.keys()]).catch(() => new Map<string, number>());
  let partialChecks = 0;
  const checkOwnership = () => {
    const partial = source.assignment().filter((a) => a.partitions.length < (partitionCounts.get(a.topic) ?? 0));
    const missing = [...partitionCounts.keys()].filter((t) => !source.assignment().some((a) => a.topic === t));
    partialChecks = partial.length + missing.length > 0 && source.status().state === 'connected' ? partialChecks + 1 : 0;
    if (partialChecks === 3) {
      const what = [...partial.map((a) => `${a.topic} (${a.partitions.length} of ${partitionCounts.get(a.topic)})`), ...missing.map((t) => `${t} (0)`)];
      reportFatal(
        new SeismoError(
          'CONFIG',
          `another process in consumer group ${cfg.group} owns partitions of ${what.join(', ')}; seismo does not repartition yet, so aggregates would be partial: run one process per group`,
        ),
      );
    }
  };

  const timers = [
    setInterval(checkOwnership, 5000),
    setInterval(() => {
      engine.flush();
      sendOutbox();
      if (unflushedSince !== null) {
        metrics.eventLatency.observe((Date.now() - unflushedSince) / 1000);
        unflushedSince = null;
      }
    }, cfg.flushIntervalMs),
    setInterval(() => {
      const now = Date.now();
      for (const s of streams.values()) {
        engine.advance(s.plan.name, s.watermark.tick(now));
        metrics.watermark.set({ stream: s.plan.name }, Math.max(0, s.watermark.current() / 1000));
      }
      closeDueWindows();
      for (const op of engine.ops.values()) {
        if (op instanceof AggregateOp) {
          metrics.openGroups.set({ view: op.plan.name }, op.groups.size);
          metrics.openPanes.set({ view: op.plan.name }, op.openPanes);
        }
      }
    }, 1000),
    setInterval(() => {
      checkpoint().catch((err: unknown) => log.error(`checkpoint failed: ${describeError(err)}`));
    }, cfg.checkpointIntervalMs),
    // Retention: raw events older than the stream's `retain` (in event time) are deleted.
    setInterval(() => {
      for (const s of streams.values()) {
        if (s.plan.retainMs === null || !Number.isFinite(s.watermark.current())) continue;
        store
          .deleteEventsBefore(s.plan.name, s.watermark.current() - s.plan.retainMs)
          .catch((err: unknown) => log.warn(`retention of ${s.plan.name}: ${describeError(err)}`));
      }
    }, 60_000),
  ];

  const reload = async (): Promise<boolean> => {
    const next = loadProgram(cfg.queries);
    if (!next.ok) {
      log.error(`reload refused, keeping the running queries:\n${next.errors}`);
      return false;
    }
    const newTopics = new Set(next.program.streams.map((s) => s.topic));
    if ([...newTopics].some((t) => !topics.has(t))) {
      log.error('reload refused: new source topics need a restart of seismo run');
      return false;
    }
    await ensureViewTables(store, next.program);
    const replacement = new Engine(next.program, sink, { coalesce: true, wantsChanges, onPending, sliceCloses: true });
    const { restored } = replacement.restore(engine.snapshot());
    program = next.program;
    withTopic = topicViews(program);
    engine = replacement;
    streams = mergeStreams(streams, buildStreams(program, cfg));
    topics = byTopic();
    chunkReader.setStreams(program.streams);
    if (workerSource) streamsVersion = workerSource.setStreams(program.streams);
    log.info(`reloaded ${next.summary}; kept the state of ${restored.length} unchanged queries`);
    return true;
  };

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      for (const t of timers) clearInterval(t);
      // The last checkpoint runs with fetching stopped but the group still joined, so the
      // offsets it holds are committed to Kafka too (lag monitors see a clean stop as caught up).
      const lastCheckpoint = async () => {
        engine.flush();
        // A checkpoint in progress cut before the last batches: let it finish, then write the final one.
        await checkpointing?.catch(() => undefined);
        await checkpoint().catch((err: unknown) => log.error(`final checkpoint failed: ${describeError(err)}`));
      };
      await source.stop(lastCheckpoint).catch((err: unknown) => log.warn(`consumer stop: ${describeError(err)}`));
      await http.close().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await queryEngine.close().catch(() => undefined);
      await amSink?.close().catch(() => undefined);
      await store.close().catch(() => undefined);
    })());

  return { url: http.url, stop, reload, fatal };
}

function buildStreams(program: ProgramPlan, cfg: RunConfig): Map<string, StreamRuntime> {
  const m = new Map<string, StreamRuntime>();
  for (const plan of program.streams) {
    m.set(plan.name, { plan, decode: makeDecoder(plan), dedupe: new Deduper(), watermark: new WatermarkTracker({ idleMs: cfg.idleMs }) });
  }
  return m;
}

/** Keeps the dedupe and watermark state of streams that survive a reload. */
function mergeStreams(old: Map<string, StreamRuntime>, fresh: Map<string, StreamRuntime>): Map<string, StreamRuntime> {
  for (const [name, s] of fresh) {
    const prev = old.get(name);
    if (prev && prev.plan.topic === s.plan.topic) {
      s.dedupe = prev.dedupe;
      s.watermark = prev.watermark;
    }
  }
  return fresh;
}

function outputTopics(cfg: RunConfig, program: ProgramPlan): string[] {
  const t = new Set([cfg.alertsTopic, cfg.deadLetterTopic]);
  for (const q of program.queries) if (typeof q.options.kafka_topic === 'string') t.add(q.options.kafka_topic);
  return [...t];
}

async function ensureViewTables(store: Store, program: ProgramPlan): Promise<void> {
  for (const q of program.queries) if (q.kind === 'view') await store.ensureViewTable(q.name, viewColumnSpecs(q));
}

function describeView(q: QueryPlan) {
  const w = q.window;
  return {
    name: q.name,
    columns: viewColumnSpecs(q).map((c) => ({ name: c.name, type: c.type })),
    window: w ? { type: w.type, ...(w.type === 'SESSION' ? { gapMs: w.gapMs } : { sizeMs: w.sizeMs, advanceMs: w.advanceMs }), graceMs: w.graceMs } : null,
    groupBy: [...q.keyNames],
    emit: q.emit,
  };
}

/** startHttpServer with a one-line reason when the address is taken. */
async function listen(...args: Parameters<typeof startHttpServer>): ReturnType<typeof startHttpServer> {
  try {
    return await startHttpServer(...args);
  } catch (err) {
    const { port, host } = args[1];
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new SeismoError('CONFIG', `cannot listen on ${host}:${port}: the address is in use (choose another --port)`);
    if (code === 'EACCES') throw new SeismoError('CONFIG', `cannot listen on ${host}:${port}: permission denied`);
    throw err;
  }
}
