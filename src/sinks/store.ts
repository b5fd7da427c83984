/**
 * The DuckDB store: closed view windows (`view_<name>`), alert transitions (`alerts`), retained
 * raw events (`events_<stream>`) and engine checkpoints, all in one file. Everything a checkpoint
 * covers is written in ONE transaction, so a crash leaves either the whole checkpoint or none of
 * it (SPEC section 6). One writer connection; calls are serialised so that a retention delete
 * can never land inside a checkpoint's transaction.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SeismoError, describeError } from '../errors.js';
import type { Row, Value } from '../types.js';
import { CHECKPOINT_DDL, readVerifiedCheckpoint, writeCheckpoint, type KafkaOffset, type StoredCheckpoint } from './store-checkpoint.js';
import { DUCKDB_TYPE, appendValue, quoteIdent, timestampFromMs, valueFromDuckDB, type ColumnSpec } from './store-sql.js';

export type { ColumnSpec, ColumnType } from './store-sql.js';
export type { KafkaOffset, StoredCheckpoint } from './store-checkpoint.js';

/** An alert transition as emitted (SPEC section 4); timestamps are ISO strings. */
export interface AlertPayloadLike {
  readonly fingerprint: string;
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly values: Readonly<Record<string, Value>>;
  readonly window: { readonly start: string; readonly end: string } | null;
  readonly emittedAt: string;
}

/** A raw event kept for a stream with `retain`: its event time and the decoded event. */
export interface RetainedEvent {
  readonly eventTime: number;
  /** Stored as JSON; a string is taken as already-serialised JSON text. */
  readonly event: Row | string;
}

/** What one checkpoint covers (SPEC section 6). */
export interface CheckpointInput {
  /** Windows closed since the last checkpoint, per view; rows carry window_start/window_end (epoch ms). */
  readonly viewRows: ReadonlyMap<string, readonly Row[]>;
  /** Alert transitions emitted since the last checkpoint. */
  readonly alerts: readonly AlertPayloadLike[];
  /** Serialised engine state, in pieces (a single string is taken as one piece). */
  readonly state: Iterable<string> | string;
  /** The Kafka offsets this state covers. */
  readonly offsets: readonly KafkaOffset[];
  /** Raw events of retained streams since the last checkpoint, so they are exactly-once too. */
  readonly events?: ReadonlyMap<string, readonly RetainedEvent[]>;
  /** Awaited before each chunk of state is hashed and handed to DuckDB, and every PACE_ROWS rows appended: lets ingest go first. */
  readonly pace?: () => Promise<void>;
}

/** The DuckDB store of one seismo service. */
export interface Store {
  /** The database file. */
  readonly path: string;
  /** The DuckDB instance, for a query engine's own connections (one instance per file per process). */
  readonly instance: DuckDBInstance;
  /** Creates `view_<view>` or, when its shape changed, renames the old table aside and creates a new one. */
  ensureViewTable(view: string, columns: readonly ColumnSpec[]): Promise<void>;
  /** Writes view rows, alert transitions, retained events, state and offsets in one transaction; returns the checkpoint id. */
  commitCheckpoint(cp: CheckpointInput): Promise<number>;
  /** The newest checkpoint that verifies, or null when there is none. */
  readLatestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** Stored rows of a view, oldest window first, optionally within [from, to) on window_start. */
  readViewRows(view: string, range?: { from?: number; to?: number }): Promise<Row[]>;
  /** Appends raw events to `events_<stream>` (created on first use) in their own transaction. */
  appendEvents(stream: string, events: readonly RetainedEvent[]): Promise<void>;
  /** Deletes retained events older than `epochMs`; returns how many went. */
  deleteEventsBefore(stream: string, epochMs: number): Promise<number>;
  /** Waits for pending writes and closes the file. */
  close(): Promise<void>;
}

/** Options of openStore. */
export interface StoreOptions {
  /** One-line notices (a table renamed aside, a checkpoint skipped). Default: stderr. */
  readonly log?: (line: string) => void;
  /** Wall clock for created_at and renamed-table suffixes. Default: Date.now. */
  readonly now?: () => number;
  /**
   * Disable file/network/extension access and lock the configuration for the whole instance
   * (default true): the query engine shares this instance, and the writer needs neither.
   */
  readonly restricted?: boolean;
}

/** Settings that make an instance safe to share with the historical query engine. */
export const RESTRICTED_CONFIG: Readonly<Record<string, string>> = {
  enable_external_access: 'false',
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'false',
  allow_community_extensions: 'false',
  // Last: once set, nothing (SET, RESET, SET GLOBAL) can change a setting again.
  lock_configuration: 'true',
};

