/**
 * The checker: parsed files in, every semantic error out at once (STYLE.md: validation returns
 * arrays), plus the checked program the compiler builds from. It resolves names across files
 * (streams, views and alerts share one namespace), orders queries so each comes after what it
 * reads (definition order across files does not matter; cycles are errors), infers types, and
 * validates aggregates, windows, functions and WITH options.
 */
import type { ColumnType, Expr, LiteralValue, Pos, Select, SourceFile, Statement } from './ast.js';
import type { Diagnostic } from './diagnostic.js';
import { acceptsParam, describeParam, functionNames, isNumeric, lookupFunction, unifyTypes, widenNumeric, type SqlType } from './functions.js';
import { alertOptions, streamOptions, viewOptions, type AlertOptions, type StreamOptions, type ViewOptions } from './check-options.js';
import { suggest } from './suggest.js';

export type { SqlType } from './functions.js';
export { parseLabels, type AlertOptions, type StreamOptions, type ViewOptions } from './check-options.js';
export { suggest } from './suggest.js';

/** A named, typed column of a schema. */
export interface Column {
  readonly name: string;
  readonly type: SqlType;
}

type StreamStatement = Extract<Statement, { kind: 'createStream' }>;
type QueryStatement = Extract<Statement, { kind: 'createView' | 'createAlert' }>;

/** A checked CREATE STREAM. */
export interface CheckedStream {
  readonly name: string;
  readonly file: string;
  readonly statement: StreamStatement;
  readonly columns: readonly (Column & { readonly key: boolean; readonly declared: ColumnType })[];
  readonly options: StreamOptions;
}

interface QueryBase {
  readonly name: string;
  readonly file: string;
  readonly select: Select;
  /** What FROM names; `kind` is null when it names nothing valid (the query has errors then). */
  readonly source: { readonly kind: 'stream' | 'view' | null; readonly name: string };
  /** The columns the query reads, by name (a view's output plus windowstart/windowend if windowed). */
  readonly input: ReadonlyMap<string, SqlType>;
  /** Output columns in order, named by SPEC's rule (alias; column name; `col_N`). */
  readonly output: readonly Column[];
  /** The expression of each output column (`*` expanded into column references). */
  readonly outputExprs: readonly Expr[];
  /** True when the query has aggregates or GROUP BY: one row per group (and window). */
  readonly aggregates: boolean;
  /** True when the query has its own WINDOW clause. */
  readonly windowed: boolean;
  /**
   * True when WINDOWSTART/WINDOWEND refer to the source view's window columns (the query has no
   * WINDOW of its own and reads a windowed view) rather than to the query's own window.
   */
  readonly windowBoundsFromSource: boolean;
  /** GROUP BY expressions, a bare name that is a SELECT alias replaced by the aliased expression. */
  readonly groupBy: readonly Expr[];
  /**
   * The group key as output column names: the GROUP BY columns for an aggregating query; for a
   * non-aggregating query reading a view, the columns selecting that view's key (which must be
   * selected, possibly renamed), in the view's key order; otherwise [].
   */
  readonly groupKey: readonly string[];
  /** For a query FROM a view: the view's group key column names; otherwise null. */
  readonly sourceGroupKey: readonly string[] | null;
  /** HAVING, with names that are SELECT aliases (and not input columns) replaced by their expression. */
  readonly having: Expr | null;
  /** True when readers see windowstart/windowend (own window, or passing a windowed view through). */
  readonly readerWindowed: boolean;
}

/** A checked view or alert. */
export type CheckedQuery =
  | (QueryBase & { readonly kind: 'view'; readonly statement: Extract<Statement, { kind: 'createView' }>; readonly options: ViewOptions })
  | (QueryBase & { readonly kind: 'alert'; readonly statement: Extract<Statement, { kind: 'createAlert' }>; readonly options: AlertOptions });

/** Everything the compiler needs; queries are ordered so a query comes after the view it reads. */
export interface CheckedProgram {
  readonly streams: readonly CheckedStream[];
  readonly queries: readonly CheckedQuery[];
}

/** Checks parsed files together and returns every error at once, plus the checked program. */
export function check(files: readonly SourceFile[]): { diagnostics: Diagnostic[]; program: CheckedProgram } {
  return new Checker().run(files);
}

// ---------------------------------------------------------------------------------------------

interface Entry {
  readonly stmt: Statement;
  readonly file: string;
}

/** A reader's view of a view: its columns, group key and whether it is windowed. */
interface SourceSchema {
  readonly kind: 'stream' | 'view';
  readonly columns: ReadonlyMap<string, SqlType>;
  readonly groupKey: readonly string[] | null;
  readonly windowed: boolean;
}

