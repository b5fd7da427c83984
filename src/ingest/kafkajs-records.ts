/**
 * A record-batch decoder for kafkajs without its per-record allocation.
 *
 * kafkajs 2.2.4 (its last release) decodes every record through its `Long` class: a varlong is
 * built from a chain of Long objects, and each record's offset and timestamp go from a string to a
 * Long and back. That is about 1.4 KB of garbage per record and the largest item in seismo's
 * allocation profile (docs/performance.md). This module decodes the same wire format
 * (Kafka's RecordBatch v2) with plain numbers when they are exact, and falls back to BigInt when
 * they are not, and returns records of exactly kafkajs' shape: the consumer code around it is
 * untouched. test/ingest/kafkajs-records.test.ts checks it against kafkajs' own decoder.
 *
 * The consumer's `Batch` is replaced too: its constructor built a Long from every message's
 * offset string to compare it with the fetched offset; here that comparison is on numbers.
 *
 * Both replace modules of kafkajs (`src/protocol/recordBatch/v0/decoder.js`,
 * `src/consumer/batch.js`) in the CommonJS module cache, so they must be installed before kafkajs
 * is first loaded: every file that imports kafkajs imports this one first, and so does the CLI.
 * If kafkajs was loaded earlier (or its layout changed), nothing is replaced and kafkajs decodes
 * as before; `fastRecordsInstalled()` tells which. SEISMO_KAFKAJS_DECODER=kafkajs opts out.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The subset of kafkajs' protocol Decoder used here. */
interface KafkaDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  slice(size: number): KafkaDecoder;
  forward(size: number): void;
  readAll(): Buffer;
}

type DecoderClass = new (buffer: Buffer) => KafkaDecoder;
type Codec = { decompress(buffer: Buffer): Promise<Buffer> } | undefined;

interface RecordContext {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly maxTimestamp: string;
  readonly timestampType: number;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

const BATCH_DECODER = 'kafkajs/src/protocol/recordBatch/v0/decoder.js';
const CONSUMER_BATCH = 'kafkajs/src/consumer/batch.js';

/** Reads zigzag varints and length-prefixed fields of a record batch from `buf`, advancing `pos`. */
class Cursor {
  constructor(
    public buf: Buffer,
    public pos: number,
  ) {}

  varInt(): number {
    const buf = this.buf;
    let byte = 0;
    let result = 0;
    let shift = 0;
    do {
      byte = buf[this.pos++]!;
      result += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong as a number when exact (|v| < 2^53), else as a bigint. */
  varLong(): number | bigint {
    const buf = this.buf;
    const start = this.pos;
    let byte = 0;
    let unsigned = 0;
    let scale = 1;
    let bytes = 0;
    do {
      if (bytes > 9) throw invalidLong();
      byte = buf[this.pos++]!;
      unsigned += (byte & 0x7f) * scale;
      scale *= 128;
      bytes++;
    } while (byte >= 0x80);
    if (unsigned <= Number.MAX_SAFE_INTEGER) return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
    // Rare: re-read exactly with BigInt (64-bit wrap as Kafka's Java encoder wrote it).
    let big = 0n;
    for (let i = 0; i < bytes; i++) big |= BigInt(buf[start + i]! & 0x7f) << BigInt(7 * i);
    big = BigInt.asUintN(64, big);
    return BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n));
  }

  bytes(): Buffer | null {
    const length = this.varInt();
    if (length === -1) return null;
    if (length < 0) throw new RangeError(`negative length ${length} in a record`);
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, start + length);
  }

  string(): string | null {
    const bytes = this.bytes();
    return bytes === null ? null : bytes.toString('utf8');
  }
}

function invalidLong(): Error {
  const { KafkaJSInvalidLongError } = require('kafkajs/src/errors') as { KafkaJSInvalidLongError: new (m: string) => Error };
  return new KafkaJSInvalidLongError('Invalid Long, must contain 9 bytes or less');
}

/** `base + delta` as kafkajs' decimal string: exact, and unwrapped past int64 as kafkajs' Long. */
function addToDecimal(base: number | null, baseString: string, delta: number | bigint): string {
  if (base !== null && typeof delta === 'number') {
    const sum = base + delta;
    if (Number.isSafeInteger(sum)) return String(sum);
  }
  return (BigInt(baseString) + BigInt(delta)).toString();
}

