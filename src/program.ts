/**
 * Loads query files into a compiled program, all or nothing: every syntax and semantic error is
 * collected and formatted as `file:line:col: message` with a caret; nothing is compiled then.
 */
import { loadQueryFiles } from './query-files.js';
import { check, type CheckedProgram } from './lang/check.js';
import { compileProgram, type ProgramPlan } from './lang/compile.js';
import { formatDiagnostic, SqlSyntaxError } from './lang/diagnostic.js';
import { parse } from './lang/parser.js';
import type { SourceFile } from './lang/ast.js';

export type LoadResult =
  | { ok: true; program: ProgramPlan; summary: string }
  | { ok: false; errors: string; count: number };

/** Parses, checks and compiles the query files or directories given. */
export function loadProgram(paths: readonly string[]): LoadResult {
  const loaded = loadQueryFiles([...paths]);
  const checked = check(loaded.files);
  const diagnostics = [...loaded.diagnostics, ...checked.diagnostics];
  if (diagnostics.length > 0) {
    const errors = diagnostics.map((d) => formatDiagnostic(d, loaded.texts.get(d.file) ?? '')).join('\n');
    return { ok: false, errors, count: diagnostics.length };
  }
  const program = compileChecked(loaded.files, checked.program);
  const views = program.queries.filter((q) => q.kind === 'view').length;
  const alerts = program.queries.length - views;
  return { ok: true, program, summary: `${program.streams.length} streams, ${views} views, ${alerts} alerts` };
}

/** Compiles parsed files with what the checker resolved about each query. */
function compileChecked(files: readonly SourceFile[], checked: CheckedProgram): ProgramPlan {
  return compileProgram(files.flatMap((f) => f.statements), new Map(checked.queries.map((q) => [q.name, q] as const)));
}

/** Compiles query text (tests, benchmarks); throws every error, formatted, in one Error. */
export function compileText(text: string, file = 'query.sql'): ProgramPlan {
  let parsed: SourceFile;
  try {
    parsed = parse(file, text);
  } catch (err) {
    if (err instanceof SqlSyntaxError) throw new Error(formatDiagnostic(err.diagnostic, text));
    throw err;
  }
  const checked = check([parsed]);
  if (checked.diagnostics.length > 0) throw new Error(checked.diagnostics.map((d) => formatDiagnostic(d, text)).join('\n'));
  return compileChecked([parsed], checked.program);
}