type Clause = 'SELECT' | 'WHERE' | 'GROUP BY' | 'PARTITION BY' | 'HAVING';

interface ExprContext {
  readonly clause: Clause;
  readonly inAggregate: string | null;
  readonly inBaseline: string | null;
}

/** Per-query state while checking its expressions. */
interface Scope {
  readonly file: string;
  readonly select: Select;
  readonly from: Select['from'];
  /** null when the source is unknown: column checks are skipped to avoid cascades. */
  readonly columns: ReadonlyMap<string, SqlType> | null;
  readonly ownWindow: boolean;
  readonly sourceWindowed: boolean;
  /** SELECT aliases, visible in HAVING (and GROUP BY) when not shadowed by an input column. */
  aliases: Map<string, { expr: Expr; type: SqlType }>;
  aggregates: boolean;
}

class Checker {
  private readonly diagnostics: Diagnostic[] = [];

  private report(file: string, pos: Pos, message: string): void {
    this.diagnostics.push({ file, pos, message });
  }

  run(files: readonly SourceFile[]): { diagnostics: Diagnostic[]; program: CheckedProgram } {
    const entries = new Map<string, Entry>();
    const ordered: Entry[] = [];
    for (const f of files) {
      for (const stmt of f.statements) {
        const prev = entries.get(stmt.name);
        if (prev) {
          const where = `${prev.file}:${prev.stmt.namePos.line}:${prev.stmt.namePos.col}`;
          this.report(f.path, stmt.namePos, `'${stmt.name}' is already defined at ${where}`);
          continue;
        }
        const entry = { stmt, file: f.path };
        entries.set(stmt.name, entry);
        ordered.push(entry);
      }
    }

    const streams: CheckedStream[] = [];
    const schemas = new Map<string, SourceSchema>();
    for (const e of ordered) {
      if (e.stmt.kind !== 'createStream') continue;
      const s = this.checkStream(e.stmt, e.file);
      streams.push(s);
      schemas.set(s.name, { kind: 'stream', columns: new Map(s.columns.map((c) => [c.name, c.type])), groupKey: null, windowed: false });
    }

    const queries: CheckedQuery[] = [];
    for (const e of this.orderQueries(ordered, entries)) {
      const q = this.checkQuery(e.stmt as QueryStatement, e.file, entries, schemas);
      queries.push(q);
      if (q.kind === 'view') {
        const columns = new Map(q.output.map((c) => [c.name, c.type]));
        if (q.readerWindowed) {
          if (!columns.has('windowstart')) columns.set('windowstart', 'BIGINT');
          if (!columns.has('windowend')) columns.set('windowend', 'BIGINT');
        }
        schemas.set(q.name, { kind: 'view', columns, groupKey: q.groupKey, windowed: q.readerWindowed });
      }
    }
    const byPosition = (a: Diagnostic, b: Diagnostic) =>
      a.file === b.file ? a.pos.offset - b.pos.offset : files.findIndex((f) => f.path === a.file) - files.findIndex((f) => f.path === b.file);
    return { diagnostics: this.diagnostics.sort(byPosition), program: { streams, queries } };
  }

  /**
   * Orders views and alerts so each comes after the view it reads (definition order otherwise);
   * reports cycles. Every query has one source, so following FROM links is enough.
   */
  private orderQueries(ordered: readonly Entry[], entries: ReadonlyMap<string, Entry>): Entry[] {
    const out: Entry[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (e: Entry, path: Entry[]): void => {
      const name = e.stmt.name;
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        const cycle = path.slice(path.indexOf(e));
        const names = [...cycle.map((c) => c.stmt.name), name].join(' -> ');
        for (const c of cycle) {
          const q = c.stmt as QueryStatement;
          const msg = cycle.length === 1 ? `view '${name}' reads from itself` : `view '${q.name}' is part of a cycle: ${names}`;
          this.report(c.file, q.query.from.pos, msg);
        }
        for (const c of cycle) state.set(c.stmt.name, 'done');
        return;
      }
      state.set(name, 'visiting');
      const src = entries.get((e.stmt as QueryStatement).query.from.name);
      if (src && src.stmt.kind === 'createView') visit(src, [...path, e]);
      if (state.get(name) === 'visiting') {
        state.set(name, 'done');
        out.push(e);
      }
    };
    for (const e of ordered) if (e.stmt.kind !== 'createStream') visit(e, []);
    return out;
  }

  // ---- streams ----

