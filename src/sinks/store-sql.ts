/**
 * SQL text and value conversion shared by the DuckDB store: identifier quoting, the column
 * types a view may declare, and appending JS values (TIMESTAMPs as epoch ms, MAPs as plain
 * objects) through a DuckDB Appender.
 */
import { DuckDBMapValue, DuckDBTimestampValue, type DuckDBAppender, type DuckDBValue } from '@duckdb/node-api';
import type { Value } from '../types.js';

/** The column types a view table may have (the dialect's types). */
export const COLUMN_TYPES = ['VARCHAR', 'INT', 'BIGINT', 'DOUBLE', 'BOOLEAN', 'TIMESTAMP', 'MAP'] as const;
/** One of COLUMN_TYPES. */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A column of a view table, as the compiled query declares it. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/**
 * DuckDB's spelling of each type, as `duckdb_columns().data_type` reports it, so that a table
 * created earlier can be compared with the shape the query declares now.
 */
export const DUCKDB_TYPE: Readonly<Record<ColumnType, string>> = {
  VARCHAR: 'VARCHAR',
  INT: 'INTEGER',
  BIGINT: 'BIGINT',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  // JSON rather than MAP(VARCHAR, VARCHAR): the node-api Appender needs ~9 µs per MAP value
  // (10x a VARCHAR), and JSON matches the alerts table's labels; query with tags->>'env'.
  MAP: 'JSON',
};

/** Quotes an identifier for DuckDB (names come from user queries, so never trust them raw). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for DuckDB (used only where a statement cannot take parameters). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Epoch milliseconds to a DuckDB TIMESTAMP (microseconds). */
export function timestampFromMs(ms: number): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(Math.round(ms)) * 1000n);
}

/** A DuckDB TIMESTAMP back to epoch milliseconds. */
export function msFromTimestamp(ts: DuckDBTimestampValue): number {
  return Number(ts.micros / 1000n);
}

/**
 * Appends one value in the column's type. A value of the wrong JS type is coerced where the
 * meaning is unambiguous (a numeric string in a DOUBLE column, a boolean as 0/1) and stored as
 * NULL otherwise: a checkpoint must not fail, and stall the engine, over one odd value.
 */
export function appendValue(appender: DuckDBAppender, type: ColumnType, value: Value | undefined): void {
  if (value === null || value === undefined) {
    appender.appendNull();
    return;
  }
  switch (type) {
    case 'VARCHAR':
      appender.appendVarchar(typeof value === 'object' ? JSON.stringify(value) : String(value));
      return;
    case 'BOOLEAN':
      if (typeof value === 'boolean') appender.appendBoolean(value);
      else appender.appendNull();
      return;
    case 'DOUBLE': {
      const n = toNumber(value);
      if (n === null) appender.appendNull();
      else appender.appendDouble(n);
      return;
    }
    case 'INT': {
      const n = toNumber(value);
      if (n === null || !Number.isFinite(n) || Math.abs(n) > 2147483647) appender.appendNull();
      else appender.appendInteger(Math.trunc(n));
      return;
    }
    case 'BIGINT':
    case 'TIMESTAMP': {
      const n = toNumber(value);
      if (n === null || !Number.isFinite(n)) appender.appendNull();
      else if (type === 'BIGINT') appender.appendBigInt(BigInt(Math.trunc(n)));
      else appender.appendTimestamp(timestampFromMs(n));
      return;
    }
    case 'MAP':
      if (typeof value === 'object') appender.appendVarchar(JSON.stringify(value));
      else appender.appendNull();
      return;
  }
}

function toNumber(value: Value): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

/** A stored DuckDB value back to the engine's Value (TIMESTAMP to epoch ms, a MAP column's JSON to an object). */
export function valueFromDuckDB(value: DuckDBValue, type?: ColumnType): Value {
  if (type === 'MAP' && typeof value === 'string') return parseMap(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DuckDBTimestampValue) return msFromTimestamp(value);
  if (value instanceof DuckDBMapValue) {
    const out: Record<string, string> = {};
    for (const { key, value: v } of value.entries) out[String(key)] = v === null ? '' : String(v);
    return out;
  }
  return String(value);
}

/** A MAP column stored as JSON text, back as a map of strings (NULL when it is not an object). */
export function parseMap(text: string): Value {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  } catch {
    return null;
  }
}
