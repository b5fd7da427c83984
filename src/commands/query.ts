/**
 * `seismo query "SQL"`: a historical query, through the running service when there is one
 * (DuckDB's file lock keeps a second process out of its file), otherwise straight from the file,
 * read-only and under the same sandbox as POST /api/query.
 */
import { Option, type Command } from 'commander';
import { SeismoError } from '../errors.js';
import { createQueryEngine, type QueryResult } from '../api/query.js';

/** Where the service is looked for when no flag says (seismo run's default --host and --port). */
export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** The DuckDB file used when no flag says (seismo run's default --db). */
export const DEFAULT_DB = 'data/seismo.duckdb';

/** Options of `seismo query`. */
export interface QueryCommandOptions {
  /** Query this file directly (no service is tried). */
  readonly db?: string;
  /** Query this service only (the file is not tried). */
  readonly url?: string;
  /** Bearer token for the service (SEISMO_TOKEN). */
  readonly token?: string;
  readonly json?: boolean;
}

/** Registers `seismo query`. */
export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('run a historical query (SELECT/WITH/DESCRIBE/SHOW/SUMMARIZE/EXPLAIN) over stored views and alerts')
    .argument('<sql>', 'one read-only SQL statement, e.g. "SELECT * FROM alerts LIMIT 10"')
    .option('--db <file>', `query this DuckDB file directly (default: ${DEFAULT_DB} when no service answers)`)
    .option('--url <url>', `query the seismo service at this URL (default: ${DEFAULT_URL}, tried first)`)
    .addOption(new Option('--token <token>', 'bearer token of the service').env('SEISMO_TOKEN'))
    .option('--json', 'print {"columns","rows"} as JSON instead of a table')
    .action(async (sql: string, opts: QueryCommandOptions) => {
      process.stdout.write(await runQueryCommand(sql, opts));
    });
}

/** Runs the query as the command line asks and returns the text to print. */
export async function runQueryCommand(sql: string, opts: QueryCommandOptions): Promise<string> {
  const result = await query(sql, opts);
  return opts.json ? `${JSON.stringify(result)}\n` : formatTable(result);
}

async function query(sql: string, opts: QueryCommandOptions): Promise<QueryResult> {
  if (opts.db !== undefined && opts.url === undefined) return queryFile(opts.db);
  const url = (opts.url ?? DEFAULT_URL).replace(/\/+$/, '');
  const answer = await queryService(url, sql, opts.token);
  if (answer !== 'unreachable') return answer;
  if (opts.url !== undefined) throw new SeismoError('QUERY_REJECTED', `no seismo service answers at ${url}`);
  return queryFile(opts.db ?? DEFAULT_DB);

  async function queryFile(path: string): Promise<QueryResult> {
    let engine;
    try {
      engine = await createQueryEngine(path);
    } catch (err) {
      if (err instanceof SeismoError && /in use by another process/.test(err.message)) {
        throw new SeismoError('STORAGE', `${err.message}; query it through the service with --url`, { cause: err });
      }
      throw err;
    }
    try {
      return await engine.run(sql);
    } finally {
      await engine.close();
    }
  }
}

/** POST /api/query; 'unreachable' when nothing (or something that is not seismo) listens. */
async function queryService(url: string, sql: string, token: string | undefined): Promise<QueryResult | 'unreachable'> {
  let res: Response;
  try {
    res = await fetch(`${url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ sql }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') throw new SeismoError('QUERY_REJECTED', `the service at ${url} did not answer within 60 s`);
    return 'unreachable';
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.status === 404 || body === undefined) return 'unreachable';
  const error = typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw new SeismoError('CONFIG', `the service at ${url} refused the token (${error}); set SEISMO_TOKEN or --token`);
  }
  if (!res.ok) throw new SeismoError('QUERY_REJECTED', error);
  return body as QueryResult;
}

/** An aligned text table: numbers right-aligned, NULL spelled out, nested values as JSON. */
export function formatTable(result: QueryResult): string {
  const header = result.columns.map((c) => c.name);
  const cells = result.rows.map((row) => row.map(cellText));
  const numeric = result.columns.map((_, i) => result.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const count = result.rows.length;
  const footer = `(${count} row${count === 1 ? '' : 's'}${result.truncated ? ', truncated at the row limit' : ''})`;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line), footer].join('\n') + '\n';
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // One row stays one line.
  return text.replace(/[\r\n\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

