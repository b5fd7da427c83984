/**
 * WebSocket text frames built once and written to many sockets.
 *
 * A view's update goes to every subscriber with the same bytes. ws would frame it once per
 * socket and, with permessage-deflate, compress it once per socket too (each socket has its own
 * zlib stream). Here the message is framed once, and compressed once for all the clients that
 * negotiated permessage-deflate (RFC 7692), which every browser offers: the hub asks for
 * `server_no_context_takeover`, so each message is compressed on its own and the compressed
 * bytes are the same for every such client. JSON rows compress about 5×, which is most of what
 * a fan-out to a thousand clients costs: the bytes through the kernel.
 *
 * The frames are written to the socket under ws (its Sender is idle: the hub never asks ws to
 * compress, so ws never queues frames of its own), which keeps ws' bufferedAmount accounting.
 */
import { deflateRawSync, constants as zlib } from 'node:zlib';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

/** Messages shorter than this go uncompressed: deflate would save little and cost a call. */
export const COMPRESS_MIN_BYTES = 256;

/** permessage-deflate parameters as ws keeps them after the handshake (not public API in ws 8). */
interface DeflateParams {
  readonly server_no_context_takeover?: boolean;
  readonly server_max_window_bits?: number;
}

/** The negotiated permessage-deflate window for the server's messages, or null without it. */
export function serverWindowBits(ws: WebSocket): number | null {
  const ext = (ws as unknown as { _extensions?: Record<string, { params?: DeflateParams } | undefined> })._extensions;
  const params = ext?.['permessage-deflate']?.params;
  // Without server_no_context_takeover the client expects a shared context: compress nothing.
  if (!params || params.server_no_context_takeover !== true) return null;
  return typeof params.server_max_window_bits === 'number' ? params.server_max_window_bits : 15;
}

/** A WebSocket frame header (FIN, text opcode, RSV1 when compressed; servers never mask). */
function frameHeader(length: number, compressed: boolean): Buffer {
  const first = 0x81 | (compressed ? 0x40 : 0);
  if (length < 126) return Buffer.from([first, length]);
  if (length < 65536) {
    const h = Buffer.allocUnsafe(4);
    h[0] = first;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.allocUnsafe(10);
  h[0] = first;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

/**
 * One text message, framed lazily: plain, and compressed per window size in use. Only messages
 * that go to many clients (`fanOut`) are compressed: there one deflate serves them all, while a
 * message for one client (a snapshot, a backlog drain, an error) would pay a deflate per client,
 * and a server with many clients behind would spend its time compressing.
 */
export class SharedMessage {
  private plain: Buffer | undefined;
  private readonly deflated = new Map<number, Buffer>();

  constructor(
    readonly text: Buffer,
    readonly fanOut = false,
  ) {}

  /** The whole frame (header and payload) for a client with these deflate parameters. */
  frame(windowBits: number | null): Buffer {
    // zlib's raw deflate has no 256-byte window: a client that asked for one gets plain frames.
    if (!this.fanOut || windowBits === null || windowBits < 9 || this.text.length < COMPRESS_MIN_BYTES) {
      return (this.plain ??= Buffer.concat([frameHeader(this.text.length, false), this.text]));
    }
    let frame = this.deflated.get(windowBits);
    if (frame === undefined) {
      // RFC 7692 7.2.1: compress with a sync flush and drop its trailing 00 00 ff ff.
      const out = deflateRawSync(this.text, { windowBits, finishFlush: zlib.Z_SYNC_FLUSH });
      const payload = out.subarray(0, out.length - 4);
      frame = Buffer.concat([frameHeader(payload.length, true), payload]);
      this.deflated.set(windowBits, frame);
    }
    return frame;
  }
}

/** Writes the message to an open client; false when the client is not open. */
export function sendShared(ws: WebSocket, message: SharedMessage, windowBits: number | null): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  const socket = (ws as unknown as { _socket: Duplex | null })._socket;
  if (!socket || socket.destroyed) return false;
  socket.write(message.frame(windowBits));
  return true;
}
