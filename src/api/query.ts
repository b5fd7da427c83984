/**
 * Sandboxed historical queries over the DuckDB file (SPEC section 5, POST /api/query, and
 * `seismo query`). Layers, each enough on its own for what it guards:
 *  - the instance has external access disabled and its configuration locked (no files, network,
 *    extensions; SET/RESET cannot undo it),
 *  - exactly one statement, whose prepared statement type is SELECT or EXPLAIN (DESCRIBE, SHOW,
 *    SUMMARIZE, VALUES, PRAGMA-as-table and WITH all prepare as SELECT),
 *  - it runs in a READ ONLY transaction that is always rolled back, so even EXPLAIN ANALYZE of a
 *    DELETE cannot write,
 *  - table functions that change instance state (logging, profiling, checkpoint, raw arrow
 *    pointers) are refused by name,
 *  - a row limit (the result is streamed and cut) and a time limit (connection.interrupt()).
 */
import {
  DuckDBArrayValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBUnionValue,
  StatementType,
  type DuckDBConnection,
  type DuckDBInstance,
  type DuckDBValue,
} from '@duckdb/node-api';
import { SeismoError, describeError } from '../errors.js';
import { RESTRICTED_CONFIG, openInstance, type Store } from '../sinks/store.js';

/** A query's answer, as POST /api/query returns it. */
export interface QueryResult {
  readonly columns: { name: string; type: string }[];
  readonly rows: unknown[][];
  /** Present and true when more rows existed than the row limit allowed. */
  readonly truncated?: true;
}

/** Runs sandboxed historical queries. */
export interface QueryEngine {
  /** Runs one read-only statement; throws SeismoError('QUERY_REJECTED') with a one-line reason. */
  run(sql: string): Promise<QueryResult>;
  /** Releases the engine's own instance when it opened the file itself (no-op on a shared store). */
  close(): Promise<void>;
}

/** Limits of the query engine. */
export interface QueryEngineOptions {
  /** Rows returned at most; more are cut and flagged `truncated`. Default 10000. */
  readonly rowLimit?: number;
  /** Wall time a query may take before it is interrupted. Default 10000 ms. */
  readonly timeoutMs?: number;
  /** Queries running at once; the others wait (each holds a libuv worker thread). Default 2. */
  readonly maxConcurrent?: number;
  /** Queries allowed to wait beyond maxConcurrent before new ones are refused. Default 8. */
  readonly maxQueued?: number;
}

/** Longest SQL text accepted; a historical query is a few lines. */
const MAX_SQL_CHARS = 100_000;

/**
 * Table and scalar functions refused by name: each changes instance-wide state or reads raw
 * memory, and none is stopped by the read-only transaction or the locked configuration.
 */
const DENIED_FUNCTIONS = new Set([
  'checkpoint',
  'force_checkpoint',
  'enable_logging',
  'disable_logging',
  'truncate_duckdb_logs',
  'write_log',
  'enable_profiling',
  'disable_profiling',
  'enable_peg_parser',
  'disable_peg_parser',
  'arrow_scan',
  'arrow_scan_dumb',
  'json_execute_serialized_sql',
  'setseed',
  // query('...') runs SQL held in a string, out of this check's sight.
  'query',
]);

const ALLOWED_TYPES = new Map<StatementType, string>([
  [StatementType.SELECT, 'SELECT'],
  [StatementType.EXPLAIN, 'EXPLAIN'],
]);

/**
 * Creates a query engine. Given the service's store, it shares its instance (DuckDB allows one
 * instance per file per process; openStore already restricted it). Given a path, it opens the
 * file itself, read-only and restricted: that is `seismo query` when no service runs.
 */