  private checkStream(stmt: StreamStatement, file: string): CheckedStream {
    const columns: (Column & { key: boolean; declared: ColumnType })[] = [];
    const seen = new Set<string>();
    let keys = 0;
    for (const c of stmt.columns) {
      if (seen.has(c.name)) this.report(file, c.pos, `duplicate column '${c.name}'`);
      seen.add(c.name);
      if (c.type.kind === 'map' && (c.type.key !== 'VARCHAR' || c.type.value !== 'VARCHAR')) {
        this.report(file, c.pos, `column '${c.name}': only MAP<VARCHAR, VARCHAR> is supported`);
      }
      if (c.key) {
        keys++;
        if (keys === 2) this.report(file, c.pos, `only one KEY column is allowed (the Kafka record key)`);
        if (c.type.kind === 'map') this.report(file, c.pos, `KEY column '${c.name}' cannot be a MAP`);
      }
      columns.push({ name: c.name, type: c.type.kind === 'map' ? 'MAP' : c.type.name, key: c.key, declared: c.type });
    }
    const options = streamOptions(stmt, columns, (pos, message) => this.report(file, pos, message));
    return { name: stmt.name, file, statement: stmt, columns, options };
  }

  // ---- queries ----

  private checkQuery(stmt: QueryStatement, file: string, entries: ReadonlyMap<string, Entry>, schemas: ReadonlyMap<string, SourceSchema>): CheckedQuery {
    const select = stmt.query;
    const from = select.from;
    const target = entries.get(from.name);
    let source: SourceSchema | null = schemas.get(from.name) ?? null;
    if (!target) {
      const names = [...entries.values()].filter((e) => e.stmt.kind !== 'createAlert' && e.stmt.name !== stmt.name).map((e) => e.stmt.name);
      this.report(file, from.pos, `unknown stream or view '${from.name}'${suggest(from.name, names)}`);
    } else if (target.stmt.kind === 'createAlert') {
      this.report(file, from.pos, `'${from.name}' is an alert; FROM must name a stream or a view`);
      source = null;
    }
    const scope: Scope = {
      file,
      select,
      from,
      columns: source?.columns ?? null,
      ownWindow: select.window !== null,
      sourceWindowed: source?.windowed ?? false,
      aliases: new Map(),
      aggregates: select.groupBy.length > 0,
    };

    // SELECT, with `*` expanded.
    const output: Column[] = [];
    const outputExprs: Expr[] = [];
    const seenNames = new Map<string, Pos>();
    for (const item of select.items) {
      if (item.expr.kind === 'column' && item.expr.name === '*') {
        for (const [name, type] of scope.columns ?? []) {
          output.push({ name, type });
          outputExprs.push({ kind: 'column', qualifier: null, name, pos: item.pos });
          seenNames.set(name, item.pos);
        }
        continue;
      }
      const type = this.checkExpr(item.expr, scope, { clause: 'SELECT', inAggregate: null, inBaseline: null });
      const name = item.alias ?? defaultName(item.expr, output.length);
      if (seenNames.has(name)) this.report(file, item.pos, `duplicate output column '${name}'${item.alias ? '' : ' (add an alias with AS)'}`);
      seenNames.set(name, item.pos);
      output.push({ name, type });
      outputExprs.push(item.expr);
      if (item.alias !== null) scope.aliases.set(item.alias, { expr: item.expr, type });
    }

    if (select.where) {
      const t = this.checkExpr(select.where, scope, { clause: 'WHERE', inAggregate: null, inBaseline: null });
      this.expectBoolean(t, select.where, 'WHERE', file);
    }
    const groupBy = select.groupBy.map((g) => this.checkGroupBy(g, scope));
    for (const p of select.partitionBy) this.checkExpr(p, scope, { clause: 'PARTITION BY', inAggregate: null, inBaseline: null });
    let having: Expr | null = null;
    if (select.having) {
      const t = this.checkExpr(select.having, scope, { clause: 'HAVING', inAggregate: null, inBaseline: null });
      this.expectBoolean(t, select.having, 'HAVING', file);
      having = resolveAliases(select.having, scope);
    }

    const aggregates = scope.aggregates || select.items.some((i) => containsAggregate(i.expr));
    if (aggregates) {
      if (select.star) this.report(file, select.items.find((i) => i.expr.kind === 'column' && i.expr.name === '*')!.pos, 'SELECT * cannot be used with aggregates or GROUP BY');
      // Columns from `*` are covered by the error above.
      select.items.forEach((i) => this.checkGrouped(i.expr, groupBy, scope, false));
      if (having) this.checkGrouped(select.having!, groupBy, scope, true);
      if (select.partitionBy.length > 0) this.report(file, select.partitionBy[0]!.pos, 'PARTITION BY cannot be combined with GROUP BY or aggregates (the group key is the partition)');
    } else if (select.window) {
      this.report(file, select.window.pos, 'a WINDOW clause needs aggregates or GROUP BY');
    }
    if (select.window) this.checkWindow(select.window, file);
    if (select.emit === 'FINAL' && !select.window) this.report(file, select.emitPos ?? select.pos, 'EMIT FINAL needs a WINDOW clause (it emits one row per window when the window closes)');

    const groupKey: string[] = [];
    if (aggregates) {
      for (let i = 0; i < groupBy.length; i++) {
        const g = groupBy[i]!;
        const at = outputExprs.findIndex((e) => sameExpr(e, g, scope));
        if (at >= 0) groupKey.push(output[at]!.name);
        else this.report(file, select.groupBy[i]!.pos, `GROUP BY ${formatExpr(g)} must also be in the SELECT list (the group key is part of every row)`);
      }
    }
    const sourceGroupKey = source?.kind === 'view' ? source.groupKey ?? [] : null;
    if (!aggregates && sourceGroupKey) {
      // Rows of a view keep their group: its key columns must be selected (renaming is fine).
      for (const k of sourceGroupKey) {
        const at = outputExprs.findIndex((e) => e.kind === 'column' && e.name === k && (e.qualifier === null || e.qualifier === from.name || e.qualifier === from.alias));
        if (at >= 0) groupKey.push(output[at]!.name);
        else this.report(file, from.pos, `'${from.name}' is grouped by '${k}': select it so each row keeps its group`);
      }
    }

    const base: QueryBase = {
      name: stmt.name,
      file,
      select,
      source: { kind: source?.kind ?? null, name: from.name },
      input: scope.columns ?? new Map(),
      output,
      outputExprs,
      aggregates,
      windowed: select.window !== null,
      windowBoundsFromSource: select.window === null && scope.sourceWindowed,
      groupBy,
      groupKey,
      sourceGroupKey,
      having,
      readerWindowed: select.window !== null || (!aggregates && scope.sourceWindowed),
    };
    if (stmt.kind === 'createView') return { ...base, kind: 'view', statement: stmt, options: viewOptions(stmt.options, (pos, message) => this.report(file, pos, message)) };
    return { ...base, kind: 'alert', statement: stmt, options: alertOptions(stmt.options, output, base.readerWindowed, (pos, message) => this.report(file, pos, message)) };
  }