const ALERTS_DDL = `CREATE TABLE IF NOT EXISTS alerts (
  fingerprint VARCHAR NOT NULL, status VARCHAR NOT NULL, alertname VARCHAR, labels JSON, annotations JSON,
  starts_at TIMESTAMP, ends_at TIMESTAMP, "values" JSON, window_start TIMESTAMP, window_end TIMESTAMP,
  emitted_at TIMESTAMP)`;

/** Opens (creating if needed) the DuckDB file and its fixed tables. */
export async function openStore(path: string, opts: StoreOptions = {}): Promise<Store> {
  if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
  const instance = await openInstance(path, opts.restricted === false ? {} : RESTRICTED_CONFIG);
  const conn = await instance.connect();
  for (const ddl of [...CHECKPOINT_DDL, ALERTS_DDL]) await conn.run(ddl);
  return new DuckDBStore(path, instance, conn, opts.log ?? ((line) => process.stderr.write(`${line}\n`)), opts.now ?? Date.now);
}

/** Opens a DuckDB instance, turning DuckDB's lock error into one actionable line. */
export async function openInstance(path: string, config: Readonly<Record<string, string>>): Promise<DuckDBInstance> {
  try {
    return await DuckDBInstance.create(path, { ...config });
  } catch (err) {
    const msg = describeError(err);
    if (/Could not set lock|Conflicting lock/i.test(msg)) {
      const pid = /PID (\d+)/.exec(msg)?.[1];
      throw new SeismoError('STORAGE', `${path} is in use by another process${pid ? ` (PID ${pid})` : ''}, probably a running seismo service`, { cause: err });
    }
    throw new SeismoError('STORAGE', `cannot open ${path}: ${msg}`, { cause: err });
  }
}

/** Rows appended between two calls of a checkpoint's pace(): a few milliseconds of work. */
const PACE_ROWS = 1024;