export async function createQueryEngine(source: Store | string, opts: QueryEngineOptions = {}): Promise<QueryEngine> {
  const rowLimit = opts.rowLimit ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  if (!(Number.isInteger(rowLimit) && rowLimit > 0)) throw new SeismoError('CONFIG', `query row limit must be a positive integer, got ${rowLimit}`);
  if (!(timeoutMs > 0)) throw new SeismoError('CONFIG', `query time limit must be positive, got ${timeoutMs}`);

  const own = typeof source === 'string';
  const instance: DuckDBInstance = own
    ? await openInstance(source, { access_mode: 'READ_ONLY', ...RESTRICTED_CONFIG })
    : source.instance;
  if (!own) await assertRestricted(instance);
  const gate = createGate(opts.maxConcurrent ?? 2, opts.maxQueued ?? 8);
  let closed = false;

  return {
    async run(sql: string): Promise<QueryResult> {
      if (closed) throw new SeismoError('QUERY_REJECTED', 'the query engine is closed');
      precheck(sql);
      return gate(() => runSandboxed(instance, sql, rowLimit, timeoutMs));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (own) instance.closeSync();
    },
  };
}

/** Refuses to share an instance whose configuration could still be changed by a query. */
async function assertRestricted(instance: DuckDBInstance): Promise<void> {
  const conn = await instance.connect();
  try {
    const r = await conn.runAndReadAll(
      "SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR",
    );
    const [external, locked] = r.getRows()[0] ?? [];
    if (String(external) !== 'false' || String(locked) !== 'true') {
      throw new SeismoError('CONFIG', 'the store was opened unrestricted; open it with restricted: true to serve queries');
    }
  } finally {
    conn.disconnectSync();
  }
}

/** Text-level checks before DuckDB sees the query. */
function precheck(sql: unknown): asserts sql is string {
  if (typeof sql !== 'string' || sql.trim() === '') throw new SeismoError('QUERY_REJECTED', 'the query is empty');
  if (sql.length > MAX_SQL_CHARS) throw new SeismoError('QUERY_REJECTED', `the query is longer than ${MAX_SQL_CHARS} characters`);
  // The C API reads the text up to the first NUL: what is checked must be what runs.
  if (sql.includes('\0')) throw new SeismoError('QUERY_REJECTED', 'the query contains a NUL character');
  for (const name of calledFunctions(sql)) {
    if (DENIED_FUNCTIONS.has(name)) throw new SeismoError('QUERY_REJECTED', `function ${name}() is not allowed in historical queries`);
  }
}

/**
 * Names followed by `(` outside string literals and comments (keywords such as WHERE included:
 * an over-approximation is safe for a deny list), lower-cased and unquoted, so that
 * `"CheckPoint" /* x *\/ ()` is found as well as `checkpoint()`.
 */
export function calledFunctions(sql: string): string[] {
  const names: string[] = [];
  // E'..' strings first: there a backslash escapes a quote, and missing that would let the
  // lexer see code as string. Other misreadings (e.g. $$..$$ strings) only refuse too much.
  const re = /[eE]'(?:[^'\\]|\\[\s\S]|'')*'?|'(?:[^']|'')*'?|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"((?:[^"]|"")*)"?|([A-Za-z_][A-Za-z0-9_$]*)|(\()|\S/g;
  let pending: string | null = null;
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const [tok, quoted, word, paren] = m;
    if (tok.startsWith('--') || tok.startsWith('/*')) continue;
    if (paren !== undefined) {
      if (pending !== null) names.push(pending);
      pending = null;
    } else if (word !== undefined) pending = word.toLowerCase();
    else if (quoted !== undefined) pending = quoted.replaceAll('""', '"').toLowerCase();
    else pending = null;
  }
  return names;
}

async function runSandboxed(instance: DuckDBInstance, sql: string, rowLimit: number, timeoutMs: number): Promise<QueryResult> {
  const conn = await instance.connect();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.interrupt();
  }, timeoutMs);
  try {
    await conn.run('BEGIN TRANSACTION READ ONLY');
    return await execute(conn, sql, rowLimit);
  } catch (err) {
    if (timedOut) {
      throw new SeismoError('QUERY_REJECTED', `the query ran longer than the ${formatMs(timeoutMs)} limit and was cancelled`, { cause: err });
    }
    if (err instanceof SeismoError) throw err;
    throw new SeismoError('QUERY_REJECTED', describeError(err), { cause: err });
  } finally {
    clearTimeout(timer);
    await conn.run('ROLLBACK').catch(() => undefined);
    conn.disconnectSync();
  }
}