  private checkWindow(w: NonNullable<Select['window']>, file: string): void {
    if (w.sizeMs <= 0) this.report(file, w.pos, `${w.type === 'SESSION' ? 'the session gap' : 'window SIZE'} must be greater than 0`);
    if (w.type === 'HOPPING' && w.advanceMs !== null) {
      if (w.advanceMs <= 0) this.report(file, w.pos, 'ADVANCE BY must be greater than 0');
      else if (w.advanceMs > w.sizeMs) this.report(file, w.pos, 'ADVANCE BY must not be greater than SIZE');
    }
  }

  /** GROUP BY g: a bare name that is not an input column but is a SELECT alias means that item. */
  private checkGroupBy(g: Expr, scope: Scope): Expr {
    if (g.kind === 'column' && g.qualifier === null && scope.columns && !scope.columns.has(g.name)) {
      const alias = scope.aliases.get(g.name);
      if (alias) {
        if (containsAggregate(alias.expr)) this.report(scope.file, g.pos, `cannot GROUP BY '${g.name}', an aggregate`);
        return alias.expr;
      }
    }
    this.checkExpr(g, scope, { clause: 'GROUP BY', inAggregate: null, inBaseline: null });
    return g;
  }

  /** In an aggregating query, every column outside an aggregate must be (part of) a GROUP BY expression. */
  private checkGrouped(e: Expr, groupBy: readonly Expr[], scope: Scope, inHaving: boolean): void {
    if (groupBy.some((g) => sameExpr(e, g, scope))) return;
    switch (e.kind) {
      case 'column':
        if (e.name === '*') return;
        if (inHaving && e.qualifier === null && !scope.columns?.has(e.name) && scope.aliases.has(e.name)) return;
        if (scope.columns && !scope.columns.has(e.name)) return; // already reported as unknown
        this.report(scope.file, e.pos, `column '${e.name}' must be in GROUP BY or inside an aggregate function`);
        return;
      case 'call':
        if (lookupFunction(e.name)?.kind === 'aggregate') return;
        break;
      default:
        break;
    }
    for (const c of children(e)) this.checkGrouped(c, groupBy, scope, inHaving);
  }

  private expectBoolean(t: SqlType, e: Expr, clause: string, file: string): void {
    if (t !== 'BOOLEAN' && t !== 'NULL') this.report(file, e.pos, `${clause} must be a BOOLEAN condition, not ${t}`);
  }

