/**
 * Plans: what the compiler hands the runtime. Built once when query files load; the per-event
 * path only calls the closures in them.
 */
import type { ColumnType } from './lang/ast.js';

/** A source stream as declared by CREATE STREAM. Column names are lower case. */
export interface StreamPlan {
  readonly name: string;
  readonly topic: string;
  readonly columns: readonly { readonly name: string; readonly type: ColumnType; readonly key: boolean }[];
  /** Column holding event time; null means the Kafka record timestamp (replay: required or row order). */
  readonly timestampColumn: string | null;
  /** Column holding the event id used for deduplication; null when not declared. */
  readonly eventIdColumn: string | null;
  /** Raw event retention in ms (`retain = '7 DAYS'`), or null. */
  readonly retainMs: number | null;
  /**
   * Declared columns no query reads (src/lang/columns-read.ts): decoded only to check their type,
   * then left out of rows. Absent or empty: rows hold every column.
   */
  readonly unread?: readonly string[];
}

/** The columns a decoded row of the stream holds: the declared ones, less those no query reads. */
export function rowColumns(plan: StreamPlan): StreamPlan['columns'] {
  const unread = plan.unread;
  return unread === undefined || unread.length === 0 ? plan.columns : plan.columns.filter((c) => !unread.includes(c.name));
}