async function execute(conn: DuckDBConnection, sql: string, rowLimit: number): Promise<QueryResult> {
  const statements = await conn.extractStatements(sql);
  if (statements.count !== 1) {
    throw new SeismoError('QUERY_REJECTED', `exactly one statement is allowed, found ${statements.count}`);
  }
  const prepared = await statements.prepare(0);
  try {
    const type = ALLOWED_TYPES.get(prepared.statementType);
    if (type === undefined) {
      const name = StatementType[prepared.statementType] ?? 'unknown';
      throw new SeismoError('QUERY_REJECTED', `only SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN are allowed, not ${name}`);
    }
    if (prepared.parameterCount > 0) throw new SeismoError('QUERY_REJECTED', 'query parameters ($1, ?) are not supported');

    const result = await prepared.stream();
    // The alias keeps JSON columns named JSON rather than their VARCHAR storage type.
    const columns = result.columnNames().map((name, i) => ({ name, type: result.columnLogicalType(i).alias ?? result.columnType(i).toString() }));
    const json = columns.map((c) => c.type === 'JSON');
    const rows: unknown[][] = [];
    let truncated = false;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const values of chunk.getRows()) {
        if (rows.length === rowLimit) {
          truncated = true;
          break;
        }
        rows.push(values.map((v, i) => (json[i] && typeof v === 'string' ? parseJson(v) : toJson(v))));
      }
      if (truncated) break;
    }
    return truncated ? { columns, rows, truncated: true } : { columns, rows };
  } finally {
    prepared.destroySync();
  }
}

/**
 * A DuckDB value as JSON: BIGINT/HUGEINT as a number when exact, else a string; timestamps as
 * ISO-8601 (UTC); DECIMAL as a number; lists, structs and maps as arrays and objects.
 */
export function toJson(value: DuckDBValue): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) return isoFromMicros(value.micros, value);
  if (value instanceof DuckDBTimestampMillisecondsValue) return isoFromMicros(value.millis * 1000n, value);
  if (value instanceof DuckDBTimestampSecondsValue) return isoFromMicros(value.seconds * 1_000_000n, value);
  if (value instanceof DuckDBTimestampNanosecondsValue) return isoFromMicros(value.nanos / 1000n, value);
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(toJson);
  if (value instanceof DuckDBStructValue) return Object.fromEntries(Object.entries(value.entries).map(([k, v]) => [k, toJson(v)]));
  if (value instanceof DuckDBMapValue) {
    const simpleKeys = value.entries.every((e) => typeof e.key === 'string' || typeof e.key === 'number' || typeof e.key === 'bigint');
    if (simpleKeys) return Object.fromEntries(value.entries.map((e) => [String(e.key), toJson(e.value)]));
    return value.entries.map((e) => ({ key: toJson(e.key), value: toJson(e.value) }));
  }
  if (value instanceof DuckDBUnionValue) return toJson(value.value);
  return String(value);
}

/** A JSON column's value as the JSON it holds (labels come back as an object, not as text). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** ISO-8601 when the instant fits a JS Date; DuckDB's own text (e.g. 'infinity') otherwise. */
function isoFromMicros(micros: bigint, original: { toString(): string }): string {
  const ms = Number(micros / 1000n);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? original.toString() : date.toISOString();
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** A counting semaphore with a bounded queue: excess queries are refused, not piled up. */
function createGate(maxConcurrent: number, maxQueued: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running < maxConcurrent) running++;
    else if (waiting.length >= maxQueued) {
      throw new SeismoError('QUERY_REJECTED', 'too many historical queries are running; try again shortly', { retriable: true });
    } else {
      // The finishing query hands its slot over, so `running` is not decremented in between.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
