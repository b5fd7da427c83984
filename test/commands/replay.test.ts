import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/seismo.js');
const GOLDEN = join(ROOT, 'test/golden/aggregates');

function seismo(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, lines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

describe('seismo replay (the built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seismo-replay-'));

  it('writes the same bytes on every run, to a file or to stdout', () => {
    const args = ['replay', '-q', join(GOLDEN, 'query.sql'), '-i', join(GOLDEN, 'input.csv')];
    const a = seismo([...args, '-o', join(dir, 'a.ndjson')]);
    const b = seismo([...args, '-o', join(dir, 'b.ndjson')]);
    const c = seismo(args);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    const expected = readFileSync(join(GOLDEN, 'expected.ndjson'), 'utf8');
    expect(readFileSync(join(dir, 'a.ndjson'), 'utf8')).toBe(expected);
    expect(readFileSync(join(dir, 'b.ndjson'), 'utf8')).toBe(expected);
    expect(c.stdout).toBe(expected);
    expect(a.lines).toEqual(['seismo replay: 9 events, 0 invalid, 0 late, 1 rejected']);
  });

  it.each([
    ['a missing input file', ['-i', join(dir, 'missing.csv')], /cannot read input file .*missing\.csv: ENOENT/],
    ['an unwritable output', ['-i', join(GOLDEN, 'input.csv'), '-o', join(dir, 'no/such/dir/out.ndjson')], /cannot write .*out\.ndjson: ENOENT/],
    ['an unknown stream', ['-i', join(GOLDEN, 'input.csv'), '--stream', 'nope'], /unknown stream 'nope'/],
  ])('refuses %s in one line', (_name, extra, message) => {
    const r = seismo(['replay', '-q', join(GOLDEN, 'query.sql'), ...extra]);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(message);
  });
});