  // ---- expressions ----

  /** The type of e; reports what is wrong inside it. Unknown types come back as 'NULL' (fits all). */
  private checkExpr(e: Expr, scope: Scope, ctx: ExprContext): SqlType {
    const file = scope.file;
    switch (e.kind) {
      case 'literal':
        return literalType(e.value);
      case 'column':
        return this.checkColumn(e, scope, ctx);
      case 'windowBound': {
        const name = e.bound === 'start' ? 'WINDOWSTART' : 'WINDOWEND';
        if (scope.ownWindow) {
          if (ctx.clause !== 'SELECT') this.report(file, e.pos, `${name} is only allowed in SELECT`);
        } else if (!scope.sourceWindowed && scope.columns !== null) {
          this.report(file, e.pos, `${name} needs a WINDOW clause (or FROM a windowed view)`);
        }
        // Epoch milliseconds typed BIGINT, as in ksqlDB, so `COUNT(*) * WINDOWEND` works.
        return 'BIGINT';
      }
      case 'mapAccess': {
        const target = this.checkExpr(e.target, scope, ctx);
        const key = this.checkExpr(e.key, scope, ctx);
        if (target !== 'MAP' && target !== 'NULL') this.report(file, e.pos, `cannot use [...] on ${target}; only a MAP has keys`);
        if (key !== 'VARCHAR' && key !== 'NULL') this.report(file, e.key.pos, `a map key must be a VARCHAR, not ${key}`);
        return 'VARCHAR';
      }
      case 'unary': {
        const t = this.checkExpr(e.operand, scope, ctx);
        if (e.op === 'NOT') {
          if (t !== 'BOOLEAN' && t !== 'NULL') this.report(file, e.operand.pos, `NOT needs a BOOLEAN operand, not ${t}`);
          return 'BOOLEAN';
        }
        if (!isNumeric(t)) this.report(file, e.operand.pos, `unary '${e.op}' needs a number, not ${t}`);
        return isNumeric(t) ? t : 'NULL';
      }
      case 'binary':
        return this.checkBinary(e, scope, ctx);
      case 'between': {
        const t = this.checkExpr(e.operand, scope, ctx);
        this.expectComparable(t, this.checkExpr(e.low, scope, ctx), e.low.pos, file);
        this.expectComparable(t, this.checkExpr(e.high, scope, ctx), e.high.pos, file);
        return 'BOOLEAN';
      }
      case 'in': {
        const t = this.checkExpr(e.operand, scope, ctx);
        for (const x of e.list) this.expectComparable(t, this.checkExpr(x, scope, ctx), x.pos, file);
        return 'BOOLEAN';
      }
      case 'like': {
        const t = this.checkExpr(e.operand, scope, ctx);
        const p = this.checkExpr(e.pattern, scope, ctx);
        if (t !== 'VARCHAR' && t !== 'NULL') this.report(file, e.operand.pos, `LIKE needs a VARCHAR, not ${t}`);
        if (p !== 'VARCHAR' && p !== 'NULL') this.report(file, e.pattern.pos, `a LIKE pattern must be a VARCHAR, not ${p}`);
        return 'BOOLEAN';
      }
      case 'isNull':
        this.checkExpr(e.operand, scope, ctx);
        return 'BOOLEAN';
      case 'case': {
        const operand = e.operand ? this.checkExpr(e.operand, scope, ctx) : null;
        let result: SqlType = 'NULL';
        const branches = [...e.whens.map((w) => w.then), ...(e.else ? [e.else] : [])];
        for (const w of e.whens) {
          const t = this.checkExpr(w.when, scope, ctx);
          if (operand === null) this.expectBoolean(t, w.when, 'WHEN', file);
          else this.expectComparable(operand, t, w.when.pos, file);
        }
        for (const b of branches) {
          const t = this.checkExpr(b, scope, ctx);
          const u = unifyTypes(result, t);
          if (u === null) this.report(file, b.pos, `CASE branches mix ${result} and ${t}`);
          else result = u;
        }
        return result;
      }
      case 'call':
        return this.checkCall(e, scope, ctx);
    }
  }

