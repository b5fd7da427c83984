/**
 * WebSocket fan-out benchmark (`npm run bench:ws`): 1,000 clients subscribed to one view of 100
 * groups that change continuously. Prints one JSON line:
 * - the publishing loop's updates/s with no clients (baseline) and with the clients, measured in
 *   the same run, and the loss between them (target < 10%);
 * - delivery latency from publish() to the client's receipt, p50/p99 (target p99 < 200 ms). It
 *   includes the coalescing wait of up to one flush interval (100 ms): that delay is by design.
 *
 * The clients run in a child process (the machine has 2 cores: one for the server, one for the
 * clients) so their JSON parsing does not eat the server's time. Options: --clients N --groups N
 * --seconds N.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { WsHub } from '../src/api/ws-hub.js';
import { startHttpServer } from '../src/api/http.js';
import type { Value } from '../src/types.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    groups: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    role: { type: 'string', default: 'server' },
    url: { type: 'string', default: '' },
  },
});
const CLIENTS = Number(args.clients);
const GROUPS = Number(args.groups);
const SECONDS = Number(args.seconds);
const VIEW = 'bench_latency';
/** Updates published between two yields to the event loop, like one consumed batch of the engine. */
const BATCH = 500;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const wallNow = () => performance.timeOrigin + performance.now();

/** Latency histogram in 0.1 ms buckets up to 10 s (the last bucket collects the rest). */
class Histogram {
  readonly buckets = new Float64Array(100_001);
  count = 0;
  add(ms: number): void {
    this.buckets[Math.min(100_000, Math.max(0, Math.round(ms * 10)))]! += 1;
    this.count++;
  }
  merge(other: number[]): void {
    other.forEach((n, i) => {
      this.buckets[i]! += n;
      this.count += n;
    });
  }
  quantile(q: number): number {
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= target && seen > 0) return i / 10;
    }
    return NaN;
  }
}

// ---------------------------------------------------------------- client process
async function runClients(url: string): Promise<void> {
  const hist = new Histogram();
  let messages = 0;
  let bytes = 0;
  let measuring = false;
  let snapshots = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 's', view: VIEW })));
    ws.on('message', (data: Buffer) => {
      const receivedAt = wallNow();
      const msg = JSON.parse(data.toString()) as { op: string; rows: { t: number }[] };
      if (msg.op === 'snapshot') {
        if (++snapshots === CLIENTS) process.send!({ type: 'ready' });
        return;
      }
      if (!measuring || msg.op !== 'update') return;
      messages++;
      bytes += data.length;
      for (const row of msg.rows) hist.add(receivedAt - row.t);
    });
    ws.on('error', (err) => process.send!({ type: 'error', message: err.message }));
    // Open connections in small bursts so the listen backlog never overflows.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'start') measuring = true;
    if (m.type === 'stop') {
      measuring = false;
      process.send!({ type: 'report', buckets: Array.from(hist.buckets), messages, bytes });
      for (const ws of sockets) ws.terminate();
      setTimeout(() => process.exit(0), 100);
    }
  });
}

// ---------------------------------------------------------------- server process
function makeRows(): { keys: string[]; services: string[] } {
  const services = Array.from({ length: GROUPS }, (_, g) => `svc-${String(g).padStart(3, '0')}`);
  return { keys: services.map((s) => `${s}|0`), services };
}

/** Publishes as fast as possible for `ms`, yielding every BATCH updates; returns updates/s. */
async function publishLoop(hub: WsHub, ms: number): Promise<number> {
  const { keys, services } = makeRows();
  const windowstart = Math.floor(Date.now() / 60_000) * 60_000;
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let i = 0; i < BATCH; i++, n++) {
      const g = n % GROUPS;
      const row: Record<string, Value> = {
        service: services[g]!,
        windowstart,
        windowend: windowstart + 60_000,
        requests: n,
        avg_ms: 20 + (n % 97) / 10,
        p99_ms: 80 + (n % 89),
        t: wallNow(),
      };
      hub.publish({ view: VIEW, key: keys[g]!, row });
    }
    await new Promise((r) => setImmediate(r));
  }
  return n / ((performance.now() - start) / 1000);
}

function waitFor(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m['type'] === type) {
        child.off('message', onMessage);
        resolve(m);
      } else if (m['type'] === 'error') reject(new Error(`client: ${String(m['message'])}`));
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
  });
}

async function runServer(): Promise<void> {
  const { services } = makeRows();
  const snapshotRows = services.map((service) => ({ service, requests: 0, t: wallNow() }));
  const hub = new WsHub({
    snapshot: (view) => (view === VIEW ? snapshotRows : undefined),
    activeAlerts: () => [],
    // Room for one connection storm of 1,000 clients without counting them as slow.
    maxBufferedBytes: 4 * 1024 * 1024,
  });
  const server = await startHttpServer(
    {
      hub,
      views: () => [],
      rules: () => [],
      alerts: () => [],
      query: async () => ({ columns: [], rows: [] }),
      metricsText: async () => '',
      health: () => ({ live: true, ready: true, details: {} }),
      dashboardsDir: '/nonexistent',
    },
    { port: 0, host: '127.0.0.1' },
  );

  const ms = SECONDS * 1000;
  await publishLoop(hub, 1000); // warm-up: let the JIT settle before measuring
  const baseline = await publishLoop(hub, ms);

  const child = fork(fileURLToPath(import.meta.url), ['--role', 'clients', '--url', `${server.url.replace('http', 'ws')}/ws`, '--clients', String(CLIENTS), '--groups', String(GROUPS)]);
  await waitFor(child, 'ready');
  const connected = hub.clientCount();
  await publishLoop(hub, 1000);
  child.send({ type: 'start' });
  const withClients = await publishLoop(hub, ms);
  // Let the last flush arrive before stopping the clients' measurement.
  await new Promise((r) => setTimeout(r, 300));
  child.send({ type: 'stop' });
  const report = await waitFor(child, 'report');
  const hist = new Histogram();
  hist.merge(report['buckets'] as number[]);
  const stillConnected = hub.clientCount();
  await server.close();

  const round = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      bench: 'ws',
      clients: connected,
      clientsConnectedAtEnd: stillConnected,
      groups: GROUPS,
      seconds: SECONDS,
      flushIntervalMs: 100,
      baselineUpdatesPerSec: Math.round(baseline),
      withClientsUpdatesPerSec: Math.round(withClients),
      throughputLossPct: round((1 - withClients / baseline) * 100),
      latencyMs: { p50: hist.quantile(0.5), p90: hist.quantile(0.9), p99: hist.quantile(0.99), max: hist.quantile(1) },
      rowsDelivered: hist.count,
      messagesDelivered: report['messages'],
      megabytesDelivered: round(Number(report['bytes']) / 1e6),
      targets: { p99Ms: 200, throughputLossPct: 10 },
    }),
  );
}

if (args.role === 'clients') await runClients(args.url);
else await runServer();
