/**
 * The ingest worker thread: runs the Kafka source (kafka-source.ts, unchanged) and the streams'
 * decoders, and posts each chunk of records to the main thread in columns (chunk-codec.ts). The
 * main thread runs the engine; this thread keeps the Kafka client's and the decoders' work off it
 * (docs/ingest.md, "The ingest worker"). Protocol: worker-source.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../errors.js';
import { ChunkEncoder, type DecodedChunk } from './chunk-codec.js';
import { createKafkaSource, type KafkaSource, type PartitionKey, type SourceStatus } from './kafka-source.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-source.js';

const port = parentPort;
if (port === null) throw new Error('ingest-worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
/** Chunks posted and not yet processed by the main thread (shared: the main thread decrements it). */
const pending = new Int32Array(init.pending);

const encoder = new ChunkEncoder(init.streams, init.version);
/** Next offset after the last record posted, per partition: the main thread will have processed it. */
const posted = new Map<PartitionKey, string>();
/** Records decoded and not yet posted: posted once this thread's event loop turns, or when a chunk's worth waits. */
const FLUSH_RECORDS = 2000;
let queued: DecodedChunk[] = [];
let queuedTransfer: ArrayBuffer[] = [];
let queuedRecords = 0;
let flushScheduled = false;
const flush = () => {
  flushScheduled = false;
  if (queued.length === 0) return;
  post({ t: 'chunks', chunks: queued }, queuedTransfer);
  queued = [];
  queuedTransfer = [];
  queuedRecords = 0;
};
/** Batches waiting for the main thread to take chunks (one unless partitions run concurrently). */
const waiting: (() => void)[] = [];
let stopping = false;
/** Set while a draining stop waits for the main thread's last checkpoint. */
let leave: (() => void) | null = null;
const replies = new Map<number, (value: unknown) => void>();
let nextRequest = 0;

const request = <T>(make: (id: number) => FromWorker): Promise<T> =>
  new Promise<T>((resolve) => {
    const id = nextRequest++;
    replies.set(id, resolve as (value: unknown) => void);
    post(make(id));
  });

const log = (level: 'info' | 'warn' | 'error' | 'debug') => (line: string) => post({ t: 'log', level, line });

const source: KafkaSource = createKafkaSource({
  ...init.source,
  logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: init.debug ? log('debug') : undefined },
  onAssign: async (assigned) => {
    const wanted = await request<[string, string][]>((id) => ({ t: 'assign', id, assigned: assigned.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })) }));
    // A partition this worker has posted records of resumes after them: the main thread has them
    // queued, and its own positions do not count them yet.
    const seek = new Map(wanted);
    for (const [key, offset] of posted) seek.set(key, offset);
    return seek;
  },
  onBatch: async (batch) => {
    if (stopping) return; // the thread is going away: what it has not posted the main thread never saw
    const { chunk, transfer } = encoder.encode(batch);
    Atomics.add(pending, 0, 1);
    queued.push(chunk);
    queuedTransfer.push(...transfer);
    queuedRecords += chunk.count;
    // The chunks of one fetch response go in one message; a full chunk's worth goes at once.
    if (queuedRecords >= FLUSH_RECORDS) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) posted.set(`${batch.topic}:${batch.partition}`, String(BigInt(last.offset) + 1n));
    // Bounded hand-over: at most MAX_PENDING chunks wait for the main thread.
    // The main thread posts an 'ack' only while the flag is set; set it before reading the count
    // again, so that a chunk processed in between is seen here or flagged there.
    while (Atomics.load(pending, 0) >= init.maxPending && !stopping) {
      Atomics.store(pending, 1, 1);
      if (Atomics.load(pending, 0) < init.maxPending) {
        Atomics.store(pending, 1, 0);
        break;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  },
});

let lastStatus: SourceStatus | null = null;
const reportStatus = () => {
  const status = source.status();
  if (lastStatus && status.state === lastStatus.state && status.lastError === lastStatus.lastError) return;
  lastStatus = status;
  post({ t: 'status', status, assignment: source.assignment() });
};
const statusTimer = setInterval(reportStatus, 100);

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'ack':
      for (const wake of waiting.splice(0)) wake();
      return;
    case 'assigned':
      replies.get(m.id)?.(m.seek);
      replies.delete(m.id);
      return;
    case 'commit':
      source.commit(m.offsets).then(
        () => post({ t: 'committed', id: m.id, error: null }),
        (err: unknown) => post({ t: 'committed', id: m.id, error: describeError(err) }),
      );
      return;
    case 'streams':
      encoder.setStreams(m.streams, m.version);
      return;
    case 'leave':
      leave?.();
      return;
    case 'stop':
      stopping = true;
      for (const wake of waiting.splice(0)) wake();
      void source
        .stop(
          m.drain
            ? () =>
                new Promise<void>((resolve) => {
                  // Messages keep their order: when the main thread reads 'drained' it has
                  // processed every chunk, and its last checkpoint can run (its commits come
                  // here); 'leave' says it is done.
                  leave = resolve;
                  flush();
                  post({ t: 'drained' });
                })
            : undefined,
        )
        .catch(() => undefined)
        .then(() => {
          clearInterval(statusTimer);
          post({ t: 'stopped' });
          port.close();
        });
      return;
  }
});

source.start().then(
  () => {
    reportStatus();
    post({ t: 'started' });
  },
  (err: unknown) => post({ t: 'start-failed', error: describeError(err) }),
);
