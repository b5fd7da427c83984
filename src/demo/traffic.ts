/**
 * Synthetic telemetry for the demo: request-latency metrics and log lines for a handful of
 * services, with a daily cycle and incidents injected on a fixed schedule (a latency regression,
 * an error burst, a service going silent). Pure: given a time, it says what happens.
 */
export const SERVICES = ['checkout', 'payments', 'search', 'catalog', 'auth'] as const;

/** Incidents repeat every cycle; offsets in ms from the cycle start. */
export const CYCLE_MS = 6 * 60_000;
export const INCIDENTS = [
  { kind: 'latency', service: 'checkout', from: 60_000, to: 150_000 },
  { kind: 'errors', service: 'payments', from: 180_000, to: 240_000 },
  { kind: 'silent', service: 'search', from: 270_000, to: 330_000 },
] as const;

export type IncidentKind = (typeof INCIDENTS)[number]['kind'];

/** The incident affecting a service at time t (relative to the demo start), if any. */
export function incidentAt(service: string, sinceStart: number): IncidentKind | null {
  if (sinceStart < 0) return null;
  // (before the schedule's start there are no incidents: the backfilled history is normal)
  const inCycle = sinceStart % CYCLE_MS;
  for (const i of INCIDENTS) if (i.service === service && inCycle >= i.from && inCycle < i.to) return i.kind;
  return null;
}


const BASE_MS: Record<string, number> = { checkout: 80, payments: 120, search: 45, catalog: 30, auth: 20 };

/** One request latency in ms: log-normal around the service's base, with a daily cycle. */
export function latency(service: string, t: number, incident: IncidentKind | null, rnd: () => number): number {
  const hour = (t / 3_600_000) % 24;
  const daily = 1 + 0.25 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
  const gauss = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const v = (BASE_MS[service] ?? 50) * daily * Math.exp(0.25 * gauss);
  return Math.round((incident === 'latency' ? v * 6 : v) * 10) / 10;
}

export interface TrafficEvents {
  metrics: object[];
  logs: object[];
}

/**
 * Events of one tick of `tickMs` ending at time t. `start` is when the demo began (incidents are
 * scheduled from it); `perSecond` requests per service per second.
 */
export function tick(t: number, tickMs: number, start: number, perSecond: number, rnd: () => number, seq: { n: number }): TrafficEvents {
  const out: TrafficEvents = { metrics: [], logs: [] };
  for (const service of SERVICES) {
    const incident = incidentAt(service, t - start);
    if (incident === 'silent') continue;
    const n = Math.max(1, Math.round((perSecond * tickMs) / 1000));
    for (let i = 0; i < n; i++) {
      const at = t - tickMs + Math.floor(rnd() * tickMs);
      const id = `e-${start}-${seq.n++}`;
      const source = `${service}-${Math.floor(rnd() * 3)}`;
      out.metrics.push({
        event_id: `m${id}`, event_time: new Date(at).toISOString(), source, schema_version: 1,
        name: 'http.request.duration', value: latency(service, at, incident, rnd), labels: { service, region: 'eu-west-1' },
      });
      if (i % 2 === 0) {
        const errorP = incident === 'errors' ? 0.5 : 0.01;
        const level = rnd() < errorP ? 'error' : rnd() < 0.1 ? 'warn' : 'info';
        out.logs.push({
          event_id: `l${id}`, event_time: new Date(at).toISOString(), source, schema_version: 1, service, level,
          message: level === 'error' ? 'upstream request failed' : 'request served',
        });
      }
    }
  }
  // Real producers send roughly in time order; disorder beyond the grace period would be late.
  const byTime = (a: object, b: object) =>
    (a as { event_time: string }).event_time.localeCompare((b as { event_time: string }).event_time);
  out.metrics.sort(byTime);
  out.logs.sort(byTime);
  return out;
}
