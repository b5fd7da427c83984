import { describe, expect, it } from 'vitest';
import { compileText } from '../../src/program.js';
import { rowColumns } from '../../src/plan.js';

const STREAM = `CREATE STREAM metrics (
  host VARCHAR KEY, event_id VARCHAR, event_time TIMESTAMP, source VARCHAR, schema_version INT,
  name VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>
) WITH (kafka_topic = 'm', timestamp = 'event_time', event_id = 'event_id'`;

const unread = (options: string, ...queries: string[]) => {
  const plan = compileText(`${STREAM}${options});\n${queries.join(';\n')};`);
  return plan.streams[0]!.unread;
};

describe('unread columns: what no query of a stream names', () => {
  it('leaves out the columns no query names; never the timestamp, event id or KEY columns', () => {
    expect(unread('', "CREATE VIEW v AS SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name")).toEqual([
      'source',
      'schema_version',
      'value',
      'labels',
    ]);
  });

  it('counts every clause: WHERE, SELECT, GROUP BY, HAVING, PARTITION BY, function and map arguments', () => {
    expect(
      unread(
        '',
        "CREATE VIEW a AS SELECT labels['series'] AS s, AVG(value) AS v FROM metrics WHERE source LIKE 'x%' WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY labels['series'] HAVING MAX(schema_version) > 1",
      ),
    ).toEqual(['name']);
    expect(unread('', 'CREATE VIEW p AS SELECT value FROM metrics PARTITION BY name')).toEqual(['source', 'schema_version', 'labels']);
    expect(unread('', "CREATE ALERT x AS SELECT m.value FROM metrics m WHERE CASE WHEN m.name = 'a' THEN true ELSE false END")).toEqual(['source', 'schema_version', 'labels']);
  });

  it('unites the queries of the stream; views of views read the view, not the stream', () => {
    expect(
      unread(
        '',
        'CREATE VIEW a AS SELECT name, COUNT(*) AS n FROM metrics WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY name',
        'CREATE ALERT b AS SELECT name, n FROM a WHERE n > 5',
        'CREATE VIEW c AS SELECT value FROM metrics',
      ),
    ).toEqual(['source', 'schema_version', 'labels']);
  });

  it('reads every column for SELECT *, and for a stream that retains its raw events', () => {
    expect(unread('', 'CREATE VIEW a AS SELECT * FROM metrics', 'CREATE VIEW c AS SELECT value FROM metrics')).toEqual([]);
    expect(unread(", retain = '1 DAY'", 'CREATE VIEW c AS SELECT value FROM metrics')).toEqual([]);
  });

  it('rowColumns: the declared columns less the unread ones, in declared order', () => {
    const plan = compileText(`${STREAM});\nCREATE VIEW c AS SELECT value, name FROM metrics;`).streams[0]!;
    expect(rowColumns(plan).map((c) => c.name)).toEqual(['host', 'event_id', 'event_time', 'name', 'value']);
  });
});
