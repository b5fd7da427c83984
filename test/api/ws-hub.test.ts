/**
 * The WebSocket hub against real `ws` clients over a real server on a random port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WsHub, SLOW_CLIENT_CLOSE_CODE } from '../../src/api/ws-hub.js';
import { metrics, registry } from '../../src/metrics.js';
import { startFakeApp, TestClient, type FakeApp } from './fake-app.js';

let app: FakeApp | undefined;
const clients: TestClient[] = [];

async function connect(a: FakeApp, headers: Record<string, string> = {}): Promise<TestClient> {
  const c = await TestClient.connect(a.wsUrl, headers);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await app?.close();
  app = undefined;
});

const row = (service: string, windowstart: number, p99: number) => ({ service, windowstart, windowend: windowstart + 60_000, p99_ms: p99 });

describe('WsHub subscriptions', () => {
  it('sends the snapshot first, filtered by where', async () => {
    app = await startFakeApp();
    app.engine.upsert('latency_by_service', 'checkout|0', row('checkout', 0, 10));
    app.engine.upsert('latency_by_service', 'search|0', row('search', 0, 20));
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 'all', view: 'latency_by_service' });
    c.send({ op: 'subscribe', id: 'co', view: 'latency_by_service', where: { service: 'checkout' } });
    const all = await c.next((m) => m.id === 'all');
    const co = await c.next((m) => m.id === 'co');
    expect(all.op).toBe('snapshot');
    expect(all.rows?.map((r) => r['service']).sort()).toEqual(['checkout', 'search']);
    expect(co).toEqual({ op: 'snapshot', id: 'co', rows: [row('checkout', 0, 10)] });
  });

  it('coalesces many changes of a row into one update holding the latest value', async () => {
    app = await startFakeApp();
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 's1', view: 'latency_by_service' });
    await c.next((m) => m.op === 'snapshot');
    for (let i = 1; i <= 50; i++) app.engine.upsert('latency_by_service', 'checkout|0', row('checkout', 0, i));
    app.engine.upsert('latency_by_service', 'search|0', row('search', 0, 7));
    const update = await c.next((m) => m.op === 'update');
    expect(update.id).toBe('s1');
    expect(update.rows).toEqual([row('checkout', 0, 50), row('search', 0, 7)]);
  });

  it('with collect, asks a coalescing producer for its changes when it says it holds some, at most once per interval', async () => {
    // A producer that coalesces itself (as the engine does) publishes only when the hub asks.
    const queued: { key: string; p99: number }[] = [];
    let collects = 0;
    app = await startFakeApp({
      hub: {
        flushIntervalMs: 50,
        collect: () => {
          collects++;
          for (const q of queued.splice(0)) app!.engine.upsert('latency_by_service', q.key, row(q.key, 0, q.p99));
        },
      },
    });
    await sleep(120);
    expect(collects).toBe(0); // nobody watches: no timer runs
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 's1', view: 'latency_by_service' });
    await c.next((m) => m.op === 'snapshot');
    queued.push({ key: 'checkout', p99: 1 }, { key: 'checkout', p99: 2 }, { key: 'search', p99: 3 });
    app.hub.changesPending();
    const update = await c.next((m) => m.op === 'update');
    expect(update.rows).toEqual([row('checkout', 0, 2), row('search', 0, 3)]);
    // With nothing pending the hub does not ask.
    await sleep(120);
    const before = collects;
    await sleep(200);
    expect(collects).toBe(before);
    // Told several times before its flush, it asks once.
    queued.push({ key: 'search', p99: 4 });
    app.hub.changesPending();
    app.hub.changesPending();
    expect((await c.next((m) => m.op === 'update')).rows).toEqual([row('search', 0, 4)]);
    expect(collects).toBe(before + 1);
    // Once nobody watches, it does not ask even when told.
    c.send({ op: 'unsubscribe', id: 's1' });
    c.send({ op: 'unsubscribe', id: 'nope' });
    await c.next((m) => m.op === 'error');
    await sleep(100);
    const after = collects;
    app.hub.changesPending();
    await sleep(200);
    expect(collects).toBe(after);
  });

  it('sends only rows matching where, and marks retractions', async () => {
    app = await startFakeApp();
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 'co', view: 'latency_by_service', where: { service: 'checkout' } });
    await c.next((m) => m.op === 'snapshot');
    app.engine.upsert('latency_by_service', 'search|0', row('search', 0, 1));
    app.engine.upsert('latency_by_service', 'checkout|0', row('checkout', 0, 2));
    const first = await c.next((m) => m.op === 'update');
    expect(first.rows).toEqual([row('checkout', 0, 2)]);
    app.engine.retract('latency_by_service', 'checkout|0', { service: 'checkout', windowstart: 0 });
    const second = await c.next((m) => m.op === 'update');
    expect(second.rows).toEqual([{ service: 'checkout', windowstart: 0, _retract: true }]);
  });

  it('stops sending after unsubscribe, and the id can be reused', async () => {
    app = await startFakeApp();
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 's1', view: 'request_rate' });
    c.send({ op: 'subscribe', id: 's2', view: 'error_rate' });
    await c.next((m) => m.id === 's1');
    await c.next((m) => m.id === 's2');
    expect(app.hub.hasSubscribers('request_rate')).toBe(true);
    c.send({ op: 'unsubscribe', id: 's1' });
    // The error for an unknown id proves the unsubscribe before it has been processed.
    c.send({ op: 'unsubscribe', id: 'nope' });
    await c.next((m) => m.op === 'error');
    app.engine.upsert('request_rate', 'a', { service: 'a', requests: 1 });
    app.engine.upsert('error_rate', 'a', { service: 'a', errors: 1 });
    const u = await c.next((m) => m.op === 'update');
    expect(u.id).toBe('s2');
    expect(c.received.some((m) => m.op === 'update' && m.id === 's1')).toBe(false);
    expect(app.hub.hasSubscribers('request_rate')).toBe(false);
    c.send({ op: 'subscribe', id: 's1', view: 'request_rate' });
    expect((await c.next((m) => m.id === 's1')).rows).toEqual([{ service: 'a', requests: 1 }]);
  });

  it('delivers the active alerts as a snapshot, then each transition', async () => {
    app = await startFakeApp();
    const firing = { fingerprint: 'f1', status: 'firing', labels: { alertname: 'latency_anomaly', service: 'checkout' } };
    app.engine.alert(firing);
    const c = await connect(app);
    c.send({ op: 'subscribe', id: 'a1', alerts: true });
    expect(await c.next()).toEqual({ op: 'snapshot', id: 'a1', rows: [firing] });
    const resolved = { ...firing, status: 'resolved', endsAt: '2026-01-01T00:00:00.000Z' };
    app.engine.alert(resolved);
    expect(await c.next()).toEqual({ op: 'alert', id: 'a1', alert: resolved });
  });

  it('answers bad messages with an error op and keeps the connection usable', async () => {
    app = await startFakeApp({ hub: { maxSubscriptionsPerClient: 2 } });
    const c = await connect(app);
    const cases: [unknown, string | undefined, RegExp][] = [
      ['{not json', undefined, /invalid JSON/],
      ['[1,2]', undefined, /JSON object/],
      [{ op: 'subscribe', view: 'x' }, undefined, /"id"/],
      [{ op: 'dance', id: 'd' }, 'd', /unknown op "dance"/],
      [{ op: 'subscribe', id: 'u', view: 'no_such_view' }, 'u', /unknown view "no_such_view"/],
      [{ op: 'subscribe', id: 'w', view: 'request_rate', where: { service: { nested: 1 } } }, 'w', /where\.service/],
      [{ op: 'subscribe', id: 'n' }, 'n', /"view"/],
    ];
    for (const [msg, id, message] of cases) {
      c.send(msg);
      const err = await c.next();
      expect(err.op).toBe('error');
      expect(err.id).toBe(id);
      expect(err.message).toMatch(message);
    }
    c.send({ op: 'subscribe', id: 's1', view: 'request_rate' });
    expect((await c.next()).op).toBe('snapshot');
    c.send({ op: 'subscribe', id: 's1', view: 'error_rate' });
    expect(await c.next()).toMatchObject({ op: 'error', id: 's1', message: expect.stringMatching(/already in use/) });
    c.send({ op: 'subscribe', id: 's2', view: 'error_rate' });
    expect((await c.next()).op).toBe('snapshot');
    c.send({ op: 'subscribe', id: 's3', view: 'error_rate' });
    expect(await c.next()).toMatchObject({ op: 'error', id: 's3', message: expect.stringMatching(/too many subscriptions/) });
    expect(c.closed).toBeUndefined();
  });

  it('counts connected clients in the seismo_ws_clients gauge', async () => {
    app = await startFakeApp();
    const a = await connect(app);
    await connect(app);
    a.send({ op: 'subscribe', id: 'x', view: 'request_rate' });
    await a.next();
    expect(app.hub.clientCount()).toBe(2);
    expect((await metrics.wsClients.get()).values[0]?.value).toBe(2);
    a.close();
    await a.whenClosed();
    while (app.hub.clientCount() !== 1) await sleep(5);
    expect(await registry.getSingleMetricAsString('seismo_ws_clients')).toMatch(/seismo_ws_clients 1$/m);
  });
});

describe('WsHub and slow clients', () => {
  it('never blocks publish, keeps serving others, and disconnects a client that stops reading', async () => {
    app = await startFakeApp({ hub: { flushIntervalMs: 10, maxBufferedBytes: 256 * 1024, maxBehindFlushes: 5 } });
    const slow = await connect(app);
    const healthy = await connect(app);
    for (const c of [slow, healthy]) {
      c.send({ op: 'subscribe', id: 's', view: 'latency_by_service' });
      await c.next((m) => m.op === 'snapshot');
    }
    // Stop reading: the server's writes pile up in the kernel, then in ws's buffer.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    // Incompressible, so that permessage-deflate does not shrink what piles up.
    const padding = () => randomBytes(6 * 1024).toString('base64');
    let publishes = 0;
    let slowestPublishMs = 0;
    for (let round = 0; app.hub.clientCount() === 2; round++) {
      for (let g = 0; g < 64; g++) {
        const row = { service: `svc${g}`, round, padding: padding() };
        const t0 = performance.now();
        app.engine.upsert('latency_by_service', `svc${g}`, row);
        slowestPublishMs = Math.max(slowestPublishMs, performance.now() - t0);
        publishes++;
      }
      await sleep(5);
      expect(round).toBeLessThan(10_000);
    }
    expect(app.hub.clientCount()).toBe(1);
    // publish() only records the row; sending happens later on the flush timer. Generous bound, not a benchmark.
    expect(slowestPublishMs).toBeLessThan(50);
    expect(publishes).toBeGreaterThan(64);

    // The healthy client keeps getting updates after the slow one is gone.
    app.engine.upsert('latency_by_service', 'after', { service: 'after' });
    await healthy.next((m) => m.op === 'update' && m.rows!.some((r) => r['service'] === 'after'));

    // Once the slow client reads again it finds the close frame with the reason after the queued data.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.whenClosed();
    expect(closed.code).toBe(SLOW_CLIENT_CLOSE_CODE);
    expect(closed.reason).toMatch(/too slow/);
  });
});

describe('WsHub shutdown', () => {
  it('closes clients with 1001 and does not hang on a peer that stopped reading', async () => {
    app = await startFakeApp();
    const polite = await connect(app);
    const stuck = await connect(app);
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await app.close();
    app = undefined;
    expect((await polite.whenClosed()).code).toBe(1001);
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await stuck.whenClosed();
  });
});

describe('WsHub options', () => {
  it('rejects nonsensical options up front', () => {
    const base = { snapshot: () => [], activeAlerts: () => [] };
    expect(() => new WsHub({ ...base, flushIntervalMs: 0 })).toThrow(/flushIntervalMs must be a positive number/);
  });

  it('drops a peer that stops answering pings', async () => {
    app = await startFakeApp({ hub: { pingIntervalMs: 20 } });
    const c = await connect(app);
    // A paused socket never reads the ping, so it never answers.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    while (app.hub.clientCount() !== 0) await sleep(5);
    expect(app.hub.clientCount()).toBe(0);
  });
});
