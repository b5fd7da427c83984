import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/alerts/payload.js';
import { AlertTracker, alertRule, type AlertRule } from '../../src/alerts/tracker.js';
import { compact, run, STEP } from './series.js';

const min = STEP;

function tracker(r: Partial<AlertRule> = {}): AlertTracker {
  return new AlertTracker(alertRule({ name: 'cpu_high', ...r }));
}

describe('AlertTracker lifecycle', () => {
  const cases: { name: string; rule: Partial<AlertRule>; series: string; tick?: boolean; want: string[] }[] = [
    { name: 'for=0 fires and resolves', rule: {}, series: '0 1 1 0 0', want: ['1 firing@1', '3 resolved@1-3'] },
    {
      name: 'startsAt is when it started firing, not when pending began',
      rule: { forMs: 2 * min },
      series: '1 1 1 1 0',
      want: ['2 firing@2', '4 resolved@2-4'],
    },
    { name: 'true, false, true within for: never fires', rule: { forMs: 2 * min }, series: '1 1 0 1 1 0', want: [] },
    { name: 'pending then no match: no notification', rule: { forMs: 5 * min }, series: '1x3 0x3', want: [] },
    {
      name: 'keep_firing_for bridges dips',
      rule: { keepFiringForMs: 2 * min },
      series: '1 0 1 0 1 0 0 0',
      want: ['0 firing@0', '6 resolved@0-6'],
    },
    {
      name: 'a new activation is a new instance with a new startsAt',
      rule: {},
      series: '1 0 0 0 0 0 0 0 0 0 0 0 1 0',
      want: ['0 firing@0', '1 resolved@0-1', '12 firing@12', '13 resolved@12-13'],
    },
    { name: 'non-matching groups create nothing', rule: {}, series: '0x5', want: [] },
    {
      name: 'per-event: fires once per group, resolves after the quiet period via tick',
      rule: { perEvent: true, quietPeriodMs: 5 * min },
      series: '1 1 1 _x8',
      tick: true,
      want: ['0 firing@0', '7 resolved@0-7'],
    },
    {
      name: 'per-event: a non-matching event does not resolve before the quiet period',
      rule: { perEvent: true, quietPeriodMs: 5 * min },
      series: '1 0 0 0 0 0 0',
      want: ['0 firing@0', '5 resolved@0-5'],
    },
    {
      name: 'per-event: keep_firing_for longer than the quiet period wins',
      rule: { perEvent: true, quietPeriodMs: 2 * min, keepFiringForMs: 4 * min },
      series: '1 _x6',
      tick: true,
      want: ['0 firing@0', '4 resolved@0-4'],
    },
    {
      name: 'per-event with for: pending dropped when quiet, no notification',
      rule: { perEvent: true, quietPeriodMs: 2 * min, forMs: 3 * min },
      series: '1 1 _x3 1 1 1',
      tick: true,
      want: [],
    },
    {
      name: 'windowed rule: tick does not resolve when quietPeriodMs is 0',
      rule: {},
      series: '1 _x30',
      tick: true,
      want: ['0 firing@0'],
    },
  ];
  it.each(cases)('$name', (c) => {
    expect(run(tracker(c.rule), c.series, { tick: c.tick ?? false }).map(compact)).toEqual(c.want);
  });
});

