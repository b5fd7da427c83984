/**
 * A recursive-descent parser for seismo's SQL dialect (STYLE.md: graphql-js): one method per
 * production, the production in its doc comment, peek/expect/expectOptional helpers. It throws
 * one SqlSyntaxError, for the first error, with its exact position; semantic checks live in
 * check.ts.
 *
 * Words are keywords only where the grammar expects a keyword; anywhere a name may appear, any
 * word outside RESERVED is an identifier, so `value`, `count`, `timestamp`, `input`, `key` work as
 * column names. Quoted identifiers (`"from"`, `` `from` ``) may use reserved words; all
 * identifiers, quoted or not, are lower-cased, because identifiers are case-insensitive (SPEC 3).
 */
import type {
  BinaryOp, ColumnDef, ColumnType, Expr, LiteralValue, Pos, ScalarType, Select, SelectItem, SourceFile,
  Statement, WindowSpec, WindowType, WithOption,
} from './ast.js';
import { SqlSyntaxError, type Diagnostic } from './diagnostic.js';
import { Lexer, type Token } from './lexer.js';
import { lookupFunction } from './functions.js';

/**
 * Words that can never be identifiers unquoted, because a name in their place would be
 * ambiguous (the start or the continuation of an expression, the end of a select item).
 */
export const RESERVED: ReadonlySet<string> = new Set([
  'SELECT', 'FROM', 'WHERE', 'HAVING', 'AS', 'AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE',
  'BETWEEN', 'LIKE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'CREATE', 'DISTINCT', 'WITH', 'WINDOWSTART',
  'WINDOWEND',
]);

/**
 * Clause keywords that are not reserved (`window`, `partition`, `group` and `emit` are fine column
 * names) but are never taken as an alias written without AS, so `FROM s WINDOW ...` still reads
 * as a clause.
 */
const CLAUSE_WORDS: ReadonlySet<string> = new Set(['WINDOW', 'GROUP', 'PARTITION', 'EMIT']);

const MS: Record<string, number> = {
  MILLISECOND: 1, MILLISECONDS: 1,
  SECOND: 1_000, SECONDS: 1_000,
  MINUTE: 60_000, MINUTES: 60_000,
  HOUR: 3_600_000, HOURS: 3_600_000,
  DAY: 86_400_000, DAYS: 86_400_000,
};

const COMPACT_MS: Record<string, number> = { MS: 1, S: 1_000, M: 60_000, H: 3_600_000, D: 86_400_000 };

/**
 * Parses a duration written in a string, as in `WITH (for = '2 MINUTES')`: a number and a unit
 * word (`2 MINUTES`, `1 hour`, `500 milliseconds`) or the compact command-line form (`500ms`,
 * `10s`, `5m`, `1h`, `7d`); `0` alone is zero. Returns milliseconds, or null when the text is not
 * a duration or not a whole number of milliseconds.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(t);
  if (!m) return null;
  const unit = m[2]!.toUpperCase();
  const factor = MS[unit] ?? COMPACT_MS[unit];
  if (factor === undefined) return null;
  const ms = Number(m[1]) * factor;
  return Number.isSafeInteger(ms) ? ms : null;
}

const SCALAR_TYPES: Record<string, ScalarType> = {
  VARCHAR: 'VARCHAR', STRING: 'VARCHAR', INT: 'INT', INTEGER: 'INT', BIGINT: 'BIGINT', DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN', TIMESTAMP: 'TIMESTAMP',
};
const WINDOW_TYPES: readonly WindowType[] = ['TUMBLING', 'HOPPING', 'SESSION', 'SLIDING'];
const COMPARISONS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);
const CLAUSES = ['WINDOW', 'WHERE', 'GROUP', 'PARTITION', 'HAVING', 'EMIT'] as const;
const CLAUSE_NAMES: Record<string, string> = { GROUP: 'GROUP BY', PARTITION: 'PARTITION BY' };
/** Deep enough for any real query, shallow enough never to exhaust the JS stack. */
const MAX_DEPTH = 200;
/** The tallest expression tree accepted (a chain `a + b + ...` counts one level per operator). */
const MAX_HEIGHT = 1000;