class DuckDBStore implements Store {
  private readonly views = new Map<string, readonly ColumnSpec[]>();
  private readonly eventTables = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly log: (line: string) => void,
    private readonly now: () => number,
  ) {}

  /** Runs fn after every earlier call: the one writer connection carries one transaction at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SeismoError('STORAGE', `store ${this.path} is closed`));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** BEGIN ... COMMIT around fn, ROLLBACK on any error, errors as STORAGE. */
  private async transaction<T>(what: string, fn: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.conn.run('COMMIT');
      return out;
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      if (err instanceof SeismoError) throw err;
      throw new SeismoError('STORAGE', `${what} failed: ${describeError(err)}`, { retriable: true, cause: err });
    }
  }

  ensureViewTable(view: string, columns: readonly ColumnSpec[]): Promise<void> {
    return this.exclusive(async () => {
      const table = `view_${view}`;
      // The window bounds always lead; a view that also selects them must not duplicate them.
      const own = columns.filter((c) => c.name !== 'window_start' && c.name !== 'window_end');
      const wanted: [string, string][] = [
        ['window_start', 'TIMESTAMP'],
        ['window_end', 'TIMESTAMP'],
        ...own.map((c): [string, string] => [c.name, DUCKDB_TYPE[c.type]]),
      ];
      const existing = await this.tableShape(table);
      if (existing.length > 0 && !sameShape(existing, wanted)) {
        const aside = `${table}__${compactTimestamp(this.now())}`;
        await this.conn.run(`ALTER TABLE ${quoteIdent(table)} RENAME TO ${quoteIdent(aside)}`);
        this.log(`view ${view} changed shape; its stored rows were moved to table ${aside}`);
      }
      const cols = wanted.map(([name, type]) => `${quoteIdent(name)} ${type}`).join(', ');
      await this.conn.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${cols})`);
      this.views.set(view, own);
    });
  }

  private async tableShape(table: string): Promise<[string, string][]> {
    const r = await this.conn.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1 ORDER BY column_index`,
      [table],
    );
    return r.getRows().map(([n, t]) => [String(n), String(t)]);
  }

  commitCheckpoint(cp: CheckpointInput): Promise<number> {
    return this.exclusive(() =>
      this.transaction('checkpoint', async () => {
        for (const [view, rows] of cp.viewRows) if (rows.length > 0) await this.appendViewRows(view, rows, cp.pace);
        if (cp.alerts.length > 0) await this.appendAlerts(cp.alerts);
        for (const [stream, events] of cp.events ?? []) if (events.length > 0) await this.appendEventRows(stream, events, cp.pace);
        const pieces = typeof cp.state === 'string' ? [cp.state] : cp.state;
        return writeCheckpoint(this.conn, pieces, cp.offsets, this.now(), cp.pace);
      }),
    );
  }

  private async appendViewRows(view: string, rows: readonly Row[], pace?: () => Promise<void>): Promise<void> {
    const columns = this.views.get(view);
    if (!columns) throw new SeismoError('STORAGE', `view ${view} has no table yet (ensureViewTable was not called)`);
    const app = await this.conn.createAppender(`view_${view}`);
    try {
      for (let i = 0; i < rows.length; i++) {
        // The rows of a window boundary (one per group) take tens of ms: give way to ingest.
        if (pace && i % PACE_ROWS === PACE_ROWS - 1) await pace();
        const row = rows[i]!;
        appendValue(app, 'TIMESTAMP', row['window_start']);
        appendValue(app, 'TIMESTAMP', row['window_end']);
        for (const c of columns) appendValue(app, c.type, row[c.name]);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  private async appendAlerts(alerts: readonly AlertPayloadLike[]): Promise<void> {
    const app = await this.conn.createAppender('alerts');
    const at = (iso: string | null | undefined): Value => (iso ? Date.parse(iso) : null);
    try {
      for (const a of alerts) {
        app.appendVarchar(a.fingerprint);
        app.appendVarchar(a.status);
        appendValue(app, 'VARCHAR', a.labels['alertname'] ?? null);
        app.appendVarchar(JSON.stringify(a.labels));
        app.appendVarchar(JSON.stringify(a.annotations));
        appendValue(app, 'TIMESTAMP', at(a.startsAt));
        appendValue(app, 'TIMESTAMP', at(a.endsAt));
        app.appendVarchar(JSON.stringify(a.values));
        appendValue(app, 'TIMESTAMP', at(a.window?.start));
        appendValue(app, 'TIMESTAMP', at(a.window?.end));
        appendValue(app, 'TIMESTAMP', at(a.emittedAt));
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  readLatestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.exclusive(() => readVerifiedCheckpoint(this.conn, this.log));
  }

  readViewRows(view: string, range: { from?: number; to?: number } = {}): Promise<Row[]> {
    return this.exclusive(async () => {
      const where: string[] = [];
      const params: number[] = [];
      if (range.from !== undefined) where.push(`window_start >= epoch_ms($${params.push(range.from)}::BIGINT)`);
      if (range.to !== undefined) where.push(`window_start < epoch_ms($${params.push(range.to)}::BIGINT)`);
      const sql = `SELECT * FROM ${quoteIdent(`view_${view}`)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY window_start, window_end`;
      const reader = await this.conn.runAndReadAll(sql, params);
      const names = reader.columnNames();
      const types = new Map((this.views.get(view) ?? []).map((c) => [c.name, c.type]));
      return reader.getRows().map((values) => {
        const row: Row = {};
        values.forEach((v, i) => {
          const name = names[i] ?? `col_${i}`;
          row[name] = valueFromDuckDB(v, types.get(name));
        });
        return row;
      });
    });
  }

  appendEvents(stream: string, events: readonly RetainedEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.exclusive(() => this.transaction('appending events', () => this.appendEventRows(stream, events)));
  }

  private async appendEventRows(stream: string, events: readonly RetainedEvent[], pace?: () => Promise<void>): Promise<void> {
    const table = `events_${stream}`;
    if (!this.eventTables.has(table)) {
      await this.conn.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (event_time TIMESTAMP NOT NULL, event JSON)`);
      this.eventTables.add(table);
    }
    const app = await this.conn.createAppender(table);
    try {
      for (let i = 0; i < events.length; i++) {
        if (pace && i % PACE_ROWS === PACE_ROWS - 1) await pace();
        const e = events[i]!;
        appendValue(app, 'TIMESTAMP', e.eventTime);
        app.appendVarchar(typeof e.event === 'string' ? e.event : JSON.stringify(e.event));
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  deleteEventsBefore(stream: string, epochMs: number): Promise<number> {
    return this.exclusive(async () => {
      const table = `events_${stream}`;
      if ((await this.tableShape(table)).length === 0) return 0;
      const r = await this.conn.run(`DELETE FROM ${quoteIdent(table)} WHERE event_time < $1`, [timestampFromMs(epochMs)]);
      return r.rowsChanged;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.conn.disconnectSync();
    this.instance.closeSync();
  }
}

function sameShape(a: readonly [string, string][], b: readonly [string, string][]): boolean {
  return a.length === b.length && a.every(([n, t], i) => n === b[i]?.[0] && t === b[i]?.[1]);
}

/** 2026-11-24T10:15:00.123Z -> 20261124T101500123Z: sortable and a plain identifier. */
function compactTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}
