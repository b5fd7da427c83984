/**
 * `seismo backtest`: re-evaluates the alert rules of the query files over stored history, through
 * the same engine operators the live service runs, so the transitions are the ones live would
 * have emitted for that history.
 *
 * - A rule reading a view is fed that view's stored closed windows (`view_<name>`), in the order
 *   the live view closes them (by window end), each at its window end, exactly as the view's
 *   operator feeds it live; its event time then advances to that window end.
 * - A rule reading a stream is fed the stream's retained raw events (`events_<stream>`, streams
 *   with `retain`) in event-time order, the watermark being the largest event time (as replay).
 *   Without retained events such a rule is skipped with a note.
 *
 * Baselines (ZSCORE, ...) start empty at `from`: leave them warm-up history before the incident.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ProgramPlan, QueryPlan } from './lang/compile.js';
import { Engine } from './engine/engine.js';
import type { EngineSink } from './engine/sink.js';
import { keyString } from './engine/group.js';
import type { AlertPayload } from './alerts/payload.js';
import { parseTimestamp } from './ingest/timestamp.js';
import { viewColumnSpecs } from './view-schema.js';
import { parseMap, quoteIdent } from './sinks/store-sql.js';
import type { Store } from './sinks/store.js';
import { SeismoError, describeError } from './errors.js';
import type { Row, Value } from './types.js';

/** A half-open event-time range [from, to) in epoch ms. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

/** Where stored history comes from (the DuckDB store, or anything else in tests). */
export interface History {
  /** Stored rows of a view with window_start in the range, or null when the view has no table. */
  viewRows(view: string, range: TimeRange): Promise<Row[] | null>;
  /** Retained raw events of a stream in the range, oldest first, or null when none are retained. */
  events(stream: string, range: TimeRange): Promise<{ ts: number; row: Row }[] | null>;
}

/** What a backtest found. */
export interface BacktestReport {
  /** Every transition the rules would have emitted, ordered by the event time it was emitted at. */
  readonly alerts: AlertPayload[];
  /** Per evaluated rule: what it read and how many rows or events. */
  readonly rules: { name: string; input: string; count: number }[];
  /** Rules skipped and rule errors, one line each. */
  readonly notes: string[];
}

/** Collects alerts and rule errors; view rows are not needed. */
class BacktestSink implements EngineSink {
  readonly alerts: { seq: number; alert: AlertPayload }[] = [];
  readonly errors = new Map<string, string>();
  row(): void {}
  retract(): void {}
  late(): void {}
  rejected(): void {}
  alert(_plan: QueryPlan, alert: AlertPayload): void {
    this.alerts.push({ seq: this.alerts.length, alert });
  }
  ruleError(plan: QueryPlan, error: unknown): void {
    if (!this.errors.has(plan.name)) this.errors.set(plan.name, describeError(error));
  }
}

/** Re-evaluates every alert rule of `program` over `history` in `range`. */
export async function backtest(program: ProgramPlan, history: History, range: TimeRange): Promise<BacktestReport> {
  const notes: string[] = [];
  const rules: BacktestReport['rules'] = [];
  const alertPlans = program.queries.filter((q) => q.kind === 'alert');
  if (alertPlans.length === 0) notes.push('the query files define no alert rules');

  // Inputs first, so a rule without history is left out of the engine altogether.
  const fromViews: { plan: QueryPlan; view: QueryPlan; rows: Row[] }[] = [];
  const fromStreams: QueryPlan[] = [];
  const streamEvents = new Map<string, { ts: number; row: Row }[] | null>();
  for (const plan of alertPlans) {
    if (plan.source.kind === 'view') {
      const view = program.queries.find((q) => q.name === plan.source.name);
      const input = view ? await viewInput(view, history, range) : `view ${plan.source.name} is not defined`;
      if (typeof input === 'string') notes.push(`${plan.name}: skipped: ${input}`);
      else fromViews.push({ plan, view: view!, rows: input });
      continue;
    }
    const stream = plan.source.name;
    if (!streamEvents.has(stream)) streamEvents.set(stream, await history.events(stream, range));
    if (streamEvents.get(stream) === null) {
      notes.push(`${plan.name}: skipped: stream ${stream} keeps no raw events (add retain = '7 DAYS' to its WITH options to backtest rules reading it)`);
    } else fromStreams.push(plan);
  }

  const sink = new BacktestSink();
  const selected = [...fromViews.map((v) => v.plan), ...fromStreams];
  const streams = program.streams.filter((s) => fromStreams.some((p) => p.source.name === s.name));
  // Only the selected rules: their source views are not in this engine, so nothing recomputes
  // the views from events; rules reading a view get its stored rows directly below.
  const engine = new Engine({ streams, queries: selected }, sink, { coalesce: false });

  for (const { plan, view, rows } of fromViews) {
    feedViewRows(engine, plan, view, rows);
    rules.push({ name: plan.name, input: `view_${view.name}`, count: rows.length });
  }
  for (const [stream, events] of streamEvents) {
    if (events === null || !fromStreams.some((p) => p.source.name === stream)) continue;
    let watermark = -Infinity;
    for (const e of events) {
      engine.process(stream, e.row, e.ts);
      if (e.ts > watermark) engine.advance(stream, (watermark = e.ts));
    }
    for (const p of fromStreams) if (p.source.name === stream) rules.push({ name: p.name, input: `events_${stream}`, count: events.length });
  }
  for (const [rule, error] of sink.errors) notes.push(`${rule}: failed to evaluate: ${error}`);

  const alerts = sink.alerts
    .sort((a, b) => Date.parse(a.alert.emittedAt) - Date.parse(b.alert.emittedAt) || a.seq - b.seq)
    .map((a) => a.alert);
  return { alerts, rules, notes };
}