/** Parses one query file. Throws SqlSyntaxError for the first syntax error. */
export function parse(file: string, text: string): SourceFile {
  return new Parser(file, text).parseSourceFile();
}

/** Parses a single expression (for tests and tools); the whole text must be the expression. */
export function parseExpression(text: string, file = '<expr>'): Expr {
  const p = new Parser(file, text);
  const e = p.parseExpression();
  p.expectEnd();
  return e;
}

/**
 * Parses as much of a file as possible: the first syntax error is returned (one per file, as
 * `parse` would throw it), and parsing resumes after the next `;` so that statements before and
 * after the broken one still reach the checker (fewer cascading "unknown view" errors).
 */
export function parseRecovering(file: string, text: string): { file: SourceFile; error: Diagnostic | null } {
  const statements: Statement[] = [];
  let error: Diagnostic | null = null;
  let offset = 0;
  for (;;) {
    try {
      new Parser(file, text, offset).parseStatementsInto(statements);
      break;
    } catch (e) {
      if (!(e instanceof SqlSyntaxError)) throw e;
      error ??= e.diagnostic;
      const semi = text.indexOf(';', Math.max(offset, e.diagnostic.pos.offset));
      if (semi < 0) break;
      offset = semi + 1;
    }
  }
  return { file: { path: file, text, statements }, error };
}

class Parser {
  private readonly lexer: Lexer;
  private readonly lookahead: Token[] = [];
  private depth = 0;
  /** Height of each composite expression built, so trees stay shallow enough to walk recursively. */
  private readonly heights = new WeakMap<Expr, number>();

  constructor(
    private readonly file: string,
    private readonly source: string,
    start = 0,
  ) {
    this.lexer = new Lexer(file, source, start);
  }

  // ---- helpers ----

  private peek(k = 0): Token {
    while (this.lookahead.length <= k) this.lookahead.push(this.lexer.next());
    return this.lookahead[k]!;
  }

  private advance(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.lookahead.shift();
    return t;
  }

  private isKeyword(kw: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'word' && t.value.toUpperCase() === kw;
  }

  private isPunct(p: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'punct' && t.value === p;
  }

  private expectKeyword(kw: string, expected = kw): Token {
    if (this.isKeyword(kw)) return this.advance();
    throw this.unexpected(expected);
  }

  private expectOptionalKeyword(kw: string): boolean {
    if (!this.isKeyword(kw)) return false;
    this.advance();
    return true;
  }

  private expectPunct(p: string, expected = `'${p}'`): Token {
    if (this.isPunct(p)) return this.advance();
    throw this.unexpected(expected);
  }

