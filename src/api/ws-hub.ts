/**
 * The WebSocket hub: live view rows and alerts pushed to dashboard clients (SPEC section 5).
 *
 * publish() records a changed row in the view's pending map (latest change per row key wins) and
 * arms the flush timer; it must never slow the engine, and views nobody subscribes to cost one
 * Map lookup. The engine coalesces its changes itself and publishes them when a flush asks for
 * them (`collect`), so an update waits for one timer, not two. Every flushIntervalMs the pending
 * rows of each view are filtered once per distinct `where` filter, serialised once, framed (and
 * compressed, for clients with permessage-deflate) once, and the same frame goes to every
 * subscription sharing that filter (ws-frames.ts). A client whose socket buffer is over
 * maxBufferedBytes receives nothing: its rows pile up in a per-subscription backlog (keyed by row
 * key, so bounded by the view's size) until it drains, and a client that stays behind for
 * maxBehindFlushes flushes is closed with code 1008 and a reason. Fan-out runs on the engine's
 * thread, so after an expensive flush (many clients) the next one waits FLUSH_DUTY_DIVISOR times
 * as long as that flush took, if that is longer than the interval: sending takes at most about
 * 5% of the thread, and under load clients get bigger, rarer updates instead of the engine slowing.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { metrics } from '../metrics.js';
import { SharedMessage, sendShared, serverWindowBits } from './ws-frames.js';
import type { Value } from '../types.js';

/** One changed row of a live view, as the engine reports it. */
export interface ViewRowUpdate {
  view: string;
  /** Stable id of the row: group key + window start. Later updates with the same key replace earlier ones. */
  key: string;
  /** The row: group columns, aggregate columns, windowstart/windowend (epoch ms) when windowed. */
  row: Record<string, Value>;
  /** The row left the view (a merged-away session, a group that stopped matching HAVING). */
  retract?: boolean;
}

/** The part of an alert payload (SPEC section 4) the hub relies on; the rest is passed through. */
export interface AlertPayloadLike {
  fingerprint: string;
  status: string;
  [field: string]: unknown;
}

/** Options of a WsHub. */
export interface WsHubOptions {
  /** How often coalesced updates are sent, at most (default 100 ms). */
  flushIntervalMs?: number;
  /** Subscriptions one connection may hold (default 100). */
  maxSubscriptionsPerClient?: number;
  /** A client with more than this many bytes queued on its socket is "behind" (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Consecutive flushes a client may stay behind before it is disconnected (default 50, i.e. 5 s). */
  maxBehindFlushes?: number;
  /** Heartbeat: a peer that does not answer a ping within one interval is dropped (default 30 s). */
  pingIntervalMs?: number;
  /** The view's current rows, or undefined for an unknown view. */
  snapshot: (view: string) => Record<string, Value>[] | undefined;
  /** Alerts currently firing (and recently resolved), sent as the snapshot of an alerts subscription. */
  activeAlerts: () => AlertPayloadLike[];
  /**
   * Called at the start of every flush, for a producer that coalesces changes itself (the engine
   * does, per group and window): it publishes them now, so an update waits for the hub's timer
   * alone, not for the producer's and then the hub's. Such a producer calls changesPending() when
   * it starts holding changes of a watched view; the hub then flushes as soon as the interval
   * since the last flush allows (so a quiet view's change goes out at once, not up to an interval
   * later).
   */
  collect?: () => void;
}

/** Close code sent to a client that stayed behind (RFC 6455 1008: policy violation). */
export const SLOW_CLIENT_CLOSE_CODE = 1008;
const MAX_ID_LENGTH = 128;
/** A flush that took d ms delays the next one by at least FLUSH_DUTY_DIVISOR * d ms. */
const FLUSH_DUTY_DIVISOR = 18;
const MAX_MESSAGE_BYTES = 64 * 1024;
/** On shutdown, how long peers get to answer the close frame. */
const SHUTDOWN_GRACE_MS = 1000;
/** After a close frame, how long a peer gets to answer before its socket is destroyed. */
const CLOSE_GRACE_MS = 10_000;