/** The rows a rule reading `view` gets, or why it cannot be backtested. */
async function viewInput(view: QueryPlan, history: History, range: TimeRange): Promise<Row[] | string> {
  if (!view.window) return `view ${view.name} has no WINDOW, so its stored rows carry no event time`;
  const stored = await history.viewRows(view.name, range);
  if (stored === null) return `no table view_${view.name} in the file (the view has stored no closed windows)`;
  const specs = viewColumnSpecs(view);
  const missing = stored.length > 0 ? specs.filter((c) => !(c.name in stored[0]!)).map((c) => c.name) : [];
  if (missing.length > 0) return `view_${view.name} lacks ${missing.join(', ')}: it was stored by another definition of ${view.name}`;
  // The row the view's operator hands its downstream queries: select columns plus window bounds.
  const rows = stored.map((s) => {
    const row: Row = {};
    for (const c of specs) row[c.name] = c.type === 'MAP' && typeof s[c.name] === 'string' ? parseMap(s[c.name] as string) : (s[c.name] ?? null);
    row.windowstart = s.window_start ?? null;
    row.windowend = s.window_end ?? null;
    return row;
  });
  // Live, a view closes its windows in end order (sessions too) and hands each on at its end.
  return rows
    .filter((r) => typeof r.windowend === 'number')
    .sort((a, b) => (a.windowend as number) - (b.windowend as number) || (a.windowstart as number) - (b.windowstart as number));
}

/** Feeds stored view rows to the rule's operator as the live view operator does, advancing event time per window end. */
function feedViewRows(engine: Engine, plan: QueryPlan, view: QueryPlan, rows: Row[]): void {
  const op = engine.ops.get(plan.name);
  if (!op) return;
  let i = 0;
  while (i < rows.length) {
    const end = rows[i]!.windowend as number;
    for (; i < rows.length && rows[i]!.windowend === end; i++) {
      const row = rows[i]!;
      // The upstream key only has to tell the view's groups apart; labels come from the row.
      const key = keyString(view.keyNames.map((n): Value => row[n] ?? null));
      op.onRow(row, end, key, null);
    }
    op.advanceTo(end);
  }
}


/** History read from a seismo DuckDB store (the service must not have the file open). */
export async function storeHistory(store: Store): Promise<History & { close(): void }> {
  const conn: DuckDBConnection = await store.instance.connect();
  const tableExists = async (name: string): Promise<boolean> => {
    const r = await conn.runAndReadAll(
      `SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1`,
      [name],
    );
    return r.getRows().length > 0;
  };
  return {
    async viewRows(view, range) {
      if (!(await tableExists(`view_${view}`))) return null;
      return store.readViewRows(view, range);
    },
    async events(stream, range) {
      const table = `events_${stream}`;
      if (!(await tableExists(table))) return null;
      const r = await conn.runAndReadAll(
        `SELECT epoch_ms(event_time) AS ts, CAST(event AS VARCHAR) AS event FROM ${quoteIdent(table)}
          WHERE event_time >= epoch_ms($1::BIGINT) AND event_time < epoch_ms($2::BIGINT) ORDER BY event_time, rowid`,
        [range.from, range.to],
      );
      return r.getRows().map(([ts, event]) => ({ ts: Number(ts), row: JSON.parse(String(event)) as Row }));
    },
    close: () => conn.disconnectSync(),
  };
}

/**
 * A --from/--to value: an ISO-8601 timestamp (UTC without a zone), epoch ms, `now`, or a time
 * relative to now such as `-2h`, `-30m`, `-7d`.
 */
export function parseTimeArg(flag: string, text: string, now: number): number {
  const t = text.trim();
  if (t === 'now') return now;
  const rel = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  const abs = parseTimestamp(t);
  if (abs !== null) return abs;
  throw new SeismoError('CONFIG', `--${flag}: expected an ISO time (2026-11-24T10:00:00Z), epoch ms, now, or a relative time like -2h; got "${text}"`);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
