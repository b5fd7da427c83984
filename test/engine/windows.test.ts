import { describe, expect, it } from 'vitest';
import { STREAM, compact, ev, run } from './helpers.js';

describe('tumbling windows', () => {
  const sql = `${STREAM}
    CREATE VIEW c AS SELECT k, COUNT(*) AS n FROM s
    WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY k EMIT CHANGES;`;

  it('emits every change, with windows aligned to the epoch', () => {
    expect(compact(run(sql, [ev(1), ev(5), ev(12)]))).toEqual([
      'row c [0,10] {"k":"a","n":1}',
      'row c [0,10] {"k":"a","n":2}',
      'row c [10,20] {"k":"a","n":1}',
    ]);
  });

  it('accepts out-of-order events within grace and drops them beyond it', () => {
    // 11 keeps [0,10) open (close at 12); 9 is in time. 13 closes it; 8 is then late.
    expect(compact(run(sql, [ev(1), ev(11), ev(9), ev(13), ev(8)]))).toEqual([
      'row c [0,10] {"k":"a","n":1}',
      'row c [10,20] {"k":"a","n":1}',
      'row c [0,10] {"k":"a","n":2}',
      'row c [10,20] {"k":"a","n":2}',
    ]);
  });
});

describe('EMIT FINAL', () => {
  it('with grace 0 emits when the watermark reaches the window end', () => {
    const sql = `${STREAM}
      CREATE VIEW f AS SELECT k, COUNT(*) AS n FROM s
      WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT FINAL;`;
    expect(compact(run(sql, [ev(1), ev(2), ev(9.999)]))).toEqual([]);
    expect(compact(run(sql, [ev(1), ev(2), ev(10)]))).toEqual(['row f [0,10] {"k":"a","n":2}']);
  });

  it('waits for the grace period', () => {
    const sql = `${STREAM}
      CREATE VIEW f AS SELECT k, COUNT(*) AS n FROM s
      WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k EMIT FINAL;`;
    expect(compact(run(sql, [ev(1), ev(14), ev(3)]))).toEqual([]);
    expect(compact(run(sql, [ev(1), ev(14), ev(3), ev(15)]))).toEqual(['row f [0,10] {"k":"a","n":2}']);
  });
});

describe('hopping windows', () => {
  const sql = `${STREAM}
    CREATE VIEW h AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s
    WINDOW HOPPING (SIZE 5 SECONDS, ADVANCE BY 2 SECONDS) GROUP BY k;`;

  it('creates no window with a negative start near zero', () => {
    expect(compact(run(sql, [ev(1)]))).toEqual(['row h [0,5] {"k":"a","n":1,"total":1}']);
  });

  it('updates every window holding the event, merging panes', () => {
    expect(compact(run(sql, [ev(1, 'a', 1), ev(4.5, 'a', 2)]))).toEqual([
      'row h [0,5] {"k":"a","n":1,"total":1}',
      'row h [0,5] {"k":"a","n":2,"total":3}',
      'row h [2,7] {"k":"a","n":1,"total":2}',
      'row h [4,9] {"k":"a","n":1,"total":2}',
    ]);
  });
});

describe('session windows', () => {
  const sql = `${STREAM}
    CREATE VIEW ss AS SELECT k, COUNT(*) AS n FROM s
    WINDOW SESSION (5 SECONDS, GRACE PERIOD 30 SECONDS) GROUP BY k;`;

  it('span first to last event and retract the sessions they absorb', () => {
    expect(compact(run(sql, [ev(0), ev(3)]))).toEqual([
      'row ss [0,0] {"k":"a","n":1}',
      'retract ss [0,0] {"k":"a"}',
      'row ss [0,3] {"k":"a","n":2}',
    ]);
  });

  it('merge two sessions when a late event bridges them', () => {
    expect(compact(run(sql, [ev(0), ev(20), ev(10)]))).toEqual([
      'row ss [0,0] {"k":"a","n":1}',
      'row ss [20,20] {"k":"a","n":1}',
      'row ss [10,10] {"k":"a","n":1}',
    ]);
    expect(compact(run(sql, [ev(0), ev(8), ev(4)]))).toEqual([
      'row ss [0,0] {"k":"a","n":1}',
      'row ss [8,8] {"k":"a","n":1}',
      'retract ss [0,0] {"k":"a"}',
      'retract ss [8,8] {"k":"a"}',
      'row ss [0,8] {"k":"a","n":3}',
    ]);
  });
});

describe('HAVING', () => {
  it('retracts a group that stops matching', () => {
    const sql = `${STREAM}
      CREATE VIEW hv AS SELECT k, SUM(v) AS total FROM s
      WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k HAVING SUM(v) > 1;`;
    expect(compact(run(sql, [ev(1, 'a', 2), ev(2, 'a', -5), ev(3, 'a', 10)]))).toEqual([
      'row hv [0,10] {"k":"a","total":2}',
      'retract hv [0,10] {"k":"a"}',
      'row hv [0,10] {"k":"a","total":7}',
    ]);
  });
});