/** A decimal int64 string as a number when exact, else null. */
function exactNumber(s: string): number | null {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

type Headers = Record<string, Buffer | null | (Buffer | null)[]>;

/** Kafka RecordBatch headers, merged into one object as kafkajs does (repeated keys become arrays). */
function readHeaders(c: Cursor): Headers {
  const count = c.varInt();
  if (count < -1) throw new RangeError(`invalid header count ${count} in a record`);
  let headers: Headers = {};
  for (let i = 0; i < count; i++) {
    const key = String(c.string());
    const value = c.bytes();
    // Own keys only: kafkajs merges an inherited name such as `toString` with Object.prototype's
    // function. The spread with a computed key keeps `__proto__` an own property, as kafkajs.
    const prev = Object.hasOwn(headers, key) ? headers[key] : undefined;
    const merged = prev === undefined ? value : Array.isArray(prev) ? prev.concat([value]) : [prev, value];
    headers = { ...headers, [key]: merged };
  }
  return headers;
}

/** Decodes the records of one batch from `c`; the shape matches kafkajs' record/v0/decoder.js. */
function decodeRecordsAt(c: Cursor, count: number, ctx: RecordContext & { magicByte: number }): unknown[] {
  const records = new Array<unknown>(count);
  const firstOffset = exactNumber(ctx.firstOffset);
  const firstTimestamp = exactNumber(ctx.firstTimestamp);
  const appendTime = ctx.timestampType === LOG_APPEND_TIME && ctx.maxTimestamp ? ctx.maxTimestamp : null;
  for (let i = 0; i < count; i++) {
    const length = c.varInt();
    const end = c.pos + length;
    // A corrupt batch (never one a broker accepted: it checks CRCs) fails as kafkajs' decoder
    // does, with a RangeError, instead of yielding made-up records.
    if (!(length >= 0) || end > c.buf.length) throw new RangeError(`record ${i} of a batch overruns its buffer`);
    const attributes = c.buf.readInt8(c.pos++);
    const timestampDelta = c.varLong();
    const timestamp = appendTime ?? addToDecimal(firstTimestamp, ctx.firstTimestamp, timestampDelta);
    const offset = addToDecimal(firstOffset, ctx.firstOffset, c.varInt());
    const key = c.bytes();
    const value = c.bytes();
    const headers = readHeaders(c);
    if (c.pos > end) throw new RangeError(`record ${i} of a batch overruns its declared length`);
    // kafkajs reads each record from a slice of its declared length; do the same.
    c.pos = end;
    records[i] = {
      magicByte: ctx.magicByte,
      attributes,
      timestamp,
      offset,
      key,
      value,
      headers,
      isControlRecord: ctx.isControlBatch,
      batchContext: ctx,
    };
  }
  return records;
}

/** Drop-in for kafkajs' `recordBatch/v0/decoder.js` (same input, output and errors). */
export function createRecordBatchDecoder(
  Decoder: DecoderClass,
  lookupCodecByAttributes: (attributes: number) => Codec,
  PartialMessageError: new (message: string) => Error,
): (fetchDecoder: KafkaDecoder) => Promise<RecordContext & { records: unknown[] }> {
  const seismoRecordBatchDecoder = async (fetchDecoder: KafkaDecoder) => {
    const firstOffset = fetchDecoder.readInt64().toString();
    const length = fetchDecoder.readInt32();
    const decoder = fetchDecoder.slice(length);
    fetchDecoder.forward(length);
    const remainingBytes = Buffer.byteLength(decoder.buffer);
    if (remainingBytes < length) {
      throw new PartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`);
    }
    const partitionLeaderEpoch = decoder.readInt32();
    const magicByte = decoder.readInt8();
    decoder.readInt32(); // CRC, not validated (as kafkajs)
    const attributes = decoder.readInt16();
    const lastOffsetDelta = decoder.readInt32();
    const firstTimestamp = decoder.readInt64().toString();
    const maxTimestamp = decoder.readInt64().toString();
    const producerId = decoder.readInt64().toString();
    const producerEpoch = decoder.readInt16();
    const firstSequence = decoder.readInt32();
    const recordContext: RecordContext = {
      firstOffset,
      firstTimestamp,
      partitionLeaderEpoch,
      inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
      isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
      lastOffsetDelta,
      producerId,
      producerEpoch,
      firstSequence,
      maxTimestamp,
      timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
    };
    const ctx = { ...recordContext, magicByte };
    const codec = lookupCodecByAttributes(attributes);
    let records: unknown[];
    const count = decoder.readInt32();
    if (!codec) {
      records = count === -1 ? [] : decodeRecordsAt(new Cursor(decoder.buffer, decoder.offset), count, ctx);
    } else if (count <= 0) {
      records = [];
    } else {
      const decompressed = await codec.decompress(decoder.readAll());
      records = decodeRecordsAt(new Cursor(decompressed, 0), count, ctx);
    }
    return { ...recordContext, records };
  };
  return seismoRecordBatchDecoder;
}

interface BatchMessage {
  readonly offset: string;
  readonly isControlRecord?: boolean;
}

type BatchClass = new (topic: string, fetchedOffset: string, partitionData: { partition: number; highWatermark: string; messages: BatchMessage[]; abortedTransactions?: unknown[] }) => object;

/**
 * kafkajs' consumer `Batch` with its constructor's offset filter done on numbers: kafkajs builds
 * a Long from each message's offset string to compare it with the fetched offset. Methods and
 * prototype are kafkajs' own.
 */
export function createConsumerBatch(Original: BatchClass, filterAbortedMessages: (args: { messages: BatchMessage[]; abortedTransactions?: unknown[] }) => BatchMessage[], Long: { fromValue(v: string): { gte(o: unknown): boolean } }): BatchClass {
  function SeismoBatch(
    this: Record<string, unknown>,
    topic: string,
    fetchedOffset: string,
    partitionData: { partition: number; highWatermark: string; messages: BatchMessage[]; abortedTransactions?: unknown[] },
  ): void {
    this.fetchedOffset = fetchedOffset;
    const { abortedTransactions, messages } = partitionData;
    this.topic = topic;
    this.partition = partitionData.partition;
    this.highWatermark = partitionData.highWatermark;
    this.rawMessages = messages;
    // Apparently fetch can return offsets below the one asked for (kafkajs' comment): drop them.
    const fetched = typeof fetchedOffset === 'string' ? Number(fetchedOffset) : Number.NaN;
    let within: BatchMessage[];
    if (Number.isSafeInteger(fetched)) {
      within = messages.filter((m) => {
        const offset = Number(m.offset);
        return Number.isSafeInteger(offset) ? offset >= fetched : Long.fromValue(m.offset).gte(Long.fromValue(fetchedOffset));
      });
    } else {
      const longFetched = Long.fromValue(fetchedOffset);
      within = messages.filter((m) => Long.fromValue(m.offset).gte(longFetched));
    }
    this.messagesWithinOffset = within;
    this.messages = filterAbortedMessages({ messages: within, abortedTransactions }).filter((m) => !m.isControlRecord);
  }
  SeismoBatch.prototype = Original.prototype;
  return SeismoBatch as unknown as BatchClass;
}

let installed = false;

/**
 * Puts the decoder in place of kafkajs' own, if kafkajs has not been loaded yet. Idempotent.
 * SEISMO_KAFKAJS_DECODER=kafkajs keeps kafkajs' decoder (for comparison).
 */
export function installFastRecordDecoder(): boolean {
  if (installed || process.env.SEISMO_KAFKAJS_DECODER === 'kafkajs') return installed;
  let path: string;
  try {
    path = require.resolve(BATCH_DECODER);
  } catch {
    return false;
  }
  if (require.cache[path]) return false;
  const Decoder = require('kafkajs/src/protocol/decoder.js') as DecoderClass;
  const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as {
    lookupCodecByAttributes: (a: number) => Codec;
  };
  const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as { KafkaJSPartialMessageError: new (m: string) => Error };
  const exports = createRecordBatchDecoder(Decoder, lookupCodecByAttributes, KafkaJSPartialMessageError);
  const Module = require('node:module') as { Module: new (id: string) => NodeJS.Module };
  const mod = new Module.Module(path);
  mod.filename = path;
  mod.loaded = true;
  mod.exports = exports;
  require.cache[path] = mod;
  // The consumer's Batch: load kafkajs' own (it needs only Long and filterAbortedMessages) and
  // replace its export before the consumer modules take it.
  const batchPath = require.resolve(CONSUMER_BATCH);
  if (!require.cache[batchPath]) {
    const Original = require(batchPath) as BatchClass;
    const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as Parameters<typeof createConsumerBatch>[1];
    const Long = require('kafkajs/src/utils/long.js') as Parameters<typeof createConsumerBatch>[2];
    require.cache[batchPath]!.exports = createConsumerBatch(Original, filterAbortedMessages, Long);
  }
  installed = true;
  return true;
}

/** True when kafkajs uses this module's decoder in this process. */
export function fastRecordsInstalled(): boolean {
  return installed;
}

installFastRecordDecoder();
