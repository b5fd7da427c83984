import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { check, formatExpr, parseLabels, type CheckedQuery } from '../../src/lang/check.js';
import { parse, parseExpression } from '../../src/lang/parser.js';

const STREAM =
  "CREATE STREAM metrics (event_id VARCHAR, event_time TIMESTAMP, name VARCHAR, source VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>) WITH (kafka_topic = 'm');\n";

/** Checks files and returns their diagnostics as `line:col: message` (with `file:` when several files). */
function errors(...texts: string[]): string[] {
  const files = texts.map((t, i) => parse(`f${i}.sql`, t));
  const { diagnostics } = check(files);
  return diagnostics.map((d) => `${texts.length > 1 ? `${d.file}:` : ''}${d.pos.line}:${d.pos.col}: ${d.message}`);
}

function program(...texts: string[]) {
  const result = check(texts.map((t, i) => parse(`f${i}.sql`, t)));
  expect(result.diagnostics).toEqual([]);
  return result.program;
}

function query(p: { queries: readonly CheckedQuery[] }, name: string): CheckedQuery {
  const q = p.queries.find((x) => x.name === name);
  if (!q) throw new Error(`no query ${name}`);
  return q;
}

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('query errors, one per kind (the view is on line 2, after a metrics stream)', () => {
  const cases: [string, string, string[]][] = [
    ["unknown source", "SELECT value FROM metrcs", ["2:36: unknown stream or view 'metrcs' (did you mean 'metrics'?)"]],
    ["unknown column", "SELECT vlaue FROM metrics", ["2:25: unknown column 'vlaue' (did you mean 'value'?)"]],
    ["unknown qualifier", "SELECT m.value FROM metrics", ["2:25: unknown qualifier 'm' (the query reads 'metrics')"]],
    ["unknown qualifier on map", "SELECT labels.service FROM metrics", ["2:25: unknown qualifier 'labels' (the query reads 'metrics'); to read a map key write labels['service']"]],
    ["qualifier by alias ok", "SELECT m.value FROM metrics m", []],
    ["arithmetic on VARCHAR", "SELECT name + 1 AS x FROM metrics", ["2:25: '+' needs numbers, not VARCHAR (use || to concatenate)"]],
    ["arithmetic on VARCHAR minus", "SELECT value * name AS x FROM metrics", ["2:33: '*' needs numbers, not VARCHAR"]],
    ["compare number to string", "SELECT value FROM metrics WHERE value = 'high'", ["2:56: cannot compare DOUBLE with VARCHAR"]],
    ["non-boolean WHERE", "SELECT value FROM metrics WHERE value", ["2:50: WHERE must be a BOOLEAN condition, not DOUBLE"]],
    ["non-boolean HAVING", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name HAVING COUNT(*)", ["2:111: HAVING must be a BOOLEAN condition, not BIGINT"]],
    ["map access on non-map", "SELECT name['k'] AS x FROM metrics", ["2:29: cannot use [...] on VARCHAR; only a MAP has keys"]],
    ["map key not varchar", "SELECT labels[1] AS x FROM metrics", ["2:32: a map key must be a VARCHAR, not INT"]],
    ["aggregate in WHERE", "SELECT value FROM metrics WHERE COUNT(*) > 1", ["2:50: aggregate function COUNT is not allowed in WHERE"]],
    ["nested aggregates", "SELECT name, SUM(COUNT(*)) AS x FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:35: aggregate functions cannot be nested (COUNT inside SUM)"]],
    ["aggregate in GROUP BY", "SELECT COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY COUNT(*)", ["2:93: aggregate function COUNT is not allowed in GROUP BY"]],
    ["column not in GROUP BY", "SELECT name, source, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:31: column 'source' must be in GROUP BY or inside an aggregate function"]],
    ["column not in GROUP BY in HAVING", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name HAVING value > 1", ["2:111: column 'value' must be in GROUP BY or inside an aggregate function"]],
    ["group by not selected", "SELECT COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:93: GROUP BY name must also be in the SELECT list (the group key is part of every row)"]],
    ["WINDOWSTART outside SELECT", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name HAVING WINDOWSTART > 0", ["2:111: WINDOWSTART is only allowed in SELECT"]],
    ["WINDOWSTART without window", "SELECT WINDOWSTART AS ws, value FROM metrics", ["2:25: WINDOWSTART needs a WINDOW clause (or FROM a windowed view)"]],
    ["EMIT FINAL without window", "SELECT value FROM metrics EMIT FINAL", ["2:44: EMIT FINAL needs a WINDOW clause (it emits one row per window when the window closes)"]],
    ["window without aggregates", "SELECT value FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE)", ["2:51: a WINDOW clause needs aggregates or GROUP BY"]],
    ["unknown function", "SELECT ZSCROE(value) AS z FROM metrics", ["2:25: unknown function 'ZSCROE' (did you mean 'ZSCORE'?)"]],
    ["wrong arity", "SELECT ABS(value, 2) AS a FROM metrics", ["2:25: ABS takes 1 argument but got 2"]],
    ["wrong arity range", "SELECT ROUND() AS a FROM metrics", ["2:25: ROUND takes 1 to 2 arguments but got 0"]],
    ["wrong named arg", "SELECT ZSCORE(value, alpah => 0.3) AS z FROM metrics", ["2:39: unknown argument 'alpah' (did you mean 'alpha'?); ZSCORE takes halflife, warmup, clip, alpha"]],
    ["named arg on scalar", "SELECT ABS(value, x => 1) AS a FROM metrics", ["2:36: unknown argument 'x'; ABS takes no named arguments"]],
    ["named arg bad value", "SELECT ZSCORE(value, warmup => 0.5) AS z FROM metrics", ["2:49: argument 'warmup' of ZSCORE must be a constant integer >= 1"]],
    ["percentile q out of range", "SELECT name, PERCENTILE(value, 1.5) AS p FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:49: argument 2 (q) of PERCENTILE must be a constant number between 0 and 1"]],
    ["percentile q not constant", "SELECT name, PERCENTILE(value, value) AS p FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:49: argument 2 (q) of PERCENTILE must be a constant number between 0 and 1"]],
    ["seasonal bad season", "SELECT SEASONAL_ZSCORE(value, 'monthly') AS z FROM metrics", ["2:48: argument 2 (season) of SEASONAL_ZSCORE must be one of 'hour_of_day', 'day_of_week', 'hour_of_week'"]],
    ["ewma bad alpha", "SELECT EWMA(value, 2) AS e FROM metrics", ["2:37: argument 2 (alpha) of EWMA must be a constant number in (0, 1]"]],
    ["ewma without alpha", "SELECT EWMA(value) AS e FROM metrics", ["2:25: EWMA needs its 'alpha' argument"]],
    ["parameter given twice", "SELECT ZSCORE(value, 30, halflife => 20) AS z FROM metrics", ["2:43: argument 'halflife' of ZSCORE is given twice"]],
    ["too many parameters", "SELECT ROBUST_ZSCORE(value, 10, 5, 1) AS z FROM metrics", ["2:25: ROBUST_ZSCORE takes 1 to 3 arguments but got 4"]],
    ["parameters positional or named ok", "SELECT ZSCORE(value, 30, 5) AS a, ZSCORE(value, alpha => 0.2, clip => 4) AS b, EWMA(value, alpha => 0.3) AS c, SEASONAL_ZSCORE(value, 'hour_of_week', tz => 'Europe/Paris') AS d, ROBUST_ZSCORE(value, window = 30) AS e FROM metrics", []],
    ["star in SUM", "SELECT name, SUM(*) AS s FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:31: SUM(*) is not allowed; only COUNT(*)"]],
    ["distinct in SUM", "SELECT name, SUM(DISTINCT value) AS s FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:31: DISTINCT is only allowed in COUNT(DISTINCT x)"]],
    ["function arg type", "SELECT SQRT(name) AS s FROM metrics", ["2:30: SQRT expects a number but argument 1 is VARCHAR"]],
    ["duplicate output column", "SELECT value, value FROM metrics", ["2:32: duplicate output column 'value' (add an alias with AS)"]],
    ["duplicate output alias", "SELECT value AS v, name AS v FROM metrics", ["2:37: duplicate output column 'v'"]],
    ["baseline in WHERE", "SELECT value FROM metrics WHERE ZSCORE(value) > 3", ["2:50: baseline function ZSCORE is not allowed in WHERE"]],
    ["baseline inside aggregate", "SELECT name, AVG(ZSCORE(value)) AS a FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:35: baseline function ZSCORE cannot be used inside an aggregate (AVG)"]],
    ["nested baselines", "SELECT ZSCORE(EWMA(value, 0.5)) AS z FROM metrics", ["2:32: baseline functions cannot be nested (EWMA inside ZSCORE)"]],
    ["CASE mixed branches", "SELECT CASE WHEN value > 1 THEN 'x' ELSE 1 END AS c FROM metrics", ["2:59: CASE branches mix VARCHAR and INT"]],
    ["LIKE on number", "SELECT value FROM metrics WHERE value LIKE 'x%'", ["2:50: LIKE needs a VARCHAR, not DOUBLE"]],
    ["AND on number", "SELECT value FROM metrics WHERE value AND name = 'x'", ["2:50: AND needs BOOLEAN operands, not DOUBLE"]],
    ["NOT on string", "SELECT value FROM metrics WHERE NOT name", ["2:54: NOT needs a BOOLEAN operand, not VARCHAR"]],
    ["IN mixed", "SELECT value FROM metrics WHERE name IN ('a', 1)", ["2:64: cannot compare VARCHAR with INT"]],
    ["BETWEEN mismatch", "SELECT value FROM metrics WHERE value BETWEEN 'a' AND 2", ["2:64: cannot compare DOUBLE with VARCHAR"]],
    ["select star with group by", "SELECT * FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name", ["2:25: SELECT * cannot be used with aggregates or GROUP BY"]],
    ["partition by with aggregates", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name PARTITION BY name", ["2:117: PARTITION BY cannot be combined with GROUP BY or aggregates (the group key is the partition)"]],
    ["hopping advance > size", "SELECT name, COUNT(*) AS n FROM metrics WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 2 MINUTES) GROUP BY name", ["2:65: ADVANCE BY must not be greater than SIZE"]],
    ["zero size", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 0 SECONDS) GROUP BY name", ["2:65: window SIZE must be greater than 0"]],
    ["comparing map", "SELECT value FROM metrics WHERE labels = 'x'", ["2:57: cannot compare a MAP"]],
    ["star in expression", "SELECT COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) HAVING COUNT(*) > 0", []],
    ["group by alias ok", "SELECT labels['service'] AS service, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY service", []],
    ["having alias ok", "SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name HAVING n > 5", []],
    ["timestamp arithmetic ok", "SELECT event_time + 1000 AS later, WINDOWEND - WINDOWSTART AS width, name, event_time, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name, event_time", []],
  ];
  test.each(cases)('%s', (_name, sql, expected) => {
    expect(errors(`${STREAM}CREATE VIEW v AS ${sql};`)).toEqual(expected);
  });
});