type Where = Record<string, string | number | boolean | null>;
/** A row as sent: the engine's row, or its copy with `_retract: true`. */
type WireRow = Record<string, Value>;

interface Client {
  ws: WebSocket;
  /** Negotiated permessage-deflate window of our messages, or null: see ws-frames.ts. */
  deflate: number | null;
  subs: Map<string, Subscription>;
  alive: boolean;
  behindFlushes: number;
}

interface Subscription {
  id: string;
  client: Client;
  /** Prefix of every message to this subscription, e.g. `{"op":"update","id":"s1","rows":`. */
  updatePrefix: Buffer;
  view?: ViewEntry;
  group?: FilterGroup;
  /** Rows held back while the client was behind (key -> latest update). */
  backlog?: Map<string, WireRow>;
  /** Alerts held back while the client was behind. */
  alertBacklog?: AlertPayloadLike[];
}

/** Subscriptions of one view sharing the same `where`: filtered and serialised once per flush. */
interface FilterGroup {
  where: Where;
  subs: Set<Subscription>;
}

interface ViewEntry {
  name: string;
  /** In this.dirty: changes wait for the next flush (a flag is cheaper than Set.add per publish). */
  dirty: boolean;
  pending: Map<string, WireRow>;
  groups: Map<string, FilterGroup>;
}

/** Fans view changes and alerts out to WebSocket subscribers without ever blocking the engine. */
export class WsHub {
  private readonly flushIntervalMs: number;
  private readonly maxSubscriptions: number;
  private readonly maxBufferedBytes: number;
  private readonly maxBehindFlushes: number;
  private readonly opts: WsHubOptions;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly views = new Map<string, ViewEntry>();
  private readonly dirty = new Set<ViewEntry>();
  /** The entry publish() found last; cleared when its view loses its last subscriber. */
  private lastEntry: ViewEntry | undefined;
  private readonly alertSubs = new Set<Subscription>();
  /** Subscriptions holding rows or alerts back because their client was behind. */
  private readonly backlogged = new Set<Subscription>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;
  private nextDelayMs: number;
  private lastFlushAt = -Infinity;
  /** In flush(): publish() from collect() must not arm a timer before the next delay is known. */
  private flushing = false;

