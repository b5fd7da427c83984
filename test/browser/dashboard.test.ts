/**
 * The dashboards page in a real browser (Debian's chromium through playwright-core), served by
 * the real HTTP server and hub, fed by a fake engine that publishes rows and alerts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { metrics } from '../../src/metrics.js';
import { startFakeApp, type FakeApp, type FakeEngine } from '../api/fake-app.js';

/** Waits for a condition, as long as the page may need to load and connect. */
const eventually = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);

const SERVICES = ['checkout', 'search', 'payments', 'catalog', 'auth'];
const TEN_S = 10_000;
const MINUTE = 60_000;

/** A deterministic pseudo-random source so screenshots look alike from run to run. */
function noise(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

/** Rows of the three demo views for the windows ending at `now`, with a latency incident on checkout. */
function publishWindows(engine: FakeEngine, now: number, backfillMinutes: number): void {
  const first = Math.floor((now - backfillMinutes * MINUTE) / TEN_S) * TEN_S;
  for (let start = first; start <= now; start += TEN_S) {
    SERVICES.forEach((service, i) => {
      const incident = service === 'checkout' && start > now - 2 * MINUTE;
      const requests = Math.round(400 + 150 * i + 80 * noise(start / TEN_S + i));
      engine.upsert('request_rate', `${service}|${start}`, { service, windowstart: start, windowend: start + TEN_S, requests });
      const hopStart = start - MINUTE + TEN_S;
      const p99 = (incident ? 900 : 120 + 40 * i) + 30 * noise(start + i * 7);
      engine.upsert('latency_by_service', `${service}|${hopStart}`, {
        service, windowstart: hopStart, windowend: hopStart + MINUTE,
        requests: requests * 6, avg_ms: p99 / 3, p50_ms: p99 / 2.5, p99_ms: Math.round(p99 * 10) / 10,
      });
      const minute = Math.floor(start / MINUTE) * MINUTE;
      const total = requests * 6;
      const errors = Math.round(total * (incident ? 0.06 : 0.002 + 0.004 * noise(minute + i)));
      engine.upsert('error_rate', `${service}|${minute}`, { service, windowstart: minute, windowend: minute + MINUTE, total, errors, error_ratio: errors / total });
    });
  }
}

/** Moves the engine's own metrics a little, as a running engine would, for the Engine panels. */
function tickEngineMetrics(step: number): void {
  metrics.eventsConsumed.inc({ stream: 'metrics' }, 900 + 50 * noise(step));
  metrics.eventsConsumed.inc({ stream: 'logs' }, 300 + 40 * noise(step + 1));
  for (let p = 0; p < 3; p++) metrics.consumerLag.set({ topic: 'telemetry.metrics', partition: String(p) }, Math.round(40 + 30 * noise(step + p)));
  for (const view of ['request_rate', 'latency_by_service', 'error_rate']) metrics.openGroups.set({ view }, SERVICES.length);
  if (step % 8 === 0) metrics.eventsLate.inc({ view: 'latency_by_service' });
  metrics.lastCheckpoint.set(Date.now() / 1000 - 4);
}

const FIRING = {
  fingerprint: '3f9c0a1be2d4',
  status: 'firing',
  labels: { alertname: 'latency_anomaly', severity: 'page', service: 'checkout' },
  annotations: { summary: 'p99 latency of checkout is 912.5 ms (z=6.1)' },
  startsAt: new Date(Date.now() - 95_000).toISOString(),
  endsAt: null,
  values: { p99_ms: 912.5, z: 6.1 },
};

describe.skipIf(!haveChromium)('dashboards page', () => {
  let browser: Browser;
  let app: FakeApp;
  let ticker: NodeJS.Timeout;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    clearInterval(ticker);
    await app?.close();
    await browser?.close();
  });

  async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(url);
    return { page, problems };
  }

  it('shows live charts, tables, stats, alerts and engine health without console errors', async () => {
    app = await startFakeApp();
    publishWindows(app.engine, Date.now(), 10);
    app.engine.alert(FIRING);
    let step = 0;
    ticker = setInterval(() => {
      publishWindows(app.engine, Date.now(), 0);
      tickEngineMetrics(step++);
    }, 250);

    const { page, problems } = await openPage(app.url + '/');
    const chart = page.locator('article[data-type="timeseries"][data-view="latency_by_service"]');
    await eventually(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(100);
    expect(Number(await chart.getAttribute('data-series'))).toBe(SERVICES.length);
    await eventually(() => chart.locator('canvas').count()).toBeGreaterThan(0);

    const table = page.locator('article[data-type="table"][data-view="latency_by_service"]');
    await eventually(() => table.locator('tbody tr').count()).toBe(SERVICES.length);
    // Sorted by p99 descending: the incident service comes first.
    expect(await table.locator('tbody tr').first().locator('td').first().textContent()).toBe('checkout');

    const bars = page.locator('article[data-type="bar"][data-view="error_rate"]');
    await eventually(() => bars.locator('.bar-row').count()).toBe(SERVICES.length);
    const stat = page.locator('article[data-type="stat"][data-view="latency_by_service"]');
    await eventually(async () => Number(await stat.getAttribute('data-value'))).toBeGreaterThan(800);

    // The snapshot's alert, then a transition pushed while the page is open.
    const firing = page.locator(`li.alert[data-fingerprint="${FIRING.fingerprint}"]`);
    await eventually(() => firing.textContent()).toContain('p99 latency of checkout is 912.5 ms');
    app.engine.alert({ ...FIRING, fingerprint: 'aa11', labels: { alertname: 'error_burst', severity: 'ticket', service: 'search' }, annotations: { summary: 'error ratio of search is 6.1%' } });
    await eventually(() => page.locator('li.alert[data-fingerprint="aa11"]').textContent()).toContain('error ratio of search is 6.1%');
    expect(await page.locator('#alert-count').textContent()).toBe('2 firing');
    app.engine.alert({ ...FIRING, fingerprint: 'aa11', status: 'resolved', endsAt: new Date().toISOString(), labels: { alertname: 'error_burst', severity: 'ticket', service: 'search' }, annotations: { summary: 'error ratio of search is 6.1%' } });
    await eventually(() => page.locator('li.alert[data-fingerprint="aa11"]').getAttribute('data-status')).toBe('resolved');

    await eventually(() => page.locator('#engine').getAttribute('data-state')).toBe('ok');
    await eventually(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    // Two engine samples are needed for a rate; wait for the second so the strip shows numbers.
    await eventually(() => page.locator('#engine .tile[data-metric="eventsPerSec"] .v').textContent()).not.toBe('–');

    // Engine panels draw /api/engine samples: one series per stream once two samples are in.
    const consumed = page.locator('article[data-type="timeseries"]', { hasText: 'Events consumed / s' });
    await eventually(async () => Number(await consumed.getAttribute('data-series'))).toBe(2);
    await eventually(async () => Number(await page.locator('article[data-type="bar"]', { hasText: 'Open groups by view' }).getAttribute('data-rows'))).toBe(3);
    // A few more samples so the engine charts have a visible line in the screenshot.
    await eventually(async () => Number(await consumed.getAttribute('data-points'))).toBeGreaterThanOrEqual(6);

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
    clearInterval(ticker);
    await app.close();
  });

  it('passes ?token= from its own URL to the API and the WebSocket', async () => {
    app = await startFakeApp({ token: 'tok3n' });
    publishWindows(app.engine, Date.now(), 2);
    const { page, problems } = await openPage(app.url + '/?token=tok3n');
    await eventually(async () => Number(await page.locator('article[data-type="table"]').first().getAttribute('data-rows'))).toBeGreaterThan(0);
    await eventually(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('talks permessage-deflate with the browser: compressed snapshots and updates decode', async () => {
    app = await startFakeApp();
    publishWindows(app.engine, Date.now(), 10);
    const { page, problems } = await openPage(app.url + '/');
    const wsUrl = app.wsUrl;
    const received = page.evaluate(
      (url) =>
        new Promise<{ extensions: string; snapshotRows: number; updateRows: number }>((resolve, reject) => {
          const ws = new WebSocket(url);
          let snapshotRows = 0;
          ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe', id: 'z', view: 'latency_by_service' }));
          ws.onerror = () => reject(new Error('websocket error'));
          ws.onmessage = (e) => {
            const m = JSON.parse(String(e.data)) as { op: string; rows?: unknown[] };
            if (m.op === 'snapshot') snapshotRows = m.rows?.length ?? 0;
            if (m.op === 'update') resolve({ extensions: ws.extensions, snapshotRows, updateRows: m.rows?.length ?? 0 });
          };
        }),
      wsUrl,
    );
    // Keep publishing until the page's socket has its update.
    const timer = setInterval(() => publishWindows(app!.engine, Date.now(), 3), 100);
    try {
      const got = await received;
      expect(got.extensions).toContain('permessage-deflate');
      expect(got.snapshotRows).toBeGreaterThan(100);
      expect(got.updateRows).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
    expect(problems).toEqual([]);
    await page.close();
  });
});
