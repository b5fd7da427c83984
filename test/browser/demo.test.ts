/**
 * The demo end to end, as a new user sees it: `npm start`'s program on the local Kafka, with the
 * first incident moved to a few seconds after start. The real engine turns the latency regression
 * into a firing alert that shows on the dashboards page in a real browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';

const ROOT = join(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) console.warn(`skipping the demo browser test: ${CHROMIUM} is missing (apt-get install chromium)`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(existsSync(CHROMIUM))('the demo', () => {
  let demo: ChildProcess | null = null;
  afterAll(async () => {
    if (demo && demo.exitCode === null) {
      demo.kill('SIGINT');
      await new Promise((r) => demo!.once('exit', r));
    }
  });

  it('shows live charts and turns the injected latency incident into a firing alert', async () => {
    const port = await freePort();
    demo = spawn(process.execPath, [join(ROOT, 'dist/src/demo/main.js')], {
      cwd: ROOT,
      env: { ...process.env, SEISMO_PORT: String(port), SEISMO_DEMO_FIRST_INCIDENT: '5000', SEISMO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await expect.poll(() => output, { timeout: 120_000, interval: 250 }).toMatch(/Dashboard: http/);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/`);
      // Live data: the latency table fills with the five services.
      await expect.poll(() => page.getByText('checkout').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      // The incident starts 5 s after the demo; the rule needs a closed window and `for = 20s`.
      await expect
        .poll(() => page.locator('text=latency_anomaly').count(), { timeout: 150_000, interval: 1000 })
        .toBeGreaterThan(0);
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-artifacts/demo.png'), fullPage: true });
      expect(errors).toEqual([]);
      const alerts = (await (await fetch(`http://127.0.0.1:${port}/api/alerts`)).json()) as { labels: Record<string, string>; status: string }[];
      expect(alerts.some((a) => a.labels.alertname === 'latency_anomaly' && a.labels.service === 'checkout' && a.status === 'firing')).toBe(true);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
