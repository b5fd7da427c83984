/**
 * Reading query files (I/O at the edge, so src/lang stays pure). Each path is a `.sql` file or a
 * directory whose `*.sql` files are read in name order (not recursively). Syntax errors are
 * collected, one per file, so `seismo check` and reloads report every file's problems at once.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SourceFile } from './lang/ast.js';
import type { Diagnostic } from './lang/diagnostic.js';
import { parseRecovering } from './lang/parser.js';
import { SeismoError, describeError } from './errors.js';

/** What loading produced: parsed files, their syntax errors, and each file's text for excerpts. */
export interface LoadedQueryFiles {
  readonly files: SourceFile[];
  readonly diagnostics: Diagnostic[];
  /** path (as it appears in diagnostics) -> file text, for formatDiagnostic. */
  readonly texts: Map<string, string>;
}

/** Lists the query files named by `paths` (files as given, directories expanded), without duplicates. */
export function listQueryFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    const abs = resolve(p);
    if (!seen.has(abs)) {
      seen.add(abs);
      out.push(p);
    }
  };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      throw new SeismoError('QUERY_FILE', `cannot read query path '${p}': ${reason(err)}`, { cause: err });
    }
    if (!isDir) {
      add(p);
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(p).filter((n) => n.endsWith('.sql')).sort();
    } catch (err) {
      throw new SeismoError('QUERY_FILE', `cannot read query directory '${p}': ${reason(err)}`, { cause: err });
    }
    if (names.length === 0) throw new SeismoError('QUERY_FILE', `no .sql files in query directory '${p}'`);
    for (const n of names) add(join(p, n));
  }
  return out;
}

/**
 * Reads and parses every query file named by `paths`. Throws SeismoError('QUERY_FILE') when a
 * path cannot be read; syntax errors are returned as diagnostics instead.
 */
export function loadQueryFiles(paths: string[]): LoadedQueryFiles {
  const files: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const texts = new Map<string, string>();
  for (const path of listQueryFiles(paths)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SeismoError('QUERY_FILE', `cannot read query file '${path}': ${reason(err)}`, { cause: err });
    }
    texts.set(path, text);
    const parsed = parseRecovering(path, text);
    files.push(parsed.file);
    if (parsed.error) diagnostics.push(parsed.error);
  }
  return { files, diagnostics, texts };
}

/** `no such file or directory` rather than `ENOENT: no such file or directory, stat 'x'`. */
function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return describeError(err);
}
