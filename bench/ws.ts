/**
 * WebSocket fan-out benchmark (`npm run bench:ws`): 1,000 clients subscribed to one view of 100
 * groups that change continuously. Prints one JSON line:
 * - the publishing loop's updates/s with the clients connected but not subscribed (baseline) and
 *   with all of them subscribed, in paired phases of the same run, and the median of the pairs'
 *   losses (target < 10%). The loop is the engine's live path in miniature (decode, aggregate,
 *   mark the group changed; the hub's flush collects the changed rows), see publishLoop;
 * - delivery latency from publish() to the client's receipt, p50/p99 (target p99 < 200 ms). It
 *   includes the coalescing wait of up to one flush interval (100 ms): that delay is by design.
 *
 * The clients run in a child process (the machine has 2 cores: one for the server, one for the
 * clients) so their JSON parsing does not eat the server's time. Options: --clients N --groups N
 * --seconds N (per phase) --rounds N. BENCH_WS_DEFLATE=1: the clients negotiate
 * permessage-deflate, as browsers do, and the hub compresses each update once for all of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { WebSocket } from 'ws';
import { WsHub } from '../src/api/ws-hub.js';
import { startHttpServer } from '../src/api/http.js';
import type { Value } from '../src/types.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    groups: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '8' },
    role: { type: 'string', default: 'server' },
    url: { type: 'string', default: '' },
  },
});
const CLIENTS = Number(args.clients);
const GROUPS = Number(args.groups);
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const VIEW = 'bench_latency';
const DEFLATE = process.env.BENCH_WS_DEFLATE === '1';
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
const SNAPSHOT = Buffer.from('{"op":"snapshot"');
const UPDATE = Buffer.from('{"op":"update"');
const T_FIELD = Buffer.from('"t":');
async function runClients(url: string): Promise<void> {
  const hist = new Histogram();
  let messages = 0;
  let bytes = 0;
  let measuring = false;
  let snapshots = 0;
  let subscription = '';
  const sockets: WebSocket[] = [];
  let open = 0;
  process.on('message', (m: { type: string; id?: string }) => {
    if (m.type === 'subscribe') {
      // The connections stay open between phases; only the subscriptions come and go.
      subscription = m.id!;
      snapshots = 0;
      const msg = JSON.stringify({ op: 'subscribe', id: subscription, view: VIEW });
      for (const ws of sockets) ws.send(msg);
    }
    if (m.type === 'unsubscribe') {
      const msg = JSON.stringify({ op: 'unsubscribe', id: subscription });
      for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(msg);
    }
    if (m.type === 'start') measuring = true;
    if (m.type === 'pause') measuring = false;
    if (m.type === 'stop') {
      measuring = false;
      // Bytes on the wire (compressed frames), read from the sockets under ws.
      const wire = sockets.reduce((n, ws) => n + ((ws as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0), 0);
      process.send!({ type: 'report', buckets: Array.from(hist.buckets), messages, bytes, wire });
      for (const ws of sockets) ws.terminate();
      setTimeout(() => process.exit(0), 100);
    }
  });
  for (let i = 0; i < CLIENTS; i++) {
    // Plain frames by default, as in earlier rounds; BENCH_WS_DEFLATE=1 negotiates
    // permessage-deflate as browsers do (then these clients inflate on this machine's cores).
    const ws = new WebSocket(url, { perMessageDeflate: DEFLATE });
    sockets.push(ws);
    ws.on('open', () => {
      if (++open === CLIENTS) process.send!({ type: 'connected' });
    });
    ws.on('message', (data: Buffer) => {
      const receivedAt = wallNow();
      if (data.subarray(0, SNAPSHOT.length).equals(SNAPSHOT)) {
        if (++snapshots === CLIENTS) process.send!({ type: 'ready' });
        return;
      }
      if (!measuring || !data.subarray(0, UPDATE.length).equals(UPDATE)) return;
      messages++;
      bytes += data.length;
      // One process plays 1,000 browsers on one core, so it does as little as it can per message:
      // it reads the first row's publish time straight from the bytes. Every group changes in
      // every batch of the loop, so the rows of one update carry the same time (reading all 100
      // cost the process a third of its time and delayed the messages queued behind).
      const at = data.indexOf(T_FIELD);
      if (at < 0) return;
      const start = at + T_FIELD.length;
      let end = start;
      while (end < data.length && data[end] !== 0x2c && data[end] !== 0x7d) end++;
      hist.add(receivedAt - Number(data.toString('latin1', start, end)));
    });
    ws.on('error', (err) => process.send!({ type: 'error', message: err.message }));
    // Open connections in small bursts so the listen backlog never overflows.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------- server process
function makeRows(): { keys: string[]; services: string[] } {
  const services = Array.from({ length: GROUPS }, (_, g) => `svc-${String(g).padStart(3, '0')}`);
  return { keys: services.map((s) => `${s}|0`), services };
}

/** The running loop's collect step (see publishLoop), called by the hub's flush. */
let collectChanges = (): void => {};

/**
 * The engine's live path in miniature, as fast as possible for `ms`, yielding every BATCH events.
 * Per event: decode it (JSON.parse), update its group's aggregates and row, and, while someone
 * watches the view, mark the group changed (as the engine's coalescing does: a flag per group).
 * When the hub flushes, it collects the changes, as from the engine: each changed group's row is
 * published. Returns events per second.
 */
