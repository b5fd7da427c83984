/**
 * The record-batch decoder that replaces kafkajs' own (src/ingest/kafkajs-records.ts), checked
 * against kafkajs' decoder on batches written by kafkajs' own encoder: random keys, values,
 * headers, offsets and timestamps (past 2^53 too), gzip, control and transactional batches,
 * log-append time, several batches in one buffer, and a truncated tail.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createConsumerBatch, createRecordBatchDecoder } from '../../src/ingest/kafkajs-records.js';
import { prng } from '../../src/prng.js';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

type Decoder = { offset: number };
type BatchDecoder = (d: Decoder) => Promise<unknown>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => Decoder;
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeEncoder(e: unknown): unknown; buffer: Buffer };
const { RecordBatch: encodeBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (opts: object) => Promise<{ buffer: Buffer }> };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (opts: object) => unknown;
const { Types: Compression, lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: { None: number; GZIP: number };
  lookupCodecByAttributes: (a: number) => undefined | { decompress(b: Buffer): Promise<Buffer> };
};
const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as { KafkaJSPartialMessageError: new (m: string) => Error };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

/** A kafkajs module loaded from its file, whatever the module cache holds. */
function kafkajsOwn<T>(module: string): T {
  const path = require.resolve(module);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as T;
  } finally {
    if (cached) require.cache[path] = cached;
    else delete require.cache[path];
  }
}

const original = kafkajsOwn<BatchDecoder>('kafkajs/src/protocol/recordBatch/v0/decoder.js');
const fast = createRecordBatchDecoder(Decoder as never, lookupCodecByAttributes, KafkaJSPartialMessageError) as unknown as BatchDecoder;

const ATTRIBUTES_AT = 8 + 4 + 4 + 1 + 4; // firstOffset, length, leader epoch, magic, crc

function randomBytes(rand: () => number, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
}

function randomInt64(rand: () => number): bigint {
  const pick = rand();
  if (pick < 0.5) return BigInt(Math.floor(rand() * 1e13)); // a realistic epoch-ms or offset
  if (pick < 0.8) return BigInt(Math.floor(rand() * 2 ** 53)) * BigInt(1 + Math.floor(rand() * 1000)); // past 2^53
  return BigInt.asIntN(64, BigInt(Math.floor(rand() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32)));
}

function randomHeaders(rand: () => number): Record<string, Buffer | Buffer[]> {
  const headers: Record<string, Buffer | Buffer[]> = {};
  const n = rand() < 0.6 ? 0 : Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const key = ['trace', 'tenant', 'ünïcode', ''][Math.floor(rand() * 4)]!;
    headers[key] = rand() < 0.3 ? [randomBytes(rand, 8), randomBytes(rand, 8)] : randomBytes(rand, 8);
  }
  return headers;
}

async function randomBatch(rand: () => number): Promise<Buffer> {
  const count = Math.floor(rand() * 40);
  const bigDeltas = rand() < 0.2;
  const records = Array.from({ length: count }, (_, i) =>
    encodeRecord({
      offsetDelta: rand() < 0.8 ? i : Math.floor(rand() * 2 ** 31) - 2 ** 30,
      timestampDelta: bigDeltas ? Long.fromValue(BigInt(Math.floor((rand() - 0.5) * 2 ** 62))) : Math.floor((rand() - 0.3) * 100_000),
      key: rand() < 0.3 ? null : randomBytes(rand, 24),
      value: rand() < 0.1 ? null : randomBytes(rand, 300),
      headers: randomHeaders(rand),
    }),
  );
  const { buffer } = await encodeBatch({
    compression: rand() < 0.3 ? Compression.GZIP : Compression.None,
    firstOffset: Long.fromValue(randomInt64(rand)),
    firstTimestamp: Long.fromValue(randomInt64(rand)),
    maxTimestamp: Long.fromValue(randomInt64(rand)),
    lastOffsetDelta: Math.max(0, count - 1),
    producerId: Long.fromValue(rand() < 0.5 ? -1n : randomInt64(rand)),
    producerEpoch: Math.floor(rand() * 100),
    firstSequence: Math.floor(rand() * 1000),
    transactional: rand() < 0.2,
    records,
  });
  // Control batches and log-append time cannot be asked of kafkajs' encoder: set their bits.
  let attributes = buffer.readInt16BE(ATTRIBUTES_AT);
  if (rand() < 0.15) attributes |= 0x20;
  if (rand() < 0.15) attributes |= 0x08;
  buffer.writeInt16BE(attributes, ATTRIBUTES_AT);
  return buffer;
}

