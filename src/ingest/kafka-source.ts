/**
 * The Kafka source (one of the two files importing kafkajs): consumer-group consumption in
 * batches with explicit offset control.
 *
 * Offsets: kafkajs never commits on its own (autoCommit off, eachBatchAutoResolve off). The engine
 * commits through `commit()` only after its checkpoint holds the state those offsets cover, and
 * on (re)assignment `onAssign` may return the offsets its state expects, which the source seeks
 * to, overriding Kafka's committed ones. Records below the expected offset are skipped (a
 * consumer restarted inside this process resumes where processing stopped, not at the last
 * commit), so nothing is applied twice.
 *
 * Broker loss: kafkajs retries requests; when it gives up the consumer crashes, and the source
 * builds a fresh consumer with exponential backoff (retry() from errors.ts), logging one line per
 * state change. status() feeds /readyz.
 */
// First: it replaces kafkajs' record decoder, which must happen before kafkajs loads.
import './kafkajs-records.js';
import kafkajs from 'kafkajs';
import type { Admin, Batch, Consumer, ConsumerConfig, Kafka, KafkaConfig, LogEntry, SASLOptions } from 'kafkajs';
import { describeError, retry, SeismoError } from '../errors.js';
import { metrics } from '../metrics.js';
import { describeConnectError, parseBrokers, type IngestLogger, type KafkaConnectionOptions } from './kafka-client.js';

const { Kafka: KafkaClass, logLevel } = kafkajs;

/** One record as the engine sees it (kafkajs' message objects are passed through, not copied). */
export interface SourceMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Record timestamp, epoch ms as a decimal string (as kafkajs gives it). */
  readonly timestamp: string;
}

/** Consecutive records of one partition, in offset order. */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly SourceMessage[];
  readonly highWatermark: string;
}

/** A position: for commits and seeks, the offset of the NEXT record to read. */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A partition key in maps: `topic:partition`. */
export type PartitionKey = `${string}:${number}`;

/** Connection state for /readyz. */
export interface SourceStatus {
  readonly state: 'starting' | 'connected' | 'disconnected' | 'stopped';
  /** Wall time (ms) of the last state change. */
  readonly since: number;
  /** The last connection error, one line, or null. */
  readonly lastError: string | null;
}

/** Fetch tuning passed to kafkajs; defaults favour throughput with bounded latency. */
export interface FetchOptions {
  readonly maxBytes?: number;
  readonly maxBytesPerPartition?: number;
  readonly minBytes?: number;
  readonly maxWaitTimeInMs?: number;
}

export interface KafkaSourceOptions extends KafkaConnectionOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts (SPEC: earliest unless `--from latest`). */
  readonly fromBeginning: boolean;
  /**
   * Processes records; resolved offsets advance only after it returns. Calls for one partition
   * never overlap; a throw crashes the consumer, which restarts at the first unprocessed record.
   */
  readonly onBatch: (batch: SourceBatch) => Promise<void>;
  /**
   * Called on every (re)assignment with the full assignment. Return the next offset the engine's
   * state expects per `topic:partition` (restored checkpoint or in-memory position) to seek there.
   * Batches wait until it resolves.
   */
  readonly onAssign?: (assigned: readonly { topic: string; partitions: readonly number[] }[]) => Promise<ReadonlyMap<string, string> | void>;
  /** Partitions processed concurrently (kafkajs partitionsConsumedConcurrently); default 1. */
  readonly concurrency?: number;
  /** Records per onBatch call at most; between chunks the source heartbeats and yields to timers. Default 2000. */
  readonly chunkSize?: number;
  readonly fetch?: FetchOptions;
  readonly sessionTimeoutMs?: number;
  /** Backoff of consumer restarts after a crash. */
  readonly restart?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Wall clock, for status().since. */
  readonly now?: () => number;
}