async function publishLoop(hub: WsHub, ms: number): Promise<Rate> {
  const { keys, services } = makeRows();
  const windowstart = Math.floor(Date.now() / 60_000) * 60_000;
  const events = Array.from({ length: 1024 }, (_, i) =>
    JSON.stringify({ event_id: `e${i}`, event_time: windowstart + i, name: 'http.request.duration', value: 5 + (i % 200), labels: { service: services[i % GROUPS] } }),
  );
  const state = services.map(() => ({ count: 0, sum: 0, max: 0 }));
  const current: Record<string, Value>[] = [];
  const changed = new Uint8Array(GROUPS);
  const changedList: number[] = [];
  collectChanges = () => {
    for (const g of changedList) {
      changed[g] = 0;
      hub.publish({ view: VIEW, key: keys[g]!, row: current[g]! });
    }
    changedList.length = 0;
  };
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    // One clock read per batch (a batch takes well under a millisecond).
    const t = wallNow();
    const watched = hub.hasSubscribers(VIEW);
    for (let i = 0; i < BATCH; i++, n++) {
      const event = JSON.parse(events[n % events.length]!) as { value: number; labels: { service: string } };
      const g = n % GROUPS;
      const agg = state[g]!;
      agg.count++;
      agg.sum += event.value;
      agg.max = Math.max(agg.max, event.value);
      current[g] = {
        service: event.labels.service,
        windowstart,
        windowend: windowstart + 60_000,
        requests: agg.count,
        avg_ms: Math.round((agg.sum / agg.count) * 100) / 100,
        max_ms: agg.max,
        t,
      };
      if (watched && changed[g] === 0) {
        changed[g] = 1;
        changedList.push(g);
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / ((performance.now() - start) / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

/**
 * Updates per second of wall time, and per second of this process's CPU time. The second does
 * not depend on what else the machine runs: it charges the hub's fan-out work to the loop.
 */
interface Rate {
  wall: number;
  cpu: number;
}

function waitFor(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`client process exited with ${code}`));
    const onMessage = (m: Record<string, unknown>) => {
      if (m['type'] === type) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m);
      } else if (m['type'] === 'error') reject(new Error(`client: ${String(m['message'])}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function runServer(): Promise<void> {
  const { services } = makeRows();
  const snapshotRows = services.map((service) => ({ service, requests: 0, t: wallNow() }));
  const hub = new WsHub({
    snapshot: (view) => (view === VIEW ? snapshotRows : undefined),
    activeAlerts: () => [],
    collect: () => collectChanges(),
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
  const sleep = (t: number) => new Promise((res) => setTimeout(res, t));
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'clients', '--url', `${server.url.replace('http', 'ws')}/ws`, '--clients', String(CLIENTS), '--groups', String(GROUPS)]);
  await waitFor(child, 'connected');
  const connected = hub.clientCount();
  await publishLoop(hub, 1000); // warm-up: let the JIT settle before measuring
  // The clients stay connected; each round pairs a phase without subscriptions (the loop marks
  // no changes, as the engine does for an unwatched view) with one where all of them subscribe. The order
  // alternates, and the loss is the median of the rounds' own losses: the machine's speed drifts
  // by tens of percent within a run, and adjacent phases see the same drift.
  const rounds: { baseline: Rate; withClients: Rate }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const clientsPhase = async (): Promise<Rate> => {
      child.send({ type: 'subscribe', id: `s${r}` });
      await waitFor(child, 'ready');
      await publishLoop(hub, 300);
      child.send({ type: 'start' });
      const rate = await publishLoop(hub, ms);
      // Let the last flush arrive before pausing the clients' measurement.
      await sleep(300);
      child.send({ type: 'pause' });
      child.send({ type: 'unsubscribe' });
      while (hub.hasSubscribers(VIEW)) await sleep(10);
      return rate;
    };
    if (r % 2 === 0) {
      const baseline = await publishLoop(hub, ms);
      rounds.push({ baseline, withClients: await clientsPhase() });
    } else {
      const withClients = await clientsPhase();
      rounds.push({ baseline: await publishLoop(hub, ms), withClients });
    }
  }
  const droppedAsSlow = connected - hub.clientCount();
  child.send({ type: 'stop' });
  const report = await waitFor(child, 'report');
  const hist = new Histogram();
  hist.merge(report['buckets'] as number[]);
  await new Promise((res) => child.once('exit', res));
  await server.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  const lossPct = (key: keyof Rate) => rounds.map((p) => (1 - p.withClients[key] / p.baseline[key]) * 100);
  console.log(
    JSON.stringify({
      bench: 'ws',
      clients: connected,
      clientsDroppedAsSlow: droppedAsSlow,
      groups: GROUPS,
      rounds: ROUNDS,
      secondsPerPhase: SECONDS,
      flushIntervalMs: 100,
      baselineUpdatesPerSec: Math.round(median(rounds.map((p) => p.baseline.wall))),
      withClientsUpdatesPerSec: Math.round(median(rounds.map((p) => p.withClients.wall))),
      throughputLossPct: round(median(lossPct('wall'))),
      cpuThroughputLossPct: round(median(lossPct('cpu'))),
      lossPctPerRound: lossPct('wall').map(round),
      latencyMs: { p50: hist.quantile(0.5), p90: hist.quantile(0.9), p99: hist.quantile(0.99), max: hist.quantile(1) },
      messagesDelivered: Number(report['messages']),
      megabytesDelivered: round(Number(report['bytes']) / 1e6),
      wireMegabytes: round(Number(report['wire']) / 1e6),
      deflate: DEFLATE,
      loadAverage1m: round(loadavg()[0]!),
      targets: { p99Ms: 200, throughputLossPct: 10 },
    }),
  );
}

if (args.role === 'clients') await runClients(args.url);
else await runServer();