describe('NULL handling', () => {
  it('aggregates skip NULL inputs and NULL group keys are dropped', () => {
    const sql = `${STREAM}
      CREATE VIEW nn AS SELECT k, COUNT(*) AS rows_, COUNT(v) AS vals, SUM(v) AS total, AVG(v) AS mean FROM s
      WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k EMIT FINAL;`;
    const out = run(sql, [ev(1, 'a', null), ev(2, 'a', 4), { t: 3000, k: null, v: 1 }, ev(2, 'a', null), ev(30)]);
    expect(compact(out)).toEqual(['row nn [0,10] {"k":"a","rows_":3,"vals":1,"total":4,"mean":4}']);
  });
});

describe('determinism', () => {
  it('gives identical output for identical input', () => {
    const sql = `${STREAM}
      CREATE VIEW d AS SELECT k, COUNT(*) AS n, PERCENTILE(v, 0.9) AS p90 FROM s
      WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY k;`;
    const rows = Array.from({ length: 500 }, (_, i) => ev((i * 7919) % 100, `k${i % 7}`, (i * 31) % 97));
    expect(JSON.stringify(run(sql, rows))).toBe(JSON.stringify(run(sql, rows)));
  });
});

describe('record timestamps in replay files', () => {
  it('uses a rowtime field when the stream has no timestamp column (ksqlDB hopping "count" case)', () => {
    const sql = `CREATE STREAM t (id INT) WITH (kafka_topic = 't');
      CREATE VIEW s2 AS SELECT id, COUNT(*) AS count FROM t WINDOW HOPPING (SIZE 5 SECONDS, ADVANCE BY 1 SECONDS) GROUP BY id;`;
    const out = compact(run(sql, [{ id: 0, rowtime: 10345 }, { id: 0, rowtime: 13251 }]));
    expect(out).toEqual([
      'row s2 [6,11] {"id":0,"count":1}',
      'row s2 [7,12] {"id":0,"count":1}',
      'row s2 [8,13] {"id":0,"count":1}',
      'row s2 [9,14] {"id":0,"count":1}',
      'row s2 [10,15] {"id":0,"count":1}',
      'row s2 [9,14] {"id":0,"count":2}',
      'row s2 [10,15] {"id":0,"count":2}',
      'row s2 [11,16] {"id":0,"count":1}',
      'row s2 [12,17] {"id":0,"count":1}',
      'row s2 [13,18] {"id":0,"count":1}',
    ]);
  });
});

describe('hostile input', () => {
  it('map access reads own keys only', () => {
    const sql = `CREATE STREAM m (t BIGINT, labels MAP<VARCHAR, VARCHAR>) WITH (kafka_topic = 'm', timestamp = 't');
      CREATE VIEW v AS SELECT labels['constructor'] AS c, labels['__proto__'] AS p, labels['a'] AS a FROM m;`;
    const out = run(sql, [{ t: 1, labels: { a: 'x' } }, { t: 2, labels: JSON.parse('{"__proto__":"y","constructor":"z"}') }]);
    expect(out.map((r) => (r.kind === 'row' ? r.row : null))).toEqual([
      { c: null, p: null, a: 'x' },
      { c: 'z', p: 'y', a: null },
    ]);
  });
});

describe('ksqlDB suppression (EMIT FINAL) cases', () => {
  const STREAM_ROWTIME = `CREATE STREAM input (id VARCHAR, col1 VARCHAR) WITH (kafka_topic = 'input_topic');`;
  const at = (id: string, rowtime: number, col1: string | null = 'v1') => ({ id, col1, rowtime });
  const rows = (out: ReturnType<typeof run>) =>
    out.map((r) => (r.kind === 'row' ? `${r.row.id} ${Date.parse(r.window!.start)}-${Date.parse(r.window!.end)} ${r.row.count}` : r.kind));

  it('session windows: an event that would not extend a session past watermark - grace is late', () => {
    const sql = `${STREAM_ROWTIME} CREATE VIEW output AS SELECT id, COUNT(*) AS count FROM input
      WINDOW SESSION (5 MILLISECONDS, GRACE PERIOD 0 MILLISECONDS) GROUP BY id EMIT FINAL;`;
    const out = run(sql, [at('k1', 0), at('k1', 5), at('k1', 1), at('k2', 6), at('k1', 5), at('k1', 30)]);
    expect(rows(out)).toEqual(['k1 0-5 3', 'k2 6-6 1']);
  });

  it('tumbling windows with a large jump', () => {
    const sql = `${STREAM_ROWTIME} CREATE VIEW output AS SELECT id, COUNT(*) AS count FROM input
      WINDOW TUMBLING (SIZE 2 MILLISECONDS, GRACE PERIOD 2 MILLISECONDS) GROUP BY id EMIT FINAL;`;
    const out = run(sql, [0, 1, 2, 0, 3, 0, 4, 0, 30].map((t) => at('k1', t)));
    expect(rows(out)).toEqual(['k1 0-2 4', 'k1 2-4 2', 'k1 4-6 1']);
  });

  it('hopping windows', () => {
    const sql = `${STREAM_ROWTIME} CREATE VIEW output AS SELECT id, COUNT(*) AS count FROM input
      WINDOW HOPPING (SIZE 5 MILLISECONDS, ADVANCE BY 2 MILLISECONDS, GRACE PERIOD 1 MILLISECONDS) GROUP BY id EMIT FINAL;`;
    const out = run(sql, [0, 1, 2, 1, 6, 5, 10].map((t) => at('k1', t)));
    expect(rows(out)).toEqual(['k1 0-5 4', 'k1 2-7 3', 'k1 4-9 2']);
  });

  it('null values and null keys (a null rowtime falls back to the position in the file)', () => {
    const sql = `${STREAM_ROWTIME} CREATE VIEW output AS SELECT id, COUNT(col1) AS count FROM input
      WINDOW TUMBLING (SIZE 2 MILLISECONDS, GRACE PERIOD 1 MILLISECONDS) GROUP BY id EMIT FINAL;`;
    const out = run(sql, [
      at('k1', 0, null), at('k1', 1), at('k1', 1, null), at('k1', 2),
      { id: null, col1: 'v1', rowtime: 1 }, { id: 'k1', col1: 'v1', rowtime: null }, at('k1', 5),
    ]);
    expect(rows(out)).toEqual(['k1 0-2 1', 'k1 2-4 1']);
  });
});

