/**
 * The HTTP server (SPEC section 5): the dashboards page and its assets, the JSON API, /metrics,
 * health probes and the WebSocket upgrade, all on one port. Plain node:http: a dozen fixed
 * routes do not need a framework. Every failure answers a one-line JSON error; nothing a client
 * sends can crash the process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { SeismoError, describeError } from '../errors.js';
import { registry } from '../metrics.js';
import { loadDashboards } from './dashboards.js';
import type { WsHub } from './ws-hub.js';

/** What the server reads from the rest of the application. */
export interface HttpDeps {
  hub: WsHub;
  /** When set, /api/* and /ws require it (Bearer header, or ?token= on the WebSocket URL). */
  token?: string;
  views: () => { name: string; columns: { name: string; type: string }[]; window: unknown; groupBy: string[] }[];
  rules: () => unknown[];
  alerts: () => unknown[];
  /** Historical query; throws SeismoError 'QUERY_REJECTED' for a bad or forbidden query (answered 400). */
  query: (sql: string) => Promise<unknown>;
  metricsText: () => Promise<string>;
  health: () => { live: boolean; ready: boolean; details: Record<string, unknown> };
  dashboardsDir: string;
}

/** A running server. */
export interface HttpServerHandle {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Closes the WebSocket hub, every open connection, and the listener. */
  close(): Promise<void>;
}

const PAGE_CSP =
  "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/** Largest request body accepted (POST /api/query). */
export const MAX_BODY_BYTES = 64 * 1024;

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Starts listening; resolves once the port is bound (port 0 picks a free one). */
export async function startHttpServer(deps: HttpDeps, opts: { port: number; host: string }): Promise<HttpServerHandle> {
  const assets = assetDirs();
  const server = createServer((req, res) => {
    handle(deps, assets, req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: describeError(err) });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = parseUrl(req);
    if (url.pathname !== '/ws') return rejectUpgrade(socket, 404, 'Not Found');
    if (!authorized(deps.token, req, url.searchParams.get('token'))) return rejectUpgrade(socket, 401, 'Unauthorized');
    deps.hub.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    async close() {
      await deps.hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface AssetDirs {
  staticDir: string;
  uplotDir: string;
}

/**
 * Static files stay in src/api/static (tsc does not copy them to dist), so they are found from
 * the package root: the nearest directory above this module holding package.json.
 */
function assetDirs(): AssetDirs {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new SeismoError('CONFIG', 'cannot find the seismo package root (package.json) above the HTTP module');
    dir = parent;
  }
  const uplotDir = dirname(createRequire(join(dir, 'package.json')).resolve('uplot'));
  return { staticDir: join(dir, 'src', 'api', 'static'), uplotDir };
}

async function handle(deps: HttpDeps, assets: AssetDirs, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = parseUrl(req);
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path === '/metrics' || path === '/healthz' || path === '/readyz' || !path.startsWith('/api/')) {
    if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: `${method} is not allowed on ${path}; use GET` }, { allow: 'GET, HEAD' });
    return handleOpen(deps, assets, path, res);
  }

  if (!authorized(deps.token, req, null)) {
    return sendJson(res, 401, { error: 'missing or wrong token: send "Authorization: Bearer <SEISMO_TOKEN>"' }, { 'www-authenticate': 'Bearer' });
  }
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /api/views':
      return sendJson(res, 200, deps.views());
    case 'GET /api/rules':
      return sendJson(res, 200, deps.rules());
    case 'GET /api/alerts':
      return sendJson(res, 200, deps.alerts());
    case 'GET /api/dashboards':
      return sendJson(res, 200, await loadDashboards(deps.dashboardsDir));
    case 'GET /api/engine':
      return sendJson(res, 200, await engineSummary(deps.hub.clientCount()));
    case 'POST /api/query':
      return handleQuery(deps, req, res);
  }
  const known = ['/api/views', '/api/rules', '/api/alerts', '/api/dashboards', '/api/engine', '/api/query'];
  if (known.includes(path)) {
    const allow = path === '/api/query' ? 'POST' : 'GET';
    return sendJson(res, 405, { error: `${method} is not allowed on ${path}; use ${allow}` }, { allow });
  }
  return sendJson(res, 404, { error: `no route ${method} ${path}` });
}

