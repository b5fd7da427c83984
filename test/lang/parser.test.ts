import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Select, Statement } from '../../src/lang/ast.js';
import { parse, parseDuration, parseExpression } from '../../src/lang/parser.js';

/** Strips positions so ASTs compare by shape. */
function shape(e: unknown): unknown {
  return JSON.parse(JSON.stringify(e, (k, v) => (k === 'pos' || k === 'namePos' || k === 'valuePos' ? undefined : v)));
}

function selectOf(text: string): Select {
  const s = parse('q.sql', text).statements[0] as Extract<Statement, { kind: 'createView' }>;
  return s.query;
}

const col = (name: string, qualifier: string | null = null) => ({ kind: 'column', qualifier, name });
const lit = (value: string | number | boolean | null) => ({ kind: 'literal', value });
const bin = (op: string, left: unknown, right: unknown) => ({ kind: 'binary', op, left, right });
const expr = (text: string) => shape(parseExpression(text));

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('SPEC section 3 examples', () => {
  test('the example parses into the expected statements', () => {
    const file = parse('queries/spec.sql', fixture('spec-example.sql'));
    expect(file.statements.map((s) => [s.kind, s.name])).toEqual([
      ['createStream', 'metrics'],
      ['createView', 'latency_by_service'],
      ['createAlert', 'latency_anomaly'],
    ]);
    const [stream, view, alert] = file.statements as [Statement, Statement, Statement];
    expect(stream.kind === 'createStream' && shape(stream.columns)).toEqual([
      { name: 'event_id', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
      { name: 'event_time', type: { kind: 'scalar', name: 'TIMESTAMP' }, key: false },
      { name: 'source', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
      { name: 'schema_version', type: { kind: 'scalar', name: 'INT' }, key: false },
      { name: 'name', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
      { name: 'value', type: { kind: 'scalar', name: 'DOUBLE' }, key: false },
      { name: 'labels', type: { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' }, key: false },
    ]);
    expect(shape(stream.options)).toEqual([
      { key: 'kafka_topic', value: 'telemetry.metrics' },
      { key: 'timestamp', value: 'event_time' },
      { key: 'event_id', value: 'event_id' },
    ]);
    expect(view.kind).toBe('createView');
    if (view.kind !== 'createView' || alert.kind !== 'createAlert') return;
    expect(view.query.window).toMatchObject({ type: 'HOPPING', name: null, sizeMs: 60_000, advanceMs: 10_000, graceMs: 5_000 });
    expect(shape(view.query.groupBy)).toEqual([{ kind: 'mapAccess', target: col('labels'), key: lit('service') }]);
    expect(view.query.emit).toBe('CHANGES');
    expect(shape(view.query.items[1])).toEqual({
      expr: { kind: 'call', name: 'COUNT', args: [], namedArgs: [], distinct: false, star: true },
      alias: 'requests',
    });
    expect(view.text.startsWith('CREATE VIEW latency_by_service')).toBe(true);
    expect(view.text.endsWith('EMIT CHANGES;')).toBe(true);
    expect(alert.options.map((o) => o.key)).toEqual(['for', 'severity', 'summary']);
    expect(alert.query.emit).toBeNull();
    expect(shape(alert.query.having)).toEqual(
      bin(
        'AND',
        bin('>', { kind: 'call', name: 'ZSCORE', args: [col('p99_ms')], namedArgs: [], distinct: false, star: false }, lit(4)),
        bin('>', col('p99_ms'), lit(100)),
      ),
    );
  });

  test('every other form of the section parses', () => {
    const file = parse('f.sql', fixture('spec-fragments.sql'));
    expect(file.statements).toHaveLength(7);
    const [stream, , tumbling, session, sliding, alert] = file.statements;
    expect(stream?.kind === 'createStream' && stream.columns[0]).toMatchObject({ name: 'id', key: true, type: { name: 'BIGINT' } });
    expect(stream?.kind === 'createStream' && stream.columns[1]?.type).toEqual({ kind: 'scalar', name: 'VARCHAR' });
    const q = (s: Statement | undefined) => (s && s.kind !== 'createStream' ? s.query : null);
    expect(q(tumbling)?.window).toMatchObject({ type: 'TUMBLING', sizeMs: 300_000, advanceMs: 300_000, graceMs: 30_000 });
    expect(q(tumbling)?.emit).toBe('FINAL');
    expect(q(session)?.window).toMatchObject({ type: 'SESSION', sizeMs: 30_000, advanceMs: null, graceMs: null });
    expect(q(sliding)?.window).toMatchObject({ type: 'SLIDING', sizeMs: 3_600_000, advanceMs: null });
    expect(q(sliding)?.where).toMatchObject({ kind: 'isNull', negated: true });
    expect(q(alert)?.from).toMatchObject({ name: 'cpu', alias: 'c' });
    const z = q(alert)?.items[7]?.expr;
    expect(z && shape(z)).toEqual({ kind: 'call', name: 'ZSCORE', args: [col('value')], namedArgs: [{ name: 'warmup', value: lit(30) }], distinct: false, star: false });
    const bsd = q(alert)?.items[6]?.expr;
    expect(bsd?.kind === 'call' && bsd.namedArgs[0]?.name).toBe('halflife');
  });

  test('every statement keeps its own source text', () => {
    const text = 'CREATE STREAM s (a INT) WITH (kafka_topic = \'t\');\n  CREATE VIEW v AS SELECT a FROM s ;  ';
    expect(parse('q.sql', text).statements.map((s) => s.text)).toEqual([
      "CREATE STREAM s (a INT) WITH (kafka_topic = 't');",
      'CREATE VIEW v AS SELECT a FROM s ;',
    ]);
  });
});

describe('expressions', () => {
  test.each([
    ['1 + 2 * 3', bin('+', lit(1), bin('*', lit(2), lit(3)))],
    ['(1 + 2) * 3', bin('*', bin('+', lit(1), lit(2)), lit(3))],
    ['a - b - c', bin('-', bin('-', col('a'), col('b')), col('c'))],
    ['a / b % c', bin('%', bin('/', col('a'), col('b')), col('c'))],
    ['a OR b AND c', bin('OR', col('a'), bin('AND', col('b'), col('c')))],
    ['NOT a = 1 AND b', bin('AND', { kind: 'unary', op: 'NOT', operand: bin('=', col('a'), lit(1)) }, col('b'))],
    ['a <> 1', bin('!=', col('a'), lit(1))],
    ['a != 1', bin('!=', col('a'), lit(1))],
    ['a >= 1 + 2', bin('>=', col('a'), bin('+', lit(1), lit(2)))],
    ["'x' || name", bin('||', lit('x'), col('name'))],
    ['-5', lit(-5)],
    ['- value', { kind: 'unary', op: '-', operand: col('value') }],
    ['1.5e3', lit(1500)],
    ['.5', lit(0.5)],
    ['2.5E-3', lit(0.0025)],
    ["'it''s'", lit("it's")],
    ["'back\\slash'", lit('back\\slash')],
    ['TRUE', lit(true)],
    ['null', lit(null)],
    ['metrics.value', col('value', 'metrics')],
    ['"Select"', col('select')],
    ['`From`', col('from')],
    ['VALUE', col('value')],
    ['count', col('count')],
    ['timestamp', col('timestamp')],
    ['input', col('input')],
    ['key', col('key')],
    ["labels['k']", { kind: 'mapAccess', target: col('labels'), key: lit('k') }],
    ["m.labels['k']", { kind: 'mapAccess', target: col('labels', 'm'), key: lit('k') }],
    ['WINDOWSTART', { kind: 'windowBound', bound: 'start' }],
    ['windowend()', { kind: 'windowBound', bound: 'end' }],
    ['a BETWEEN 1 AND 2 AND b', bin('AND', { kind: 'between', operand: col('a'), low: lit(1), high: lit(2), negated: false }, col('b'))],
    ['a NOT BETWEEN 1 AND 2', { kind: 'between', operand: col('a'), low: lit(1), high: lit(2), negated: true }],
    ["a IN ('x', 'y')", { kind: 'in', operand: col('a'), list: [lit('x'), lit('y')], negated: false }],
    ['a NOT IN (1)', { kind: 'in', operand: col('a'), list: [lit(1)], negated: true }],
    ["a LIKE 'x%'", { kind: 'like', operand: col('a'), pattern: lit('x%'), negated: false }],
    ["a NOT LIKE 'x%'", { kind: 'like', operand: col('a'), pattern: lit('x%'), negated: true }],
    ['a IS NULL', { kind: 'isNull', operand: col('a'), negated: false }],
    ['a IS NOT NULL', { kind: 'isNull', operand: col('a'), negated: true }],
    ['CASE WHEN a THEN 1 END', { kind: 'case', operand: null, whens: [{ when: col('a'), then: lit(1) }], else: null }],
    [
      "CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE 'c' END",
      { kind: 'case', operand: col('x'), whens: [{ when: lit(1), then: lit('a') }, { when: lit(2), then: lit('b') }], else: lit('c') },
    ],
    ['count(*)', { kind: 'call', name: 'COUNT', args: [], namedArgs: [], distinct: false, star: true }],
    ['Count(DISTINCT host)', { kind: 'call', name: 'COUNT', args: [col('host')], namedArgs: [], distinct: true, star: false }],
    [
      'ewma(x, 0.3, warmup => 5)',
      { kind: 'call', name: 'EWMA', args: [col('x'), lit(0.3)], namedArgs: [{ name: 'warmup', value: lit(5) }], distinct: false, star: false },
    ],
    // `=` is a comparison unless the function declares that argument name.
    ['COALESCE(a, b = 1)', { kind: 'call', name: 'COALESCE', args: [col('a'), bin('=', col('b'), lit(1))], namedArgs: [], distinct: false, star: false }],
    ['f()', { kind: 'call', name: 'F', args: [], namedArgs: [], distinct: false, star: false }],
  ])('%s', (text, expected) => {
    expect(expr(text)).toEqual(expected);
  });

  test('positions point at the operator or first token', () => {
    const e = parseExpression('a +\n  b');
    expect(e.pos).toEqual({ line: 1, col: 3, offset: 2 });
    expect(e.kind === 'binary' && e.right.pos).toEqual({ line: 2, col: 3, offset: 6 });
  });
});

describe('statements', () => {
  test('keywords are case-insensitive and identifiers lower-cased', () => {
    const s = parse('q.sql', 'create view MyView as select Value as V from Metrics m where M.Value > 1 emit changes;');
    const v = s.statements[0];
    expect(v?.kind === 'createView' && [v.name, v.query.items[0]?.alias, v.query.from.name, v.query.from.alias]).toEqual(['myview', 'v', 'metrics', 'm']);
  });

  test('AS is optional before an alias', () => {
    expect(selectOf('CREATE VIEW v AS SELECT value v, count c FROM s;').items.map((i) => i.alias)).toEqual(['v', 'c']);
  });

  test('after AS any word is an alias, even a reserved one', () => {
    const s = selectOf('CREATE VIEW v AS SELECT WINDOWSTART AS windowstart, a AS "End", b AS from FROM s AS window;');
    expect(s.items.map((i) => i.alias)).toEqual(['windowstart', 'end', 'from']);
    expect(s.from.alias).toBe('window');
  });

  test('window, partition, group and emit are column names unless they start a clause', () => {
    const s = selectOf('CREATE VIEW v AS SELECT window, partition, group, emit FROM s WHERE window > 1 WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY group EMIT FINAL;');
    expect(s.items.map((i) => i.expr)).toMatchObject([{ name: 'window' }, { name: 'partition' }, { name: 'group' }, { name: 'emit' }]);
    expect(s.window?.type).toBe('TUMBLING');
    expect(s.emit).toBe('FINAL');
  });

  test('SELECT * sets star', () => {
    const s = selectOf('CREATE VIEW v AS SELECT * FROM s;');
    expect(s.star).toBe(true);
    expect(shape(s.items)).toEqual([{ expr: col('*'), alias: null }]);
  });

  test('WHERE before WINDOW is accepted as well as after', () => {
    const a = selectOf('CREATE VIEW v AS SELECT COUNT(*) FROM s WHERE x > 1 WINDOW TUMBLING (SIZE 1 SECOND);');
    const b = selectOf('CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 SECOND) WHERE x > 1;');
    expect(shape(a)).toEqual(shape(b));
  });

  test('named window, singular units, and RETENTION in any position', () => {
    const w = selectOf(
      'CREATE VIEW v AS SELECT COUNT(*) FROM s WINDOW w1 HOPPING (SIZE 1 DAY, ADVANCE BY 1 HOUR, GRACE PERIOD 1 MILLISECOND, RETENTION 2 DAYS);',
    ).window;
    expect(w).toMatchObject({ type: 'HOPPING', name: 'w1', sizeMs: 86_400_000, advanceMs: 3_600_000, graceMs: 1 });
  });

  test('empty statements and trailing comments are fine', () => {
    expect(parse('q.sql', ';;\n-- nothing here\n/* or here */').statements).toEqual([]);
  });

  test('WITH option values: strings, numbers, booleans, null', () => {
    const s = parse('q.sql', "CREATE STREAM s (a INT) WITH (A = 'x', b = -2, c = 1.5, d = TRUE, e = false, f = NULL, \"g\" = 1);").statements[0];
    expect(s?.options.map((o) => [o.key, o.value])).toEqual([['a', 'x'], ['b', -2], ['c', 1.5], ['d', true], ['e', false], ['f', null], ['g', 1]]);
  });

  test('names that are keywords elsewhere work as columns and stream names', () => {
    const f = parse('q.sql', 'CREATE STREAM input (key VARCHAR KEY, value DOUBLE, timestamp BIGINT, count INT, window INT) WITH (kafka_topic = \'t\');');
    const s = f.statements[0];
    expect(s?.kind === 'createStream' && s.columns.map((c) => c.name)).toEqual(['key', 'value', 'timestamp', 'count', 'window']);
  });
});

describe('parseDuration', () => {
  test.each([
    ['2 MINUTES', 120_000],
    ['1 minute', 60_000],
    ['500 milliseconds', 500],
    ['1 DAY', 86_400_000],
    ['3 hours', 10_800_000],
    ['30 seconds', 30_000],
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5s', 1_500],
    [' 2  MINUTES ', 120_000],
    ['0', 0],
    ['0s', 0],
    ['', null],
    ['2', null],
    ['two minutes', null],
    ['2 fortnights', null],
    ['-1s', null],
    ['0.5ms', null],
    ['1 s s', null],
  ])('%j -> %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
