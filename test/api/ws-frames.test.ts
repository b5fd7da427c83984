/**
 * Frames written once for many clients (src/api/ws-frames.ts): valid RFC 6455 text frames, and
 * permessage-deflate payloads (RFC 7692) that inflate to the message; over a real server, a
 * client with permessage-deflate and one without receive the same messages, the first with far
 * fewer bytes.
 */
import { constants, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedMessage, COMPRESS_MIN_BYTES } from '../../src/api/ws-frames.js';
import { prng } from '../../src/prng.js';
import { TestScope, type TestClient } from './fake-app.js';

/** Parses one unmasked server frame: flags and payload. */
function parseFrame(frame: Buffer): { fin: boolean; rsv1: boolean; opcode: number; payload: Buffer } {
  const masked = (frame[1]! & 0x80) !== 0;
  expect(masked).toBe(false);
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    length = frame.readUInt32BE(2) * 2 ** 32 + frame.readUInt32BE(6);
    at = 10;
  }
  expect(frame.length).toBe(at + length);
  return { fin: (frame[0]! & 0x80) !== 0, rsv1: (frame[0]! & 0x40) !== 0, opcode: frame[0]! & 0x0f, payload: frame.subarray(at) };
}

function rowsText(n: number, seed: number): Buffer {
  const rand = prng(seed);
  const rows = Array.from({ length: n }, (_, i) => ({ service: `svc-${i}`, windowstart: 1_764_000_000_000 + i, p99_ms: Math.round(rand() * 1e5) / 100 }));
  return Buffer.from(JSON.stringify({ op: 'update', id: 's1', rows }));
}

describe('SharedMessage frames', () => {
  it.each([1, 2, 3, 40, 500, 1_000, 3_000])('frames %i rows plainly and compressed, at every length encoding', (n) => {
    const text = rowsText(n, n);
    const plain = parseFrame(new SharedMessage(text, true).frame(null));
    expect(plain).toMatchObject({ fin: true, rsv1: false, opcode: 1 });
    expect(plain.payload.equals(text)).toBe(true);
    for (const bits of [15, 12, 9]) {
      const frame = parseFrame(new SharedMessage(text, true).frame(bits));
      expect(frame.fin && frame.opcode === 1).toBe(true);
      expect(frame.rsv1).toBe(text.length >= COMPRESS_MIN_BYTES);
      const body = frame.rsv1 ? inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]), { windowBits: bits, finishFlush: constants.Z_SYNC_FLUSH }) : frame.payload;
      expect(body.equals(text)).toBe(true);
    }
  });

  it('sends plain frames when the window is too small for zlib, and for one-client messages', () => {
    const text = rowsText(100, 1);
    expect(parseFrame(new SharedMessage(text, true).frame(8)).rsv1).toBe(false);
    expect(parseFrame(new SharedMessage(text).frame(15)).rsv1).toBe(false);
  });
});

const scope = new TestScope();
afterEach(() => scope.close());

describe('permessage-deflate over a real server', () => {
  it('gives a deflate client and a plain client the same messages, updates in far fewer bytes', async () => {
    const app = await scope.start();
    const row = (i: number, v: number) => ({ service: `svc-${i}`, windowstart: 0, windowend: 60_000, p99_ms: v });
    for (let i = 0; i < 200; i++) app.engine.upsert('latency_by_service', `svc-${i}|0`, row(i, i));
    const deflate = await scope.connect({}, { perMessageDeflate: true });
    const plain = await scope.connect({}, { perMessageDeflate: false });
    expect(deflate.ws.extensions).toBe('permessage-deflate');
    expect(plain.ws.extensions).toBe('');
    for (const c of [deflate, plain]) c.send({ op: 'subscribe', id: 's1', view: 'latency_by_service' });
    const snapshots = await Promise.all([deflate, plain].map((c) => c.next((m) => m.op === 'snapshot')));
    expect(snapshots[0]).toEqual(snapshots[1]);
    expect(snapshots[0]!.rows).toHaveLength(200);
    const bytes = (c: TestClient) => (c.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
    const before = [bytes(deflate), bytes(plain)];
    for (let i = 0; i < 200; i++) app.engine.upsert('latency_by_service', `svc-${i}|0`, row(i, i * 1.5));
    const updates = await Promise.all([deflate, plain].map((c) => c.next((m) => m.op === 'update')));
    expect(updates[0]).toEqual(updates[1]);
    expect(updates[0]!.rows).toHaveLength(200);
    // The update goes to many clients: compressed once, for the client that negotiated it.
    expect(bytes(deflate) - before[0]!).toBeLessThan((bytes(plain) - before[1]!) / 3);
    // Errors (small, uncompressed) reach both too, and the connection stays usable.
    for (const c of [deflate, plain]) c.send({ op: 'nope' });
    const errors = await Promise.all([deflate, plain].map((c) => c.next((m) => m.op === 'error')));
    expect(errors[0]).toEqual(errors[1]);
  });

  it.each([9, 8])('honours a client that limits the server window to %i bits', async (bits) => {
    const app = await scope.start();
    const row = (i: number, v: number) => ({ service: `svc-${i}`, windowstart: 0, windowend: 60_000, p99_ms: v });
    const small = await scope.connect({}, { perMessageDeflate: { serverMaxWindowBits: bits } });
    const plain = await scope.connect({}, { perMessageDeflate: false });
    for (const c of [small, plain]) c.send({ op: 'subscribe', id: 's1', view: 'latency_by_service' });
    await Promise.all([small, plain].map((c) => c.next((m) => m.op === 'snapshot')));
    for (let i = 0; i < 300; i++) app.engine.upsert('latency_by_service', `svc-${i}|0`, row(i, i * 2.5));
    const updates = await Promise.all([small, plain].map((c) => c.next((m) => m.op === 'update')));
    expect(updates[0]).toEqual(updates[1]);
    expect(updates[0]!.rows).toHaveLength(300);
  });
});