describe('ksqlDB having.json', () => {
  it('every windowed update that fails HAVING is a tombstone', () => {
    const sql = `CREATE STREAM test (id BIGINT, name VARCHAR, value BIGINT) WITH (kafka_topic = 'test_topic');
      CREATE VIEW t1 AS SELECT id, SUM(value) AS sum FROM test WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY id HAVING SUM(value) > 100;`;
    const out = compact(run(sql, [
      { id: 0, name: 'zero', value: 0, rowtime: 0 },
      { id: 1, name: 'one', value: 100, rowtime: 0 },
      { id: 1, name: 'one', value: 5, rowtime: 0 },
    ]));
    expect(out).toEqual(['retract t1 [0,30] {"id":0}', 'retract t1 [0,30] {"id":1}', 'row t1 [0,30] {"id":1,"sum":105}']);
  });

  it('an unwindowed table retracts a group that stops matching', () => {
    const sql = `CREATE STREAM test (id BIGINT, name VARCHAR, value BIGINT) WITH (kafka_topic = 'test_topic');
      CREATE VIEW avg AS SELECT id, SUM(value) / COUNT(id) AS avg FROM test GROUP BY id HAVING SUM(value) / COUNT(id) > 25;`;
    const out = compact(run(sql, [50, 10, 15].map((value) => ({ id: 0, name: 'zero', value, rowtime: 0 })).concat(
      [100, 10].map((value) => ({ id: 1, name: 'one', value, rowtime: 0 })))));
    expect(out).toEqual(['row avg {"id":0,"avg":50}', 'row avg {"id":0,"avg":30}', 'retract avg {"id":0}', 'row avg {"id":1,"avg":100}', 'row avg {"id":1,"avg":55}']);
  });
});

describe('ksqlDB window-bounds.json', () => {
  const S = `CREATE STREAM test (id BIGINT) WITH (kafka_topic = 'test_topic');`;
  it('WINDOWSTART/WINDOWEND of sessions, qualified, and in arithmetic (BIGINT, as in ksqlDB)', () => {
    expect(compact(run(`${S} CREATE VIEW s2 AS SELECT id, WindowStart AS wstart, WindowEnd AS wend, COUNT(1) AS count FROM test WINDOW SESSION (30 SECONDS) GROUP BY id;`,
      [{ id: 0, rowtime: 0 }, { id: 0, rowtime: 10000 }]))).toEqual([
      'row s2 [0,0] {"id":0,"wstart":0,"wend":0,"count":1}',
      'retract s2 [0,0] {"id":0}',
      'row s2 [0,10] {"id":0,"wstart":0,"wend":10000,"count":2}',
    ]);
    expect(compact(run(`${S} CREATE VIEW s2 AS SELECT id, Test.WindowStart / 2, WindowEnd / id, COUNT(1) * WINDOWEND AS c FROM test WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY id;`,
      [{ id: 2, rowtime: 0 }, { id: 100, rowtime: 2000 }, { id: 2, rowtime: 4999 }]))).toEqual([
      'row s2 [0,30] {"id":2,"col_1":0,"col_2":15000,"c":30000}',
      'row s2 [0,30] {"id":100,"col_1":0,"col_2":300,"c":30000}',
      'row s2 [0,30] {"id":2,"col_1":0,"col_2":15000,"c":60000}',
    ]);
  });
});
