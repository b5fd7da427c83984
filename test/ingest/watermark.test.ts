import { describe, expect, it } from 'vitest';
import { MaxWatermark, WatermarkTracker } from '../../src/ingest/watermark.js';

/** Steps: ['obs', partition, ts, now] | ['tick', now] | ['assign', partitions, now] | ['revoke', partitions]; then the expected watermark. */
type Step = ['obs', number, number, number] | ['tick', number] | ['assign', number[], number] | ['revoke', number[]];

const cases: [string, [Step, number][]][] = [
  ['is -Infinity before any event', [[['tick', 0], -Infinity]]],
  ['single partition: the largest event time', [
    [['obs', 0, 100, 0], 100], [['obs', 0, 50, 1], 100], [['obs', 0, 300, 2], 300],
  ]],
  ['min over partitions', [
    [['obs', 0, 100, 0], 100], [['obs', 1, 40, 0], 100], [['obs', 1, 150, 1], 100],
    [['obs', 0, 400, 1], 150], [['obs', 1, 200, 1], 200],
  ]],
  ['min over partitions before it has advanced', [
    [['assign', [0, 1], 0], -Infinity], [['obs', 0, 100, 0], -Infinity], [['obs', 1, 40, 0], 40],
    [['obs', 1, 150, 1], 100], [['obs', 0, 400, 1], 150],
  ]],
  ['an assigned but silent partition holds back until idle', [
    [['assign', [0, 1], 0], -Infinity], [['obs', 0, 100, 0], -Infinity], [['tick', 999], -Infinity],
    [['obs', 0, 200, 999], -Infinity], [['tick', 1000], 200],
  ]],
  ['an idle partition stops holding back, and holds again when it resumes (never backwards)', [
    [['assign', [0, 1], 0], -Infinity], [['obs', 0, 100, 0], -Infinity], [['obs', 1, 50, 0], 50],
    [['obs', 0, 500, 600], 50], [['tick', 1000], 500], [['obs', 1, 60, 1100], 500],
    [['obs', 0, 900, 1200], 500], [['obs', 1, 700, 1200], 700],
  ]],
  ['all idle: advances with wall time since the last event', [
    [['obs', 0, 100, 0], 100], [['obs', 1, 80, 0], 100], [['tick', 999], 100], [['tick', 1000], 1100],
    [['tick', 5000], 5100], [['obs', 1, 90, 5001], 5100], [['tick', 5500], 5100], [['tick', 6001], 6100],
  ]],
  ['revoked partitions no longer count', [
    [['obs', 0, 100, 0], 100], [['obs', 1, 500, 0], 100], [['revoke', [0]], 500],
  ]],
];

describe('WatermarkTracker (idleMs = 1000)', () => {
  it.each(cases)('%s', (_name, steps) => {
    const w = new WatermarkTracker({ idleMs: 1000 });
    steps.forEach(([step, want], i) => {
      if (step[0] === 'obs') w.observe(step[1], step[2], step[3]);
      else if (step[0] === 'tick') w.tick(step[1]);
      else if (step[0] === 'assign') w.assign(step[1], step[2]);
      else w.revoke(step[1]);
      expect(w.current(), `step ${i}: ${JSON.stringify(step)}`).toBe(want);
    });
  });

  it('restores event-time state; downtime does not make partitions idle', () => {
    const w = new WatermarkTracker({ idleMs: 1000 });
    w.observe(0, 100, 0);
    w.observe(1, 300, 0);
    const r = WatermarkTracker.fromJSON(JSON.parse(JSON.stringify(w)), 1_000_000, { idleMs: 1000 });
    expect(r.current()).toBe(100);
    expect(r.tick(1_000_500)).toBe(100);
    r.observe(0, 400, 1_000_600);
    expect(r.current()).toBe(300);
    expect(r.tick(1_001_500)).toBe(400); // partition 1 idle now
  });

  it('serialises -Infinity as null', () => {
    expect(JSON.parse(JSON.stringify(new WatermarkTracker()))).toEqual({ watermark: null, partitions: [] });
  });
});

describe('MaxWatermark (replay)', () => {
  it('is the largest event time seen, whatever the partition or wall time', () => {
    const w = new MaxWatermark();
    expect(w.current()).toBe(-Infinity);
    w.observe(0, 100);
    w.observe(3, 50);
    expect(w.tick()).toBe(100);
    expect(MaxWatermark.fromJSON(w.toJSON()).current()).toBe(100);
  });
});
