/**
 * `seismo export --view V --to DIR`: a view's stored windows as Parquet, hive-partitioned by day
 * (DIR/day=2026-11-24/data_0.parquet). Writing files needs external access, which the service's
 * instance has switched off for good (lock_configuration), so export opens the file itself, in
 * its own process, read-only and unrestricted; while a service holds the file, it says so.
 */
import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { openInstance } from '../sinks/store.js';
import { quoteIdent, quoteLiteral } from '../sinks/store-sql.js';
import { DEFAULT_DB } from './query.js';

/** Options of `seismo export`. */
export interface ExportOptions {
  readonly view: string;
  readonly to: string;
  readonly db?: string;
  /** Replace files of the same name in DIR (other files are left alone). */
  readonly overwrite?: boolean;
}

/** What an export wrote. */
export interface ExportSummary {
  readonly rows: number;
  readonly days: number;
}

/** Registers `seismo export`. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write a view's stored windows as Parquet files, partitioned by day (DIR/day=YYYY-MM-DD/)")
    .requiredOption('--view <name>', 'the view to export (table view_<name>)')
    .requiredOption('--to <dir>', 'output directory')
    .option('--db <file>', 'the DuckDB file', DEFAULT_DB)
    .option('--overwrite', 'replace files of the same name in the directory (other files are kept)')
    .action(async (opts: ExportOptions) => {
      const { rows, days } = await exportView(opts);
      process.stdout.write(`exported ${rows} row${rows === 1 ? '' : 's'} of view ${opts.view} to ${opts.to} (${days} day${days === 1 ? '' : 's'})\n`);
    });
}

/** Exports one view; throws SeismoError with a one-line reason. */
export async function exportView(opts: ExportOptions): Promise<ExportSummary> {
  const db = opts.db ?? DEFAULT_DB;
  let instance;
  try {
    instance = await openInstance(db, { access_mode: 'READ_ONLY' });
  } catch (err) {
    if (err instanceof SeismoError && /in use by another process/.test(err.message)) {
      throw new SeismoError('STORAGE', `${err.message}; stop it to export (export writes files, which the service's sandboxed instance cannot)`, { cause: err });
    }
    throw err;
  }
  const conn = await instance.connect();
  try {
    const table = `view_${opts.view}`;
    const known = await conn.runAndReadAll(
      "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND table_name LIKE 'view\\_%' ESCAPE '\\' ORDER BY 1",
    );
    const tables = known.getRows().map(([t]) => String(t));
    if (!tables.includes(table)) {
      const views = tables.filter((t) => !/__\d{8}T\d+Z$/.test(t)).map((t) => t.slice('view_'.length));
      throw new SeismoError('CONFIG', `no stored view ${opts.view} in ${db}${views.length ? ` (stored: ${views.join(', ')})` : ' (no views stored yet)'}`);
    }
    const day = "strftime(window_start, '%Y-%m-%d')";
    const counts = await conn.runAndReadAll(`SELECT count(*), count(DISTINCT ${day}) FROM ${quoteIdent(table)}`);
    const [rows, days] = counts.getRows()[0] ?? [0, 0];
    const options = ['FORMAT PARQUET', 'PARTITION_BY (day)', ...(opts.overwrite ? ['OVERWRITE_OR_IGNORE true'] : [])];
    try {
      await conn.run(`COPY (SELECT *, ${day} AS day FROM ${quoteIdent(table)}) TO ${quoteLiteral(opts.to)} (${options.join(', ')})`);
    } catch (err) {
      const msg = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      if (/not empty/i.test(msg)) throw new SeismoError('CONFIG', `${opts.to} is not empty; pass --overwrite to replace files of the same name`);
      throw new SeismoError('STORAGE', `export to ${opts.to} failed: ${msg}`, { cause: err });
    }
    return { rows: Number(rows), days: Number(days) };
  } finally {
    conn.disconnectSync();
    instance.closeSync();
  }
}
