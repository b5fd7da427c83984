import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calledFunctions, createQueryEngine, type QueryEngine } from '../../src/api/query.js';
import { SeismoError } from '../../src/errors.js';
import { openStore, type Store } from '../../src/sinks/store.js';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
let dir: string;
let store: Store;
let engine: QueryEngine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seismo-query-'));
  store = await openStore(join(dir, 'seismo.duckdb'), { log: () => undefined });
  await store.ensureViewTable('latency', [
    { name: 'service', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'p99', type: 'DOUBLE' },
    { name: 'tags', type: 'MAP' },
  ]);
  const rows = Array.from({ length: 5 }, (_, i) => ({
    window_start: T0 + i * 60_000,
    window_end: T0 + (i + 1) * 60_000,
    service: i % 2 ? 'checkout' : 'search',
    n: 100 + i,
    p99: 10 * i + 0.5,
    tags: { env: 'prod' },
  }));
  await store.commitCheckpoint({ viewRows: new Map([['latency', rows]]), alerts: [], state: ['{}'], offsets: [] });
  engine = await createQueryEngine(store, { rowLimit: 100, timeoutMs: 1500 });
});

afterAll(async () => {
  await engine?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(sql: string): Promise<SeismoError> {
  try {
    await engine.run(sql);
  } catch (err) {
    expect(err).toBeInstanceOf(SeismoError);
    expect((err as SeismoError).code).toBe('QUERY_REJECTED');
    expect((err as SeismoError).message).not.toContain('\n');
    return err as SeismoError;
  }
  throw new Error(`query was not refused: ${sql}`);
}

describe('query engine', () => {
  it('answers a normal query with typed columns and JSON values', async () => {
    const r = await engine.run(
      "SELECT window_start, service, n, p99, tags->>'env' AS env, sum(n) OVER () AS total, [1, 2] AS l, {'a': 1} AS s, MAP {'k': 'v'} AS m FROM view_latency ORDER BY window_start LIMIT 2",
    );
    expect(r.columns).toEqual([
      { name: 'window_start', type: 'TIMESTAMP' },
      { name: 'service', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
      { name: 'p99', type: 'DOUBLE' },
      { name: 'env', type: 'VARCHAR' },
      { name: 'total', type: 'HUGEINT' },
      { name: 'l', type: 'INTEGER[]' },
      { name: 's', type: 'STRUCT("a" INTEGER)' },
      { name: 'm', type: 'MAP(VARCHAR, VARCHAR)' },
    ]);
    expect(r.rows).toEqual([
      ['2026-11-24T10:00:00.000Z', 'search', 100, 0.5, 'prod', 510, [1, 2], { a: 1 }, { k: 'v' }],
      ['2026-11-24T10:01:00.000Z', 'checkout', 101, 10.5, 'prod', 510, [1, 2], { a: 1 }, { k: 'v' }],
    ]);
    expect(r.truncated).toBeUndefined();
  });

  it('returns JSON columns as the JSON they hold', async () => {
    const r = await engine.run("SELECT tags, '[1,{\"a\":null}]'::JSON AS j FROM view_latency LIMIT 1");
    expect(r.columns).toEqual([{ name: 'tags', type: 'JSON' }, { name: 'j', type: 'JSON' }]);
    expect(r.rows).toEqual([[{ env: 'prod' }, [1, { a: null }]]]);
  });

  it('converts big integers beyond 2^53 to strings and keeps exact ones as numbers', async () => {
    const r = await engine.run('SELECT 9007199254740993::BIGINT AS big, 42::HUGEINT AS small, 1.25::DECIMAL(5,2) AS d, NULL AS z');
    expect(r.rows).toEqual([['9007199254740993', 42, 1.25, null]]);
  });

  it.each([
    'WITH x AS (SELECT count(*) AS c FROM view_latency) SELECT c FROM x',
    'DESCRIBE view_latency',
    'SHOW TABLES',
    'SUMMARIZE view_latency',
    'EXPLAIN SELECT * FROM view_latency',
    'FROM alerts',
    'PRAGMA show_tables',
    '  select 1 -- a trailing comment with a ; in it',
  ])('allows %s', async (sql) => {
    await expect(engine.run(sql)).resolves.toHaveProperty('columns');
  });

  const hostile: [string, string, RegExp][] = [
    ['read a local file', "SELECT * FROM read_csv('/etc/passwd')", /disabled by configuration/],
    ['read_text', "SELECT * FROM read_text('/etc/passwd')", /disabled by configuration/],
    ['read_parquet over the network', "SELECT * FROM read_parquet('https://example.com/x.parquet')", /disabled by configuration/],
    ['glob the file system', "SELECT * FROM glob('/*')", /disabled by configuration/],
    ['COPY ... TO', "COPY view_latency TO '/tmp/seismo-leak.csv'", /only SELECT.*not COPY|disabled by configuration/],
    ['COPY (query) TO', "COPY (SELECT 1) TO '/tmp/seismo-leak.csv'", /only SELECT.*not COPY|disabled by configuration/],
    ['EXPORT DATABASE', "EXPORT DATABASE '/tmp/seismo-export'", /only SELECT.*not EXPORT|disabled by configuration/],
    ['ATTACH', "ATTACH '/tmp/other.duckdb' AS other", /only SELECT.*not ATTACH|disabled by configuration/],
    ['DETACH', 'DETACH other', /only SELECT.*not DETACH|not found|does not exist/],
    ['INSTALL httpfs', 'INSTALL httpfs', /only SELECT.*not (LOAD|EXTENSION)|disabled/],
    ['LOAD httpfs', 'LOAD httpfs', /only SELECT.*not LOAD|disabled/],
    ['SET external access back on', 'SET enable_external_access = true', /only SELECT.*not SET|locked/],
    ['RESET the lock', 'RESET lock_configuration', /only SELECT.*not SET|locked/],
    ['PRAGMA that changes state', 'PRAGMA enable_profiling', /only SELECT.*not PRAGMA|not allowed/],
    ['two statements', 'SELECT 1; DROP TABLE alerts', /exactly one statement is allowed, found 2/],
    ['a statement hidden after a comment', 'SELECT 1 /* x */; DELETE FROM alerts', /exactly one statement is allowed, found 2/],
    ['CREATE TABLE', 'CREATE TABLE t AS SELECT 1', /only SELECT.*not CREATE/],
    ['INSERT', "INSERT INTO alerts (fingerprint, status) VALUES ('x', 'firing')", /only SELECT.*not INSERT/],
    ['UPDATE', "UPDATE alerts SET status = 'resolved'", /only SELECT.*not UPDATE/],
    ['DELETE', 'DELETE FROM view_latency', /only SELECT.*not DELETE/],
    ['DROP', 'DROP TABLE view_latency', /only SELECT.*not DROP/],
    ['EXPLAIN ANALYZE of a DELETE', 'EXPLAIN ANALYZE DELETE FROM view_latency', /read-only/],
    ['CALL a function', 'CALL checkpoint()', /not allowed|not CALL/],
    ['a state-changing table function', 'SELECT * FROM enable_logging()', /function enable_logging\(\) is not allowed/],
    ['the same, quoted and commented', 'SELECT * FROM "Enable_Logging" /* x */ ()', /function enable_logging\(\) is not allowed/],
    ['the same, behind an E-string', "SELECT E'\\'', * FROM checkpoint()", /function checkpoint\(\) is not allowed/],
    ['SQL hidden in a string for query()', "SELECT * FROM query('SELECT * FROM enable_logging()')", /function query\(\) is not allowed/],
    ['a transaction statement', 'COMMIT', /only SELECT.*not TRANSACTION/],
    ['a prepared statement', 'PREPARE p AS SELECT 1', /only SELECT.*not PREPARE/],
    ['USE another catalog', 'USE memory', /only SELECT.*not SET/],
    ['an empty query', '   ', /the query is empty/],
    ['a NUL byte', 'SELECT 1\0; DROP TABLE alerts', /NUL/],
    ['a syntax error', 'SELEKT 1', /syntax error/],
    ['a missing table', 'SELECT * FROM nope', /Table with name nope does not exist/],
  ];

  it.each(hostile)('refuses %s', async (_name, sql, message) => {
    const err = await rejection(sql);
    expect(err.message).toMatch(message);
  });

  it('interrupts a query that runs too long', async () => {
    const err = await rejection('SELECT count(*) FROM range(1000000000000)');
    expect(err.message).toBe('the query ran longer than the 1500 ms limit and was cancelled');
  });

  it('interrupts a query that streams forever', async () => {
    const err = await rejection('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r');
    expect(err.message).toMatch(/limit and was cancelled/);
  });

  it('cuts a huge result at the row limit', async () => {
    const r = await engine.run('SELECT * FROM range(1000000000000)');
    expect(r.rows).toHaveLength(100);
    expect(r.rows[99]).toEqual([99]);
    expect(r.truncated).toBe(true);
  });

  it('left no trace of the hostile queries, and still answers normally', async () => {
    expect(existsSync('/tmp/seismo-leak.csv')).toBe(false);
    const r = await engine.run("SELECT count(*) AS n, (SELECT count(*) FROM duckdb_tables() WHERE table_name = 't') AS t FROM view_latency");
    expect(r.rows).toEqual([[5, 0]]);
    const settings = await engine.run(
      "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')",
    );
    expect(settings.rows).toEqual([[false, true]]);
  });

  it('leaves the writer working after the hostile queries', async () => {
    await store.commitCheckpoint({ viewRows: new Map([['latency', [{ window_start: T0, window_end: T0, service: 'late', n: 1, p99: 1, tags: null }]]]), alerts: [], state: ['{}'], offsets: [] });
    const r = await engine.run("SELECT count(*) FROM view_latency WHERE service = 'late'");
    expect(r.rows).toEqual([[1]]);
  });

  it('refuses to share a store opened unrestricted', async () => {
    const other = await openStore(':memory:', { restricted: false });
    await expect(createQueryEngine(other)).rejects.toThrow(/opened unrestricted/);
    await other.close();
  });
});

describe('calledFunctions', () => {
  it.each([
    ['SELECT f(1), g (2) FROM t', ['f', 'g']],
    ["SELECT 'h(1)' -- i(2)\n, j(3)", ['j']],
    ['SELECT "Quoted""Name"(1), main.k(2)', ['quoted"name', 'k']],
    ["SELECT E'\\'', l(1)", ['l']],
    ['SELECT /* m( */ n(1)', ['n']],
    // Keywords before a parenthesis are listed too: harmless, as none is a denied name.
    ['SELECT a FROM t WHERE (b)', ['where']],
  ])('%s', (sql, names) => {
    expect(calledFunctions(sql)).toEqual(names);
  });
});

describe('query engine on a file', () => {
  it('opens the file read-only and restricted when given a path', async () => {
    const path = join(dir, 'own.duckdb');
    const s = await openStore(path, { log: () => undefined });
    await s.ensureViewTable('v', [{ name: 'x', type: 'INT' }]);
    await s.commitCheckpoint({ viewRows: new Map([['v', [{ window_start: T0, window_end: T0, x: 7 }]]]), alerts: [], state: [], offsets: [] });
    await s.close();
    const own = await createQueryEngine(path, { timeoutMs: 5000 });
    try {
      expect((await own.run('SELECT x FROM view_v')).rows).toEqual([[7]]);
      await expect(own.run("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(/disabled by configuration/);
    } finally {
      await own.close();
    }
  });

  it('says so in one line when the file does not exist', async () => {
    await expect(createQueryEngine(join(dir, 'missing.duckdb'))).rejects.toThrow(/cannot open .*missing\.duckdb/);
  });
});
