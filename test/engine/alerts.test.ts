/**
 * Alert scenarios through the real compiler and engine (replay): spikes with `for`, absence,
 * per-event rules with a quiet period, flapping, the payload, and a restart from a snapshot.
 * Event times are real epoch times (2026) so window alignment is exercised as it is live.
 */
import { describe, expect, it } from 'vitest';
import { parse } from '../../src/lang/parser.js';
import { check } from '../../src/lang/check.js';
import { compileProgram, type ProgramPlan } from '../../src/lang/compile.js';
import { Engine } from '../../src/engine/engine.js';
import { CollectingSink } from '../../src/engine/sink.js';
import { makeObjectDecoder } from '../../src/ingest/decode.js';
import { fingerprint, type AlertPayload } from '../../src/alerts/payload.js';
import type { ReplayRecord } from '../../src/replay.js';
import { run } from './helpers.js';

const STREAM = `CREATE STREAM s (id VARCHAR, t BIGINT, k VARCHAR, v DOUBLE, level VARCHAR)
  WITH (kafka_topic = 's', timestamp = 't');`;

/** 2026-01-01T10:00:00Z; scenario times are seconds after it. */
const T0 = Date.UTC(2026, 0, 1, 10);
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

type Ev = { t: number; k: string; v: number; level: string };
const ev = (sec: number, k: string, v = 1, level = 'info'): Ev => ({ t: T0 + sec * 1000, k, v, level });

function alertsOf(out: ReplayRecord[]): AlertPayload[] {
  return out.flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
}

/** "status service startsAt-sec [endsAt-sec]": times as seconds after T0. */
function brief(a: AlertPayload): string {
  const sec = (iso: string) => (Date.parse(iso) - T0) / 1000;
  return `${a.status} ${a.labels.service ?? '-'} ${sec(a.startsAt)}${a.endsAt === null ? '' : ` ${sec(a.endsAt)}`}`;
}

/** A steady latency of 50..60 ms with a little deterministic jitter, per service. */
function latency(sec: number, service: string): number {
  return 50 + ((sec * 7 + service.length * 3) % 11);
}

describe('a latency spike through a view and a ZSCORE rule', () => {
  const sql = (forClause: string) => `${STREAM}
    CREATE VIEW lat AS
    SELECT k AS service, COUNT(*) AS n, AVG(v) AS avg_ms FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;
    CREATE ALERT lat_high WITH (${forClause} severity = 'page') AS
    SELECT service, avg_ms, ZSCORE(avg_ms) AS z FROM lat
    HAVING ZSCORE(avg_ms) > 4 AND avg_ms > 100;`;

  // Five minutes of normal history (30 windows, past the 10-row warm-up), then a 50-second spike
  // in 'checkout' (windows 300..350) and a one-window blip in 'search' (400..410).
  const events: Ev[] = [];
  for (let sec = 0; sec < 600; sec++) {
    const spike = sec >= 300 && sec < 350;
    const blip = sec >= 400 && sec < 410;
    events.push(ev(sec, 'checkout', spike ? 400 : latency(sec, 'checkout')));
    events.push(ev(sec, 'search', blip ? 400 : latency(sec, 'search')));
  }

  it('fires once after `for`, resolves once when the spike ends; a one-window blip never fires', () => {
    const alerts = alertsOf(run(sql(`for = '20 SECONDS',`), events));
    // Pending at the end of the first spike window (310), firing 20 s later; the first normal
    // window after the spike (350..360) resolves it.
    expect(alerts.map(brief)).toEqual(['firing checkout 330', 'resolved checkout 330 360']);
  });

  it('the blip does match the condition: `for` is what keeps it quiet', () => {
    const alerts = alertsOf(run(sql(''), events));
    expect(alerts.map(brief)).toEqual([
      'firing checkout 310',
      'resolved checkout 310 360',
      'firing search 410',
      'resolved search 410 420',
    ]);
  });
});

