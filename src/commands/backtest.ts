/**
 * `seismo backtest --queries Q --from T [--to T] [--db FILE] [--json]`: when would the alert rules
 * have fired and resolved over the stored history? Reads the DuckDB file directly, so the service
 * must not be running on it (DuckDB allows one process per file).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadProgram } from '../program.js';
import { backtest, parseTimeArg, storeHistory, type BacktestReport } from '../backtest.js';
import { openStore } from '../sinks/store.js';
import { SeismoError } from '../errors.js';
import type { AlertPayload } from '../alerts/payload.js';
import { DEFAULT_DB, formatTable } from './query.js';

/** Options of `seismo backtest` as commander hands them over. */
export interface BacktestCommandOptions {
  readonly queries: string[];
  readonly from: string;
  readonly to?: string;
  readonly db?: string;
  readonly json?: boolean;
}

/** Registers `seismo backtest`. */
export function registerBacktest(program: Command): void {
  program
    .command('backtest')
    .description('re-evaluate the alert rules over stored history and report when each would have fired and resolved')
    .requiredOption('-q, --queries <paths...>', 'query files or directories')
    .requiredOption('--from <time>', 'start: ISO time (UTC without a zone), epoch ms, or relative like -2h')
    .option('--to <time>', 'end, exclusive: ISO time, epoch ms, now, or relative like -10m', 'now')
    .option('--db <file>', 'the DuckDB file of the service (it must not be running on it)', DEFAULT_DB)
    .option('--json', 'print every transition as one alert payload a line (NDJSON)')
    .action(async (opts: BacktestCommandOptions) => {
      const { stdout, stderr } = await runBacktestCommand(opts, Date.now());
      if (stderr) process.stderr.write(stderr);
      process.stdout.write(stdout);
    });
}

/** Runs a backtest as the command line asks; returns what goes to stdout and to stderr. */
export async function runBacktestCommand(opts: BacktestCommandOptions, now: number): Promise<{ stdout: string; stderr: string }> {
  const from = parseTimeArg('from', opts.from, now);
  const to = parseTimeArg('to', opts.to ?? 'now', now);
  if (from >= to) throw new SeismoError('CONFIG', `--from (${iso(from)}) must be before --to (${iso(to)})`);
  const loaded = loadProgram(opts.queries);
  if (!loaded.ok) throw new SeismoError('QUERY_FILE', `${loaded.count} error(s) in the query files:\n${loaded.errors}`);
  const db = opts.db ?? DEFAULT_DB;
  if (!existsSync(db)) throw new SeismoError('CONFIG', `${db} does not exist; pass --db with the service's DuckDB file`);

  let store;
  try {
    store = await openStore(db, { log: () => undefined });
  } catch (err) {
    if (err instanceof SeismoError && /in use by another process/.test(err.message)) {
      throw new SeismoError('STORAGE', `${err.message}; stop it before backtesting (backtest reads the file directly)`, { cause: err });
    }
    throw err;
  }
  let report: BacktestReport;
  try {
    const history = await storeHistory(store);
    try {
      report = await backtest(loaded.program, history, { from, to });
    } finally {
      history.close();
    }
  } finally {
    await store.close();
  }

  const lines = [`seismo backtest: ${iso(from)} .. ${iso(to)}`];
  for (const r of report.rules) lines.push(`  ${r.name}: ${r.count} ${r.input.startsWith('view_') ? 'rows' : 'events'} of ${r.input}`);
  for (const n of report.notes) lines.push(`  ${n}`);
  const stderr = lines.join('\n') + '\n';
  if (opts.json) return { stdout: report.alerts.map((a) => JSON.stringify(a) + '\n').join(''), stderr };
  return { stdout: formatIncidents(report.alerts), stderr };
}

/**
 * One line per incident: a firing paired with its resolution (by fingerprint and startsAt), or
 * still firing at the end of the range; a flapping notice is a line of its own.
 */
export function formatIncidents(alerts: readonly AlertPayload[]): string {
  const rows: unknown[][] = [];
  const open = new Map<string, unknown[]>();
  for (const a of alerts) {
    const id = `${a.fingerprint}|${a.startsAt}`;
    if (a.status === 'resolved' && open.has(id)) {
      const row = open.get(id)!;
      open.delete(id);
      row[3] = 'resolved';
      row[4] = a.endsAt;
      row[5] = duration(Date.parse(a.endsAt ?? a.startsAt) - Date.parse(a.startsAt));
      continue;
    }
    const row: unknown[] = [
      a.labels.alertname ?? '',
      groupLabels(a.labels),
      a.startsAt,
      a.status === 'firing' ? 'still firing' : a.status,
      a.status === 'resolved' ? a.endsAt : '-',
      a.status === 'resolved' ? duration(Date.parse(a.endsAt ?? a.startsAt) - Date.parse(a.startsAt)) : '-',
      a.annotations.summary ?? '',
    ];
    if (a.status === 'firing') open.set(id, row);
    rows.push(row);
  }
  const names = ['rule', 'labels', 'fired', 'status', 'resolved', 'duration', 'summary'];
  return formatTable({ columns: names.map((name) => ({ name, type: 'VARCHAR' })), rows });
}

/** The labels that tell incidents of one rule apart (alertname and severity are the same for all). */
function groupLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
