import type { Pos } from './ast.js';

/** One error found in a query file: where, and what. */
export interface Diagnostic {
  readonly file: string;
  readonly pos: Pos;
  readonly message: string;
}

/** Thrown by the parser for the first syntax error; the checker returns Diagnostic[] instead. */
export class SqlSyntaxError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'SqlSyntaxError';
  }
}

/**
 * Formats a diagnostic as a compiler does:
 *   queries/a.sql:3:14: unknown column 'vlaue'
 *     SELECT vlaue FROM metrics;
 *            ^
 */
export function formatDiagnostic(d: Diagnostic, source: string): string {
  const lineText = source.split(/\r?\n/)[d.pos.line - 1] ?? '';
  const caret = ' '.repeat(Math.max(0, d.pos.col - 1)) + '^';
  return `${d.file}:${d.pos.line}:${d.pos.col}: ${d.message}\n  ${lineText.replace(/\t/g, ' ')}\n  ${caret}`;
}
