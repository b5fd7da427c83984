import type { Command } from 'commander';
import { check } from '../lang/check.js';
import { formatDiagnostic } from '../lang/diagnostic.js';
import { loadQueryFiles } from '../query-files.js';

/**
 * Registers `seismo check Q...`: parses and validates query files or directories, prints every
 * error as `file:line:col: message` with the source line and a caret, and exits 1 on any error;
 * otherwise prints a one-line summary and exits 0.
 */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('parse and validate query files; print every error as file:line:col: message')
    .argument('[paths...]', 'query files or directories of *.sql files', ['queries/'])
    .addHelpText('after', '\nExit status: 0 when every statement is valid, 1 on any error.')
    .action((paths: string[]) => {
      const result = runCheck(paths);
      (result.ok ? process.stdout : process.stderr).write(result.output);
      process.exitCode = result.ok ? 0 : 1;
    });
}

/** The whole of `seismo check` except printing, so tests can call it. */
export function runCheck(paths: readonly string[]): { ok: boolean; output: string } {
  const loaded = loadQueryFiles([...paths]);
  const checked = check(loaded.files);
  const order = new Map(loaded.files.map((f, i) => [f.path, i]));
  const diagnostics = [...loaded.diagnostics, ...checked.diagnostics].sort(
    (a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.pos.offset - b.pos.offset,
  );
  if (diagnostics.length > 0) {
    const body = diagnostics.map((d) => formatDiagnostic(d, loaded.texts.get(d.file) ?? '')).join('\n');
    const n = diagnostics.length;
    return { ok: false, output: `${body}\n${n} error${n === 1 ? '' : 's'}\n` };
  }
  const { streams, queries } = checked.program;
  const views = queries.filter((q) => q.kind === 'view').length;
  const alerts = queries.length - views;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return { ok: true, output: `ok: ${plural(streams.length, 'stream')}, ${plural(views, 'view')}, ${plural(alerts, 'alert')}\n` };
}