/** The running source. */
export interface KafkaSource {
  /** Connects and joins the group; resolves after the first successful join (retrying meanwhile). */
  start(): Promise<void>;
  /**
   * Stops fetching, lets the chunk in progress finish, leaves the group and disconnects. Before
   * leaving, `beforeLeaving` runs with no record being processed and the group still joined, so
   * a last checkpoint can commit its offsets.
   */
  stop(beforeLeaving?: () => Promise<void>): Promise<void>;
  /** Commits offsets (next offset to read) to the group; call after the checkpoint holding them. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  status(): SourceStatus;
  /** True while fetched records wait to be processed (background work can give them way). */
  busy(): boolean;
  /** Next offset after the last record processed, per partition processed so far. */
  positions(): TopicPartitionOffset[];
  /** The current assignment. */
  assignment(): { topic: string; partitions: number[] }[];
}

/** kafkajs logs go to debug only: the source logs one line per state change itself. */
function logCreator(logger: IngestLogger | undefined): KafkaConfig['logCreator'] {
  return () => (entry: LogEntry) => {
    if (logger?.debug) logger.debug(`kafkajs ${entry.namespace}: ${entry.log.message}`);
  };
}

/** Builds the kafkajs client from connection options (also used by kafka-producer.ts). */
export function createKafkaClient(opts: KafkaConnectionOptions, extra: Partial<KafkaConfig> = {}): Kafka {
  const config: KafkaConfig = {
    brokers: [...opts.brokers],
    clientId: opts.clientId ?? 'seismo',
    logLevel: logLevel.WARN,
    logCreator: logCreator(opts.logger),
    ...extra,
  };
  if (opts.ssl !== undefined) config.ssl = opts.ssl;
  // Same shape as kafkajs; the cast only bridges its per-mechanism union.
  if (opts.sasl !== undefined) config.sasl = { ...opts.sasl } as SASLOptions;
  return new KafkaClass(config);
}

/**
 * Checks that the cluster answers (connect + metadata) within `timeoutMs`; throws a
 * KAFKA_UNREACHABLE SeismoError with one line such as
 * `cannot reach Kafka at 127.0.0.1:9999: connection refused`.
 */
