/** The column layout of a view's history table `view_<name>` (SPEC section 6). */
import type { QueryPlan } from './lang/compile.js';
import { COLUMN_TYPES, type ColumnSpec, type ColumnType } from './sinks/store-sql.js';

/** Group and aggregate columns with their checked types; window_start/window_end are added by the store. */
export function viewColumnSpecs(q: QueryPlan): ColumnSpec[] {
  return q.columns.map((c, i) => {
    const t = q.columnTypes[i] ?? 'VARCHAR';
    const type: ColumnType = (COLUMN_TYPES as readonly string[]).includes(t) ? (t as ColumnType) : t === 'NULL' ? 'VARCHAR' : 'VARCHAR';
    return { name: c.name, type };
  });
}