  constructor(opts: WsHubOptions) {
    this.opts = opts;
    this.flushIntervalMs = positive(opts.flushIntervalMs, 100, 'flushIntervalMs');
    this.maxSubscriptions = positive(opts.maxSubscriptionsPerClient, 100, 'maxSubscriptionsPerClient');
    this.maxBufferedBytes = positive(opts.maxBufferedBytes, 1024 * 1024, 'maxBufferedBytes');
    this.maxBehindFlushes = positive(opts.maxBehindFlushes, 50, 'maxBehindFlushes');
    this.nextDelayMs = this.flushIntervalMs;
    const pingIntervalMs = positive(opts.pingIntervalMs, 30_000, 'pingIntervalMs');
    // permessage-deflate without context takeover: each message is compressed once, on its own,
    // for every client that negotiated it (ws-frames.ts); ws itself compresses nothing.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: { serverNoContextTakeover: true } });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    this.pingTimer = setInterval(() => this.heartbeat(), pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Records a changed row; O(1), never blocks: rows are coalesced per key until the next flush. */
  publish(update: ViewRowUpdate): void {
    // The engine publishes runs of changes to one view: remembering the last entry saves a Map
    // lookup per change (the names are usually the same string, so the compare is one pointer).
    let entry = this.lastEntry;
    if (entry === undefined || entry.name !== update.view) {
      entry = this.views.get(update.view);
      if (entry === undefined) return;
      this.lastEntry = entry;
    }
    // Retractions are rare: mark them now, so the common path stores the engine's row as is.
    entry.pending.set(update.key, update.retract === true ? { ...update.row, _retract: true } : update.row);
    if (entry.dirty) return;
    entry.dirty = true;
    this.dirty.add(entry);
    this.armFlush();
  }

  /**
   * A collecting producer (WsHubOptions.collect) holds changes of a watched view: flush as soon
   * as the interval allows. Cheap enough to call per change; the engine calls it once per flush.
   */
  changesPending(): void {
    if (this.opts.collect && this.flushTimer === undefined && this.views.size > 0) this.armFlush();
  }

  /** Whether any client subscribes to the view (the engine computes changes only then). */
  hasSubscribers(view: string): boolean {
    return this.views.has(view);
  }

  /** Sends an alert transition to every alerts subscription right away (alerts are rare and urgent). */
  publishAlert(alert: AlertPayloadLike): void {
    for (const sub of this.alertSubs) {
      if (this.isBehind(sub.client) || this.backlogged.has(sub)) {
        (sub.alertBacklog ??= []).push(alert);
        this.backlogged.add(sub);
        this.armFlush();
      } else sendJson(sub.client, { op: 'alert', id: sub.id, alert });
    }
  }

  /** Completes a WebSocket upgrade (the caller has already checked the path and the token). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** Connected clients (those disconnected for being slow no longer count). */
  clientCount(): number {
    return this.clients.size;
  }

  /** Closes every connection with 1001 (going away) and stops the timers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    const sockets = [...this.clients].map((c) => c.ws);
    for (const client of [...this.clients]) this.disconnect(client, 1001, 'server shutting down');
    // Give peers a moment to answer the close frame, then cut the rest so shutdown never hangs.
    await Promise.race([
      Promise.all(sockets.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : new Promise((r) => ws.once('close', r))))),
      new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref()),
    ]);
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    const client: Client = { ws, deflate: serverWindowBits(ws), subs: new Map(), alive: true, behindFlushes: 0 };
    this.clients.add(client);
    metrics.wsClients.set(this.clients.size);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('close', () => this.forget(client));
    // A socket error is followed by 'close'; listening keeps it from becoming an uncaught exception.
    ws.on('error', () => this.forget(client));
  }

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    if (!this.clients.has(client)) return;
    if (isBinary) return this.sendError(client, undefined, 'binary messages are not supported; send JSON text');
    let msg: unknown;
    try {
      msg = JSON.parse(rawToString(data));
    } catch (err) {
      return this.sendError(client, undefined, `invalid JSON: ${(err as Error).message}`);
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      return this.sendError(client, undefined, 'a message must be a JSON object with an "op" field');
    }
    const m = msg as Record<string, unknown>;
    const id = m['id'];
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      return this.sendError(client, undefined, `"id" must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    if (m['op'] === 'subscribe') this.subscribe(client, id, m);
    else if (m['op'] === 'unsubscribe') this.unsubscribe(client, id);
    else this.sendError(client, id, `unknown op ${JSON.stringify(m['op'])}; expected "subscribe" or "unsubscribe"`);
  }

  private subscribe(client: Client, id: string, m: Record<string, unknown>): void {
    if (client.subs.has(id)) return this.sendError(client, id, `subscription id "${id}" is already in use`);
    if (client.subs.size >= this.maxSubscriptions) {
      return this.sendError(client, id, `too many subscriptions (at most ${this.maxSubscriptions} per connection)`);
    }
    const updatePrefix = Buffer.from(`{"op":"update","id":${JSON.stringify(id)},"rows":`);
    if (m['alerts'] === true) {
      if (m['view'] !== undefined) return this.sendError(client, id, 'subscribe to either a view or alerts, not both');
      const sub: Subscription = { id, client, updatePrefix };
      client.subs.set(id, sub);
      this.alertSubs.add(sub);
      sendJson(client, { op: 'snapshot', id, rows: this.opts.activeAlerts() });
      return;
    }
    const view = m['view'];
    if (typeof view !== 'string' || view === '') {
      return this.sendError(client, id, 'subscribe needs "view": "<name>" or "alerts": true');
    }
    const where = parseWhere(m['where']);
    if (typeof where === 'string') return this.sendError(client, id, where);
    const rows = this.opts.snapshot(view);
    if (rows === undefined) return this.sendError(client, id, `unknown view "${view}"`);

    let entry = this.views.get(view);
    if (entry === undefined) {
      entry = { name: view, dirty: false, pending: new Map(), groups: new Map() };
      this.views.set(view, entry);
    }
    const whereKey = canonicalWhere(where);
    let group = entry.groups.get(whereKey);
    if (group === undefined) {
      group = { where, subs: new Set() };
      entry.groups.set(whereKey, group);
    }
    const sub: Subscription = { id, client, updatePrefix, view: entry, group };
    group.subs.add(sub);
    client.subs.set(id, sub);
    // Rows already pending for this view may repeat what the snapshot holds; updates are upserts, so that is harmless.
    sendJson(client, { op: 'snapshot', id, rows: rows.filter((r) => matches(r, where)) });
    if (this.opts.collect) this.armFlush();
  }

  private unsubscribe(client: Client, id: string): void {
    const sub = client.subs.get(id);
    if (sub === undefined) return this.sendError(client, id, `no subscription with id "${id}"`);
    this.removeSubscription(sub);
  }

  private removeSubscription(sub: Subscription): void {
    sub.client.subs.delete(sub.id);
    this.alertSubs.delete(sub);
    this.backlogged.delete(sub);
    const { view, group } = sub;
    if (view === undefined || group === undefined) return;
    group.subs.delete(sub);
    if (group.subs.size > 0) return;
    view.groups.delete(canonicalWhere(group.where));
    if (view.groups.size > 0) return;
    // Nobody watches this view any more: publish() goes back to a single failed lookup.
    this.views.delete(view.name);
    this.dirty.delete(view);
    if (this.lastEntry === view) this.lastEntry = undefined;
  }

  /** Sends each view's coalesced changes; runs at most once per flushIntervalMs. */
  private flush(): void {
    const started = performance.now();
    this.lastFlushAt = started;
    this.flushTimer = undefined;
    this.flushing = true;
    try {
      this.opts.collect?.();
      this.flushOnce();
    } finally {
      this.flushing = false;
      // Fan-out shares the engine's thread: keep it under ~1/FLUSH_DUTY_DIVISOR of the time by
      // waiting longer after an expensive flush (many clients) than the configured interval.
      this.nextDelayMs = Math.max(this.flushIntervalMs, (performance.now() - started) * FLUSH_DUTY_DIVISOR);
      // Again when changes wait or clients are behind (checked even while the views are quiet).
      // A collecting producer says when it holds changes (changesPending).
      if (this.dirty.size > 0 || this.backlogged.size > 0) this.armFlush();
    }
  }

  private flushOnce(): void {
    const behind = new Set<Client>();
    for (const client of this.clients) {
      if (!this.isBehind(client)) {
        client.behindFlushes = 0;
        continue;
      }
      if (++client.behindFlushes >= this.maxBehindFlushes) {
        this.disconnect(client, SLOW_CLIENT_CLOSE_CODE, `too slow: more than ${this.maxBufferedBytes} bytes unread for ${client.behindFlushes} flushes`);
      } else {
        behind.add(client);
      }
    }
    for (const entry of this.dirty) this.flushView(entry, behind);
    this.dirty.clear();
    // Clients that just caught up get what piled up for them even if their views were quiet.
    for (const sub of this.backlogged) {
      if (!behind.has(sub.client)) this.drainBacklog(sub);
    }
  }

  private flushView(entry: ViewEntry, behind: Set<Client>): void {
    const changes = [...entry.pending];
    entry.pending = new Map();
    entry.dirty = false;
    for (const group of entry.groups.values()) {
      const matched = changes.filter(([, row]) => matches(row, group.where));
      if (matched.length === 0) continue;
      let body: Buffer | undefined;
      // Pages open the same dashboard with the same subscription ids: they share one message.
      const messages = new Map<string, SharedMessage>();
      for (const sub of group.subs) {
        if (behind.has(sub.client) || this.backlogged.has(sub)) {
          const backlog = (sub.backlog ??= new Map());
          for (const [key, row] of matched) backlog.set(key, row);
          this.backlogged.add(sub);
          continue;
        }
        body ??= Buffer.from(`${serializeRows(matched.map(([, row]) => row))}}`);
        let message = messages.get(sub.id);
        if (message === undefined) {
          message = new SharedMessage(Buffer.concat([sub.updatePrefix, body]), true);
          messages.set(sub.id, message);
        }
        sendShared(sub.client.ws, message, sub.client.deflate);
      }
    }
  }

  private drainBacklog(sub: Subscription): void {
    this.backlogged.delete(sub);
    if (sub.backlog !== undefined) {
      const rows = [...sub.backlog.values()];
      sub.backlog = undefined;
      const text = Buffer.concat([sub.updatePrefix, Buffer.from(`${serializeRows(rows)}}`)]);
      sendShared(sub.client.ws, new SharedMessage(text), sub.client.deflate);
    }
    if (sub.alertBacklog !== undefined) {
      const alerts = sub.alertBacklog;
      sub.alertBacklog = undefined;
      for (const alert of alerts) sendJson(sub.client, { op: 'alert', id: sub.id, alert });
    }
  }

  /** Schedules the next flush one delay after the last one (at once if that is past). */
  private armFlush(): void {
    if (this.closed || this.flushing || this.flushTimer !== undefined) return;
    const wait = Math.max(0, this.lastFlushAt + this.nextDelayMs - performance.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private isBehind(client: Client): boolean {
    return client.ws.bufferedAmount > this.maxBufferedBytes;
  }

  private heartbeat(): void {
    for (const client of [...this.clients]) {
      if (!client.alive) {
        this.forget(client);
        client.ws.terminate();
        continue;
      }
      // ping() throws unless OPEN; a closing peer is forgotten on its 'close' event.
      if (client.ws.readyState !== WebSocket.OPEN) continue;
      client.alive = false;
      client.ws.ping();
    }
  }

  /** Stops sending to a client and closes it; its socket is destroyed if the peer never answers. */
  private disconnect(client: Client, code: number, reason: string): void {
    this.forget(client);
    client.ws.close(code, reason);
    setTimeout(() => client.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private forget(client: Client): void {
    if (!this.clients.delete(client)) return;
    for (const sub of [...client.subs.values()]) this.removeSubscription(sub);
    metrics.wsClients.set(this.clients.size);
  }

  private sendError(client: Client, id: string | undefined, message: string): void {
    sendJson(client, id === undefined ? { op: 'error', message } : { op: 'error', id, message });
  }
}

/** Rows as JSON (retracted rows already carry `"_retract": true` next to their group columns). */
function serializeRows(rows: WireRow[]): string {
  return JSON.stringify(rows, jsonSafe);
}

function sendJson(client: Client, msg: unknown): void {
  if (client.ws.readyState === WebSocket.OPEN) sendShared(client.ws, new SharedMessage(Buffer.from(JSON.stringify(msg, jsonSafe))), client.deflate);
}

/** JSON has no bigint; DuckDB-backed snapshots may contain them. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Validates a subscription's `where` ({column: scalar}); returns the filter or an error message. */
function parseWhere(raw: unknown): Where | string {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return '"where" must be an object of column: value';
  const where: Where = {};
  for (const [col, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      return `"where.${col}" must be a string, number, boolean or null`;
    }
    where[col.toLowerCase()] = v;
  }
  return where;
}

function canonicalWhere(where: Where): string {
  return JSON.stringify(Object.keys(where).sort().map((k) => [k, where[k]]));
}

/** Equality per column; "42" matches 42 so that filters typed in a URL or JSON file still work. */
function matches(row: Record<string, Value>, where: Where): boolean {
  for (const col in where) {
    const want = where[col];
    const got = row[col];
    if (got === want) continue;
    if (want === null || got === null || got === undefined || typeof got === 'object') return false;
    if (String(got) !== String(want)) return false;
  }
  return true;
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`WsHub option ${name} must be a positive number, got ${v}`);
  return v;
}