  private checkColumn(e: Extract<Expr, { kind: 'column' }>, scope: Scope, ctx: ExprContext): SqlType {
    const file = scope.file;
    if (e.name === '*') {
      this.report(file, e.pos, "'*' is only allowed as a whole SELECT item or in COUNT(*)");
      return 'NULL';
    }
    if (e.qualifier !== null && e.qualifier !== scope.from.name && e.qualifier !== scope.from.alias) {
      const reads = scope.from.alias ? `'${scope.from.name}' as '${scope.from.alias}'` : `'${scope.from.name}'`;
      const isMap = scope.columns?.get(e.qualifier) === 'MAP';
      const hint = isMap ? `; to read a map key write ${e.qualifier}['${e.name}']` : '';
      this.report(file, e.pos, `unknown qualifier '${e.qualifier}' (the query reads ${reads})${hint}`);
      return 'NULL';
    }
    if (scope.columns === null) return 'NULL';
    const t = scope.columns.get(e.name);
    if (t !== undefined) return t;
    if (ctx.clause === 'HAVING' && e.qualifier === null) {
      const alias = scope.aliases.get(e.name);
      if (alias) return alias.type;
    }
    const candidates = [...scope.columns.keys(), ...(ctx.clause === 'HAVING' ? scope.aliases.keys() : [])];
    this.report(file, e.pos, `unknown column '${e.name}'${suggest(e.name, candidates)}`);
    return 'NULL';
  }

  private checkBinary(e: Extract<Expr, { kind: 'binary' }>, scope: Scope, ctx: ExprContext): SqlType {
    const file = scope.file;
    const l = this.checkExpr(e.left, scope, ctx);
    const r = this.checkExpr(e.right, scope, ctx);
    switch (e.op) {
      case 'AND':
      case 'OR':
        for (const [t, side] of [[l, e.left], [r, e.right]] as const) {
          if (t !== 'BOOLEAN' && t !== 'NULL') this.report(file, side.pos, `${e.op} needs BOOLEAN operands, not ${t}`);
        }
        return 'BOOLEAN';
      case '=':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=':
        this.expectComparable(l, r, e.pos, file);
        return 'BOOLEAN';
      case '||':
        for (const [t, side] of [[l, e.left], [r, e.right]] as const) {
          if (t === 'MAP') this.report(file, side.pos, `'||' cannot concatenate a MAP`);
        }
        return 'VARCHAR';
      default: {
        // Timestamps are epoch ms: TIMESTAMP ± integer is a TIMESTAMP, TIMESTAMP - TIMESTAMP a BIGINT.
        const int = (t: SqlType) => t === 'INT' || t === 'BIGINT' || t === 'NULL';
        if (l === 'TIMESTAMP' || r === 'TIMESTAMP') {
          if (e.op === '-' && l === 'TIMESTAMP' && r === 'TIMESTAMP') return 'BIGINT';
          if ((e.op === '+' || e.op === '-') && ((l === 'TIMESTAMP' && int(r)) || (e.op === '+' && r === 'TIMESTAMP' && int(l)))) return 'TIMESTAMP';
        }
        let ok = true;
        for (const [t, side] of [[l, e.left], [r, e.right]] as const) {
          if (!isNumeric(t)) {
            const hint = e.op === '+' && t === 'VARCHAR' ? " (use || to concatenate)" : '';
            this.report(file, side.pos, `'${e.op}' needs numbers, not ${t}${hint}`);
            ok = false;
          }
        }
        if (!ok) return 'NULL';
        // '/' always divides exactly (the engine computes in doubles): 7 / 2 = 3.5.
        return e.op === '/' ? 'DOUBLE' : widenNumeric(l, r);
      }
    }
  }

  private expectComparable(a: SqlType, b: SqlType, pos: Pos, file: string): void {
    if (a === 'MAP' || b === 'MAP') this.report(file, pos, 'cannot compare a MAP');
    else if (unifyTypes(a, b) === null) this.report(file, pos, `cannot compare ${a} with ${b}`);
  }

