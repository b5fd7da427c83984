/**
 * Sends alert payloads to a Prometheus Alertmanager (API v2), so existing routing, silences and
 * receivers work unchanged. Like Prometheus, it re-sends firing alerts periodically with an
 * endsAt a few intervals ahead: if seismo stops, Alertmanager resolves them by itself instead of
 * showing them firing forever, and an Alertmanager restart or outage heals on the next resend.
 */
import type { AlertPayload } from '../alerts/payload.js';
import { systemClock, type Clock } from '../clock.js';
import { retry, SeismoError } from '../errors.js';

/** Options of createAlertmanagerSink. */
export interface AlertmanagerSinkOptions {
  /** Base URL of Alertmanager, e.g. `http://127.0.0.1:9093` (the sink appends `/api/v2/alerts`). */
  url: string;
  /** Retries per request after the first attempt, with backoff and jitter (default 3). */
  retries?: number;
  /** Timeout of one HTTP request in ms (default 5000). */
  timeoutMs?: number;
  /** Re-send firing alerts this often in ms (default 60000); 0 disables re-sending and endsAt. */
  resendIntervalMs?: number;
  /** Link shown by Alertmanager as the alert's source, e.g. seismo's dashboard URL. */
  generatorURL?: string;
  /** Wall clock for endsAt of re-sent alerts; default the system clock. */
  clock?: Clock;
  /** Called when a background re-send fails (send() itself throws instead). */
  onError?: (err: unknown) => void;
  /** Backoff bounds of retry() in ms (defaults 200 and 5000); tests shorten them. */
  backoffMs?: { initial: number; max: number };
}

/** An Alertmanager sink. */
export interface AlertmanagerSink {
  /** Posts firing and resolved payloads (flapping ones are seismo's own and are skipped). Throws after the retries. */
  send(payloads: readonly AlertPayload[]): Promise<void>;
  /** Re-posts every alert still firing; the timer calls it, and so may a caller after an outage. */
  resend(): Promise<void>;
  /** Stops the re-send timer. */
  close(): Promise<void>;
}

/** The alert model of Alertmanager's `POST /api/v2/alerts`. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/** Creates the sink; checks the options up front with an actionable message. */
export function createAlertmanagerSink(opts: AlertmanagerSinkOptions): AlertmanagerSink {
  const endpoint = alertsEndpoint(opts.url);
  // Messages name the host only: a URL may carry credentials.
  const where = new URL(endpoint).host;
  const retries = opts.retries ?? 3;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const resendMs = opts.resendIntervalMs ?? 60_000;
  const clock = opts.clock ?? systemClock;
  for (const [name, v] of [['retries', retries], ['timeoutMs', timeoutMs], ['resendIntervalMs', resendMs]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new SeismoError('CONFIG', `alertmanager ${name} must be a number >= 0, got ${v}`);
  }
  /** Alerts Alertmanager was told are firing, by fingerprint: what resend() repeats. */
  const firing = new Map<string, AlertPayload>();

  const post = async (alerts: PostableAlert[]): Promise<void> => {
    if (alerts.length === 0) return;
    const body = JSON.stringify(alerts);
    await retry(
      async () => {
        let res: Response;
        try {
          res = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          throw new SeismoError('CONFIG', `alertmanager at ${where} unreachable: ${reason(err)}`, { retriable: true, cause: err });
        }
        if (res.ok) return;
        const text = (await res.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200) ?? '';
        // 4xx means the request itself is wrong (URL, labels): repeating it cannot help. 429 can.
        const retriable = res.status >= 500 || res.status === 429 || res.status === 408;
        throw new SeismoError('CONFIG', `alertmanager at ${where} answered ${res.status}${text ? `: ${text}` : ''}`, { retriable });
      },
      { retries, initialMs: opts.backoffMs?.initial ?? 200, maxMs: opts.backoffMs?.max ?? 5000 },
    );
  };

  const toPostable = (p: AlertPayload, now: number): PostableAlert =>
    toAlertmanager(p, now, resendMs > 0 ? now + 4 * resendMs : null, opts.generatorURL);

  const sink: AlertmanagerSink = {
    async send(payloads) {
      const now = clock.now();
      const alerts: PostableAlert[] = [];
      for (const p of payloads) {
        if (p.status === 'flapping') continue;
        if (p.status === 'firing') firing.set(p.fingerprint, p);
        else firing.delete(p.fingerprint);
        alerts.push(toPostable(p, now));
      }
      await post(alerts);
    },
    async resend() {
      const now = clock.now();
      await post([...firing.values()].map((p) => toPostable(p, now)));
    },
    async close() {
      if (timer !== null) clearInterval(timer);
    },
  };

  const timer =
    resendMs > 0
      ? setInterval(() => {
          sink.resend().catch((err: unknown) => opts.onError?.(err));
        }, resendMs)
      : null;
  timer?.unref();
  return sink;
}

/**
 * One payload in Alertmanager's model. Alertmanager works in wall time, seismo in event time:
 * a resolution's endsAt is capped at `now` (an endsAt in the future would keep it firing until
 * then), and startsAt never lies after endsAt, which Alertmanager rejects.
 */
export function toAlertmanager(p: AlertPayload, now: number, validUntil: number | null, generatorURL?: string): PostableAlert {
  const labels: Record<string, string> = {};
  // An empty label value means "no such label" in Prometheus's model.
  for (const [k, v] of Object.entries(p.labels)) if (v !== '') labels[k] = v;
  let startsAt = Date.parse(p.startsAt);
  let endsAt: number | null = null;
  if (p.status === 'resolved') {
    endsAt = Math.min(p.endsAt === null ? now : Date.parse(p.endsAt), now);
  } else if (validUntil !== null) {
    endsAt = validUntil;
  }
  startsAt = Math.min(startsAt, endsAt ?? now, now);
  const out: PostableAlert = { labels, annotations: { ...p.annotations }, startsAt: new Date(startsAt).toISOString() };
  if (endsAt !== null) out.endsAt = new Date(endsAt).toISOString();
  if (generatorURL !== undefined) out.generatorURL = generatorURL;
  return out;
}

function alertsEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SeismoError('CONFIG', `alertmanager url must look like http://host:9093, got '${url.slice(0, 100)}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SeismoError('CONFIG', `alertmanager url must be http or https, got '${url}'`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (err.name === 'TimeoutError') return 'request timed out';
    if (cause instanceof Error) return cause.message;
    return err.message;
  }
  return String(err);
}
