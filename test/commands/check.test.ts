import { Command } from 'commander';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { registerCheck, runCheck } from '../../src/commands/check.js';

const root = mkdtempSync(join(tmpdir(), 'seismo-check-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
}

describe('seismo check', () => {
  test('valid files: a one-line summary', () => {
    const dir = join(root, 'ok.sql');
    writeFileSync(dir, "CREATE STREAM s (a INT) WITH (kafka_topic = 't');\nCREATE VIEW v AS SELECT a FROM s;\nCREATE VIEW w AS SELECT a FROM v;\n");
    expect(runCheck([dir])).toEqual({ ok: true, output: 'ok: 1 stream, 2 views, 0 alerts\n' });
    expect(runCheck(['queries/']).output).toMatch(/^ok: \d+ streams?, \d+ views?, \d+ alerts?\n$/);
  });

  test('errors: every diagnostic with its source line and a caret, then a count', () => {
    const a = file('a.sql', "CREATE STREAM s (value DOUBLE) WITH (kafka_topic = 't');\nCREATE VIEW v AS SELECT vlaue FROM s;\n");
    const b = file('b.sql', 'CREATE VIEW w AS\n  SELECT value FROM s WHERE;\n');
    const result = runCheck([a, b]);
    expect(result.ok).toBe(false);
    expect(result.output).toBe(
      [
        `${a}:2:25: unknown column 'vlaue' (did you mean 'value'?)`,
        '  CREATE VIEW v AS SELECT vlaue FROM s;',
        '                          ^',
        `${b}:2:28: expected an expression but found ';'`,
        '    SELECT value FROM s WHERE;',
        '                             ^',
        '2 errors',
        '',
      ].join('\n'),
    );
  });
});

describe('seismo check (registered on commander)', () => {
  async function run(args: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
    const program = new Command('seismo').exitOverride();
    registerCheck(program);
    const out: string[] = [];
    const err: string[] = [];
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
    const se = vi.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true));
    const before = process.exitCode;
    try {
      await program.parseAsync(['node', 'seismo', 'check', ...args]);
      return { code: process.exitCode as number | undefined, stdout: out.join(''), stderr: err.join('') };
    } finally {
      so.mockRestore();
      se.mockRestore();
      process.exitCode = before;
    }
  }

  test('exit 1 and file:line:col on stderr for an error; exit 0 and the summary otherwise', async () => {
    const bad = file('bad.sql', 'CREATE VIEW v AS SELECT a FROM nowhere;\n');
    const r = await run([bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:1:32: unknown stream or view 'nowhere'`);
    const good = await run(['queries/']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^ok: /);
  });
});
