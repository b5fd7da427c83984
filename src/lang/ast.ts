/**
 * The whole AST of seismo's SQL dialect in one file (STYLE.md: Kysely). Nodes are readonly
 * discriminated unions on `kind`; every node carries the source position where it starts, so the
 * checker can report `file:line:col` for any of them.
 */

/** A position in a query file; line and col are 1-based, offset is 0-based. */
export interface Pos {
  readonly line: number;
  readonly col: number;
  readonly offset: number;
}

/** Column types of CREATE STREAM. STRING is normalised to VARCHAR by the parser. */
export type ScalarType = 'VARCHAR' | 'INT' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';
export type ColumnType =
  | { readonly kind: 'scalar'; readonly name: ScalarType }
  | { readonly kind: 'map'; readonly key: ScalarType; readonly value: ScalarType };

export type LiteralValue = string | number | boolean | null;

export type Expr =
  | { readonly kind: 'literal'; readonly value: LiteralValue; readonly pos: Pos }
  /** `a`, `metrics.a`; names are lower-cased by the parser (identifiers are case-insensitive). */
  | { readonly kind: 'column'; readonly qualifier: string | null; readonly name: string; readonly pos: Pos }
  /** WINDOWSTART / WINDOWEND */
  | { readonly kind: 'windowBound'; readonly bound: 'start' | 'end'; readonly pos: Pos }
  /** `labels['k']` */
  | { readonly kind: 'mapAccess'; readonly target: Expr; readonly key: Expr; readonly pos: Pos }
  | { readonly kind: 'unary'; readonly op: '-' | '+' | 'NOT'; readonly operand: Expr; readonly pos: Pos }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly pos: Pos;
    }
  | {
      readonly kind: 'between';
      readonly operand: Expr;
      readonly low: Expr;
      readonly high: Expr;
      readonly negated: boolean;
      readonly pos: Pos;
    }
  | { readonly kind: 'in'; readonly operand: Expr; readonly list: readonly Expr[]; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: 'like'; readonly operand: Expr; readonly pattern: Expr; readonly negated: boolean; readonly pos: Pos }
  | { readonly kind: 'isNull'; readonly operand: Expr; readonly negated: boolean; readonly pos: Pos }
  /** Searched CASE (`CASE WHEN c THEN v ... ELSE e END`); simple CASE `CASE x WHEN 1 ...` sets operand. */
  | {
      readonly kind: 'case';
      readonly operand: Expr | null;
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly else: Expr | null;
      readonly pos: Pos;
    }
  /**
   * A function call; `name` is upper-cased. `COUNT(*)` has star=true and no args.
   * Named arguments (`EWMA(x, alpha => 0.3)` or `alpha = 0.3`) are in namedArgs.
   */
  | {
      readonly kind: 'call';
      readonly name: string;
      readonly args: readonly Expr[];
      readonly namedArgs: readonly { readonly name: string; readonly value: Expr; readonly pos: Pos }[];
      readonly distinct: boolean;
      readonly star: boolean;
      readonly pos: Pos;
    };

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%'
  | '=' | '!=' | '<' | '<=' | '>' | '>='
  | 'AND' | 'OR'
  | '||';

export type WindowType = 'TUMBLING' | 'HOPPING' | 'SESSION' | 'SLIDING';

/** A window clause; durations in milliseconds. `sizeMs` is the gap for SESSION. */
export interface WindowSpec {
  readonly type: WindowType;
  readonly name: string | null;
  readonly sizeMs: number;
  /** HOPPING only; equals sizeMs for TUMBLING. */
  readonly advanceMs: number | null;
  /** null when not given (the default, 5 s, is applied by the compiler). */
  readonly graceMs: number | null;
  readonly pos: Pos;
}

export interface SelectItem {
  readonly expr: Expr;
  /** lower-cased alias, or null */
  readonly alias: string | null;
  readonly pos: Pos;
}

export interface Select {
  readonly kind: 'select';
  /** `SELECT *` is a single item whose expr is the column `*`. */
  readonly items: readonly SelectItem[];
  readonly star: boolean;
  readonly from: { readonly name: string; readonly alias: string | null; readonly pos: Pos };
  readonly where: Expr | null;
  readonly window: WindowSpec | null;
  readonly groupBy: readonly Expr[];
  readonly partitionBy: readonly Expr[];
  readonly having: Expr | null;
  /** null when no EMIT clause was written (EMIT CHANGES is the default). */
  readonly emit: 'CHANGES' | 'FINAL' | null;
  /** Where the EMIT clause starts (for diagnostics), or null. */
  readonly emitPos: Pos | null;
  readonly pos: Pos;
}

/** A `WITH (k = v, ...)` option. Keys are lower-cased. */
export interface WithOption {
  readonly key: string;
  readonly value: LiteralValue;
  readonly pos: Pos;
  readonly valuePos: Pos;
}

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly key: boolean;
  readonly pos: Pos;
}

export type Statement =
  | {
      readonly kind: 'createStream';
      readonly name: string;
      readonly columns: readonly ColumnDef[];
      readonly options: readonly WithOption[];
      readonly pos: Pos;
      readonly namePos: Pos;
      /** The statement's source text (added by the parser for reload change detection). */
      readonly text: string;
    }
  | {
      readonly kind: 'createView';
      readonly name: string;
      readonly options: readonly WithOption[];
      readonly query: Select;
      readonly pos: Pos;
      readonly namePos: Pos;
      /** The statement's source text, used to tell whether a definition changed on reload. */
      readonly text: string;
    }
  | {
      readonly kind: 'createAlert';
      readonly name: string;
      readonly options: readonly WithOption[];
      readonly query: Select;
      readonly pos: Pos;
      readonly namePos: Pos;
      readonly text: string;
    };

/** One parsed query file. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
  readonly statements: readonly Statement[];
}