  private checkCall(e: Extract<Expr, { kind: 'call' }>, scope: Scope, ctx: ExprContext): SqlType {
    const file = scope.file;
    const def = lookupFunction(e.name);
    if (!def) {
      this.report(file, e.pos, `unknown function '${e.name}'${suggest(e.name, functionNames())}`);
      for (const a of e.args) this.checkExpr(a, scope, ctx);
      return 'NULL';
    }
    let inner = ctx;
    if (def.kind === 'aggregate') {
      if (ctx.clause === 'SELECT' || ctx.clause === 'HAVING') scope.aggregates = true;
      if (ctx.clause === 'WHERE' || ctx.clause === 'GROUP BY' || ctx.clause === 'PARTITION BY') {
        this.report(file, e.pos, `aggregate function ${e.name} is not allowed in ${ctx.clause}`);
      } else if (ctx.inAggregate) {
        this.report(file, e.pos, `aggregate functions cannot be nested (${e.name} inside ${ctx.inAggregate})`);
      }
      inner = { ...ctx, inAggregate: e.name };
    } else if (def.kind === 'baseline') {
      if (ctx.clause === 'WHERE' || ctx.clause === 'GROUP BY' || ctx.clause === 'PARTITION BY') {
        this.report(file, e.pos, `baseline function ${e.name} is not allowed in ${ctx.clause}`);
      } else if (ctx.inAggregate) {
        this.report(file, e.pos, `baseline function ${e.name} cannot be used inside an aggregate (${ctx.inAggregate})`);
      } else if (ctx.inBaseline) {
        this.report(file, e.pos, `baseline functions cannot be nested (${e.name} inside ${ctx.inBaseline})`);
      }
      inner = { ...ctx, inBaseline: e.name };
    }
    if (e.star && !def.allowsStar) this.report(file, e.pos, `${e.name}(*) is not allowed; only COUNT(*)`);
    if (e.distinct && !def.allowsDistinct) this.report(file, e.pos, `DISTINCT is only allowed in COUNT(DISTINCT x)`);
    const argc = e.star ? 1 : e.args.length;
    if (argc < def.minArgs || argc > def.maxArgs) {
      const want =
        def.minArgs === def.maxArgs ? `${def.minArgs} argument${def.minArgs === 1 ? '' : 's'}`
        : def.maxArgs === Infinity ? `at least ${def.minArgs} argument${def.minArgs === 1 ? '' : 's'}`
        : `${def.minArgs} to ${def.maxArgs} arguments`;
      this.report(file, e.pos, `${e.name} takes ${want} but got ${argc}`);
    }
    const types = e.args.map((a) => this.checkExpr(a, scope, inner));
    // Constant parameters: positional ones after the value arguments, then named ones.
    const given = new Set<string>();
    e.args.forEach((a, i) => {
      const param = i >= def.valueArgs ? def.params[i - def.valueArgs] : undefined;
      if (!param) return;
      given.add(param.name);
      if (!(a.kind === 'literal' && acceptsParam(param, a.value))) {
        this.report(file, a.pos, `argument ${i + 1} (${param.name}) of ${e.name} must be ${describeParam(param)}`);
      }
    });
    for (const n of e.namedArgs) {
      const param = def.namedArgs.find((d) => d.name === n.name);
      if (!param) {
        const accepted = def.namedArgs.length === 0 ? `${e.name} takes no named arguments` : `${e.name} takes ${def.namedArgs.map((d) => d.name).join(', ')}`;
        this.report(file, n.pos, `unknown argument '${n.name}'${suggest(n.name, def.namedArgs.map((d) => d.name))}; ${accepted}`);
        continue;
      }
      if (given.has(n.name)) {
        this.report(file, n.pos, `argument '${n.name}' of ${e.name} is given twice`);
        continue;
      }
      given.add(n.name);
      if (!(n.value.kind === 'literal' && acceptsParam(param, n.value.value))) {
        this.report(file, n.value.pos, `argument '${n.name}' of ${e.name} must be ${describeParam(param)}`);
      }
    }
    const missing = def.params.find((p) => p.required && !given.has(p.name));
    if (missing && argc >= def.minArgs && argc <= def.maxArgs) this.report(file, e.pos, `${e.name} needs its '${missing.name}' argument`);
    const result = def.resultType(e.star ? ['NULL'] : types.slice(0, def.valueArgs));
    if (typeof result === 'string') return result;
    const at = result.arg !== undefined ? e.args[result.arg]?.pos ?? e.pos : e.pos;
    this.report(file, at, `${e.name} ${result.error}`);
    return 'NULL';
  }

}

// ---- helpers (pure) ----

function literalType(v: LiteralValue): SqlType {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return 'VARCHAR';
  if (typeof v === 'boolean') return 'BOOLEAN';
  return Number.isInteger(v) ? (Math.abs(v) <= 2_147_483_647 ? 'INT' : 'BIGINT') : 'DOUBLE';
}

/** SPEC 4: the alias, else the column name of a bare column reference, else col_N. */
function defaultName(e: Expr, index: number): string {
  if (e.kind === 'column') return e.name;
  if (e.kind === 'windowBound') return e.bound === 'start' ? 'windowstart' : 'windowend';
  return `col_${index}`;
}

/** The direct subexpressions of e. */
export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'literal':
    case 'column':
    case 'windowBound':
      return [];
    case 'mapAccess':
      return [e.target, e.key];
    case 'unary':
      return [e.operand];
    case 'binary':
      return [e.left, e.right];
    case 'between':
      return [e.operand, e.low, e.high];
    case 'in':
      return [e.operand, ...e.list];
    case 'like':
      return [e.operand, e.pattern];
    case 'isNull':
      return [e.operand];
    case 'case':
      return [...(e.operand ? [e.operand] : []), ...e.whens.flatMap((w) => [w.when, w.then]), ...(e.else ? [e.else] : [])];
    case 'call':
      return [...e.args, ...e.namedArgs.map((n) => n.value)];
  }
}