describe('absence: HAVING COUNT(*) = 0 on a windowed rule', () => {
  const sql = `${STREAM}
    CREATE ALERT silent WITH (severity = 'ticket', summary = '{{service}} sent nothing') AS
    SELECT k AS service, COUNT(*) AS events FROM s
    WINDOW TUMBLING (SIZE 20 SECONDS) GROUP BY k HAVING COUNT(*) = 0;`;

  it('fires for a service that stops sending and resolves when it comes back', () => {
    const events: Ev[] = [];
    for (let sec = 0; sec < 300; sec++) {
      events.push(ev(sec, 'a'));
      if (sec < 100 || sec >= 200) events.push(ev(sec, 'b'));
    }
    // [100,120) is b's first empty window; [200,220) its first with data again.
    expect(alertsOf(run(sql, events)).map(brief)).toEqual(['firing b 120', 'resolved b 120 220']);
  });

  it('gives the same transitions when one watermark step closes several windows', () => {
    // b's event at 121 lands in [120,140); the next event (150) closes the empty [100,120) and
    // [120,140) in one step. The empty window must still be evaluated first.
    const events: Ev[] = [];
    for (let sec = 0; sec < 100; sec++) events.push(ev(sec, 'b'));
    events.push(ev(121, 'b'));
    for (let sec = 150; sec < 200; sec++) events.push(ev(sec, 'b'));
    expect(alertsOf(run(sql, events)).map(brief)).toEqual(['firing b 120', 'resolved b 120 140']);
  });

  it('hopping windows whose size is not a multiple of the advance: a steady source never fires', () => {
    const hopping = `${STREAM}
      CREATE ALERT silent AS SELECT k AS service, COUNT(*) AS events FROM s
      WINDOW HOPPING (SIZE 25 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY k HAVING COUNT(*) = 0;`;
    const events: Ev[] = [];
    for (let sec = 3; sec < 300; sec++) {
      events.push(ev(sec, 'a'));
      if (sec < 103 || sec > 203) events.push(ev(sec, 'b'));
    }
    // b's last event before the gap is at 102: [110,135) is the first window without it.
    // b is back at 204, in [180,205), the first window with data again.
    expect(alertsOf(run(hopping, events)).map(brief)).toEqual(['firing b 135', 'resolved b 135 205']);
  });

  it('sliding windows are not evaluated on empty panes (they exist only where events are)', () => {
    const sliding = `${STREAM}
      CREATE ALERT silent AS SELECT k AS service, COUNT(*) AS events FROM s
      WINDOW SLIDING (SIZE 20 SECONDS) GROUP BY k HAVING COUNT(*) = 0;`;
    const events: Ev[] = [];
    for (let sec = 0; sec < 300; sec += 5) events.push(ev(sec, 'a'));
    expect(alertsOf(run(sliding, events))).toEqual([]);
  });
});

describe('a per-event rule (no window, PARTITION BY)', () => {
  const sql = `${STREAM}
    CREATE ALERT fatal WITH (quiet_period = '1 MINUTE', summary = '{{service}}: fatal at {{v}}') AS
    SELECT k AS service, v FROM s WHERE level = 'fatal' PARTITION BY k;`;

  it('fires once per group and resolves a quiet period after the last match', () => {
    const events: Ev[] = [];
    for (let sec = 0; sec < 400; sec++) {
      const aFatal = (sec >= 50 && sec < 60) || sec === 250;
      events.push(ev(sec, 'a', sec, aFatal ? 'fatal' : 'info'));
      events.push(ev(sec, 'b', sec, sec === 100 ? 'fatal' : 'info'));
    }
    const alerts = alertsOf(run(sql, events));
    expect(alerts.map(brief)).toEqual([
      'firing a 50', // ten fatal lines, one notification
      'firing b 100',
      'resolved a 50 119', // last fatal at 59 + 60 s; the info lines in between do not resolve it
      'resolved b 100 160',
      'firing a 250', // a new incident: a new startsAt
      'resolved a 250 310',
    ]);
    expect(alerts[0]!.annotations.summary).toBe('a: fatal at 50');
    // The resolution repeats the last matching values.
    expect(alerts[2]!.values).toEqual({ v: 59 });
  });
});

describe('flapping through the engine', () => {
  const sql = `${STREAM}
    CREATE ALERT hot AS SELECT k AS service, AVG(v) AS avg_v FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k HAVING AVG(v) > 100;`;

  it('sends one flapping notice instead of a storm, then the settled state', () => {
    // Windows 5..19 alternate high/low (15 changes), 20..29 stay high, then low again.
    const events: Ev[] = [];
    for (let sec = 0; sec < 400; sec++) {
      const w = Math.floor(sec / 10);
      const high = (w >= 5 && w < 20 && w % 2 === 1) || (w >= 20 && w < 30);
      events.push(ev(sec, 'a', high ? 200 : 10));
    }
    const alerts = alertsOf(run(sql, events));
    expect(alerts.map(brief)).toEqual([
      'firing a 60',
      'resolved a 60 70',
      'firing a 80',
      'resolved a 80 90',
      'flapping a 100', // the fifth change in ten evaluations
      'firing a 200', // settled (fewer than 4 changes in the last 10): the state it settled in
      'resolved a 200 310',
    ]);
    expect(alerts[4]!.endsAt).toBeNull();
    expect(Date.parse(alerts[5]!.emittedAt)).toBeGreaterThan(Date.parse(alerts[5]!.startsAt));
  });
});