  private expectOptionalPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.advance();
    return true;
  }

  /** `expected X but found Y`, positioned at the token found. */
  private unexpected(expected: string, t = this.peek()): SqlSyntaxError {
    return this.error(`expected ${expected} but found ${describe(t)}`, t.pos);
  }

  private error(message: string, pos: Pos): SqlSyntaxError {
    return new SqlSyntaxError({ file: this.file, pos, message });
  }

  /** True when the next token can be an identifier. */
  private atIdentifier(k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.value.toUpperCase()));
  }

  /** True when the next token can be an alias written without AS. */
  private atImplicitAlias(): boolean {
    const t = this.peek();
    return this.atIdentifier() && !(t.kind === 'word' && CLAUSE_WORDS.has(t.value.toUpperCase()));
  }

  /** identifier : word-not-reserved | quotedIdentifier — lower-cased. */
  private parseIdentifier(what: string): { name: string; pos: Pos } {
    const t = this.peek();
    if (this.atIdentifier()) {
      this.advance();
      return { name: t.value.toLowerCase(), pos: t.pos };
    }
    if (t.kind === 'word') {
      throw this.error(`expected ${what} but found '${t.text}', a reserved word (quote it as "${t.value.toLowerCase()}" to use it as a name)`, t.pos);
    }
    throw this.unexpected(what);
  }

  /**
   * Records the height of a new expression node. Long operator chains build deep left-leaning
   * trees; capping the height keeps the checker and compiler (which recurse) off the stack limit.
   */
  private node<T extends Expr>(e: T, ...parts: Expr[]): T {
    let h = 0;
    for (const p of parts) h = Math.max(h, this.heights.get(p) ?? 1);
    if (h + 1 > MAX_HEIGHT) throw this.error(`expression is too long or too deeply nested (more than ${MAX_HEIGHT} levels)`, e.pos);
    this.heights.set(e, h + 1);
    return e;
  }

  /** alias after AS : any word or quoted identifier — after AS a name cannot be misread, so reserved words are fine. */
  private parseAliasAfterAs(): string {
    const t = this.peek();
    if (t.kind === 'word' || t.kind === 'quoted') {
      this.advance();
      return t.value.toLowerCase();
    }
    throw this.unexpected('an alias');
  }

  expectEnd(): void {
    if (this.peek().kind !== 'eof') throw this.unexpected('end of input');
  }

  // ---- statements ----

  /** sourceFile : statement* EOF */
  parseSourceFile(): SourceFile {
    const statements: Statement[] = [];
    this.parseStatementsInto(statements);
    return { path: this.file, text: this.source, statements };
  }

  /** Appends each statement as soon as it is complete, so a later error keeps the earlier ones. */
  parseStatementsInto(statements: Statement[]): void {
    while (this.peek().kind !== 'eof') {
      if (this.expectOptionalPunct(';')) continue; // stray empty statements are harmless
      statements.push(this.parseStatement());
    }
  }

  /** statement : CREATE ( createStream | createView | createAlert ) ';' */
  private parseStatement(): Statement {
    const start = this.expectKeyword('CREATE', 'CREATE STREAM, CREATE VIEW or CREATE ALERT');
    let stmt: Statement;
    if (this.expectOptionalKeyword('STREAM')) stmt = this.parseCreateStream(start.pos);
    else if (this.expectOptionalKeyword('VIEW')) stmt = this.parseCreateQuery('createView', start.pos);
    else if (this.expectOptionalKeyword('ALERT')) stmt = this.parseCreateQuery('createAlert', start.pos);
    else throw this.unexpected('STREAM, VIEW or ALERT');
    const semi = this.peek();
    if (semi.kind === 'word' && (CLAUSES as readonly string[]).includes(semi.value.toUpperCase()) && stmt.kind !== 'createStream') {
      const name = CLAUSE_NAMES[semi.value.toUpperCase()] ?? semi.value.toUpperCase();
      throw this.error(
        `unexpected ${name}: clauses go in the order FROM, WINDOW, WHERE, GROUP BY, PARTITION BY, HAVING, EMIT`,
        semi.pos,
      );
    }
    const end = this.expectPunct(';');
    return { ...stmt, text: this.source.slice(start.pos.offset, end.end) };
  }

  /** createStream : STREAM name '(' columnDef (',' columnDef)* ')' withOptions? */
  private parseCreateStream(pos: Pos): Statement {
    const name = this.parseIdentifier('a stream name');
    this.expectPunct('(');
    const columns: ColumnDef[] = [this.parseColumnDef()];
    while (!this.isPunct(')')) {
      if (!this.isPunct(',')) throw this.unexpected("',' or ')'");
      this.advance();
      columns.push(this.parseColumnDef());
    }
    this.advance();
    const options = this.isKeyword('WITH') ? this.parseWithOptions() : [];
    return { kind: 'createStream', name: name.name, columns, options, pos, namePos: name.pos, text: '' };
  }

  /** columnDef : name type KEY? */
  private parseColumnDef(): ColumnDef {
    const name = this.parseIdentifier('a column name');
    const type = this.parseType();
    const key = this.expectOptionalKeyword('KEY');
    return { name: name.name, type, key, pos: name.pos };
  }

  /** type : VARCHAR | STRING | INT | INTEGER | BIGINT | DOUBLE | BOOLEAN | TIMESTAMP | MAP '<' type ',' type '>' */
  private parseType(): ColumnType {
    const t = this.peek();
    const upper = t.kind === 'word' ? t.value.toUpperCase() : '';
    if (upper === 'MAP') {
      this.advance();
      this.expectPunct('<');
      const key = this.parseScalarType();
      this.expectPunct(',');
      const value = this.parseScalarType();
      this.expectPunct('>');
      return { kind: 'map', key, value };
    }
    return { kind: 'scalar', name: this.parseScalarType() };
  }

  private parseScalarType(): ScalarType {
    const t = this.peek();
    const scalar = t.kind === 'word' ? SCALAR_TYPES[t.value.toUpperCase()] : undefined;
    if (scalar === undefined) {
      const types = 'VARCHAR, STRING, INT, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP or MAP<VARCHAR, VARCHAR>';
      if (t.kind === 'word') throw this.error(`unknown type '${t.text}'; expected ${types}`, t.pos);
      throw this.unexpected(`a type (${types})`);
    }
    this.advance();
    return scalar;
  }

  /** withOptions : WITH '(' option (',' option)* ')' ;  option : word '=' literal */
  private parseWithOptions(): WithOption[] {
    this.expectKeyword('WITH');
    this.expectPunct('(');
    const options: WithOption[] = [];
    for (;;) {
      const keyTok = this.peek();
      if (keyTok.kind !== 'word' && keyTok.kind !== 'quoted') throw this.unexpected('an option name');
      this.advance();
      this.expectPunct('=');
      const valuePos = this.peek().pos;
      const value = this.parseOptionValue();
      options.push({ key: keyTok.value.toLowerCase(), value, pos: keyTok.pos, valuePos });
      if (this.expectOptionalPunct(')')) return options;
      if (!this.isPunct(',')) throw this.unexpected("',' or ')'");
      this.advance();
    }
  }

  /** optionValue : string | '-'? number | TRUE | FALSE | NULL */
  private parseOptionValue(): LiteralValue {
    const t = this.peek();
    if (t.kind === 'string') return this.advance().value;
    if (t.kind === 'number') return Number(this.advance().value);
    if (this.isPunct('-') && this.peek(1).kind === 'number') {
      this.advance();
      return -Number(this.advance().value);
    }
    if (this.expectOptionalKeyword('TRUE')) return true;
    if (this.expectOptionalKeyword('FALSE')) return false;
    if (this.expectOptionalKeyword('NULL')) return null;
    throw this.unexpected('a string, number or boolean');
  }

  /** createView : VIEW name withOptions? AS select ;  createAlert : ALERT name withOptions? AS select */
  private parseCreateQuery(kind: 'createView' | 'createAlert', pos: Pos): Statement {
    const name = this.parseIdentifier(kind === 'createView' ? 'a view name' : 'an alert name');
    const options = this.isKeyword('WITH') ? this.parseWithOptions() : [];
    this.expectKeyword('AS');
    const query = this.parseSelect();
    return { kind, name: name.name, options, query, pos, namePos: name.pos, text: '' };
  }

  // ---- queries ----

  /**
   * select : SELECT selectItems FROM from
   *          ( window? where? | where window? ) groupBy? partitionBy? having? emit?
   */
  private parseSelect(): Select {
    const start = this.expectKeyword('SELECT');
    const items = this.parseSelectItems();
    const from = this.parseFrom();
    let window: WindowSpec | null = null;
    let where: Expr | null = null;
    if (this.isKeyword('WINDOW')) {
      window = this.parseWindow();
      if (this.expectOptionalKeyword('WHERE')) where = this.parseExpression();
    } else if (this.expectOptionalKeyword('WHERE')) {
      where = this.parseExpression();
      if (this.isKeyword('WINDOW')) window = this.parseWindow();
    }
    const groupBy = this.parseByList('GROUP');
    const partitionBy = this.parseByList('PARTITION');
    const having = this.expectOptionalKeyword('HAVING') ? this.parseExpression() : null;
    let emit: Select['emit'] = null;
    const emitPos = this.isKeyword('EMIT') ? this.peek().pos : null;
    if (this.expectOptionalKeyword('EMIT')) {
      if (this.expectOptionalKeyword('CHANGES')) emit = 'CHANGES';
      else if (this.expectOptionalKeyword('FINAL')) emit = 'FINAL';
      else throw this.unexpected('CHANGES or FINAL');
    }
    const star = items.some((i) => i.expr.kind === 'column' && i.expr.name === '*');
    return { kind: 'select', items, star, from, where, window, groupBy, partitionBy, having, emit, emitPos, pos: start.pos };
  }

  /** selectItems : selectItem (',' selectItem)* ;  selectItem : '*' | expression (AS? alias)? */
  private parseSelectItems(): SelectItem[] {
    const items: SelectItem[] = [];
    do {
      const t = this.peek();
      if (this.expectOptionalPunct('*')) {
        items.push({ expr: { kind: 'column', qualifier: null, name: '*', pos: t.pos }, alias: null, pos: t.pos });
        continue;
      }
      const expr = this.parseExpression();
      let alias: string | null = null;
      if (this.expectOptionalKeyword('AS')) alias = this.parseAliasAfterAs();
      else if (this.atImplicitAlias()) alias = this.parseIdentifier('an alias').name;
      items.push({ expr, alias, pos: t.pos });
    } while (this.expectOptionalPunct(','));
    if (!this.isKeyword('FROM')) throw this.unexpected(items.length === 1 && items[0]!.alias === null ? "',', AS or FROM" : "',' or FROM");
    return items;
  }

  /** from : FROM name (AS? alias)? */
  private parseFrom(): Select['from'] {
    this.expectKeyword('FROM');
    const name = this.parseIdentifier('a stream or view name');
    let alias: string | null = null;
    if (this.expectOptionalKeyword('AS')) alias = this.parseAliasAfterAs();
    else if (this.atImplicitAlias()) alias = this.parseIdentifier('an alias').name;
    return { name: name.name, alias, pos: name.pos };
  }

  /**
   * window : WINDOW name? ( TUMBLING '(' SIZE duration windowExtras ')'
   *                       | HOPPING '(' SIZE duration ',' ADVANCE BY duration windowExtras ')'
   *                       | SESSION '(' duration windowExtras ')'
   *                       | SLIDING '(' SIZE duration windowExtras ')' )
   * windowExtras : (',' ( RETENTION duration | GRACE PERIOD duration ))*
   * RETENTION is accepted for ksqlDB compatibility and ignored (seismo keeps state in memory).
   */
  private parseWindow(): WindowSpec {
    this.expectKeyword('WINDOW');
    let name: string | null = null;
    const isType = (k: number) => {
      const t = this.peek(k);
      return t.kind === 'word' && (WINDOW_TYPES as readonly string[]).includes(t.value.toUpperCase());
    };
    if (!isType(0) && this.atIdentifier() && isType(1)) name = this.parseIdentifier('a window name').name;
    const typeTok = this.peek();
    if (!isType(0)) {
      if (typeTok.kind === 'word' && !RESERVED.has(typeTok.value.toUpperCase())) {
        throw this.error(`unknown window type '${typeTok.text}'; expected TUMBLING, HOPPING, SESSION or SLIDING`, typeTok.pos);
      }
      throw this.unexpected('TUMBLING, HOPPING, SESSION or SLIDING');
    }
    this.advance();
    const type = typeTok.value.toUpperCase() as WindowType;
    this.expectPunct('(');
    if (type !== 'SESSION') this.expectKeyword('SIZE');
    else if (this.isKeyword('SIZE')) {
      throw this.error("a SESSION window takes only its gap, as in SESSION (5 MINUTES), not SIZE", this.peek().pos);
    }
    const sizeMs = this.parseDurationClause();
    let advanceMs: number | null = type === 'TUMBLING' ? sizeMs : null;
    if (type === 'HOPPING') {
      if (!this.isPunct(',')) {
        throw this.error(`a HOPPING window needs ADVANCE BY: expected ',' but found ${describe(this.peek())}`, this.peek().pos);
      }
      this.advance();
      this.expectKeyword('ADVANCE', 'ADVANCE BY');
      this.expectKeyword('BY');
      advanceMs = this.parseDurationClause();
    }
    let graceMs: number | null = null;
    let retention = false;
    while (this.expectOptionalPunct(',')) {
      const t = this.peek();
      if (this.expectOptionalKeyword('GRACE')) {
        if (graceMs !== null) throw this.error('GRACE PERIOD is given twice', t.pos);
        this.expectKeyword('PERIOD');
        graceMs = this.parseDurationClause();
      } else if (this.expectOptionalKeyword('RETENTION')) {
        if (retention) throw this.error('RETENTION is given twice', t.pos);
        retention = true;
        this.parseDurationClause();
      } else {
        throw this.unexpected('GRACE PERIOD or RETENTION');
      }
    }
    this.expectPunct(')', "',' or ')'");
    return { type, name, sizeMs, advanceMs, graceMs, pos: typeTok.pos };
  }

  /** duration : number unit ;  unit : MILLISECOND(S) | SECOND(S) | MINUTE(S) | HOUR(S) | DAY(S) */
  private parseDurationClause(): number {
    const n = this.peek();
    if (n.kind !== 'number') throw this.unexpected('a number');
    this.advance();
    const u = this.peek();
    const factor = u.kind === 'word' ? MS[u.value.toUpperCase()] : undefined;
    if (factor === undefined) throw this.unexpected('a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)', u);
    this.advance();
    const ms = Number(n.value) * factor;
    if (!Number.isSafeInteger(ms)) throw this.error(`duration '${n.text} ${u.text}' is not a whole number of milliseconds`, n.pos);
    return ms;
  }

  /** groupBy : GROUP BY expression (',' expression)* ;  partitionBy : PARTITION BY expression (',' expression)* */
  private parseByList(kw: 'GROUP' | 'PARTITION'): Expr[] {
    if (!this.expectOptionalKeyword(kw)) return [];
    this.expectKeyword('BY');
    const list = [this.parseExpression()];
    while (this.expectOptionalPunct(',')) list.push(this.parseExpression());
    return list;
  }

  // ---- expressions, lowest precedence first ----

  /** expression : orExpr */
  parseExpression(): Expr {
    if (++this.depth > MAX_DEPTH) throw this.error('expression is nested too deeply', this.peek().pos);
    try {
      return this.parseOr();
    } finally {
      this.depth--;
    }
  }

  /** orExpr : andExpr (OR andExpr)* */
  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword('OR')) {
      const op = this.advance();
      left = this.node({ kind: 'binary', op: 'OR', left, right: this.parseAnd(), pos: op.pos }, left);
    }
    return left;
  }

  /** andExpr : notExpr (AND notExpr)* */
  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      const op = this.advance();
      left = this.node({ kind: 'binary', op: 'AND', left, right: this.parseNot(), pos: op.pos }, left);
    }
    return left;
  }

  /** notExpr : NOT notExpr | predicate */
  private parseNot(): Expr {
    if (this.isKeyword('NOT')) {
      const op = this.advance();
      if (++this.depth > MAX_DEPTH) throw this.error('expression is nested too deeply', op.pos);
      try {
        const operand = this.parseNot();
        return this.node({ kind: 'unary', op: 'NOT', operand, pos: op.pos }, operand);
      } finally {
        this.depth--;
      }
    }
    return this.parsePredicate();
  }

  /**
   * predicate : additive ( compareOp additive
   *                      | IS NOT? NULL
   *                      | NOT? BETWEEN additive AND additive
   *                      | NOT? IN '(' expression (',' expression)* ')'
   *                      | NOT? LIKE additive )?
   */
  private parsePredicate(): Expr {
    const operand = this.parseAdditive();
    const t = this.peek();
    if (t.kind === 'punct' && COMPARISONS.has(t.value)) {
      this.advance();
      const op = (t.value === '<>' ? '!=' : t.value) as BinaryOp;
      const right = this.parseAdditive();
      return this.node({ kind: 'binary', op, left: operand, right, pos: t.pos }, operand, right);
    }
    if (this.isKeyword('IS')) {
      this.advance();
      const negated = this.expectOptionalKeyword('NOT');
      this.expectKeyword('NULL', negated ? 'NULL' : 'NULL or NOT NULL');
      return this.node({ kind: 'isNull', operand, negated, pos: t.pos }, operand);
    }
    const negated = this.isKeyword('NOT');
    const k = negated ? 1 : 0;
    if (this.isKeyword('BETWEEN', k)) {
      if (negated) this.advance();
      this.advance();
      const low = this.parseAdditive();
      this.expectKeyword('AND');
      const high = this.parseAdditive();
      return this.node({ kind: 'between', operand, low, high, negated, pos: t.pos }, operand, low, high);
    }
    if (this.isKeyword('IN', k)) {
      if (negated) this.advance();
      this.advance();
      this.expectPunct('(');
      const list = [this.parseExpression()];
      while (!this.isPunct(')')) {
        if (!this.isPunct(',')) throw this.unexpected("',' or ')'");
        this.advance();
        list.push(this.parseExpression());
      }
      this.advance();
      return this.node({ kind: 'in', operand, list, negated, pos: t.pos }, operand, ...list);
    }
    if (this.isKeyword('LIKE', k)) {
      if (negated) this.advance();
      this.advance();
      const pattern = this.parseAdditive();
      return this.node({ kind: 'like', operand, pattern, negated, pos: t.pos }, operand, pattern);
    }
    if (negated) throw this.unexpected('BETWEEN, IN or LIKE after NOT', this.peek(1));
    return operand;
  }

  /** additive : multiplicative (('+' | '-' | '||') multiplicative)* */
  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || (t.value !== '+' && t.value !== '-' && t.value !== '||')) return left;
      this.advance();
      const right = this.parseMultiplicative();
      left = this.node({ kind: 'binary', op: t.value as BinaryOp, left, right, pos: t.pos }, left, right);
    }
  }

  /** multiplicative : unary (('*' | '/' | '%') unary)* */
  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || (t.value !== '*' && t.value !== '/' && t.value !== '%')) return left;
      this.advance();
      const right = this.parseUnary();
      left = this.node({ kind: 'binary', op: t.value as BinaryOp, left, right, pos: t.pos }, left, right);
    }
  }

  /** unary : ('-' | '+') unary | postfix — a minus before a number literal folds into it. */
  private parseUnary(): Expr {
    const t = this.peek();
    if (t.kind === 'punct' && (t.value === '-' || t.value === '+')) {
      this.advance();
      if (this.peek().kind === 'number') {
        const n = Number(this.advance().value);
        return { kind: 'literal', value: t.value === '-' ? -n : n, pos: t.pos };
      }
      if (++this.depth > MAX_DEPTH) throw this.error('expression is nested too deeply', t.pos);
      try {
        const operand = this.parseUnary();
        return this.node({ kind: 'unary', op: t.value, operand, pos: t.pos }, operand);
      } finally {
        this.depth--;
      }
    }
    return this.parsePostfix();
  }

  /** postfix : primary ('[' expression ']')* */
  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    while (this.isPunct('[')) {
      const open = this.advance();
      const key = this.parseExpression();
      this.expectPunct(']');
      e = this.node({ kind: 'mapAccess', target: e, key, pos: open.pos }, e, key);
    }
    return e;
  }

  /**
   * primary : number | string | TRUE | FALSE | NULL | '(' expression ')' | case
   *         | WINDOWSTART ('(' ')')? | WINDOWEND ('(' ')')? | call | name ('.' name)?
   */
  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.advance();
        return { kind: 'literal', value: Number(t.value), pos: t.pos };
      case 'string':
        this.advance();
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'punct':
        if (t.value === '(') {
          this.advance();
          const e = this.parseExpression();
          this.expectPunct(')');
          return e;
        }
        break;
      case 'word': {
        const upper = t.value.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL') {
          this.advance();
          return { kind: 'literal', value: upper === 'NULL' ? null : upper === 'TRUE', pos: t.pos };
        }
        if (upper === 'CASE') return this.parseCase();
        if (upper === 'WINDOWSTART' || upper === 'WINDOWEND') {
          this.advance();
          if (this.isPunct('(') && this.isPunct(')', 1)) {
            this.advance();
            this.advance();
          }
          return { kind: 'windowBound', bound: upper === 'WINDOWSTART' ? 'start' : 'end', pos: t.pos };
        }
        if (this.isPunct('(', 1) && !RESERVED.has(upper)) return this.parseCall();
        break;
      }
      default:
        break;
    }
    if (this.atIdentifier()) {
      const first = this.parseIdentifier('a column name');
      if (this.expectOptionalPunct('.')) {
        // `test.WINDOWSTART`, as ksqlDB accepts: the qualifier names the only source.
        const next = this.peek();
        const bound = next.kind === 'word' ? next.value.toUpperCase() : '';
        if (bound === 'WINDOWSTART' || bound === 'WINDOWEND') {
          this.advance();
          return { kind: 'windowBound', bound: bound === 'WINDOWSTART' ? 'start' : 'end', pos: first.pos };
        }
        const second = this.parseIdentifier('a column name');
        return { kind: 'column', qualifier: first.name, name: second.name, pos: first.pos };
      }
      return { kind: 'column', qualifier: null, name: first.name, pos: first.pos };
    }
    throw this.unexpected('an expression');
  }

  /**
   * call : name '(' ( '*' | DISTINCT? arguments )? ')'
   * arguments : argument (',' argument)* ;  argument : name '=>' expression | expression
   * `name = expression` is also a named argument when the function declares that name
   * (`EWMA(x, 0.3, warmup = 10)`), so ordinary comparisons stay comparisons.
   */
  private parseCall(): Expr {
    const nameTok = this.advance();
    const name = nameTok.value.toUpperCase();
    this.advance(); // '('
    const args: Expr[] = [];
    const namedArgs: { name: string; value: Expr; pos: Pos }[] = [];
    let star = false;
    let distinct = false;
    if (this.isPunct('*') && this.isPunct(')', 1)) {
      this.advance();
      star = true;
    } else if (!this.isPunct(')')) {
      distinct = this.expectOptionalKeyword('DISTINCT');
      const declared = new Set((lookupFunction(name)?.namedArgs ?? []).map((a) => a.name));
      do {
        const t = this.peek();
        const isNamed =
          this.atIdentifier() &&
          (this.isPunct('=>', 1) || (this.isPunct('=', 1) && declared.has(t.value.toLowerCase())));
        if (isNamed) {
          const argName = this.parseIdentifier('an argument name');
          this.advance();
          namedArgs.push({ name: argName.name, value: this.parseExpression(), pos: argName.pos });
        } else {
          if (namedArgs.length > 0) throw this.error('positional arguments must come before named arguments', t.pos);
          args.push(this.parseExpression());
        }
      } while (this.expectOptionalPunct(','));
    }
    if (!this.isPunct(')')) throw this.unexpected("',' or ')'");
    this.advance();
    return this.node({ kind: 'call', name, args, namedArgs, distinct, star, pos: nameTok.pos }, ...args, ...namedArgs.map((n) => n.value));
  }

  /** case : CASE expression? (WHEN expression THEN expression)+ (ELSE expression)? END */
  private parseCase(): Expr {
    const start = this.advance();
    if (this.isKeyword('ELSE') || this.isKeyword('END')) throw this.unexpected('WHEN');
    const operand = this.isKeyword('WHEN') ? null : this.parseExpression();
    const whens: { when: Expr; then: Expr }[] = [];
    this.expectKeyword('WHEN');
    do {
      const when = this.parseExpression();
      this.expectKeyword('THEN');
      whens.push({ when, then: this.parseExpression() });
    } while (this.expectOptionalKeyword('WHEN'));
    const otherwise = this.expectOptionalKeyword('ELSE') ? this.parseExpression() : null;
    if (!this.isKeyword('END')) throw this.unexpected(otherwise === null ? 'WHEN, ELSE or END' : 'END');
    this.advance();
    const parts = [...(operand ? [operand] : []), ...whens.flatMap((w) => [w.when, w.then]), ...(otherwise ? [otherwise] : [])];
    return this.node({ kind: 'case', operand, whens, else: otherwise, pos: start.pos }, ...parts);
  }
}

/** How a token reads in an error message. */
function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'string': {
      const s = t.text.length > 24 ? `${t.text.slice(0, 20)}...'` : t.text;
      return `string ${s}`;
    }
    default:
      return `'${t.text}'`;
  }
}
