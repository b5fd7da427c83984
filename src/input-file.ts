/**
 * Reads replay input: NDJSON (one JSON object a line) or CSV with a header row, chosen by the file
 * extension (.csv) or by the first non-blank character. CRLF line endings and a missing final
 * newline are fine.
 */
import { readFileSync } from 'node:fs';
import { SeismoError } from './errors.js';

export interface InputRow {
  obj: Record<string, unknown>;
  line: number;
}

/** Splits one CSV line, honouring double quotes ("" is a quote inside a quoted field). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Reads a whole input file into rows; bad JSON lines are reported through onBad and skipped. */
export function readInputFile(path: string, onBad: (line: number, msg: string) => void): InputRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SeismoError('CONFIG', `cannot read input file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const lines = text.split(/\r?\n/);
  const csv = path.toLowerCase().endsWith('.csv') || !/^\s*[{[]/.test(text);
  const rows: InputRow[] = [];
  if (csv) {
    const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.trim() === '') continue;
      const cells = splitCsvLine(l);
      const obj: Record<string, unknown> = {};
      header.forEach((h, j) => {
        const c = cells[j];
        obj[h] = c === undefined || c === '' ? null : c;
      });
      rows.push({ obj, line: i + 1 });
    }
    return rows;
  }
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    try {
      const obj: unknown = JSON.parse(l);
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) onBad(i + 1, 'not a JSON object');
      else rows.push({ obj: obj as Record<string, unknown>, line: i + 1 });
    } catch (err) {
      onBad(i + 1, `not JSON: ${(err as Error).message}`);
    }
  }
  return rows;
}
