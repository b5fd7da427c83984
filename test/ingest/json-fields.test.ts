import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { FieldScanner } from '../../src/ingest/json-fields.js';
import { makeDecoder, makeObjectDecoder, type DecodeResult } from '../../src/ingest/decode.js';
import type { StreamPlan } from '../../src/plan.js';
import { prng } from '../../src/prng.js';

const NAMES = ['event_id', 'ts', 'host', 'value', 'n', 'labels', 'ok'];

function scan(text: string, names = NAMES): unknown[] | false {
  const s = new FieldScanner(names);
  return s.scan(Buffer.from(text)) ? [...s.values] : false;
}

describe('FieldScanner', () => {
  it('reads declared fields, skips the rest, and leaves absent ones undefined', () => {
    expect(scan('{"host":"a","x":[1,{"y":"z"}],"value":1.5,"ok":true,"n":null}')).toEqual([
      undefined, undefined, 'a', 1.5, null, undefined, true,
    ]);
    expect(scan(' {\n} ')).toEqual(NAMES.map(() => undefined));
    expect((scan('{"labels":{"a":"b","c":[1]}}') as unknown[])[5]).toEqual({ a: 'b', c: [1] });
  });

  it('builds flat string objects itself, as JSON.parse would, and leaves the rest to it', () => {
    for (const text of ['{"a":"b","a":"c","d":"e"}', '{"__proto__":"x","y":"z"}', '{"n":1,"s":"t"}', '{"k":{"x":"y"}}', '{"q":"a\\"b"}']) {
      const got = (scan(`{"labels":${text}}`) as unknown[])[5] as Record<string, unknown>;
      const want = JSON.parse(text) as Record<string, unknown>;
      expect(got).toEqual(want);
      expect(Object.keys(got)).toEqual(Object.keys(want));
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    }
  });

  it('decodes escaped strings exactly as JSON.parse does', () => {
    expect((scan('{"host":"a\\"b\\\\c\\u00e9\\n"}') as unknown[])[2]).toBe('a"b\\c\u00e9\n');
  });

  it('returns the same interned string for repeated values, and never a wrong one on a collision', () => {
    // The id field never repeats, so it is left out of interning after a sample, then sampled again.
    const s = new FieldScanner(['host', 'id']);
    const seen = new Map<string, string>();
    for (let i = 0; i < 150_000; i++) {
      const host = `host-${(i * 7919) % 20_000}`;
      expect(s.scan(Buffer.from(`{"id":"e-${i}","host":"${host}"}`))).toBe(true);
      expect(s.values[0]).toBe(host);
      expect(s.values[1]).toBe(`e-${i}`);
      seen.set(host, s.values[0] as string);
    }
    expect(seen.size).toBe(20_000);
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', '[1]'],
    ['a trailing comma', '{"host":"a",}'],
    ['a missing colon', '{"host" "a"}'],
    ['an unterminated string', '{"host":"a'],
    ['a control character in a string', '{"x":"a\tb"}'],
    ['a bad escape', '{"x":"\\q"}'],
    ['a short unicode escape', '{"x":"\\u12"}'],
    ['a leading zero', '{"value":01}'],
    ['a bare minus', '{"value":-}'],
    ['a dot without digits', '{"value":1.}'],
    ['an exponent without digits', '{"value":1e}'],
    ['trailing garbage', '{"host":"a"} x'],
    ['two objects', '{}{}'],
    ['a misspelt literal', '{"ok":tru}'],
    ['an unclosed nested array', '{"x":[1,2}'],
    ['non-ASCII text', '{"host":"caf\u00e9"}'],
    ['a duplicate declared field', '{"host":"a","host":"b"}'],
    ['a declared field in another case', '{"HOST":"a"}'],
    ['nesting deeper than 64', `{"x":${'['.repeat(70)}${']'.repeat(70)}}`],
  ])('leaves %s to JSON.parse', (_, text) => {
    expect(scan(text)).toBe(false);
  });

  it('converts numbers exactly as JSON.parse does', () => {
    const rnd = prng(7);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
    const cases = ['0', '-0', '1e400', '-1e-400', '9007199254740993', '0.1', '1E+2', '123456789012345678901234567890'];
    for (let i = 0; i < 20_000; i++) {
      let t = (rnd() < 0.3 ? '-' : '') + (rnd() < 0.2 ? '0' : String(1 + Math.floor(rnd() * 9)) + digits(Math.floor(rnd() * 18)));
      if (rnd() < 0.6) t += '.' + digits(1 + Math.floor(rnd() * 18));
      if (rnd() < 0.3) t += (rnd() < 0.5 ? 'e' : 'E') + ['', '+', '-'][Math.floor(rnd() * 3)] + String(Math.floor(rnd() * 40));
      cases.push(t);
    }
    for (const t of cases) {
      const got = scan(`{"value":${t}}`);
      expect(got, t).not.toBe(false);
      expect(Object.is((got as unknown[])[3], JSON.parse(t)), t).toBe(true);
    }
  });
});