describe('statement, option and namespace errors', () => {
  const cases: [string, string, string[]][] = [
    ["stream no topic", "CREATE STREAM s (a INT);", ["1:15: stream 's' needs WITH (kafka_topic = '...')"]],
    ["stream dup column", "CREATE STREAM s (a INT, A DOUBLE) WITH (kafka_topic='t');", ["1:25: duplicate column 'a'"]],
    ["stream bad map", "CREATE STREAM s (m MAP<VARCHAR, DOUBLE>) WITH (kafka_topic='t');", ["1:18: column 'm': only MAP<VARCHAR, VARCHAR> is supported"]],
    ["two keys", "CREATE STREAM s (a INT KEY, b INT KEY) WITH (kafka_topic='t');", ["1:29: only one KEY column is allowed (the Kafka record key)"]],
    ["topic not string", "CREATE STREAM s (a INT) WITH (kafka_topic=5);", ["1:43: option 'kafka_topic' must be a string, not 5"]],
    ["timestamp unknown col", "CREATE STREAM s (a INT, ts TIMESTAMP) WITH (kafka_topic='t', timestamp='tss');", ["1:72: timestamp names unknown column 'tss' (did you mean 'ts'?)"]],
    ["timestamp wrong type", "CREATE STREAM s (a VARCHAR) WITH (kafka_topic='t', timestamp='a');", ["1:62: timestamp column 'a' must be TIMESTAMP or BIGINT, not VARCHAR"]],
    ["event_id unknown", "CREATE STREAM s (a INT) WITH (kafka_topic='t', event_id='id');", ["1:57: event_id names unknown column 'id'"]],
    ["retain bad", "CREATE STREAM s (a INT) WITH (kafka_topic='t', retain='forever');", ["1:55: option 'retain' must be a duration such as '2 MINUTES' or '30s', not 'forever'"]],
    ["partitions bad", "CREATE STREAM s (a INT) WITH (kafka_topic='t', partitions=0);", ["1:59: option 'partitions' must be an integer >= 1, not 0"]],
    ["value_format", "CREATE STREAM s (a INT) WITH (kafka_topic='t', value_format='AVRO');", ["1:61: value_format must be 'JSON', not 'AVRO'"]],
    ["unknown option", "CREATE STREAM s (a INT) WITH (kafka_topik='t');", ["1:15: stream 's' needs WITH (kafka_topic = '...')", "1:31: unknown option 'kafka_topik' for a stream (did you mean 'kafka_topic'?); expected kafka_topic, timestamp, event_id, retain, partitions, value_format"]],
    ["dup option", "CREATE STREAM s (a INT) WITH (kafka_topic='t', kafka_topic='u');", ["1:48: option 'kafka_topic' is given twice"]],
    ["view options", "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE VIEW v WITH (late='ignore', max_groups=1.5, kafka_topic=TRUE) AS SELECT a FROM s;", ["2:26: late must be 'drop' or 'dead-letter', not 'ignore'", "2:47: option 'max_groups' must be an integer >= 1, not 1.5", "2:64: option 'kafka_topic' must be a string, not true"]],
    ["alert options", "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al WITH (for='2 fortnights', keep_firing_for=5, severity=1, labels='team payments', flapping_changes=-1, summary='{{b}} and {{ a }}') AS SELECT a FROM s WHERE a > 1;", ["2:27: option 'for' must be a duration such as '2 MINUTES' or '30s', not '2 fortnights'", "2:59: option 'keep_firing_for' must be a duration such as '2 MINUTES' or '30s', not 5", "2:71: option 'severity' must be a string, not 1", "2:81: labels must look like 'team=payments,tier=1' (bad pair 'team payments')", "2:115: option 'flapping_changes' must be an integer >= 1, not -1", "2:127: summary refers to unknown column 'b'"]],
    ["alert labels alertname", "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al WITH (labels='alertname=x') AS SELECT a FROM s;", ["2:30: labels cannot set 'alertname' (it is the alert's name)"]],
    ["duplicate names", "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE VIEW s AS SELECT a FROM s;\nCREATE ALERT s AS SELECT a FROM s;", ["2:13: 's' is already defined at f0.sql:1:15", "3:14: 's' is already defined at f0.sql:1:15"]],
    ["from alert", "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al AS SELECT a FROM s;\nCREATE VIEW v AS SELECT a FROM al;", ["3:32: 'al' is an alert; FROM must name a stream or a view"]],
    ["cycle", "CREATE VIEW a AS SELECT x FROM b;\nCREATE VIEW b AS SELECT x FROM c;\nCREATE VIEW c AS SELECT x FROM a;\nCREATE ALERT d AS SELECT x, y FROM c;", ["1:32: view 'a' is part of a cycle: a -> b -> c -> a", "2:32: view 'b' is part of a cycle: a -> b -> c -> a", "3:32: view 'c' is part of a cycle: a -> b -> c -> a"]],
    ["self", "CREATE VIEW a AS SELECT x FROM a;", ["1:32: view 'a' reads from itself"]],
    ["later view ok", "CREATE ALERT al AS SELECT service, z FROM v2;\nCREATE VIEW v2 AS SELECT host AS service, ZSCORE(n) AS z FROM v1;\nCREATE VIEW v1 AS SELECT host, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;\nCREATE STREAM s (host VARCHAR) WITH (kafka_topic='t');", []],
    ["windowed view columns", "CREATE STREAM s (host VARCHAR) WITH (kafka_topic='t');\nCREATE VIEW v1 AS SELECT host, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;\nCREATE ALERT al WITH (summary='{{host}} {{windowstart}}') AS SELECT host, n, windowstart, WINDOWEND AS we FROM v1 WHERE WINDOWEND > 0 HAVING n > 1;", []],
  ];
  test.each(cases)('%s', (_name, text, expected) => {
    expect(errors(text)).toEqual(expected);
  });
});

