import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCheck } from '../../src/commands/check.js';

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

// The real command line, when the build exists (npm test builds first).
const bin = new URL('../../dist/src/cli.js', import.meta.url);
const builtCheck = new URL('../../dist/src/commands/check.js', import.meta.url);
const built = existsSync(bin) && existsSync(builtCheck) && readFileSync(builtCheck, 'utf8').includes('runCheck');
describe.runIf(built)('seismo check (built CLI)', () => {
  test('exit 1 and file:line:col on stderr for an error; exit 0 otherwise', () => {
    const bad = file('bad.sql', 'CREATE VIEW v AS SELECT a FROM nowhere;\n');
    const r = spawnSync(process.execPath, [bin.pathname, 'check', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:1:32: unknown stream or view 'nowhere'`);
    expect(execFileSync(process.execPath, [bin.pathname, 'check', 'queries/'], { encoding: 'utf8' })).toMatch(/^ok: /);
  });
});
