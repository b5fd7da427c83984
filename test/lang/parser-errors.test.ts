import { describe, expect, test } from 'vitest';
import { SqlSyntaxError } from '../../src/lang/diagnostic.js';
import { parse } from '../../src/lang/parser.js';

/** Parses and returns `line:col: message` of the syntax error, or 'ok'. */
function errorOf(text: string): string {
  try {
    parse('q.sql', text);
    return 'ok';
  } catch (e) {
    if (!(e instanceof SqlSyntaxError)) throw e;
    return `${e.diagnostic.pos.line}:${e.diagnostic.pos.col}: ${e.message}`;
  }
}

describe('syntax errors: exact message and position', () => {
  const cases: [string, string, string][] = [
  ["missing comma in column list", "CREATE STREAM s (a INT b DOUBLE) WITH (kafka_topic='t');", "1:24: expected ',' or ')' but found 'b'"],
  ["unterminated string", "CREATE STREAM s (a INT) WITH (kafka_topic='t);", "1:43: unterminated string literal"],
  ["unterminated comment", "/* hello\nCREATE STREAM s (a INT);", "1:1: unterminated comment"],
  ["unknown window type", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW ROLLING (SIZE 1 MINUTE);", "1:48: unknown window type 'ROLLING'; expected TUMBLING, HOPPING, SESSION or SLIDING"],
  ["bad duration unit", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 FORTNIGHT);", "1:65: expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS) but found 'FORTNIGHT'"],
  ["missing AS", "CREATE VIEW v SELECT a FROM s;", "1:15: expected AS but found 'SELECT'"],
  ["missing semicolon", "CREATE VIEW v AS SELECT a FROM s\nCREATE VIEW w AS SELECT a FROM s;", "2:1: expected ';' but found 'CREATE'"],
  ["missing semicolon at end", "CREATE VIEW v AS SELECT a FROM s", "1:33: expected ';' but found end of input"],
  ["bad type", "CREATE STREAM s (a FLOAT);", "1:20: unknown type 'FLOAT'; expected VARCHAR, STRING, INT, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP or MAP<VARCHAR, VARCHAR>"],
  ["unbalanced parens", "CREATE VIEW v AS SELECT (a + 1 FROM s;", "1:32: expected ')' but found 'FROM'"],
  ["extra close paren", "CREATE VIEW v AS SELECT a + 1) FROM s;", "1:30: expected ',', AS or FROM but found ')'"],
  ["HOPPING without ADVANCE", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW HOPPING (SIZE 1 MINUTE);", "1:70: a HOPPING window needs ADVANCE BY: expected ',' but found ')'"],
  ["HOPPING comma then GRACE", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW HOPPING (SIZE 1 MINUTE, GRACE PERIOD 1 SECOND);", "1:72: expected ADVANCE BY but found 'GRACE'"],
  ["compact duration in SQL", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (SIZE 10s);", "1:63: invalid number '10s' (in SQL a duration is a number and a unit word, e.g. 10 SECONDS)"],
  ["missing SIZE", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (1 MINUTE);", "1:58: expected SIZE but found '1'"],
  ["session with SIZE", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW SESSION (SIZE 1 MINUTE);", "1:57: a SESSION window takes only its gap, as in SESSION (5 MINUTES), not SIZE"],
  ["grace twice", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 1 SECOND, GRACE PERIOD 2 SECONDS);", "1:96: GRACE PERIOD is given twice"],
  ["missing duration number", "CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (SIZE MINUTE);", "1:63: expected a number but found 'MINUTE'"],
  ["unknown statement", "CREATE TABLE t (a INT);", "1:8: expected STREAM, VIEW or ALERT but found 'TABLE'"],
  ["not a statement", "SELECT a FROM s;", "1:1: expected CREATE STREAM, CREATE VIEW or CREATE ALERT but found 'SELECT'"],
  ["bad emit", "CREATE VIEW v AS SELECT a FROM s EMIT ALL;", "1:39: expected CHANGES or FINAL but found 'ALL'"],
  ["clause order", "CREATE VIEW v AS SELECT COUNT(*) FROM s HAVING COUNT(*) > 1 GROUP BY a;", "1:61: unexpected GROUP BY: clauses go in the order FROM, WINDOW, WHERE, GROUP BY, PARTITION BY, HAVING, EMIT"],
  ["reserved word as column", "CREATE STREAM s (from INT);", "1:18: expected a column name but found 'from', a reserved word (quote it as \"from\" to use it as a name)"],
  ["reserved word in expression", "CREATE VIEW v AS SELECT select FROM s;", "1:25: expected an expression but found 'select'"],
  ["missing FROM", "CREATE VIEW v AS SELECT a;", "1:26: expected ',', AS or FROM but found ';'"],
  ["missing expression", "CREATE VIEW v AS SELECT a + FROM s;", "1:29: expected an expression but found 'FROM'"],
  ["trailing comma in select", "CREATE VIEW v AS SELECT a, FROM s;", "1:28: expected an expression but found 'FROM'"],
  ["unexpected character", "CREATE VIEW v AS SELECT a # b FROM s;", "1:27: unexpected character '#'"],
  ["bad number", "CREATE VIEW v AS SELECT 1.2.3 FROM s;", "1:28: expected ',', AS or FROM but found '.3'"],
  ["IS without NULL", "CREATE VIEW v AS SELECT a FROM s WHERE a IS 5;", "1:45: expected NULL or NOT NULL but found '5'"],
  ["NOT without predicate", "CREATE VIEW v AS SELECT a FROM s WHERE a NOT 5;", "1:46: expected BETWEEN, IN or LIKE after NOT but found '5'"],
  ["BETWEEN without AND", "CREATE VIEW v AS SELECT a FROM s WHERE a BETWEEN 1 OR 2;", "1:52: expected AND but found 'OR'"],
  ["CASE without WHEN", "CREATE VIEW v AS SELECT CASE ELSE 1 END FROM s;", "1:30: expected WHEN but found 'ELSE'"],
  ["CASE without END", "CREATE VIEW v AS SELECT CASE WHEN a THEN 1 FROM s;", "1:44: expected WHEN, ELSE or END but found 'FROM'"],
  ["unclosed map access", "CREATE VIEW v AS SELECT labels['k' FROM s;", "1:36: expected ']' but found 'FROM'"],
  ["named before positional", "CREATE VIEW v AS SELECT EWMA(alpha => 0.3, x) FROM s;", "1:44: positional arguments must come before named arguments"],
  ["empty IN list", "CREATE VIEW v AS SELECT a FROM s WHERE a IN ();", "1:46: expected an expression but found ')'"],
  ["bad option value", "CREATE STREAM s (a INT) WITH (kafka_topic = t);", "1:45: expected a string, number or boolean but found 't'"],
  ["option missing equals", "CREATE STREAM s (a INT) WITH (kafka_topic 't');", "1:43: expected '=' but found string 't'"],
  ["map type unclosed", "CREATE STREAM s (labels MAP<VARCHAR, VARCHAR);", "1:45: expected '>' but found ')'"],
  ["unterminated quoted identifier", "CREATE STREAM s (\"a INT);", "1:18: unterminated quoted identifier"],
  ["missing close paren in call", "CREATE VIEW v AS SELECT ABS(a FROM s;", "1:31: expected ',' or ')' but found 'FROM'"],
  ["missing stream name", "CREATE STREAM (a INT);", "1:15: expected a stream name but found '('"],
  ["empty input after create", "CREATE", "1:7: expected STREAM, VIEW or ALERT but found end of input"],
  ["comparison chain", "CREATE VIEW v AS SELECT a FROM s WHERE a = b = c;", "1:46: expected ';' but found '='"],
  ["stray token after statement", "CREATE VIEW v AS SELECT a FROM s x y;", "1:36: expected ';' but found 'y'"],
  ];
  test.each(cases)('%s', (_name, text, expected) => {
    expect(errorOf(text)).toBe(expected);
  });

  test('expression nested too deeply', () => {
    const text = `CREATE VIEW v AS SELECT ${'('.repeat(500)}1 FROM s;`;
    expect(errorOf(text)).toBe('1:225: expression is nested too deeply');
  });

  test('positions count lines and columns after comments and strings spanning lines', () => {
    const text = "-- comment\n/* block\n comment */ CREATE ALERT a WITH (summary = 'two\nlines') AS\n  SELECT a FROM s WHERE a >;";
    expect(errorOf(text)).toBe('5:28: expected an expression but found \';\'');
  });

  test('the error is a SqlSyntaxError carrying the file name', () => {
    try {
      parse('queries/x.sql', 'CREATE VIEW');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SqlSyntaxError);
      expect((e as SqlSyntaxError).diagnostic).toEqual({
        file: 'queries/x.sql',
        pos: { line: 1, col: 12, offset: 11 },
        message: 'expected a view name but found end of input',
      });
    }
  });
});
