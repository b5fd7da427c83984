/**
 * Runtime values of the SQL dialect. TIMESTAMP values are epoch milliseconds (numbers);
 * MAP<VARCHAR, VARCHAR> values are plain objects.
 */
export type Value = string | number | boolean | null | { readonly [k: string]: string };

/** An input event or a row flowing between queries: column name (lower case) to value. */
export type Row = Record<string, Value>;

/** A window's bounds in epoch ms: start inclusive, end exclusive (sessions: both inclusive). */
export interface WindowBounds {
  readonly start: number;
  readonly end: number;
}
