import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SeismoError } from '../src/errors.js';
import { listQueryFiles, loadQueryFiles } from '../src/query-files.js';

const root = mkdtempSync(join(tmpdir(), 'seismo-qf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

describe('loadQueryFiles', () => {
  const dir = join(root, 'q');
  write('q/b.sql', "CREATE VIEW v AS SELECT a FROM s;\n");
  write('q/a.sql', "CREATE STREAM s (a INT) WITH (kafka_topic = 't');\n");
  write('q/notes.txt', 'not sql');
  write('q/sub/c.sql', 'CREATE VIEW ignored AS SELECT a FROM s;');

  test('a directory gives its *.sql files in name order, not recursively', () => {
    expect(listQueryFiles([dir])).toEqual([join(dir, 'a.sql'), join(dir, 'b.sql')]);
  });

  test('a file named twice (directly and through its directory) is read once', () => {
    expect(listQueryFiles([join(dir, 'b.sql'), dir])).toEqual([join(dir, 'b.sql'), join(dir, 'a.sql')]);
  });

  test('files parse, texts are kept for excerpts', () => {
    const loaded = loadQueryFiles([dir]);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.files.map((f) => f.statements.map((s) => s.name))).toEqual([['s'], ['v']]);
    expect(loaded.texts.get(join(dir, 'a.sql'))).toContain('CREATE STREAM');
  });

  test('one syntax error per file is collected, and statements around it still parse', () => {
    const bad = write('bad/x.sql', "CREATE STREAM s (a INT) WITH (kafka_topic = 't');\nCREATE VIEW v AS SELECT a FROM s WHERE;\nCREATE VIEW w AS SELECT a FROM s WHERE (;\nCREATE VIEW u AS SELECT a FROM s;");
    const other = write('bad/y.sql', "CREATE VIEW z AS SELECT 'oops FROM s;");
    const loaded = loadQueryFiles([bad, other]);
    expect(loaded.diagnostics.map((d) => `${d.file}:${d.pos.line}:${d.pos.col}: ${d.message}`)).toEqual([
      `${bad}:2:39: expected an expression but found ';'`,
      `${other}:1:25: unterminated string literal`,
    ]);
    expect(loaded.files[0]?.statements.map((s) => s.name)).toEqual(['s', 'u']);
  });

  test.each([
    [[join(root, 'missing.sql')], `cannot read query path '${join(root, 'missing.sql')}': no such file or directory`],
    [[join(root, 'empty')], `no .sql files in query directory '${join(root, 'empty')}'`],
  ])('unreadable paths throw QUERY_FILE: %j', (paths, message) => {
    mkdirSync(join(root, 'empty'), { recursive: true });
    try {
      loadQueryFiles(paths);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SeismoError);
      expect((e as SeismoError).code).toBe('QUERY_FILE');
      expect((e as SeismoError).message).toBe(message);
    }
  });
});