/** Routes that need no token: the page and its assets, metrics and health probes. */
async function handleOpen(deps: HttpDeps, assets: AssetDirs, path: string, res: ServerResponse): Promise<void> {
  switch (path) {
    case '/metrics':
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await deps.metricsText());
      return;
    case '/healthz': {
      const h = deps.health();
      return sendJson(res, h.live ? 200 : 503, { status: h.live ? 'ok' : 'down', ...h });
    }
    case '/readyz': {
      const h = deps.health();
      return sendJson(res, h.ready ? 200 : 503, { status: h.ready ? 'ready' : 'not ready', ...h });
    }
    case '/':
    case '/index.html':
      return sendFile(res, join(assets.staticDir, 'index.html'));
    case '/favicon.ico':
      res.writeHead(204).end();
      return;
    case '/vendor/uplot.esm.js':
      return sendFile(res, join(assets.uplotDir, 'uPlot.esm.js'));
    case '/vendor/uplot.min.css':
      return sendFile(res, join(assets.uplotDir, 'uPlot.min.css'));
  }
  // Only plain file names directly inside static/: no traversal is possible.
  const m = /^\/static\/([A-Za-z0-9_-]+\.(?:js|css|html|svg))$/.exec(path);
  if (m?.[1] !== undefined) return sendFile(res, join(assets.staticDir, m[1]));
  return sendJson(res, 404, { error: `no route GET ${path}` });
}

async function handleQuery(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === 'too-large') {
    return sendJson(res, 413, { error: `request body larger than ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return sendJson(res, 400, { error: `request body is not valid JSON: ${(err as Error).message}` });
  }
  const sql = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['sql'] : undefined;
  if (typeof sql !== 'string' || sql.trim() === '') {
    return sendJson(res, 400, { error: 'expected a JSON body {"sql": "SELECT ..."}' });
  }
  try {
    return sendJson(res, 200, await deps.query(sql));
  } catch (err) {
    const status = err instanceof SeismoError && err.code === 'QUERY_REJECTED' ? 400 : 500;
    return sendJson(res, status, { error: describeError(err) });
  }
}

/** The request body as text, or 'too-large' once it passes MAX_BODY_BYTES (the rest is discarded). */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Engine health for the page, computed from the same prom-client registry as /metrics: totals,
 * gauges and per-label breakdowns. Rates are left to the page, which sees two samples.
 */
export async function engineSummary(wsClients: number): Promise<Record<string, unknown>> {
  const byName = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m.values]));
  const sum = (name: string): number => (byName.get(name) ?? []).reduce((acc, v) => acc + v.value, 0);
  const breakdown = (name: string, labels: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const v of byName.get(name) ?? []) {
      const key = labels.map((l) => String(v.labels[l] ?? '')).join('/');
      out[key] = (out[key] ?? 0) + v.value;
    }
    return out;
  };
  const lastCheckpoint = sum('seismo_last_checkpoint_timestamp_seconds');
  const now = Date.now();
  return {
    at: now,
    eventsConsumedTotal: sum('seismo_events_consumed_total'),
    eventsInvalidTotal: sum('seismo_events_invalid_total'),
    eventsDeduplicatedTotal: sum('seismo_events_deduplicated_total'),
    eventsLateTotal: sum('seismo_events_late_total'),
    alertsEmittedTotal: sum('seismo_alerts_emitted_total'),
    consumerLag: sum('seismo_consumer_lag'),
    checkpointAgeSeconds: lastCheckpoint > 0 ? Math.max(0, now / 1000 - lastCheckpoint) : null,
    checkpointPauseSeconds: sum('seismo_checkpoint_pause_seconds'),
    wsClients,
    consumedByStream: breakdown('seismo_events_consumed_total', ['stream']),
    invalidByReason: breakdown('seismo_events_invalid_total', ['stream', 'reason']),
    lateByView: breakdown('seismo_events_late_total', ['view']),
    lagByPartition: breakdown('seismo_consumer_lag', ['topic', 'partition']),
    openGroupsByView: breakdown('seismo_open_groups', ['view']),
  };
}

/** True when no token is configured, or the request carries it (header, or the ?token= given). */
function authorized(token: string | undefined, req: IncomingMessage, queryToken: string | null): boolean {
  if (token === undefined || token === '') return true;
  const header = req.headers.authorization;
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : queryToken;
  if (presented === null || presented === undefined) return false;
  // Compare digests so the comparison takes the same time whatever the lengths.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function parseUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return new URL('http://localhost/');
  }
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  const body = JSON.stringify({ error: status === 401 ? 'missing or wrong token' : `no WebSocket endpoint here; use /ws` });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

async function sendFile(res: ServerResponse, file: string): Promise<void> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    return sendJson(res, 404, { error: 'no such file' });
  }
  const ext = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, {
    'content-type': STATIC_TYPES[ext] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    // The page loads only its own scripts and talks only to this server, whatever a label says.
    ...(ext === '.html' ? { 'content-security-policy': PAGE_CSP } : {}),
  });
  res.end(content);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}