const stream: StreamPlan = {
  name: 'm',
  topic: 'm',
  columns: [
    { name: 'event_id', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'ts', type: { kind: 'scalar', name: 'TIMESTAMP' }, key: false },
    { name: 'host', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'value', type: { kind: 'scalar', name: 'DOUBLE' }, key: false },
    { name: 'n', type: { kind: 'scalar', name: 'INT' }, key: false },
    { name: 'labels', type: { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' }, key: false },
    { name: 'ok', type: { kind: 'scalar', name: 'BOOLEAN' }, key: false },
  ],
  timestampColumn: 'ts',
  eventIdColumn: 'event_id',
  retainMs: null,
};

/** The decoder as it was before the scanner: JSON.parse of the whole record, then the object decoder. */
function reference(value: Buffer): DecodeResult {
  const decodeObject = makeObjectDecoder(stream);
  if (value.length === 0) return { ok: false, reason: 'empty', detail: 'record has no value (tombstone)' };
  const text = value.toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(value)) return { ok: false, reason: 'not_json', detail: 'value is not valid UTF-8' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not_object', detail: '' };
  return decodeObject(parsed as Record<string, unknown>, null, 0);
}

/** Random records near the schema: right and wrong types, other cases, escapes, noise fields. */
function randomRecord(rnd: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const values = [
    '"a"', '"host-1"', '""', '"x\\"y"', '"caf\u00e9"', '"\\u0041"', '1', '-2.5', '1e3', '0.1', '12345678901234567890',
    'true', 'false', 'null', '{}', '{"k":"v"}', '{"k":1}', '[1,"a"]', '"2026-11-25T10:00:00Z"', '1764000000000', '"42"',
  ];
  const keys = [...NAMES, 'Host', 'VALUE', 'extra', 'e\\u0078tra', 'x'];
  const good: Record<string, readonly string[]> = {
    host: ['"a"', '"host-7"', '1'], value: ['1.5', '-0', '"2.5"', '1e-7'], n: ['3', '"4"'], ok: ['true', '"false"'],
    labels: ['{"a":"b"}', '{"a":1,"b":null}', '{}', '{"a":"b","a":"c","d":"e"}', '{"__proto__":"x"}', '{"k":"v\\"w"}', '{ "a" : "b" , "c":"d" }'],
  };
  const fields: string[] = [];
  const count = Math.floor(rnd() * 9);
  if (rnd() < 0.9) fields.push(`"ts":${pick(['1764000000000', '1764000000000', '"2026-11-25T10:00:00Z"', '"bad"', 'null', '-5'])}`);
  if (rnd() < 0.9) fields.push(`"event_id":${pick(['"e-1"', '"e-2"', '"e-3"', '7', '""', 'null'])}`);
  for (let i = 0; i < count; i++) {
    const key = pick(keys);
    const v = good[key] && rnd() < 0.8 ? pick(good[key]) : pick(values);
    fields.push(`"${key}"${pick(['', ' '])}:${pick(['', ' '])}${v}`);
  }
  for (let i = fields.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  return `${pick(['', ' ', '\n'])}{${fields.join(pick([',', ', ', ' ,']))}}${pick(['', ' ', '\r\n'])}`;
}

describe('makeDecoder with the scanner', () => {
  it('gives exactly the result of JSON.parse and the object decoder, on valid and corrupted records', () => {
    const rnd = prng(42);
    const decode = makeDecoder(stream);
    let scannedValid = 0;
    for (let i = 0; i < 30_000; i++) {
      let bytes = Buffer.from(randomRecord(rnd));
      if (rnd() < 0.3) {
        // Corrupt one byte: a truncation, a deletion or a random byte (invalid UTF-8 included).
        const at = Math.floor(rnd() * bytes.length);
        const mode = rnd();
        if (mode < 0.33) bytes = bytes.subarray(0, at);
        else if (mode < 0.66) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        else {
          bytes = Buffer.from(bytes);
          bytes[at] = Math.floor(rnd() * 256);
        }
      }
      const got = decode(bytes, null, 0);
      const want = reference(bytes);
      // The not_object detail previews the value; its reason is what this comparison is about.
      if (!want.ok && want.reason === 'not_object') expect(got.ok ? 'ok' : got.reason).toBe('not_object');
      else expect(got, bytes.toString('latin1')).toEqual(want);
      if (got.ok) scannedValid++;
    }
    // The generator must produce plenty of valid events, or the comparison proves little.
    expect(scannedValid).toBeGreaterThan(2_000);
  });
});

describe('FieldScanner with shareObjects', () => {
  const scanOne = (s: FieldScanner, text: string): unknown => {
    expect(s.scan(Buffer.from(text))).toBe(true);
    return s.values[0];
  };

  it('gives records with the same object bytes the same object, equal to what JSON.parse gives', () => {
    const s = new FieldScanner(['labels'], true);
    const a = scanOne(s, '{"labels":{"series":"s-1","region":"eu"},"v":1}');
    const b = scanOne(s, '{"v":2,"labels":{"series":"s-1","region":"eu"}}');
    const c = scanOne(s, '{"labels":{"series":"s-2","region":"eu"}}');
    const d = scanOne(s, '{"labels":{"region":"eu","series":"s-1"}}');
    expect(b).toBe(a);
    expect(a).toEqual({ series: 's-1', region: 'eu' });
    expect(c).not.toBe(a);
    expect(c).toEqual({ series: 's-2', region: 'eu' });
    // Other bytes (key order) are another object, with JSON.parse's key order.
    expect(d).not.toBe(a);
    expect(Object.keys(d as object)).toEqual(['region', 'series']);
  });

  it('never shares without the option, nor objects the flat reader declines', () => {
    const plain = new FieldScanner(['labels']);
    expect(scanOne(plain, '{"labels":{"a":"1"}}')).not.toBe(scanOne(plain, '{"labels":{"a":"1"}}'));
    const s = new FieldScanner(['labels'], true);
    const nested = '{"labels":{"a":{"b":"1"}}}';
    const x = scanOne(s, nested);
    expect(x).toEqual({ a: { b: '1' } });
    expect(scanOne(s, nested)).not.toBe(x);
  });
});
