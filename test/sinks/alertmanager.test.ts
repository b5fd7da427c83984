/**
 * The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager), plus a
 * plain HTTP server for retry behaviour.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../src/alerts/payload.js';
import { ManualClock } from '../../src/clock.js';
import { createAlertmanagerSink, toAlertmanager, type PostableAlert } from '../../src/sinks/alertmanager.js';

const AM_BIN = ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager'].find((p) => existsSync(p));

function payload(status: AlertPayload['status'], over: Partial<AlertPayload> = {}): AlertPayload {
  return {
    fingerprint: '0196f8d3d9117c7b',
    status,
    labels: { alertname: 'latency_anomaly', severity: 'page', service: 'checkout', empty: '' },
    annotations: { summary: 'p99 latency of checkout is 812.5 ms' },
    startsAt: '2020-01-01T10:00:00.000Z',
    endsAt: status === 'resolved' ? '2020-01-01T10:05:00.000Z' : null,
    values: { p99_ms: 812.5 },
    window: null,
    emittedAt: '2020-01-01T10:00:00.000Z',
    ...over,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

describe('toAlertmanager', () => {
  const now = Date.parse('2020-01-01T12:00:00.000Z');
  it('firing: drops empty labels, endsAt is the validity horizon', () => {
    expect(toAlertmanager(payload('firing'), now, now + 240_000, 'http://seismo/')).toEqual({
      labels: { alertname: 'latency_anomaly', severity: 'page', service: 'checkout' },
      annotations: { summary: 'p99 latency of checkout is 812.5 ms' },
      startsAt: '2020-01-01T10:00:00.000Z',
      endsAt: '2020-01-01T12:04:00.000Z',
      generatorURL: 'http://seismo/',
    });
    expect(toAlertmanager(payload('firing'), now, null).endsAt).toBeUndefined();
  });
  it('resolved: endsAt is the resolution time, capped at now; startsAt never after endsAt', () => {
    expect(toAlertmanager(payload('resolved'), now, null).endsAt).toBe('2020-01-01T10:05:00.000Z');
    const future = payload('resolved', { startsAt: '2030-01-01T00:00:00.000Z', endsAt: '2030-01-01T00:05:00.000Z' });
    expect(toAlertmanager(future, now, null)).toMatchObject({ startsAt: '2020-01-01T12:00:00.000Z', endsAt: '2020-01-01T12:00:00.000Z' });
  });
});

describe('createAlertmanagerSink options', () => {
  it.each([
    [{ url: 'not a url' }, "alertmanager url must look like http://host:9093, got 'not a url'"],
    [{ url: 'ftp://x:9093' }, "alertmanager url must be http or https, got 'ftp://x:9093'"],
    [{ url: 'http://x:9093', retries: -1 }, 'alertmanager retries must be a number >= 0, got -1'],
  ])('%j', (opts, msg) => {
    expect(() => createAlertmanagerSink(opts)).toThrow(msg);
  });
});

describe('retries against a plain HTTP server', () => {
  let server: Server;
  let url: string;
  let answers: number[] = [];
  const bodies: PostableAlert[][] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(data) as PostableAlert[]);
        const status = answers.shift() ?? 200;
        res.writeHead(status).end(status === 200 ? '' : `status ${status}\nmore`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const quick = { backoffMs: { initial: 1, max: 5 }, resendIntervalMs: 0 };

  it('retries 5xx until it succeeds', async () => {
    answers = [503, 500];
    bodies.length = 0;
    await createAlertmanagerSink({ url, retries: 3, ...quick }).send([payload('firing')]);
    expect(bodies).toHaveLength(3);
  });
  it('gives up after the retries with one line', async () => {
    answers = [503, 503, 503];
    bodies.length = 0;
    await expect(createAlertmanagerSink({ url, retries: 2, ...quick }).send([payload('firing')])).rejects.toThrow(
      /^alertmanager at 127\.0\.0\.1:\d+ answered 503: status 503$/,
    );
    expect(bodies).toHaveLength(3);
  });
  it('does not retry a 400', async () => {
    answers = [400];
    bodies.length = 0;
    await expect(createAlertmanagerSink({ url, retries: 3, ...quick }).send([payload('firing')])).rejects.toThrow('answered 400');
    expect(bodies).toHaveLength(1);
  });
  it('skips flapping payloads and sends nothing when nothing is left', async () => {
    answers = [];
    bodies.length = 0;
    const sink = createAlertmanagerSink({ url, ...quick });
    await sink.send([payload('flapping')]);
    expect(bodies).toHaveLength(0);
    await sink.send([payload('flapping'), payload('firing')]);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toHaveLength(1);
  });
  it('resend() repeats alerts still firing with a fresh endsAt, not resolved ones', async () => {
    answers = [];
    bodies.length = 0;
    const clock = new ManualClock(Date.parse('2020-01-01T12:00:00.000Z'));
    const sink = createAlertmanagerSink({ url, clock, backoffMs: quick.backoffMs, resendIntervalMs: 60_000 });
    await sink.send([payload('firing'), payload('firing', { fingerprint: 'other', labels: { alertname: 'b' } })]);
    await sink.send([payload('resolved', { fingerprint: 'other', labels: { alertname: 'b' } })]);
    clock.advance(60_000);
    await sink.resend();
    await sink.close();
    expect(bodies[2]).toEqual([expect.objectContaining({ labels: expect.objectContaining({ service: 'checkout' }), endsAt: '2020-01-01T12:05:00.000Z' })]);
  });
});

describe.skipIf(AM_BIN === undefined)('against a real Alertmanager', () => {
  let proc: ChildProcess;
  let dir: string;
  let base: string;
  let log = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'seismo-am-'));
    await writeFile(join(dir, 'am.yml'), 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawn(
      AM_BIN!,
      [
        `--config.file=${join(dir, 'am.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    // Wait until it answers (a readiness wait, not a timed assertion).
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${log}`);
      const ok = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 300) throw new Error(`alertmanager did not become ready: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    if (proc !== undefined && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function listAlerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string }; fingerprint: string }[]> {
    const res = await fetch(`${base}/api/v2/alerts`);
    expect(res.status).toBe(200);
    return (await res.json()) as never;
  }

  it('shows a firing alert, then drops it once resolved', async () => {
    const sink = createAlertmanagerSink({ url: base, retries: 1, generatorURL: 'http://127.0.0.1:8080/' });
    const startsAt = new Date(Date.now() - 10 * 60_000).toISOString();
    await sink.send([payload('firing', { startsAt })]);
    const firing = (await listAlerts()).filter((a) => a.labels.alertname === 'latency_anomaly');
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({
      labels: { alertname: 'latency_anomaly', severity: 'page', service: 'checkout' },
      annotations: { summary: 'p99 latency of checkout is 812.5 ms' },
      startsAt,
    });
    expect(Date.parse(firing[0]!.endsAt)).toBeGreaterThan(Date.now());

    const endsAt = new Date(Date.now() - 60_000).toISOString();
    await sink.send([payload('resolved', { startsAt, endsAt })]);
    const after = (await listAlerts()).filter((a) => a.labels.alertname === 'latency_anomaly');
    expect(after).toEqual([]);
    await sink.close();
  });

  it('rejects nothing seismo produces: many labels and a flapping payload in one batch', async () => {
    const sink = createAlertmanagerSink({ url: base, retries: 0, resendIntervalMs: 0 });
    await sink.send([
      payload('firing', { fingerprint: 'x1', labels: { alertname: 'many', host: 'h1', region: 'eu', team: 'payments' } }),
      payload('flapping', { fingerprint: 'x2', labels: { alertname: 'flappy' } }),
    ]);
    const names = (await listAlerts()).map((a) => a.labels.alertname);
    expect(names).toContain('many');
    expect(names).not.toContain('flappy');
  });
});

if (AM_BIN === undefined) {
  describe('against a real Alertmanager', () => {
    it.skip('skipped: prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)', () => {});
  });
}
