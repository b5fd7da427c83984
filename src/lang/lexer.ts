/**
 * The lexer of seismo's SQL dialect (STYLE.md: graphql-js). It is pulled one token at a time by
 * the parser, so the first error in the file is the one reported, whether it is lexical or
 * syntactic.
 *
 * Lexical rules:
 * - whitespace, `-- line comments` and `/* block comments *\/` (not nested) are skipped;
 * - words: a letter or `_`, then letters, digits, `_`; keywords and identifiers are both words,
 *   the parser decides which (keywords are case-insensitive, identifiers are lower-cased);
 * - quoted identifiers: `"name"` or `` `name` `` (ksqlDB), a doubled quote escapes itself;
 * - strings: `'text'`, `''` escapes a quote; a backslash is an ordinary character (standard SQL),
 *   so LIKE patterns and regular expressions need no double escaping; strings may span lines;
 * - numbers: `12`, `1.5`, `.5`, `1e3`, `2.5E-3`; a number glued to a letter (`10s`) is an error;
 * - punctuation: `( ) [ ] , ; . * + - / % = => != <> < <= > >= ||`.
 */
import type { Pos } from './ast.js';
import { SqlSyntaxError } from './diagnostic.js';

/** What a token is; `word` covers keywords and unquoted identifiers. */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct' | 'eof';

/** One token. `value` is the unescaped content (strings, quoted identifiers) or the raw text. */
export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  /** The token exactly as written in the source. */
  readonly text: string;
  readonly pos: Pos;
  /** Offset just past the token's last character. */
  readonly end: number;
}

const PUNCT_2 = new Set(['=>', '!=', '<>', '<=', '>=', '||']);
const PUNCT_1 = new Set(['(', ')', '[', ']', ',', ';', '.', '*', '+', '-', '/', '%', '=', '<', '>']);
const COMPACT_UNITS = new Set(['ms', 's', 'm', 'h', 'd']);

function isWordStart(c: string): boolean {
  return /[A-Za-z_]/.test(c) || (c > '\x7f' && /\p{L}/u.test(c));
}
function isWordPart(c: string): boolean {
  return /[A-Za-z0-9_]/.test(c) || (c > '\x7f' && /[\p{L}\p{N}]/u.test(c));
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Turns query text into tokens on demand; throws SqlSyntaxError on a lexical error. */
export class Lexer {
  private offset = 0;
  private line = 1;
  private lineStart = 0;

  /** `start` lets the parser resume after a syntax error (error recovery) with exact positions. */
  constructor(
    private readonly file: string,
    private readonly source: string,
    start = 0,
  ) {
    for (let i = 0; i < start; i++) {
      if (source[i] === '\n') {
        this.line++;
        this.lineStart = i + 1;
      }
    }
    this.offset = start;
  }

  /** The next token; after the end of input, an `eof` token forever. */
  next(): Token {
    this.skipTrivia();
    const start = this.pos();
    const src = this.source;
    const c = src[this.offset];
    if (c === undefined) return this.token('eof', '', start);
    if (c === "'") return this.readString(start);
    if (c === '"' || c === '`') return this.readQuoted(start, c);
    if (isDigit(c) || (c === '.' && isDigit(src[this.offset + 1]))) return this.readNumber(start);
    if (isWordStart(c)) {
      while (this.offset < src.length && isWordPart(src[this.offset]!)) this.offset++;
      return this.token('word', src.slice(start.offset, this.offset), start);
    }
    const two = src.slice(this.offset, this.offset + 2);
    if (PUNCT_2.has(two)) {
      this.offset += 2;
      return this.token('punct', two, start);
    }
    if (PUNCT_1.has(c)) {
      this.offset += 1;
      return this.token('punct', c, start);
    }
    const shown = c === '\t' ? '\\t' : c;
    throw this.error(`unexpected character '${shown}'`, start);
  }

  private token(kind: TokenKind, value: string, pos: Pos): Token {
    return { kind, value, text: this.source.slice(pos.offset, this.offset), pos, end: this.offset };
  }

  private pos(): Pos {
    return { line: this.line, col: this.offset - this.lineStart + 1, offset: this.offset };
  }

  private error(message: string, pos: Pos): SqlSyntaxError {
    return new SqlSyntaxError({ file: this.file, pos, message });
  }

  /** Advances over one character, keeping line and column right. */
  private step(): void {
    if (this.source[this.offset] === '\n') {
      this.line++;
      this.lineStart = this.offset + 1;
    }
    this.offset++;
  }

  private skipTrivia(): void {
    const src = this.source;
    for (;;) {
      const c = src[this.offset];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff') {
        this.step();
      } else if (c === '-' && src[this.offset + 1] === '-') {
        while (this.offset < src.length && src[this.offset] !== '\n') this.offset++;
      } else if (c === '/' && src[this.offset + 1] === '*') {
        const start = this.pos();
        this.offset += 2;
        for (;;) {
          if (this.offset >= src.length) throw this.error('unterminated comment', start);
          if (src[this.offset] === '*' && src[this.offset + 1] === '/') {
            this.offset += 2;
            break;
          }
          this.step();
        }
      } else {
        return;
      }
    }
  }

  /** `'text'` with `''` for a quote. */
  private readString(start: Pos): Token {
    const src = this.source;
    this.offset++;
    let value = '';
    for (;;) {
      if (this.offset >= src.length) throw this.error('unterminated string literal', start);
      const c = src[this.offset]!;
      if (c === "'") {
        if (src[this.offset + 1] === "'") {
          value += "'";
          this.offset += 2;
          continue;
        }
        this.offset++;
        return this.token('string', value, start);
      }
      value += c;
      this.step();
    }
  }

  /** `"name"` or `` `name` ``, the quote doubled to escape itself. */
  private readQuoted(start: Pos, quote: string): Token {
    const src = this.source;
    this.offset++;
    let value = '';
    for (;;) {
      if (this.offset >= src.length) throw this.error('unterminated quoted identifier', start);
      const c = src[this.offset]!;
      if (c === quote) {
        if (src[this.offset + 1] === quote) {
          value += quote;
          this.offset += 2;
          continue;
        }
        this.offset++;
        if (value === '') throw this.error('empty quoted identifier', start);
        return this.token('quoted', value, start);
      }
      if (c === '\n') throw this.error('unterminated quoted identifier', start);
      value += c;
      this.step();
    }
  }

  private readNumber(start: Pos): Token {
    const src = this.source;
    while (isDigit(src[this.offset])) this.offset++;
    if (src[this.offset] === '.' && isDigit(src[this.offset + 1])) {
      this.offset++;
      while (isDigit(src[this.offset])) this.offset++;
    }
    const e = src[this.offset];
    if (e === 'e' || e === 'E') {
      const sign = src[this.offset + 1];
      const digitAt = sign === '+' || sign === '-' ? this.offset + 2 : this.offset + 1;
      if (isDigit(src[digitAt])) {
        this.offset = digitAt;
        while (isDigit(src[this.offset])) this.offset++;
      }
    }
    const next = src[this.offset];
    if (next !== undefined && isWordPart(next)) {
      let end = this.offset;
      while (end < src.length && isWordPart(src[end]!)) end++;
      const text = src.slice(start.offset, end);
      const suffix = src.slice(this.offset, end).toLowerCase();
      const hint = COMPACT_UNITS.has(suffix) ? ' (in SQL a duration is a number and a unit word, e.g. 10 SECONDS)' : '';
      throw this.error(`invalid number '${text}'${hint}`, start);
    }
    return this.token('number', src.slice(start.offset, this.offset), start);
  }
}