describe('flapping', () => {
  it('rapid toggling after firing sends one flapping payload, not a storm', () => {
    const t = tracker();
    const out = run(t, '1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0').map(compact);
    // Changes 1-4 are sent; the 5th in 10 evaluations enters flapping (startsAt = when it began).
    expect(out).toEqual(['0 firing@0', '1 resolved@0-1', '2 firing@2', '3 resolved@2-3', '4 flapping@4']);
  });

  it('leaves flapping once settled and sends the current state when it differs from the last one sent', () => {
    const t = tracker();
    const out = run(t, '1 0 1 0 1 0 1 1 1 1 1 1 1 1 1 1 1').map(compact);
    // Last sent: resolved@2. Firing since step 6; at step 13 the window (4..13) holds 3 changes < 4.
    expect(out).toEqual(['0 firing@0', '1 resolved@0-1', '2 firing@2', '3 resolved@2-3', '4 flapping@4', '13 firing@6']);
  });

  it('a later resolution after settling pairs with the startsAt that was sent', () => {
    const t = tracker();
    const out = run(t, '1 0 1 0 1 0 1 0 1 1 1 1 1 1 1 1 1 1 1 0').map(compact);
    // Changes at steps 0..8; at step 15 the window (6..15) holds 3 < 4 changes.
    expect(out).toEqual(['0 firing@0', '1 resolved@0-1', '2 firing@2', '3 resolved@2-3', '4 flapping@4', '15 firing@8', '19 resolved@8-19']);
  });

  it('settling in the state last sent sends nothing', () => {
    const t = tracker({ flapping: { maxChanges: 1, window: 6 } });
    // Sent firing@0; the resolution at 1 enters flapping; it settles firing at 10 (no change in 5..10):
    // consumers already think it fires, so nothing is sent until it resolves, paired with startsAt 0.
    const out = run(t, '1 0 1 0 1 1 1 1 1 1 1 0').map(compact);
    expect(out).toEqual(['0 firing@0', '1 flapping@1', '11 resolved@0-11']);
    expect(t.active()).toEqual([]);
  });

  it('active() marks a firing instance that is flapping', () => {
    const t = tracker({ flapping: { maxChanges: 1, window: 6 } });
    run(t, '1 0 1');
    expect(t.active().map((p) => p.status)).toEqual(['flapping']);
  });

  it('a flapping instance that goes quiet still gets its resolution when it expires', () => {
    const t = tracker({ perEvent: true, quietPeriodMs: 2 * min, flapping: { maxChanges: 1, window: 10 }, resolvedRetentionMs: 5 * min });
    const out = run(t, '1 _x3 1 _x20', { tick: true }).map(compact);
    // firing@0 sent; its quiet resolution at 2 is the 2nd change (> 1): flapping, held back. It
    // re-fires at 4 and resolves quietly at 6, still flapping; when dropped after retention
    // (6 + 5 < 12) the held-back resolution goes out, paired with startsAt 0.
    expect(out).toEqual(['0 firing@0', '2 flapping@2', '12 resolved@0-6']);
  });
});

describe('payload', () => {
  it('carries labels, rendered annotations, values and window', () => {
    const t = new AlertTracker(
      alertRule({
        name: 'latency_anomaly',
        severity: 'page',
        summary: 'p99 latency of {{service}} is {{p99_ms}} ms (z={{z}})',
        description: 'missing: {{nope}}',
        labels: { team: 'payments', alertname: 'cannot-override', service: 'overridden' },
      }),
    );
    const [p, ...rest] = t.evaluate({
      groupLabels: { service: 'checkout', region: 'eu' },
      matched: true,
      values: { service: 'checkout', p99_ms: 812.5, z: 6.1 },
      at: Date.parse('2026-11-24T10:15:00.000Z'),
      window: { start: Date.parse('2026-11-24T10:14:00.000Z'), end: Date.parse('2026-11-24T10:15:00.000Z') },
    });
    expect(rest).toEqual([]);
    const labels = { alertname: 'latency_anomaly', service: 'overridden', region: 'eu', team: 'payments', severity: 'page' };
    expect(p).toEqual({
      fingerprint: fingerprint(labels),
      status: 'firing',
      labels,
      annotations: { summary: 'p99 latency of checkout is 812.5 ms (z=6.1)', description: 'missing: <no value>' },
      startsAt: '2026-11-24T10:15:00.000Z',
      endsAt: null,
      values: { service: 'checkout', p99_ms: 812.5, z: 6.1 },
      window: { start: '2026-11-24T10:14:00.000Z', end: '2026-11-24T10:15:00.000Z' },
      emittedAt: '2026-11-24T10:15:00.000Z',
    });
    expect(Object.keys(p!.labels)[0]).toBe('alertname');
    expect(t.active()).toEqual([p]);
  });

  it('a resolution repeats startsAt and the last matching values, and sets endsAt', () => {
    const t = tracker({ summary: 'cpu {{v}}' });
    const out = run(t, '1 1 0', { values: (s) => ({ v: s * 10 }) });
    expect(out[1]).toMatchObject({
      status: 'resolved',
      startsAt: new Date(0).toISOString(),
      endsAt: new Date(2 * min).toISOString(),
      values: { v: 10 },
      annotations: { summary: 'cpu 10' },
    });
    expect(t.active()).toEqual([]);
  });

  it('keeps one instance per group', () => {
    const t = tracker();
    const a = run(t, '1 1 0', { groupLabels: { host: 'a' } });
    const b = run(t, '1 0', { groupLabels: { host: 'b' } });
    expect(a.map((p) => p.labels.host)).toEqual(['a', 'a']);
    expect(b.map((p) => p.labels.host)).toEqual(['b', 'b']);
    expect(a[0]!.fingerprint).not.toBe(b[0]!.fingerprint);
  });
});

