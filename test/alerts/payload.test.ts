import { describe, expect, it } from 'vitest';
import { fingerprint, formatValue, labelValue, NO_VALUE, renderTemplate } from '../../src/alerts/payload.js';
import type { Value } from '../../src/types.js';

describe('fingerprint', () => {
  it('is FNV-1a 64 (offset basis for no labels), 16 hex chars', () => {
    expect(fingerprint({})).toBe('cbf29ce484222325');
    expect(fingerprint({ alertname: 'x' })).toMatch(/^[0-9a-f]{16}$/);
  });
  it('does not depend on label order', () => {
    expect(fingerprint({ alertname: 'a', service: 'checkout', severity: 'page' })).toBe(
      fingerprint({ severity: 'page', service: 'checkout', alertname: 'a' }),
    );
  });
  it('is stable across runs (a pinned value)', () => {
    // Consumers key on it: changing the hash is a breaking change. Value checked with an independent FNV-1a.
    expect(fingerprint({ alertname: 'latency_anomaly', service: 'checkout' })).toBe(
      fingerprint(JSON.parse('{"service":"checkout","alertname":"latency_anomaly"}') as Record<string, string>),
    );
    expect(fingerprint({ alertname: 'latency_anomaly', service: 'checkout' })).toBe('0196f8d3d9117c7b');
  });
  it('differs for different label sets, including ones that would collide without separators', () => {
    const sets: Record<string, string>[] = [
      { a: 'b,c' },
      { a: 'b', c: '' },
      { ab: 'c' },
      { a: 'bc' },
      { a: '' },
      { b: '' },
      { alertname: 'x', host: 'h1' },
      { alertname: 'x', host: 'h2' },
      { alertname: 'y', host: 'h1' },
      { alertname: 'x', host: 'h1', severity: 'page' },
      { alertname: 'x', host: 'héllo' },
      { alertname: 'x', host: 'hello' },
    ];
    const fps = new Set(sets.map(fingerprint));
    expect(fps.size).toBe(sets.length);
  });
  it('matches a straightforward BigInt FNV-1a 64 on many label sets', () => {
    const reference = (labels: Record<string, string>): string => {
      let h = 0xcbf29ce484222325n;
      for (const name of Object.keys(labels).sort()) {
        for (const part of [name, labels[name]!]) {
          for (const b of [...new TextEncoder().encode(part), 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
        }
      }
      return h.toString(16).padStart(16, '0');
    };
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const labels: Record<string, string> = { alertname: `r${rnd() % 10}` };
      for (let j = rnd() % 4; j > 0; j--) labels[`k${rnd() % 6}`] = String.fromCharCode(...Array.from({ length: rnd() % 12 }, () => 32 + (rnd() % 400)));
      expect(fingerprint(labels)).toBe(reference(labels));
    }
  });
  it('spreads many similar label sets without collisions', () => {
    const fps = new Set<string>();
    for (let i = 0; i < 20_000; i++) fps.add(fingerprint({ alertname: 'cpu', host: `host-${i}` }));
    expect(fps.size).toBe(20_000);
  });
});

describe('renderTemplate', () => {
  const values: Record<string, Value> = {
    service: 'checkout',
    p99_ms: 812.5,
    z: 6.123456,
    count: 42,
    tiny: 0.000123456,
    ratio: 0.5,
    big: 1234567.891,
    neg: -3.14159,
    ok: true,
    missing_value: null,
    labels: { b: '2', a: '1' },
    inf: Infinity,
  };
  const cases: [string, string][] = [
    ['p99 latency of {{service}} is {{p99_ms}} ms (z={{z}})', 'p99 latency of checkout is 812.5 ms (z=6.1235)'],
    ['{{ service }} / {{SERVICE}}', 'checkout / checkout'],
    ['{{count}} requests', '42 requests'],
    ['{{tiny}} {{ratio}} {{big}} {{neg}}', '0.0001235 0.5 1234567.891 -3.1416'],
    ['{{ok}}', 'true'],
    ['{{missing_value}}', NO_VALUE],
    ['{{nope}}', NO_VALUE],
    ['{{labels}}', '{"b":"2","a":"1"}'],
    ['{{inf}}', 'Infinity'],
    ['no placeholders {single} {{ }}', 'no placeholders {single} {{ }}'],
    ['', ''],
  ];
  it.each(cases)('%s', (tpl, want) => {
    expect(renderTemplate(tpl, values)).toBe(want);
  });
});

describe('formatValue and labelValue', () => {
  it('labels keep exact numbers and sort map keys; NULL is empty', () => {
    expect(labelValue(0.123456789)).toBe('0.123456789');
    expect(labelValue({ b: '2', a: '1' })).toBe('{"a":"1","b":"2"}');
    expect(labelValue(null)).toBe('');
    expect(labelValue(false)).toBe('false');
  });
  it('templates round to 4 decimals', () => {
    expect(formatValue(2.00001)).toBe('2');
    expect(formatValue(1e-9)).toBe('1.000e-9');
  });
});
