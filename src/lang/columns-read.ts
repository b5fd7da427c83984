/**
 * Which columns of a stream its queries read, so the decoder can leave the others out of rows
 * (they are still type-checked: a record is refused for any bad declared column, read or not).
 */
import type { Expr, Select, Statement } from './ast.js';
import { children } from './check.js';

/**
 * The declared columns of `stream` that no query reading it names, in declaration order. None
 * when a query selects `*` or the stream keeps its raw events (`retain`): every column is read.
 * The timestamp and event id columns are always read (the decoder needs them); so are KEY columns,
 * which come from the record key and cost nothing to keep.
 */
export function unreadColumns(stream: Extract<Statement, { kind: 'createStream' }>, statements: readonly Statement[], always: readonly (string | null)[]): string[] {
  const read = new Set<string>();
  for (const s of statements) {
    if (s.kind === 'createStream' || s.query.from.name !== stream.name) continue;
    if (s.query.star) return [];
    namesIn(s.query, read);
  }
  for (const name of always) if (name !== null) read.add(name);
  return stream.columns.filter((c) => !c.key && !read.has(c.name)).map((c) => c.name);
}

/** Every column name a query mentions (qualified or not; an alias that shadows a column counts too). */
function namesIn(q: Select, out: Set<string>): void {
  const visit = (e: Expr): void => {
    if (e.kind === 'column') out.add(e.name);
    for (const c of children(e)) visit(c);
  };
  for (const item of q.items) visit(item.expr);
  for (const e of [q.where, q.having, ...q.groupBy, ...q.partitionBy]) if (e) visit(e);
}
