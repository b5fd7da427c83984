/**
 * Test fixtures for the HTTP server and the WebSocket hub: a fake engine (views held in maps,
 * changes pushed through hub.publish) and a WebSocket client that records what it receives.
 */
import { WebSocket } from 'ws';
import { SeismoError } from '../../src/errors.js';
import { startHttpServer, type HttpDeps } from '../../src/api/http.js';
import { WsHub, type AlertPayloadLike, type WsHubOptions } from '../../src/api/ws-hub.js';
import type { Value } from '../../src/types.js';

type Row = Record<string, Value>;

/** A stand-in for the engine: live views as key -> row maps. */
export class FakeEngine {
  readonly views = new Map<string, Map<string, Row>>();
  readonly alerts: AlertPayloadLike[] = [];
  ready = true;
  hub?: WsHub;

  constructor(viewNames: string[]) {
    for (const v of viewNames) this.views.set(v, new Map());
  }

  snapshot = (view: string): Row[] | undefined => {
    const rows = this.views.get(view);
    return rows === undefined ? undefined : [...rows.values()];
  };

  /** Changes a row and tells the hub, as the engine will. */
  upsert(view: string, key: string, row: Row): void {
    this.views.get(view)?.set(key, row);
    this.hub?.publish({ view, key, row });
  }

  retract(view: string, key: string, row: Row): void {
    this.views.get(view)?.delete(key);
    this.hub?.publish({ view, key, row, retract: true });
  }

  alert(alert: AlertPayloadLike): void {
    this.alerts.push(alert);
    this.hub?.publishAlert(alert);
  }
}

/** A started server around a FakeEngine. */
export interface FakeApp {
  engine: FakeEngine;
  hub: WsHub;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** Starts the real HTTP server and hub on a random port, fed by a FakeEngine. */
export async function startFakeApp(
  opts: { token?: string; hub?: Partial<WsHubOptions>; views?: string[]; dashboardsDir?: string } = {},
): Promise<FakeApp> {
  const engine = new FakeEngine(opts.views ?? ['latency_by_service', 'request_rate', 'error_rate']);
  const hub = new WsHub({ snapshot: engine.snapshot, activeAlerts: () => engine.alerts.filter((a) => a.status === 'firing'), ...opts.hub });
  engine.hub = hub;
  const deps: HttpDeps = {
    hub,
    ...(opts.token === undefined ? {} : { token: opts.token }),
    views: () =>
      [...engine.views.keys()].map((name) => ({
        name,
        columns: [{ name: 'service', type: 'VARCHAR' }],
        window: { kind: 'tumbling', sizeMs: 10_000 },
        groupBy: ['service'],
      })),
    rules: () => [{ name: 'latency_anomaly', kind: 'alert' }],
    alerts: () => engine.alerts,
    query: async (sql: string) => {
      if (/drop|attach|copy/i.test(sql)) throw new SeismoError('QUERY_REJECTED', 'only read-only statements are allowed');
      if (/^select 42/i.test(sql)) return { columns: ['answer'], rows: [[42n]] };
      return { columns: ['windowstart', 'service', 'requests'], rows: [] };
    },
    metricsText: async () => '# HELP seismo_ws_clients Connected WebSocket clients\nseismo_ws_clients 0\n',
    health: () => ({ live: true, ready: engine.ready, details: { kafka: engine.ready ? 'connected' : 'connecting' } }),
    dashboardsDir: opts.dashboardsDir ?? new URL('../../dashboards', import.meta.url).pathname,
  };
  const server = await startHttpServer(deps, { port: 0, host: '127.0.0.1' });
  return { engine, hub, url: server.url, wsUrl: server.url.replace('http', 'ws') + '/ws', close: () => server.close() };
}

/** Any message the server sends. */
export type ServerMessage = { op: string; id?: string; rows?: Row[]; alert?: AlertPayloadLike; message?: string };

/** A real `ws` client that keeps every message so tests can wait for the one they expect. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  private readonly unread: ServerMessage[] = [];
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  closed?: { code: number; reason: string };
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      this.received.push(msg);
      const i = this.waiters.findIndex((w) => w.pred(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
      else this.unread.push(msg);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  /** Connects; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}, options: { perMessageDeflate?: boolean | { serverMaxWindowBits?: number } } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, ...options });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The first unread message matching pred, waiting for it if needed. */
  next(pred: (m: ServerMessage) => boolean = () => true): Promise<ServerMessage> {
    const i = this.unread.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.unread.splice(i, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** Resolves when the server closes the connection. */
  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.ws.close();
  }
}

/** What one test opened (an app, clients), closed by close() in afterEach. */
export class TestScope {
  app: FakeApp | undefined;
  private readonly clients: TestClient[] = [];

  async start(opts: Parameters<typeof startFakeApp>[0] = {}): Promise<FakeApp> {
    this.app = await startFakeApp(opts);
    return this.app;
  }

  async connect(headers: Record<string, string> = {}, options: { perMessageDeflate?: boolean | { serverMaxWindowBits?: number } } = {}): Promise<TestClient> {
    if (!this.app) throw new Error('start() the app first');
    const c = await TestClient.connect(this.app.wsUrl, headers, options);
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients.splice(0)) c.ws.terminate();
    await this.app?.close();
    this.app = undefined;
  }
}