describe('valid programs', () => {
  test('the SPEC example checks, with the output schemas SPEC describes', () => {
    const p = program(fixture('spec-example.sql'));
    expect(p.streams.map((s) => [s.name, s.options])).toEqual([
      ['metrics', { topic: 'telemetry.metrics', timestampColumn: 'event_time', eventIdColumn: 'event_id', retainMs: null, partitions: null, valueFormat: 'JSON' }],
    ]);
    const view = query(p, 'latency_by_service');
    expect(view.output).toEqual([
      { name: 'service', type: 'VARCHAR' },
      { name: 'requests', type: 'BIGINT' },
      { name: 'avg_ms', type: 'DOUBLE' },
      { name: 'p99_ms', type: 'DOUBLE' },
    ]);
    expect(view).toMatchObject({ kind: 'view', aggregates: true, windowed: true, groupKey: ['service'], sourceGroupKey: null, source: { kind: 'stream', name: 'metrics' } });
    expect(view.groupBy.map((g) => formatExpr(g))).toEqual(["labels['service']"]);
    expect(view.kind === 'view' && view.options).toEqual({ topic: 'curated.latency', late: 'drop', maxGroups: null });
    const alert = query(p, 'latency_anomaly');
    expect(alert.output).toEqual([
      { name: 'service', type: 'VARCHAR' },
      { name: 'p99_ms', type: 'DOUBLE' },
      { name: 'z', type: 'DOUBLE' },
    ]);
    expect(alert).toMatchObject({ kind: 'alert', aggregates: false, windowed: false, windowBoundsFromSource: true, groupKey: ['service'], sourceGroupKey: ['service'] });
    expect([...alert.input.keys()]).toEqual(['service', 'requests', 'avg_ms', 'p99_ms', 'windowstart', 'windowend']);
    expect(alert.kind === 'alert' && alert.options).toMatchObject({ forMs: 120_000, keepFiringForMs: 0, severity: 'page', labels: {} });
  });

  test('every other form of SPEC section 3 checks', () => {
    const p = program(fixture('spec-fragments.sql'));
    expect(p.streams[0]?.columns[0]).toMatchObject({ name: 'id', type: 'BIGINT', key: true });
    const hot = query(p, 'cpu_hot');
    expect(hot.kind === 'alert' && hot.options).toEqual({
      forMs: 300_000, keepFiringForMs: 60_000, quietPeriodMs: 600_000, severity: 'warning', summary: '{{host}} is hot',
      description: 'cpu {{value}}', labels: { team: 'infra', tier: '1' }, flappingChanges: 4, flappingWindow: 10,
    });
    expect(query(p, 'cpu_math').output.map((c) => `${c.name}:${c.type}`)).toEqual([
      'a:DOUBLE', 'r1:BIGINT', 'r2:DOUBLE', 'f:DOUBLE', 'c:DOUBLE', 's:DOUBLE', 'ln:DOUBLE', 'lg:DOUBLE', 'e:DOUBLE',
      'p:DOUBLE', 'g:DOUBLE', 'l:DOUBLE', 'h:VARCHAR', 'lo:VARCHAR', 'up:VARCHAR', 'cc:VARCHAR', 'sub:VARCHAR',
      'bang:VARCHAR', 'code:INT', 'm:DOUBLE', 'missing:BOOLEAN',
    ]);
    expect(query(p, 'cpu_score')).toMatchObject({ aggregates: false, groupKey: [], sourceGroupKey: null });
  });

  test('the queries/ shipped with seismo check', () => {
    const dir = new URL('../../queries/', import.meta.url);
    const names = ['01-streams.sql', '02-views.sql', '03-alerts.sql'];
    const texts = names.map((n) => readFileSync(new URL(n, dir), 'utf8'));
    const result = check(texts.map((t, i) => parse(names[i]!, t)));
    expect(result.diagnostics).toEqual([]);
  });

  test('output names: alias, bare column name, col_N by position; * expands in place', () => {
    const p = program(
      "CREATE STREAM s (a INT, b VARCHAR) WITH (kafka_topic = 't');\n" +
        'CREATE VIEW v AS SELECT a * 2, s.b AS bee, UPPER(b), * FROM s;\nCREATE VIEW w AS SELECT s.a FROM s;',
    );
    expect(query(p, 'v').output).toEqual([
      { name: 'col_0', type: 'INT' },
      { name: 'bee', type: 'VARCHAR' },
      { name: 'col_2', type: 'VARCHAR' },
      { name: 'a', type: 'INT' },
      { name: 'b', type: 'VARCHAR' },
    ]);
    expect(query(p, 'v').outputExprs.map((e) => formatExpr(e))).toEqual(['(a * 2)', 's.b', 'UPPER(b)', 'a', 'b']);
    expect(query(p, 'w').output).toEqual([{ name: 'a', type: 'INT' }]);
  });

  test('views may be defined after the queries that read them, in any file order', () => {
    const p = program(
      'CREATE ALERT hot AS SELECT host, score FROM scored HAVING score > 0.9;',
      "CREATE VIEW scored AS SELECT host, ANOMALY_SCORE(n) AS score FROM per_host;\nCREATE STREAM cpu (host VARCHAR, value DOUBLE) WITH (kafka_topic = 'cpu');",
      'CREATE VIEW per_host AS SELECT host, COUNT(*) AS n FROM cpu WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host EMIT FINAL;',
    );
    expect(p.queries.map((q) => q.name)).toEqual(['per_host', 'scored', 'hot']);
    expect(query(p, 'scored')).toMatchObject({ groupKey: ['host'], sourceGroupKey: ['host'], readerWindowed: true });
  });

  test('GROUP BY and HAVING may use SELECT aliases; the program exposes them resolved', () => {
    const p = program(`${STREAM}CREATE VIEW v AS SELECT labels['service'] AS service, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY service HAVING n > 5;`);
    const v = query(p, 'v');
    expect(v.groupBy.map((g) => formatExpr(g))).toEqual(["labels['service']"]);
    expect(v.having && formatExpr(v.having)).toBe('(COUNT(*) > 5)');
    expect(v.groupKey).toEqual(['service']);
  });

  test('a qualified GROUP BY matches an unqualified SELECT item', () => {
    const p = program(`${STREAM}CREATE VIEW v AS SELECT name, COUNT(*) AS n FROM metrics m WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY m.name;`);
    expect(query(p, 'v').groupKey).toEqual(['name']);
  });

  test('names that are keywords elsewhere work as columns', () => {
    program(
      "CREATE STREAM input (key VARCHAR KEY, value DOUBLE, timestamp BIGINT, count INT, window INT, partition INT) WITH (kafka_topic = 'i', timestamp = 'timestamp');\n" +
        'CREATE VIEW v AS SELECT key, SUM(value) AS total, MAX(count) AS c, MAX(window) AS w, MAX(partition) AS p FROM input WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY key;',
    );
  });
});

