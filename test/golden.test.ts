/**
 * Golden scenarios: a query file and an input file in test/golden/<name>/, and the exact replay
 * output expected (expected.ndjson, reviewed by hand when written). Regenerate one with
 * `node bin/seismo.js replay -q test/golden/<name>/query.sql -i <input> -o test/golden/<name>/expected.ndjson`
 * and review the diff.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProgram } from '../src/program.js';
import { readInputFile } from '../src/input-file.js';
import { replay, replayStream } from '../src/replay.js';

const ROOT = join(import.meta.dirname, 'golden');

describe('golden scenarios', () => {
  for (const name of readdirSync(ROOT)) {
    it(name, () => {
      const dir = join(ROOT, name);
      const input = readdirSync(dir).find((f) => f.startsWith('input.'))!;
      const loaded = loadProgram([join(dir, 'query.sql')]);
      if (!loaded.ok) throw new Error(loaded.errors);
      const rows = readInputFile(join(dir, input), (line, msg) => {
        throw new Error(`line ${line}: ${msg}`);
      });
      let out = '';
      replay(loaded.program, replayStream(loaded.program, undefined), { rows }, (r) => (out += JSON.stringify(r) + '\n'));
      expect(out).toBe(readFileSync(join(dir, 'expected.ndjson'), 'utf8'));
    });
  }
});