export async function checkBrokers(opts: KafkaConnectionOptions, timeoutMs = 5000): Promise<void> {
  const brokers = parseBrokers(opts.brokers);
  const kafka = createKafkaClient(
    { ...opts, brokers },
    { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 }, logLevel: logLevel.NOTHING },
  );
  const admin = kafka.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
    });
    await Promise.race([admin.connect().then(() => admin.describeCluster()), timeout]);
  } catch (err) {
    throw new SeismoError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${brokers.join(',')}: ${describeConnectError(err, timeoutMs)}`, {
      retriable: true,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Partition count of each topic that exists (missing topics are left out). */
export async function topicPartitions(opts: KafkaConnectionOptions, topics: readonly string[]): Promise<Map<string, number>> {
  const admin = createKafkaClient(opts).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const meta = present.length ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    return new Map(meta.topics.map((t) => [t.name, t.partitions.length] as const));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Deletes topics if they exist (the demo starts from empty topics on its local broker). */
export async function deleteTopics(opts: KafkaConnectionOptions, topics: readonly string[]): Promise<void> {
  const admin = createKafkaClient(opts).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 30_000 });
    // Deletion completes asynchronously; wait until the names are free again.
    for (let i = 0; i < 100; i++) {
      const left = new Set(await admin.listTopics());
      if (!present.some((t) => left.has(t))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    throw new SeismoError('KAFKA', `cannot delete topics ${topics.join(', ')}: ${describeError(err)}`, { retriable: true, cause: err });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Creates topics and waits until every partition has a leader. kafkajs' own `waitForLeaders`
 * gives up when the broker does not know a just-created topic yet ("does not host this
 * topic-partition": a fresh KRaft broker propagates new topics to its metadata a moment later),
 * so the metadata is polled here, errors included, for up to `timeoutMs`.
 */
export async function createTopicsAndWait(
  admin: Admin,
  topics: readonly { topic: string; numPartitions?: number; replicationFactor?: number }[],
  timeoutMs = 30_000,
): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t })), waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown = null;
    try {
      const meta = await admin.fetchTopicMetadata({ topics: names });
      if (meta.topics.length === names.length && meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw lastError ?? new SeismoError('KAFKA', `topics ${names.join(', ')} have no leader after ${timeoutMs} ms`, { retriable: true });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Creates topics that do not exist yet (broker defaults for partitions and replication unless given). */
export async function ensureTopics(
  opts: KafkaConnectionOptions,
  topics: readonly { topic: string; numPartitions?: number; replicationFactor?: number }[],
): Promise<void> {
  const admin = createKafkaClient(opts).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await createTopicsAndWait(admin, missing);
  } catch (err) {
    if (err instanceof Error && /already exists/i.test(err.message)) return;
    throw new SeismoError('KAFKA', `cannot create topics ${topics.map((t) => t.topic).join(', ')}: ${describeError(err)}`, {
      retriable: true,
      cause: err,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const DEFAULT_FETCH: Required<FetchOptions> = {
  // Larger than kafkajs' 1 MB per partition so a catching-up consumer gets big batches; minBytes
  // with a short wait lets the broker fill a batch without adding more than 100 ms of latency.
  maxBytes: 32 * 1024 * 1024,
  maxBytesPerPartition: 4 * 1024 * 1024,
  minBytes: 64 * 1024,
  maxWaitTimeInMs: 100,
};

/** Creates the source; nothing connects until start(). */
export function createKafkaSource(opts: KafkaSourceOptions): KafkaSource {
  const brokers = parseBrokers(opts.brokers);
  if (opts.topics.length === 0) throw new SeismoError('CONFIG', 'no topics to consume');
  const concurrency = opts.concurrency ?? 1;
  const chunkSize = opts.chunkSize ?? 2000;
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const kafka = createKafkaClient({ ...opts, brokers });
  const fetch = { ...DEFAULT_FETCH, ...opts.fetch };

  let status: SourceStatus = { state: 'starting', since: now(), lastError: null };
  let consumer: Consumer | null = null;
  let generation = 0;
  let stopping = false;
  let everJoined = false;
  let assignment: { topic: string; partitions: number[] }[] = [];
  /** Assignment handling in progress; batches wait for it. */
  let assignReady: Promise<void> = Promise.resolve();
  /** Next offset to process per partition: from onAssign, then advanced by processing. */
  const expected = new Map<PartitionKey, bigint>();
  /** Partitions whose first batch after an assignment is checked for a gap (records lost). */
  const checkGap = new Set<PartitionKey>();
  /** Per-partition serialisation across consumer generations. */
  const partitionLocks = new Map<PartitionKey, Promise<void>>();
  let restartLoop: Promise<void> | null = null;

  const setState = (state: SourceStatus['state'], line: string, lastError: string | null = status.lastError) => {
    const changed = state !== status.state;
    status = { state, since: changed ? now() : status.since, lastError };
    if (changed && log) (state === 'disconnected' ? log.warn : log.info).call(log, line);
  };

  const handleAssign = async (gen: number, memberAssignment: Record<string, number[]>) => {
    assignment = Object.entries(memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
    // Positions of partitions that leave the assignment are kept: this process's state covers
    // the records up to them. When a partition comes back (a rebalance that split it away for a
    // while, e.g. while the group still held a member of an earlier consumer generation), the
    // source seeks there again instead of redelivering everything since the last commit.
    const wanted = opts.onAssign ? await opts.onAssign(assignment) : undefined;
    if (gen !== generation || consumer === null) return;
    for (const { topic, partitions } of assignment) {
      for (const partition of partitions) {
        const key: PartitionKey = `${topic}:${partition}`;
        const fromEngine = wanted ? wanted.get(key) : undefined;
        if (fromEngine !== undefined) expected.set(key, BigInt(fromEngine));
        const target = expected.get(key);
        if (target !== undefined) {
          consumer.seek({ topic, partition, offset: target.toString() });
          checkGap.add(key);
        }
      }
    }
  };

  /** Batches handed to eachBatch and not yet finished. */
  let inHand = 0;

  const processBatch = async (
    gen: number,
    batch: Batch,
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
    isStale: () => boolean,
  ): Promise<void> => {
    await assignReady;
    const { topic, partition } = batch;
    const key: PartitionKey = `${topic}:${partition}`;
    if (gen !== generation || isStale()) return;
    let msgs = batch.messages;
    const want = expected.get(key);
    const first = msgs[0];
    if (want !== undefined && first !== undefined) {
      const firstOffset = BigInt(first.offset);
      if (firstOffset < want) {
        // Already processed (a restart inside this process, or a seek not yet applied): skip.
        let i = 0;
        while (i < msgs.length && BigInt((msgs[i] as SourceMessage).offset) < want) i++;
        if (i > 0) resolveOffset((msgs[i - 1] as SourceMessage).offset);
        msgs = msgs.slice(i);
      } else if (firstOffset > want && checkGap.has(key)) {
        log?.warn(`kafka: ${key} resumes at offset ${firstOffset}, expected ${want} (records removed by retention or compaction?)`);
      }
    }
    checkGap.delete(key);
    const hw = BigInt(batch.highWatermark);
    for (let start = 0; start < msgs.length; start += chunkSize) {
      if (gen !== generation || stopping || !isRunning() || isStale()) return;
      const chunk = start === 0 && msgs.length <= chunkSize ? msgs : msgs.slice(start, start + chunkSize);
      await opts.onBatch({ topic, partition, messages: chunk, highWatermark: batch.highWatermark });
      const last = chunk[chunk.length - 1] as SourceMessage;
      let next = BigInt(last.offset) + 1n;
      // After the batch's last record may come records kafkajs filtered (transaction markers):
      // the position moves past them too, as resolveOffset does.
      if (start + chunkSize >= msgs.length) {
        const end = BigInt(batch.lastOffset()) + 1n;
        if (end > next) next = end;
      }
      expected.set(key, next);
      resolveOffset(last.offset);
      metrics.consumerLag.set({ topic, partition: String(partition) }, Number(hw > next ? hw - next : 0n));
      await heartbeat();
      // Let timers run between chunks (live flushes, checkpoints): promises alone never yield
      // to the event loop, so a large fetch would otherwise hold it for its whole length.
      if (start + chunkSize < msgs.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };

  const withPartitionLock = async (key: PartitionKey, fn: () => Promise<void>): Promise<void> => {
    const prev = partitionLocks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    partitionLocks.set(key, tail);
    try {
      await run;
    } finally {
      if (partitionLocks.get(key) === tail) partitionLocks.delete(key);
    }
  };

  /** One consumer generation: resolves on its first group join, rejects if it crashes before. */
  const startConsumer = (): Promise<void> => {
    const gen = ++generation;
    const config: ConsumerConfig = {
      groupId: opts.groupId,
      ...fetch,
      ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeout: opts.sessionTimeoutMs }),
      allowAutoTopicCreation: false,
      // kafkajs gives up after a few retries (~10 s) and crashes; the source then restarts it with
      // its own backoff, so a long outage is one "disconnected" line and not a stream of errors.
      retry: { retries: 4, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
    };
    const c = kafka.consumer(config);
    consumer = c;
    return new Promise<void>((resolve, reject) => {
      let joined = false;
      c.on(c.events.GROUP_JOIN, (e) => {
        if (gen !== generation) return;
        assignReady = handleAssign(gen, e.payload.memberAssignment).catch((err: unknown) => {
          // Consuming from Kafka's committed offsets instead of the state's could apply records
          // twice: drop this consumer (its batches see a stale generation) and start over.
          log?.error(`kafka: assignment handler failed: ${describeError(err)}; restarting the consumer`);
          generation++;
          restart().catch((e2: unknown) => log?.error(`kafka: restart failed: ${describeError(e2)}`));
        });
        const count = Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0);
        setState('connected', `kafka: ${everJoined ? 're' : ''}connected to ${brokers.join(',')} (group ${opts.groupId}, ${count} partitions)`, null);
        everJoined = true;
        if (!joined) {
          joined = true;
          resolve();
        }
      });
      c.on(c.events.CRASH, (e) => {
        if (gen !== generation || stopping) return;
        const reason = describeConnectError(e.payload.error, 5000);
        // Before the first join this is a failed start (e.g. a fresh broker's coordinator still
        // loading), not a lost connection: say so.
        const what = everJoined ? 'disconnected from' : 'cannot connect to';
        setState('disconnected', `kafka: ${what} ${brokers.join(',')}: ${reason}; ${everJoined ? 'reconnecting' : 'retrying'}`, reason);
        if (!joined) {
          joined = true;
          reject(new SeismoError('KAFKA', reason, { retriable: true, cause: e.payload.error }));
        } else {
          restart().catch((err: unknown) => log?.error(`kafka: restart failed: ${describeError(err)}`));
        }
      });
      const run = async () => {
        await c.connect();
        await c.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning });
        await c.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: concurrency,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            inHand++;
            try {
              await withPartitionLock(`${batch.topic}:${batch.partition}`, () =>
                processBatch(gen, batch, resolveOffset, heartbeat, isRunning, isStale),
              );
            } finally {
              inHand--;
            }
          },
        });
      };
      run().catch((err: unknown) => {
        const reason = describeConnectError(err, 5000);
        setState('disconnected', `kafka: cannot connect to ${brokers.join(',')}: ${reason}; retrying`, reason);
        void c.disconnect().catch(() => undefined);
        if (!joined) {
          joined = true;
          reject(new SeismoError('KAFKA', reason, { retriable: true, cause: err }));
        }
      });
    });
  };

  /** Starts consumers until one joins, with backoff; only one loop runs at a time. */
  const restart = (): Promise<void> => {
    if (restartLoop) return restartLoop;
    restartLoop = retry(
      async () => {
        if (stopping) return;
        const old = consumer;
        if (old) await old.disconnect().catch(() => undefined);
        await startConsumer();
      },
      {
        retries: Number.MAX_SAFE_INTEGER,
        initialMs: opts.restart?.initialMs ?? 500,
        maxMs: opts.restart?.maxMs ?? 30_000,
        shouldRetry: () => !stopping,
      },
    )
      .catch((err: unknown) => {
        if (!stopping) throw err;
      })
      .finally(() => {
        restartLoop = null;
      });
    return restartLoop;
  };

  return {
    start: () => restart(),
    async stop(beforeLeaving) {
      if (stopping) return;
      stopping = true;
      if (beforeLeaving) {
        // No more fetches (kafkajs throws if the consumer is not running: nothing to pause), and
        // processBatch takes no further chunk; then wait for the one in progress.
        try {
          consumer?.pause(assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })));
        } catch {
          // not running
        }
        const deadline = Date.now() + 20_000;
        while (inHand > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      }
      try {
        await beforeLeaving?.();
      } finally {
        generation++;
        const c = consumer;
        consumer = null;
        if (c) {
          await c.stop().catch(() => undefined);
          await c.disconnect().catch(() => undefined);
        }
        setState('stopped', 'kafka: consumer stopped');
      }
    },
    async commit(offsets) {
      if (offsets.length === 0) return;
      const c = consumer;
      if (c === null || status.state !== 'connected') {
        throw new SeismoError('KAFKA', 'cannot commit offsets: not connected to Kafka', { retriable: true });
      }
      try {
        await c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
      } catch (err) {
        throw new SeismoError('KAFKA', `cannot commit offsets: ${describeError(err)}`, { retriable: true, cause: err });
      }
    },
    status: () => status,
    busy: () => inHand > 0,
    positions() {
      const out: TopicPartitionOffset[] = [];
      for (const [key, offset] of expected) {
        const i = key.lastIndexOf(':');
        out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset: offset.toString() });
      }
      return out;
    },
    assignment: () => assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
  };
}
