/**
 * The Kafka source run in a worker thread (ingest-worker.ts) with the streams' decoders: the main
 * thread receives decoded chunks (chunk-codec.ts) and spends its time on the engine. It keeps the
 * KafkaSource contract (offsets, seeks on assignment, commits, status), so the service treats it
 * like the in-thread source:
 * - the worker posts chunks and goes on fetching and decoding while the main thread processes
 *   earlier ones, at most `maxPending` chunks ahead (a shared counter; the main thread acks each
 *   message). The chunks of one fetch response go in one message (the worker posts what it
 *   decoded once its event loop turns), so a live stream's small batches cost one hand-over;
 * - on (re)assignment the worker asks the main thread for the offsets its state expects, and
 *   resumes partitions it has posted records of after those records (they are queued here);
 * - commits are forwarded to the worker's consumer; positions() are the records processed here;
 * - a worker that dies is replaced after a second: the new one seeks to the positions processed
 *   here, and whatever the dead one posted after them is ignored, so nothing is applied twice.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describeError, SeismoError } from '../errors.js';
import type { StreamPlan } from '../plan.js';
import type { DecodedChunk } from './chunk-codec.js';
import type { KafkaSource, KafkaSourceOptions, PartitionKey, SourceStatus, TopicPartitionOffset } from './kafka-source.js';

/** What the worker is started with (structured-cloned: no functions). */
export interface WorkerInit {
  readonly source: Omit<KafkaSourceOptions, 'onBatch' | 'onAssign' | 'logger' | 'now'>;
  readonly streams: readonly StreamPlan[];
  readonly version: number;
  /** Int32 [0]: chunks posted and not yet processed; [1]: 1 while the worker waits for an 'ack'. */
  readonly pending: SharedArrayBuffer;
  readonly maxPending: number;
  readonly debug: boolean;
}

/** Messages to the worker. */
export type ToWorker =
  | { readonly t: 'ack' }
  | { readonly t: 'assigned'; readonly id: number; readonly seek: [string, string][] }
  | { readonly t: 'commit'; readonly id: number; readonly offsets: readonly TopicPartitionOffset[] }
  | { readonly t: 'streams'; readonly streams: readonly StreamPlan[]; readonly version: number }
  /** drain: stop fetching, then wait for 'leave' before leaving the group (see KafkaSource.stop). */
  | { readonly t: 'stop'; readonly drain: boolean }
  | { readonly t: 'leave' };

/** Messages from the worker. */
export type FromWorker =
  | { readonly t: 'chunks'; readonly chunks: readonly DecodedChunk[] }
  | { readonly t: 'assign'; readonly id: number; readonly assigned: { topic: string; partitions: number[] }[] }
  | { readonly t: 'committed'; readonly id: number; readonly error: string | null }
  | { readonly t: 'status'; readonly status: SourceStatus; readonly assignment: { topic: string; partitions: number[] }[] }
  | { readonly t: 'log'; readonly level: 'info' | 'warn' | 'error' | 'debug'; readonly line: string }
  | { readonly t: 'started' }
  | { readonly t: 'start-failed'; readonly error: string }
  | { readonly t: 'drained' }
  | { readonly t: 'stopped' };

export interface WorkerSourceOptions extends Omit<KafkaSourceOptions, 'onBatch'> {
  /** The streams of the consumed topics, decoded in the worker. */
  readonly streams: readonly StreamPlan[];
  /** Processes a chunk synchronously; its records count as processed when it returns. */
  readonly onChunk: (chunk: DecodedChunk) => void;
  /** Chunks the worker may post ahead of the main thread (default 8). */
  readonly maxPending?: number;
}

/** The source, plus the hand-over of new stream plans after a reload. */
export interface WorkerSource extends KafkaSource {
  /** The worker decodes with these plans from now on; returns their version (DecodedChunk.version). */
  setStreams(plans: readonly StreamPlan[]): number;
}