/** Decodes every batch of `buffer` as kafkajs' fetch response decoding does. */
async function decodeAll(decode: BatchDecoder, buffer: Buffer): Promise<{ batches: unknown[]; offset: number; error: string | null }> {
  const decoder = new Decoder(buffer);
  const batches: unknown[] = [];
  try {
    while ((decoder as unknown as { canReadBytes(n: number): boolean }).canReadBytes(49)) batches.push(await decode(decoder));
    return { batches, offset: decoder.offset, error: null };
  } catch (err) {
    return { batches, offset: decoder.offset, error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

describe('kafkajs record-batch decoder', () => {
  it('decodes 250 random batches exactly as kafkajs does', async () => {
    const rand = prng(20261125);
    let records = 0;
    let pastSafe = 0;
    for (let i = 0; i < 250; i++) {
      const parts = await Promise.all(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomBatch(rand)));
      const buffer = Buffer.concat(parts);
      const want = await decodeAll(original, buffer);
      const got = await decodeAll(fast, buffer);
      expect(got).toEqual(want);
      expect(want.error).toBeNull();
      for (const b of want.batches as { records: { offset: string; timestamp: string }[] }[]) {
        records += b.records.length;
        pastSafe += b.records.filter((r) => !Number.isSafeInteger(Number(r.offset)) || !Number.isSafeInteger(Number(r.timestamp))).length;
      }
    }
    // The random input reached both number paths.
    expect(records).toBeGreaterThan(2500);
    expect(pastSafe).toBeGreaterThan(300);
  });

  it('stops at a truncated batch as kafkajs does (the tail of a fetch response)', async () => {
    const rand = prng(7);
    for (let i = 0; i < 50; i++) {
      const whole = Buffer.concat([await randomBatch(rand), await randomBatch(rand)]);
      const buffer = whole.subarray(0, Math.floor(whole.length * (0.5 + rand() * 0.49)));
      const want = await decodeAll(original, buffer);
      expect(await decodeAll(fast, buffer)).toEqual(want);
    }
  });

  it('on corrupted records fails where kafkajs fails, and otherwise decodes what kafkajs decodes', async () => {
    const rand = prng(99);
    let failed = 0;
    let same = 0;
    for (let i = 0; i < 400; i++) {
      let buffer = await randomBatch(rand);
      // Uncompressed batches only: corrupting gzip tests zlib, not the record decoder.
      if ((buffer.readInt16BE(ATTRIBUTES_AT) & 0x07) !== 0) continue;
      buffer = Buffer.from(buffer);
      const recordsAt = 61; // the batch header ends here; records follow
      if (buffer.length <= recordsAt + 1) continue;
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) buffer[recordsAt + Math.floor(rand() * (buffer.length - recordsAt))] = Math.floor(rand() * 256);
      const want = await decodeAll(original, buffer);
      const got = await decodeAll(fast, buffer);
      if (want.error !== null) {
        expect(got.error, want.error).not.toBeNull();
        failed++;
      } else if (got.error === null) {
        expect(got).toEqual(want);
        same++;
      }
    }
    // Both paths were exercised (most corruptions hit values, which decode to other bytes).
    expect(failed).toBeGreaterThan(0);
    expect(same).toBeGreaterThan(100);
  });

  it('keeps repeated header keys as arrays and `__proto__` as an own key', async () => {
    const header = (key: string, value: string) => ({ key, value: Buffer.from(value) });
    const encoded = encodeRecord({ key: null, value: Buffer.from('v') }) as { buffer: Buffer };
    expect(encoded.buffer.length).toBeGreaterThan(0);
    // kafkajs' encoder writes headers from an object, so build the header array by hand.
    const Header = require('kafkajs/src/protocol/recordBatch/header/v0/index.js') as (h: { key: string; value: Buffer }) => unknown;
    const body = new Encoder() as unknown as {
      writeInt8(n: number): typeof body;
      writeVarLong(n: number): typeof body;
      writeVarInt(n: number): typeof body;
      writeVarIntBytes(b: Buffer | null): typeof body;
      writeVarIntArray(a: unknown[]): typeof body;
      buffer: Buffer;
    };
    body
      .writeInt8(0)
      .writeVarLong(0)
      .writeVarInt(0)
      .writeVarIntBytes(null)
      .writeVarIntBytes(Buffer.from('v'))
      .writeVarIntArray([header('a', '1'), header('a', '2'), header('a', '3'), header('__proto__', 'x')].map(Header));
    const record = new Encoder() as unknown as { writeVarInt(n: number): { writeBuffer(b: Buffer): unknown }; buffer: Buffer };
    record.writeVarInt(body.buffer.length).writeBuffer(body.buffer);
    const { buffer } = await encodeBatch({ records: [record], firstOffset: Long.fromValue(5n) });
    const got = (await decodeAll(fast, buffer)).batches[0] as { records: { headers: Record<string, unknown> }[] };
    const headers = got.records[0]!.headers;
    expect(headers.a).toEqual([Buffer.from('1'), Buffer.from('2'), Buffer.from('3')]);
    expect(Object.hasOwn(headers, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    // The one deliberate difference: kafkajs merges an inherited name with Object.prototype's value.
    const theirs = (await decodeAll(original, buffer)).batches[0] as { records: { headers: Record<string, unknown> }[] };
    expect(theirs.records[0]!.headers.a).toEqual(headers.a);
    expect(theirs.records[0]!.headers.__proto__).toEqual([{}, Buffer.from('x')]);
  });

  it('is the decoder kafkajs uses in `seismo` processes', () => {
    const script = `
      import(${JSON.stringify(join(ROOT, 'dist/src/ingest/kafka-source.js'))}).then(async () => {
        const { createRequire } = await import('node:module');
        const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
        const decoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');
        const { fastRecordsInstalled } = await import(${JSON.stringify(join(ROOT, 'dist/src/ingest/kafkajs-records.js'))});
        const batch = require('kafkajs/src/consumer/batch.js');
        console.log(JSON.stringify({ installed: fastRecordsInstalled(), decoder: decoder.name, batch: batch.name }));
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as object;
    expect(out).toEqual({ installed: true, decoder: 'seismoRecordBatchDecoder', batch: 'SeismoBatch' });
  });

  it('filters a consumer batch by offset, aborted transactions and control records as kafkajs does', () => {
    type Batch = new (topic: string, fetched: string, data: object) => Record<string, unknown> & {
      lastOffset(): string;
      offsetLag(): string;
      firstOffset(): string | null;
    };
    const Theirs = kafkajsOwn<Batch>('kafkajs/src/consumer/batch.js');
    const Ours = createConsumerBatch(
      Theirs as never,
      require('kafkajs/src/consumer/filterAbortedMessages.js') as never,
      Long as never,
    ) as unknown as Batch;
    const rand = prng(11);
    for (let i = 0; i < 300; i++) {
      const big = rand() < 0.3;
      const base = big ? 2n ** 53n - 20n + BigInt(Math.floor(rand() * 40)) : BigInt(Math.floor(rand() * 1000));
      const producerId = rand() < 0.5 ? '7' : '8';
      const messages = Array.from({ length: Math.floor(rand() * 20) }, (_, k) => ({
        offset: (base + BigInt(k)).toString(),
        key: rand() < 0.1 ? Buffer.from([0, 0, 0, 0]) : null,
        isControlRecord: rand() < 0.1,
        batchContext: { producerId, inTransaction: rand() < 0.5 },
      }));
      const fetched = (base + BigInt(Math.floor(rand() * 6))).toString();
      const abortedTransactions = rand() < 0.3 ? [{ producerId, firstOffset: (base + 3n).toString() }] : [];
      const data = { partition: 2, highWatermark: (base + 30n).toString(), messages, abortedTransactions };
      const want = new Theirs('t', fetched, data);
      const got = new Ours('t', fetched, data);
      expect({ ...got }).toEqual({ ...want });
      expect(got).toBeInstanceOf(Theirs);
      expect([got.firstOffset(), got.lastOffset(), got.offsetLag()]).toEqual([want.firstOffset(), want.lastOffset(), want.offsetLag()]);
    }
  });
});
