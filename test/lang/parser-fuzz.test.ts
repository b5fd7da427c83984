import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { SqlSyntaxError } from '../../src/lang/diagnostic.js';
import { parse } from '../../src/lang/parser.js';
import { prng } from '../../src/prng.js';


const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const SEEDS = [fixture('spec-example.sql'), fixture('spec-fragments.sql')];
const PIECES = [
  'CREATE', 'STREAM', 'VIEW', 'ALERT', 'SELECT', 'FROM', 'WHERE', 'WINDOW', 'TUMBLING', 'HOPPING', 'SESSION',
  'SLIDING', 'SIZE', 'ADVANCE', 'BY', 'GRACE', 'PERIOD', 'RETENTION', 'GROUP', 'PARTITION', 'HAVING', 'EMIT',
  'CHANGES', 'FINAL', 'AS', 'WITH', 'AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN', 'LIKE', 'CASE', 'WHEN',
  'THEN', 'ELSE', 'END', 'COUNT', 'DISTINCT', 'MAP', 'VARCHAR', 'KEY', 'SECONDS', 'MINUTE', 'WINDOWSTART',
  'value', 'x', '"q"', '`b`', "'s'", "'it''s'", '1', '2.5', '1e3', '.5', '(', ')', '[', ']', ',', ';', '.', '*',
  '+', '-', '/', '%', '=', '=>', '!=', '<>', '<', '<=', '>', '>=', '||', '--c\n', '/*c*/', '\n', ' ', "'", '"',
  '/*', '#', '10s', '!', '|', '\u00e9', '\t',
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** A random token soup, biased to start like a statement. */
function randomStatement(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 40);
  const parts = rnd() < 0.7 ? ['CREATE', pick(rnd, ['STREAM', 'VIEW', 'ALERT'])] : [];
  for (let i = 0; i < n; i++) parts.push(pick(rnd, PIECES));
  return parts.join(rnd() < 0.5 ? ' ' : '');
}

/** A valid file with a few characters or tokens deleted, inserted, duplicated or swapped. */
function mutate(rnd: () => number, text: string): string {
  let s = text;
  const edits = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const len = Math.floor(rnd() * 12);
    switch (Math.floor(rnd() * 4)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + len);
        break;
      case 1:
        s = s.slice(0, at) + pick(rnd, PIECES) + ' ' + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      default: {
        const other = Math.floor(rnd() * s.length);
        s = s.slice(0, at) + s.slice(other, other + len) + s.slice(at + len);
      }
    }
  }
  return s;
}

test('5,000 random and mutated inputs: parse returns or throws SqlSyntaxError, nothing else', () => {
  const rnd = prng(20241124);
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 5_000; i++) {
    const text = i % 2 === 0 ? randomStatement(rnd) : mutate(rnd, pick(rnd, SEEDS));
    try {
      parse('fuzz.sql', text);
      parsed++;
    } catch (e) {
      if (!(e instanceof SqlSyntaxError)) throw new Error(`input ${i} threw ${String(e)}:\n${text}`);
      const { pos } = e.diagnostic;
      // The position must lie inside the input, and line/col must agree with the offset.
      expect(pos.offset).toBeGreaterThanOrEqual(0);
      expect(pos.offset).toBeLessThanOrEqual(text.length);
      const before = text.slice(0, pos.offset);
      expect(pos.line).toBe(before.split('\n').length);
      expect(pos.col).toBe(pos.offset - (before.lastIndexOf('\n') + 1) + 1);
      expect(e.message).not.toMatch(/undefined|NaN|\[object/);
      rejected++;
    }
  }
  // Both outcomes occur, so the test exercises the parser beyond its first token.
  expect(parsed).toBeGreaterThan(50);
  expect(rejected).toBeGreaterThan(1000);
});

test('pathological sizes stay linear and never exhaust the stack', () => {
  const chain = (n: number) => `CREATE VIEW v AS SELECT ${Array.from({ length: n }, (_, i) => `a${i}`).join(' + ')} FROM s;`;
  expect(parse('big.sql', chain(900)).statements).toHaveLength(1);
  expect(() => parse('big.sql', chain(20_000))).toThrow('expression is too long or too deeply nested (more than 1000 levels)');
  const nested = `CREATE VIEW v AS SELECT ${'(a + '.repeat(150)}1${')'.repeat(150)} * ${'b + '.repeat(900)}1 FROM s;`;
  expect(() => parse('big.sql', nested)).toThrow('expression is too long or too deeply nested');
  for (const text of ['('.repeat(100_000), 'NOT '.repeat(100_000), '- '.repeat(100_000), "labels['k']".repeat(10_000), 'CASE '.repeat(50_000), '1 + '.repeat(100_000)]) {
    expect(() => parse('deep.sql', `CREATE VIEW v AS SELECT ${text}`)).toThrow(SqlSyntaxError);
  }
});