/** True when e contains an aggregate call. */
export function containsAggregate(e: Expr): boolean {
  if (e.kind === 'call' && lookupFunction(e.name)?.kind === 'aggregate') return true;
  return children(e).some(containsAggregate);
}

/** Replaces bare names in HAVING that are SELECT aliases (and not input columns) by their expression. */
function resolveAliases(e: Expr, scope: Scope): Expr {
  if (e.kind === 'column' && e.qualifier === null && !scope.columns?.has(e.name)) {
    const alias = scope.aliases.get(e.name);
    if (alias) return alias.expr;
  }
  switch (e.kind) {
    case 'literal':
    case 'column':
    case 'windowBound':
      return e;
    case 'mapAccess':
      return { ...e, target: resolveAliases(e.target, scope), key: resolveAliases(e.key, scope) };
    case 'unary':
    case 'isNull':
      return { ...e, operand: resolveAliases(e.operand, scope) };
    case 'binary':
      return { ...e, left: resolveAliases(e.left, scope), right: resolveAliases(e.right, scope) };
    case 'between':
      return { ...e, operand: resolveAliases(e.operand, scope), low: resolveAliases(e.low, scope), high: resolveAliases(e.high, scope) };
    case 'in':
      return { ...e, operand: resolveAliases(e.operand, scope), list: e.list.map((x) => resolveAliases(x, scope)) };
    case 'like':
      return { ...e, operand: resolveAliases(e.operand, scope), pattern: resolveAliases(e.pattern, scope) };
    case 'case':
      return {
        ...e,
        operand: e.operand ? resolveAliases(e.operand, scope) : null,
        whens: e.whens.map((w) => ({ when: resolveAliases(w.when, scope), then: resolveAliases(w.then, scope) })),
        else: e.else ? resolveAliases(e.else, scope) : null,
      };
    case 'call':
      return { ...e, args: e.args.map((a) => resolveAliases(a, scope)), namedArgs: e.namedArgs.map((n) => ({ ...n, value: resolveAliases(n.value, scope) })) };
  }
}

/** Structural equality ignoring positions; a qualifier naming the query's source is ignored. */
function sameExpr(a: Expr, b: Expr, scope: Scope): boolean {
  return formatExpr(a, scope.from) === formatExpr(b, scope.from);
}

/**
 * Renders an expression as canonical SQL text, e.g. for messages (`labels['service']`). With
 * `from`, qualifiers that name the source (or its alias) are dropped, so equal expressions
 * render equally.
 */
export function formatExpr(e: Expr, from?: { readonly name: string; readonly alias: string | null }): string {
  const f = (x: Expr) => formatExpr(x, from);
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'string' ? `'${e.value.replace(/'/g, "''")}'` : e.value === null ? 'NULL' : String(e.value).toUpperCase();
    case 'column':
      return e.qualifier === null || (from && (e.qualifier === from.name || e.qualifier === from.alias)) ? e.name : `${e.qualifier}.${e.name}`;
    case 'windowBound':
      return e.bound === 'start' ? 'WINDOWSTART' : 'WINDOWEND';
    case 'mapAccess':
      return `${f(e.target)}[${f(e.key)}]`;
    case 'unary':
      return e.op === 'NOT' ? `(NOT ${f(e.operand)})` : `(${e.op}${f(e.operand)})`;
    case 'binary':
      return `(${f(e.left)} ${e.op} ${f(e.right)})`;
    case 'between':
      return `(${f(e.operand)}${e.negated ? ' NOT' : ''} BETWEEN ${f(e.low)} AND ${f(e.high)})`;
    case 'in':
      return `(${f(e.operand)}${e.negated ? ' NOT' : ''} IN (${e.list.map(f).join(', ')}))`;
    case 'like':
      return `(${f(e.operand)}${e.negated ? ' NOT' : ''} LIKE ${f(e.pattern)})`;
    case 'isNull':
      return `(${f(e.operand)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'case':
      return `CASE${e.operand ? ` ${f(e.operand)}` : ''}${e.whens.map((w) => ` WHEN ${f(w.when)} THEN ${f(w.then)}`).join('')}${e.else ? ` ELSE ${f(e.else)}` : ''} END`;
    case 'call': {
      const name = lookupFunction(e.name)?.name ?? e.name;
      const args = e.star ? ['*'] : [...e.args.map(f), ...e.namedArgs.map((n) => `${n.name} => ${f(n.value)}`)];
      return `${name}(${e.distinct ? 'DISTINCT ' : ''}${args.join(', ')})`;
    }
  }
}
