/**
 * Loads query files into a compiled program, all or nothing: every syntax and semantic error is
 * collected and formatted as `file:line:col: message` with a caret; nothing is compiled then.
 */
import { loadQueryFiles } from './query-files.js';
import { check } from './lang/check.js';
import { compileProgram, type ProgramPlan } from './lang/compile.js';
import { formatDiagnostic } from './lang/diagnostic.js';

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
  const statements = loaded.files.flatMap((f) => f.statements);
  const resolved = new Map(checked.program.queries.map((q) => [q.name, q] as const));
  const program = compileProgram(statements, resolved);
  const views = program.queries.filter((q) => q.kind === 'view').length;
  const alerts = program.queries.length - views;
  return { ok: true, program, summary: `${program.streams.length} streams, ${views} views, ${alerts} alerts` };
}
