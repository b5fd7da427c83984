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
}