/** The worker's script: beside this module when built; from dist/ when this runs from sources (tests). */
function workerScript(): URL {
  const sibling = new URL('./ingest-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL('../../dist/src/ingest/ingest-worker.js', import.meta.url);
}

/** Creates the source; the worker starts with start(). */
export function createWorkerSource(opts: WorkerSourceOptions): WorkerSource {
  const { streams: initialStreams, onChunk, onAssign, logger: log, now: _now, maxPending = 8, ...sourceOptions } = opts;
  let streams = initialStreams;
  let version = 0;
  let status: SourceStatus = { state: 'starting', since: Date.now(), lastError: null };
  let assignment: { topic: string; partitions: number[] }[] = [];
  const processed = new Map<PartitionKey, TopicPartitionOffset>();
  let worker: Worker | null = null;
  let pending = new Int32Array(new SharedArrayBuffer(8));
  let stopping = false;
  let stopped: Promise<void> | null = null;
  const commits = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextCommit = 0;

  const spawn = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const shared = new SharedArrayBuffer(8);
      const init: WorkerInit = { source: sourceOptions, streams, version, pending: shared, maxPending, debug: log?.debug !== undefined };
      const w = new Worker(workerScript(), { workerData: init });
      worker = w;
      pending = new Int32Array(shared);
      const counter = pending;
      const live = () => worker === w;
      w.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'chunks':
            for (const chunk of m.chunks) {
              if (!live() || stopping) break;
              try {
                onChunk(chunk);
                const last = chunk.offsets[chunk.count - 1];
                if (last !== undefined) processed.set(`${chunk.topic}:${chunk.partition}`, { topic: chunk.topic, partition: chunk.partition, offset: String(last + 1) });
              } catch (err) {
                log?.error(`processing records of ${chunk.topic}:${chunk.partition} failed: ${describeError(err)}`);
              }
            }
            Atomics.sub(counter, 0, m.chunks.length);
            // Wake the worker only if it waits for room (a message costs both threads a wake-up);
            // it sets the flag before it re-reads the count, so one of the two sees the other.
            if (Atomics.compareExchange(counter, 1, 1, 0) === 1) w.postMessage({ t: 'ack' } satisfies ToWorker);
            return;
          case 'assign':
            assignment = m.assigned;
            void (async () => {
              const wanted = onAssign ? await onAssign(m.assigned) : undefined;
              // Where the state expects each partition to resume, else after what was processed here.
              const seek = new Map<string, string>(wanted ? [...wanted] : []);
              for (const [key, p] of processed) if (!seek.has(key)) seek.set(key, p.offset);
              w.postMessage({ t: 'assigned', id: m.id, seek: [...seek] } satisfies ToWorker);
            })().catch((err: unknown) => log?.error(`kafka: assignment handler failed: ${describeError(err)}`));
            return;
          case 'committed': {
            const c = commits.get(m.id);
            commits.delete(m.id);
            if (m.error === null) c?.resolve();
            else c?.reject(new SeismoError('KAFKA', m.error, { retriable: true }));
            return;
          }
          case 'status':
            if (live()) {
              status = m.status;
              assignment = m.assignment;
            }
            return;
          case 'log':
            log?.[m.level]?.(m.line);
            return;
          case 'started':
            resolve();
            return;
          case 'start-failed':
            reject(new SeismoError('KAFKA', m.error, { retriable: true }));
            return;
          case 'drained':
          case 'stopped':
            return;
        }
      });
      w.on('error', (err) => {
        if (!live() || stopping) return;
        log?.error(`ingest worker failed: ${describeError(err)}; starting a new one`);
      });
      w.on('exit', () => {
        for (const c of commits.values()) c.reject(new SeismoError('KAFKA', 'cannot commit offsets: the ingest worker stopped', { retriable: true }));
        commits.clear();
        if (!live() || stopping) return;
        worker = null;
        status = { state: 'disconnected', since: Date.now(), lastError: 'ingest worker stopped' };
        reject(new SeismoError('KAFKA', 'the ingest worker stopped before joining the group', { retriable: true }));
        setTimeout(() => {
          if (!stopping) spawn().catch((err: unknown) => log?.error(`ingest worker restart failed: ${describeError(err)}`));
        }, 1000).unref();
      });
    });

  return {
    start: () => spawn(),
    stop(beforeLeaving) {
      stopped ??= (async () => {
        const w = worker;
        if (w === null) {
          // Not started, or between a dead worker and its replacement.
          stopping = true;
          await beforeLeaving?.();
          status = { state: 'stopped', since: Date.now(), lastError: null };
          return;
        }
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        const timeout = () => new Promise((r) => setTimeout(r, 20_000).unref());
        const reply = (t: FromWorker['t']) => new Promise<void>((resolve) => w.on('message', (m: FromWorker) => m.t === t && resolve()));
        const done = reply('stopped');
        try {
          if (beforeLeaving) {
            // The chunks posted before 'drained' are still processed (messages keep their order).
            const drained = reply('drained');
            w.postMessage({ t: 'stop', drain: true } satisfies ToWorker);
            await Promise.race([drained, exited, timeout()]);
            stopping = true;
            await beforeLeaving();
          } else {
            stopping = true;
            w.postMessage({ t: 'stop', drain: false } satisfies ToWorker);
          }
        } finally {
          w.postMessage({ t: 'leave' } satisfies ToWorker);
          await Promise.race([done, exited, timeout()]);
          await w.terminate();
          worker = null;
          status = { state: 'stopped', since: Date.now(), lastError: null };
        }
      })();
      return stopped;
    },
    async commit(offsets) {
      if (offsets.length === 0) return;
      const w = worker;
      if (w === null || status.state !== 'connected') throw new SeismoError('KAFKA', 'cannot commit offsets: not connected to Kafka', { retriable: true });
      const id = nextCommit++;
      await new Promise<void>((resolve, reject) => {
        commits.set(id, { resolve, reject });
        w.postMessage({ t: 'commit', id, offsets } satisfies ToWorker);
      });
    },
    status: () => status,
    busy: () => Atomics.load(pending, 0) > 0,
    positions: () => [...processed.values()],
    assignment: () => assignment.map((a) => ({ topic: a.topic, partitions: [...a.partitions] })),
    setStreams(plans) {
      streams = plans;
      version++;
      worker?.postMessage({ t: 'streams', streams: plans, version } satisfies ToWorker);
      return version;
    },
  };
}