describe('queries reading views', () => {
  const base =
    "CREATE STREAM s (host VARCHAR, value DOUBLE) WITH (kafka_topic = 't');\n" +
    'CREATE VIEW per_host AS SELECT host, AVG(value) AS avg_v FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;\n';

  test("a view's group key must be selected by a query reading it without aggregating", () => {
    expect(errors(`${base}CREATE ALERT a AS SELECT avg_v FROM per_host HAVING avg_v > 1;`)).toEqual([
      "3:37: 'per_host' is grouped by 'host': select it so each row keeps its group",
    ]);
  });

  test('WINDOWSTART/WINDOWEND of a windowed view are columns usable anywhere', () => {
    const p = program(`${base}CREATE ALERT a AS SELECT host AS h, WINDOWSTART AS ws FROM per_host WHERE WINDOWEND > 0 HAVING avg_v > 1;`);
    expect(query(p, 'a')).toMatchObject({ windowBoundsFromSource: true, groupKey: ['h'], sourceGroupKey: ['host'] });
    expect(query(p, 'a').having && formatExpr(query(p, 'a').having!)).toBe('(avg_v > 1)');
  });

  test('re-aggregating a view regroups it', () => {
    const p = program(`${base}CREATE VIEW hourly AS SELECT host, MAX(avg_v) AS peak FROM per_host WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY host;`);
    expect(query(p, 'hourly')).toMatchObject({ aggregates: true, groupKey: ['host'], sourceGroupKey: ['host'], windowBoundsFromSource: false });
  });

  test('an alert needs no HAVING (every row it emits is active)', () => {
    program("CREATE STREAM s (v DOUBLE) WITH (kafka_topic = 't');\nCREATE ALERT a AS SELECT v FROM s WHERE v > 100;");
  });

  test('a long expression (the parser caps height at 1000) checks without exhausting the stack', () => {
    const terms = Array.from({ length: 990 }, () => 'value').join(' + ');
    program(`${STREAM}CREATE VIEW v AS SELECT ${terms} AS total FROM metrics WHERE ${terms} > 0;`);
  });
});

