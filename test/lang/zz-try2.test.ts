import { test } from 'vitest';
import { parse } from '../../src/lang/parser.js';
import { check } from '../../src/lang/check.js';
const cases: [string, string][] = [
  ['stream no topic', "CREATE STREAM s (a INT);"],
  ['stream dup column', "CREATE STREAM s (a INT, A DOUBLE) WITH (kafka_topic='t');"],
  ['stream bad map', "CREATE STREAM s (m MAP<VARCHAR, DOUBLE>) WITH (kafka_topic='t');"],
  ['two keys', "CREATE STREAM s (a INT KEY, b INT KEY) WITH (kafka_topic='t');"],
  ['topic not string', "CREATE STREAM s (a INT) WITH (kafka_topic=5);"],
  ['timestamp unknown col', "CREATE STREAM s (a INT, ts TIMESTAMP) WITH (kafka_topic='t', timestamp='tss');"],
  ['timestamp wrong type', "CREATE STREAM s (a VARCHAR) WITH (kafka_topic='t', timestamp='a');"],
  ['event_id unknown', "CREATE STREAM s (a INT) WITH (kafka_topic='t', event_id='id');"],
  ['retain bad', "CREATE STREAM s (a INT) WITH (kafka_topic='t', retain='forever');"],
  ['partitions bad', "CREATE STREAM s (a INT) WITH (kafka_topic='t', partitions=0);"],
  ['value_format', "CREATE STREAM s (a INT) WITH (kafka_topic='t', value_format='AVRO');"],
  ['unknown option', "CREATE STREAM s (a INT) WITH (kafka_topik='t');"],
  ['dup option', "CREATE STREAM s (a INT) WITH (kafka_topic='t', kafka_topic='u');"],
  ['view options', "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE VIEW v WITH (late='ignore', max_groups=1.5, kafka_topic=TRUE) AS SELECT a FROM s;"],
  ['alert options', "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al WITH (for='2 fortnights', keep_firing_for=5, severity=1, labels='team payments', flapping_changes=-1, summary='{{b}} and {{ a }}') AS SELECT a FROM s WHERE a > 1;"],
  ['alert labels alertname', "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al WITH (labels='alertname=x') AS SELECT a FROM s;"],
  ['duplicate names', "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE VIEW s AS SELECT a FROM s;\nCREATE ALERT s AS SELECT a FROM s;"],
  ['from alert', "CREATE STREAM s (a INT) WITH (kafka_topic='t');\nCREATE ALERT al AS SELECT a FROM s;\nCREATE VIEW v AS SELECT a FROM al;"],
  ['cycle', "CREATE VIEW a AS SELECT x FROM b;\nCREATE VIEW b AS SELECT x FROM c;\nCREATE VIEW c AS SELECT x FROM a;\nCREATE ALERT d AS SELECT x, y FROM c;"],
  ['self', "CREATE VIEW a AS SELECT x FROM a;"],
  ['later view ok', "CREATE ALERT al AS SELECT service, z FROM v2;\nCREATE VIEW v2 AS SELECT host AS service, ZSCORE(n) AS z FROM v1;\nCREATE VIEW v1 AS SELECT host, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;\nCREATE STREAM s (host VARCHAR) WITH (kafka_topic='t');"],
  ['windowed view columns', "CREATE STREAM s (host VARCHAR) WITH (kafka_topic='t');\nCREATE VIEW v1 AS SELECT host, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY host;\nCREATE ALERT al WITH (summary='{{host}} {{windowstart}}') AS SELECT host, n, windowstart, WINDOWEND AS we FROM v1 WHERE WINDOWEND > 0 HAVING n > 1;"],
];
test('try', () => {
  for (const [name, text] of cases) {
    const { diagnostics, program } = check([parse('q.sql', text)]);
    console.log(`${name} => ${diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`).join(' | ') || 'OK'}`);
    if (name.endsWith('ok') || name.startsWith('windowed')) console.log(JSON.stringify(program.queries.map((q) => ({ n: q.name, out: q.output, gk: q.groupKey, sgk: q.sourceGroupKey, rw: q.readerWindowed, wfs: q.windowBoundsFromSource, input: [...q.input] }))));
  }
});