describe('rule validation', () => {
  it.each([
    [{ forMs: -1 }, 'alert cpu_high: for must be a duration >= 0, got -1'],
    [{ flapping: { maxChanges: 0, window: 10 } }, 'alert cpu_high: flapping max changes must be an integer >= 1, got 0'],
    [{ flapping: { maxChanges: 2, window: 0 } }, 'alert cpu_high: flapping window must be an integer >= 1, got 0'],
  ] as [Partial<AlertRule>, string][])('%o', (r, msg) => {
    expect(() => tracker(r)).toThrow(msg);
  });
});

describe('checkpoints', () => {
  const rule: Partial<AlertRule> = { forMs: 2 * min, keepFiringForMs: 1 * min, summary: '{{v}}' };
  const input = '1 1 1 0 1 0 1 0 1 0 1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 0 0 0 0 1 1 1 0';

  it('toJSON/restore round trip gives identical further behaviour at every cut point', () => {
    const steps = input.split(' ');
    const full = run(tracker(rule), input);
    for (let cut = 0; cut <= steps.length; cut++) {
      const a = tracker(rule);
      const before = run(a, steps.slice(0, cut).join(' ') || '_x0');
      const json = JSON.parse(JSON.stringify(a.toJSON())) as unknown;
      const b = AlertTracker.restore(alertRule({ name: 'cpu_high', ...rule }), json);
      expect(b.toJSON()).toEqual(a.toJSON());
      const rest = steps.slice(cut).join(' ') || '_x0';
      const afterA = run(a, rest, { from: cut });
      const afterB = run(b, rest, { from: cut });
      expect(afterB).toEqual(afterA);
      expect(before.concat(afterB)).toEqual(full);
    }
  });

  it('restart mid-incident: replaying from the checkpoint yields the same fingerprint+startsAt+status', () => {
    const key = (p: { fingerprint: string; startsAt: string; status: string }) => `${p.fingerprint}/${p.startsAt}/${p.status}`;
    const live = tracker(rule);
    run(live, '1 1'); // pending, checkpointed here
    const checkpoint = JSON.stringify(live.toJSON());
    const emitted = run(live, '1 1 0', { from: 2 }); // fires at 2, resolves at 4; then the process dies
    expect(emitted.map(compact)).toEqual(['2 firing@2', '4 resolved@2-4']);
    const restarted = AlertTracker.restore(alertRule({ name: 'cpu_high', ...rule }), JSON.parse(checkpoint));
    const again = run(restarted, '1 1 0', { from: 2 });
    expect(again.map(key)).toEqual(emitted.map(key));
    expect(again).toEqual(emitted);

    // A checkpoint taken after the firing: redelivering the same evaluation emits no duplicate.
    const after = tracker(rule);
    run(after, '1 1 1');
    const restored = AlertTracker.restore(alertRule({ name: 'cpu_high', ...rule }), after.toJSON());
    expect(run(restored, '1', { from: 2 })).toEqual([]);
    expect(restored.active().map(key)).toEqual([key(emitted[0]!)]);
  });

  it.each([
    [null, 'unknown format'],
    [{ version: 2, instances: [] }, 'unknown format'],
    [{ version: 1, instances: [{ groupLabels: { a: 1 } }] }, 'groupLabels must map names to strings'],
    [{ version: 1, instances: [{ groupLabels: {}, state: { phase: 'weird' } }] }, 'bad state phase'],
  ])('restore rejects %j with one line', (json, why) => {
    expect(() => AlertTracker.restore(alertRule({ name: 'cpu_high' }), json)).toThrow(`alert cpu_high: cannot restore checkpoint: ${why}`);
  });
});

describe('instance lookup', () => {
  it('the same group labels in another key order are the same instance, also after it expired', () => {
    const t = tracker({ resolvedRetentionMs: 0 });
    const a = t.evaluate({ groupLabels: { host: 'a', dc: 'x' }, matched: true, values: {}, at: 0, window: null });
    const b = t.evaluate({ groupLabels: { dc: 'x', host: 'a' }, matched: false, values: {}, at: min, window: null });
    expect(b.map((p) => [p.status, p.fingerprint])).toEqual([['resolved', a[0]!.fingerprint]]);
    t.tick(10 * min); // expired and dropped
    const c = t.evaluate({ groupLabels: { host: 'a', dc: 'x' }, matched: true, values: {}, at: 11 * min, window: null });
    expect(c.map(compact)).toEqual(['11 firing@11']);
    expect(t.active()).toHaveLength(1);
  });
});