describe('several errors in one run', () => {
  test('every error of every statement and file is reported, in file and position order', () => {
    const a = `${STREAM}CREATE VIEW v AS SELECT vlaue, COUNT(*) AS n FROM metrics WHERE name = 1 WINDOW TUMBLING (SIZE 1 MINUTE);
CREATE ALERT al WITH (for = 'soon') AS SELECT ZSCROE(value) AS z FROM metrics WHERE AVG(value) > 1 EMIT FINAL;`;
    const b = 'CREATE VIEW w AS SELECT x FROM nowhere;\nCREATE VIEW v AS SELECT value FROM metrics;';
    expect(errors(a, b)).toEqual([
      "f0.sql:2:25: unknown column 'vlaue' (did you mean 'value'?)",
      'f0.sql:2:70: cannot compare VARCHAR with INT',
      "f0.sql:3:29: option 'for' must be a duration such as '2 MINUTES' or '30s', not 'soon'",
      "f0.sql:3:47: unknown function 'ZSCROE' (did you mean 'ZSCORE'?)",
      'f0.sql:3:85: aggregate function AVG is not allowed in WHERE',
      'f0.sql:3:100: EMIT FINAL needs a WINDOW clause (it emits one row per window when the window closes)',
      "f1.sql:1:32: unknown stream or view 'nowhere'",
      "f1.sql:2:13: 'v' is already defined at f0.sql:2:13",
    ]);
  });
});