describe('the alert payload', () => {
  const sql = `${STREAM}
    CREATE ALERT slow_service WITH (
      for = '10 SECONDS', severity = 'page', labels = 'team=payments, tier=1',
      summary = '{{service}} averages {{avg_ms}} ms over {{n}} requests',
      description = 'team payments: {{ SERVICE }} is slow'
    ) AS
    SELECT k AS service, COUNT(*) AS n, AVG(v) AS avg_ms FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k HAVING AVG(v) > 100;`;
  const events: Ev[] = [];
  for (let sec = 0; sec < 100; sec++) {
    events.push(ev(sec, 'checkout', sec >= 30 && sec < 60 ? 250.5 : 20));
    events.push(ev(sec, 'search', 20));
  }

  it('has Alertmanager labels, rendered annotations, times, values and window', () => {
    const alerts = alertsOf(run(sql, events));
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved']);
    const [firing, resolved] = alerts as [AlertPayload, AlertPayload];
    const labels = { alertname: 'slow_service', service: 'checkout', team: 'payments', tier: '1', severity: 'page' };
    expect(firing).toEqual({
      fingerprint: fingerprint(labels),
      status: 'firing',
      labels,
      annotations: { summary: 'checkout averages 250.5 ms over 10 requests', description: 'team payments: checkout is slow' },
      startsAt: at(50), // pending at the end of [30,40), held 10 s at the end of [40,50)
      endsAt: null,
      values: { n: 10, avg_ms: 250.5 },
      window: { start: at(40), end: at(50) },
      emittedAt: at(50),
    });
    expect(Object.keys(firing.labels)[0]).toBe('alertname');
    expect(resolved).toEqual({
      ...firing,
      status: 'resolved',
      endsAt: at(70), // [60,70) is the first window back to normal
      window: { start: at(50), end: at(60) }, // the last matching window
      emittedAt: at(70),
    });
  });

  it('has a fingerprint that is stable across runs and distinct per group', () => {
    const a = alertsOf(run(sql, events));
    const b = alertsOf(run(sql, events));
    expect(b).toEqual(a);
    const other = events.map((e) => ({ ...e, k: e.k === 'checkout' ? 'search' : 'checkout' }));
    const swapped = alertsOf(run(sql, other));
    expect(swapped[0]!.labels.service).toBe('search');
    expect(swapped[0]!.fingerprint).not.toBe(a[0]!.fingerprint);
  });
});

describe('a restart mid-incident (snapshot and restore)', () => {
  const sql = `${STREAM}
    CREATE VIEW lat AS
    SELECT k AS service, AVG(v) AS avg_ms FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;
    CREATE ALERT lat_high WITH (for = '20 SECONDS') AS
    SELECT service, avg_ms, ZSCORE(avg_ms) AS z FROM lat HAVING ZSCORE(avg_ms) > 4;
    CREATE ALERT silent AS SELECT k AS service, COUNT(*) AS events FROM s
    WINDOW TUMBLING (SIZE 20 SECONDS) GROUP BY k HAVING COUNT(*) = 0;
    CREATE ALERT fatal WITH (quiet_period = '30 SECONDS') AS
    SELECT k AS service FROM s WHERE level = 'fatal' PARTITION BY k;`;
  const events: Ev[] = [];
  for (let sec = 0; sec < 600; sec++) {
    events.push(ev(sec, 'a', sec >= 300 && sec < 360 ? 500 : latency(sec, 'a'), sec >= 310 && sec < 320 ? 'fatal' : 'info'));
    if (sec < 320 || sec >= 400) events.push(ev(sec, 'b', latency(sec, 'b')));
  }

  function program(): ProgramPlan {
    const file = parse('test.sql', sql);
    const { diagnostics, program: checked } = check([file]);
    expect(diagnostics).toEqual([]);
    return compileProgram(file.statements, new Map(checked.queries.map((q) => [q.name, q])));
  }

  /** Feeds events as replay does (watermark = largest event time); returns the engine. */
  function feed(engine: Engine, plan: ProgramPlan, batch: Ev[]): void {
    const decode = makeObjectDecoder(plan.streams[0]!, { keysFromValue: true });
    for (const [i, e] of batch.entries()) {
      const r = decode({ ...e }, null, i);
      if (!r.ok) throw new Error(r.reason);
      engine.process('s', r.row, r.ts);
      engine.advance('s', r.ts);
    }
  }

  it('continues exactly where it stopped: the same transitions as an uninterrupted run', () => {
    const plan = program();
    const whole = new CollectingSink();
    feed(new Engine(plan, whole, { coalesce: false }), plan, events);

    // Stop in the middle of all three incidents (latency pending/firing, b silent, a fatal).
    const cut = events.findIndex((e) => e.t >= T0 + 335_000);
    const first = new CollectingSink();
    const before = new Engine(plan, first, { coalesce: false });
    feed(before, plan, events.slice(0, cut));
    const snapshot = before.snapshot();
    const second = new CollectingSink();
    const after = new Engine(program(), second, { coalesce: false });
    after.restore(snapshot);
    feed(after, plan, events.slice(cut));

    const alerts = (s: CollectingSink) => s.out.flatMap((o) => (o.kind === 'alert' ? [o.alert] : []));
    expect(alerts(first).length).toBeGreaterThan(0);
    expect(alerts(second).length).toBeGreaterThan(0);
    expect([...alerts(first), ...alerts(second)]).toEqual(alerts(whole));
    expect(alerts(whole).map((a) => `${a.labels.alertname} ${brief(a)}`)).toEqual([
      'fatal firing a 310',
      'lat_high firing a 330',
      'silent firing b 340',
      'fatal resolved a 310 349',
      'lat_high resolved a 330 370',
      'silent resolved b 340 420',
    ]);
  });
});
