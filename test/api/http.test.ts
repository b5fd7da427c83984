/**
 * The HTTP server against real requests on a random port: routes, auth, bad input, probes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { startFakeApp, TestClient, type FakeApp } from './fake-app.js';

let app: FakeApp | undefined;
let tmp: string | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

const TOKEN = 's3cret';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function getJson(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(app!.url + path, { headers });
  return { status: res.status, body: await res.json() };
}

async function postQuery(body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(app!.url + '/api/query', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: await res.json() };
}

describe('HTTP routes', () => {
  it('serves the page, its assets and uPlot from node_modules', async () => {
    app = await startFakeApp();
    const cases: [string, RegExp, RegExp][] = [
      ['/', /text\/html/, /<script type="module" src="\/static\/app\.js">/],
      ['/static/app.js', /text\/javascript/, /new Live\(/],
      ['/static/panels.js', /text\/javascript/, /import uPlot from '\/vendor\/uplot\.esm\.js'/],
      ['/static/style.css', /text\/css/, /\.panel/],
      ['/vendor/uplot.esm.js', /text\/javascript/, /export \{ uPlot as default \}/],
      ['/vendor/uplot.min.css', /text\/css/, /\.uplot/],
    ];
    for (const [path, type, body] of cases) {
      const res = await fetch(app.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
      expect(await res.text(), path).toMatch(body);
    }
    expect((await fetch(app.url + '/')).headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    for (const path of ['/static/../http.ts', '/static/%2e%2e/http.ts', '/static/nope.js', '/etc/passwd']) {
      expect((await fetch(app.url + path)).status, path).toBe(404);
    }
  });

  it('answers the JSON API', async () => {
    app = await startFakeApp();
    app.engine.alert({ fingerprint: 'f1', status: 'firing' });
    expect((await getJson('/api/views')).body.map((v: { name: string }) => v.name)).toEqual(['latency_by_service', 'request_rate', 'error_rate']);
    expect((await getJson('/api/rules')).body).toEqual([{ name: 'latency_anomaly', kind: 'alert' }]);
    expect((await getJson('/api/alerts')).body).toEqual([{ fingerprint: 'f1', status: 'firing' }]);
    const engine = await getJson('/api/engine');
    expect(engine.status).toBe(200);
    expect(engine.body).toMatchObject({ eventsConsumedTotal: expect.any(Number), consumerLag: expect.any(Number), wsClients: 0 });
  });

  it('lists the dashboards with the mistakes of broken files', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'seismo-dash-'));
    await writeFile(join(tmp, 'a.json'), JSON.stringify({ title: 'A', panels: [{ title: 'p', view: 'v', type: 'stat', y: 'n' }] }));
    await writeFile(join(tmp, 'b.json'), '{"title": ');
    await writeFile(join(tmp, 'c.json'), JSON.stringify({ title: 'C', panels: [{ view: 'v', type: 'pie', y: 'n' }, { type: 'table', view: 'v' }] }));
    app = await startFakeApp({ dashboardsDir: tmp });
    const { status, body } = await getJson('/api/dashboards');
    expect(status).toBe(200);
    expect(body[0]).toEqual({ id: 'a', title: 'A', panels: [{ title: 'p', view: 'v', type: 'stat', y: 'n' }], errors: [] });
    expect(body[1].errors[0]).toMatch(/^b\.json: /);
    expect(body[2].panels).toHaveLength(1);
    expect(body[2].errors).toEqual(['c.json: panels[0]: "type" must be one of timeseries, bar, table, stat']);
  });

  it('ships valid dashboards in dashboards/', async () => {
    app = await startFakeApp();
    const { body } = await getJson('/api/dashboards');
    expect(body.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining(['engine', 'services']));
    for (const d of body) expect(d.errors, d.id).toEqual([]);
  });

  it('runs historical queries and answers 400 for bad ones', async () => {
    app = await startFakeApp();
    expect(await postQuery(JSON.stringify({ sql: 'select 42' }))).toEqual({ status: 200, body: { columns: ['answer'], rows: [[42]] } });
    const cases: [string, number, RegExp][] = [
      [JSON.stringify({ sql: 'DROP TABLE x' }), 400, /read-only/],
      ['{"sql": ', 400, /not valid JSON/],
      [JSON.stringify({ query: 'select 1' }), 400, /\{"sql"/],
      [JSON.stringify({ sql: '' }), 400, /\{"sql"/],
      [JSON.stringify({ sql: 'x'.repeat(70 * 1024) }), 413, /larger than 65536 bytes/],
    ];
    for (const [body, status, error] of cases) {
      const res = await postQuery(body);
      expect(res.status, body.slice(0, 40)).toBe(status);
      expect(res.body.error).toMatch(error);
    }
  });

  it('rejects oversized chunked bodies without reading them into memory', async () => {
    app = await startFakeApp();
    const url = new URL(app.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/api/query', method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('y'.repeat(8 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('answers unknown routes and wrong methods with JSON errors', async () => {
    app = await startFakeApp();
    const cases: [string, string, number, RegExp][] = [
      ['GET', '/api/nope', 404, /no route GET \/api\/nope/],
      ['GET', '/api/query', 405, /use POST/],
      ['DELETE', '/api/views', 405, /use GET/],
      ['POST', '/metrics', 405, /use GET/],
    ];
    for (const [method, path, status, error] of cases) {
      const res = await fetch(app.url + path, { method });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(error);
    }
  });
});

describe('HTTP probes and metrics', () => {
  it('serves prometheus text on /metrics', async () => {
    app = await startFakeApp();
    const res = await fetch(app.url + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^seismo_ws_clients 0$/m);
  });

  it('answers 503 on /readyz until the engine is ready', async () => {
    app = await startFakeApp();
    app.engine.ready = false;
    expect(await getJson('/readyz')).toMatchObject({ status: 503, body: { ready: false, details: { kafka: 'connecting' } } });
    expect((await getJson('/healthz')).status).toBe(200);
    app.engine.ready = true;
    expect(await getJson('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });
});

describe('token auth', () => {
  it('protects /api/* with a bearer token and leaves the probes, metrics and page open', async () => {
    app = await startFakeApp({ token: TOKEN });
    expect((await getJson('/api/views')).status).toBe(401);
    expect((await getJson('/api/views', bearer('wrong'))).status).toBe(401);
    expect((await getJson('/api/views', bearer(TOKEN))).status).toBe(200);
    expect((await postQuery(JSON.stringify({ sql: 'select 42' }))).status).toBe(401);
    expect((await postQuery(JSON.stringify({ sql: 'select 42' }), bearer(TOKEN))).status).toBe(200);
    for (const path of ['/metrics', '/healthz', '/readyz', '/', '/static/app.js']) {
      expect((await fetch(app.url + path)).status, path).toBe(200);
    }
  });

  it('protects /ws: header or ?token= accepted, missing or wrong refused', async () => {
    app = await startFakeApp({ token: TOKEN });
    await expect(TestClient.connect(app.wsUrl)).rejects.toThrow('HTTP 401');
    await expect(TestClient.connect(`${app.wsUrl}?token=wrong`)).rejects.toThrow('HTTP 401');
    await expect(TestClient.connect(app.wsUrl, bearer('wrong'))).rejects.toThrow('HTTP 401');
    await expect(TestClient.connect(app.url.replace('http', 'ws') + '/elsewhere', bearer(TOKEN))).rejects.toThrow('HTTP 404');
    for (const c of [await TestClient.connect(`${app.wsUrl}?token=${TOKEN}`), await TestClient.connect(app.wsUrl, bearer(TOKEN))]) {
      c.send({ op: 'subscribe', id: 's', view: 'request_rate' });
      expect((await c.next()).op).toBe('snapshot');
      c.close();
    }
  });
});