describe('helpers', () => {
  test.each([
    ['team=payments,tier=1', { team: 'payments', tier: '1' }],
    [' team = payments , tier=1 ', { team: 'payments', tier: '1' }],
    ['', {}],
    ['url=http://x/?a=b', { url: 'http://x/?a=b' }],
    ['team', "labels must look like 'team=payments,tier=1' (bad pair 'team')"],
    ['1x=y', "labels must look like 'team=payments,tier=1' (bad pair '1x=y')"],
    ['a=1,a=2', "label 'a' is given twice"],
  ])('parseLabels(%j)', (text, expected) => {
    expect(parseLabels(text)).toEqual(expected);
  });

  test.each([
    ["labels['k']", "labels['k']"],
    ['a + b * -c', '(a + (b * (-c)))'],
    ['count(distinct x)', 'COUNT(DISTINCT x)'],
    ['earliest_by_offset(x)', 'EARLIEST(x)'],
    ["CASE WHEN a IS NOT NULL THEN 'it''s' END", "CASE WHEN (a IS NOT NULL) THEN 'it''s' END"],
    ['x NOT IN (1, 2)', '(x NOT IN (1, 2))'],
    ['ewma(x, 0.5, warmup => 3)', 'EWMA(x, 0.5, warmup => 3)'],
  ])('formatExpr(%s)', (text, expected) => {
    expect(formatExpr(parseExpression(text))).toBe(expected);
  });
});
