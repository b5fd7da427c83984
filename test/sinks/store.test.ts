import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type AlertPayloadLike, type ColumnSpec, type Store } from '../../src/sinks/store.js';

const COLUMNS: ColumnSpec[] = [
  { name: 'service', type: 'VARCHAR' },
  { name: 'n', type: 'BIGINT' },
  { name: 'hits', type: 'INT' },
  { name: 'p99', type: 'DOUBLE' },
  { name: 'ok', type: 'BOOLEAN' },
  { name: 'last_seen', type: 'TIMESTAMP' },
  { name: 'tags', type: 'MAP' },
];

const T0 = Date.parse('2026-11-24T10:00:00.000Z');

function row(i: number) {
  return {
    window_start: T0 + i * 60_000,
    window_end: T0 + (i + 1) * 60_000,
    service: `svc-${i % 3}`,
    n: 10_000_000_000 + i,
    hits: i,
    p99: i + 0.5,
    ok: i % 2 === 0,
    last_seen: T0 + i * 60_000 + 1234,
    tags: { env: 'prod', 'odd "key"': `v${i}` },
  };
}

const ALERT: AlertPayloadLike = {
  fingerprint: '3f9c0a1be2d4',
  status: 'firing',
  labels: { alertname: 'latency_anomaly', service: 'checkout' },
  annotations: { summary: 'p99 of checkout is 812.5 ms' },
  startsAt: '2026-11-24T10:15:00.000Z',
  endsAt: null,
  values: { p99_ms: 812.5, z: 6.1 },
  window: { start: '2026-11-24T10:14:00.000Z', end: '2026-11-24T10:15:00.000Z' },
  emittedAt: '2026-11-24T10:15:00.250Z',
};

let dir: string;
let path: string;
let logs: string[];
let store: Store | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'seismo-store-'));
  path = join(dir, 'nested', 'seismo.duckdb');
  logs = [];
  store = null;
});
afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<Store> {
  store = await openStore(path, { log: (l) => logs.push(l), now: () => T0 });
  return store;
}

/** Tampers with the file through an unrestricted instance, as a torn write or a hand edit would. */
async function tamper(...statements: string[]): Promise<void> {
  await store?.close();
  store = null;
  const inst = await DuckDBInstance.create(path);
  const conn = await inst.connect();
  for (const sql of statements) await conn.run(sql);
  conn.disconnectSync();
  inst.closeSync();
}

const empty = { viewRows: new Map(), alerts: [], offsets: [] };

describe('store', () => {
  it('appends view rows and alert transitions in a checkpoint and reads them back', async () => {
    const s = await open();
    await s.ensureViewTable('latency', COLUMNS);
    const rows = [row(0), row(1), row(2)];
    const id = await s.commitCheckpoint({
      viewRows: new Map([['latency', rows]]),
      alerts: [ALERT, { ...ALERT, status: 'resolved', endsAt: '2026-11-24T10:20:00.000Z' }],
      state: ['{"a":', '1}'],
      offsets: [{ topic: 'metrics', partition: 0, offset: '42' }],
    });
    expect(id).toBe(1);
    expect(await s.readViewRows('latency')).toEqual(rows);
    expect(await s.readViewRows('latency', { from: T0 + 60_000, to: T0 + 120_000 })).toEqual([rows[1]]);

    const conn = await s.instance.connect();
    const alerts = await conn.runAndReadAll(
      `SELECT status, alertname, labels->>'service', epoch_ms(starts_at), epoch_ms(ends_at), "values"->>'p99_ms', epoch_ms(window_end)
         FROM alerts ORDER BY status`,
    );
    conn.disconnectSync();
    expect(alerts.getRowsJS()).toEqual([
      ['firing', 'latency_anomaly', 'checkout', BigInt(Date.parse(ALERT.startsAt)), null, '812.5', BigInt(Date.parse(ALERT.window!.end))],
      ['resolved', 'latency_anomaly', 'checkout', BigInt(Date.parse(ALERT.startsAt)), BigInt(Date.parse('2026-11-24T10:20:00.000Z')), '812.5', BigInt(Date.parse(ALERT.window!.end))],
    ]);
  });

  it('awaits pace before each chunk of state, and stores the same text', async () => {
    const s = await open();
    const big = 'x'.repeat(2.5 * 2 ** 20); // three chunks of at most 1 Mi characters
    let paced = 0;
    await s.commitCheckpoint({ ...empty, state: ['{"a":"', big, '"}'], pace: async () => void paced++ });
    expect(paced).toBe(5); // one for each short piece, three for the long one
    expect((await s.readLatestCheckpoint())?.state).toBe(`{"a":"${big}"}`);
  });

  it('awaits pace every 1,024 view rows too, and stores every row in order', async () => {
    const s = await open();
    await s.ensureViewTable('latency', COLUMNS);
    const rows = Array.from({ length: 2500 }, (_, i) => row(i));
    let paced = 0;
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['latency', rows]]), state: ['{}'], pace: async () => void paced++ });
    expect(paced).toBe(2 + 1); // rows 1,024 and 2,048, then the one piece of state
    expect(await s.readViewRows('latency')).toEqual(rows);
  });

  it('stores NULLs and coerces odd values instead of failing the checkpoint', async () => {
    const s = await open();
    await s.ensureViewTable('v', COLUMNS);
    await s.commitCheckpoint({
      ...empty,
      viewRows: new Map([['v', [{ window_start: T0, window_end: T0 + 1, service: null, n: '7', hits: 'x', p99: true, ok: 1, tags: 'not a map' }]]]),
      state: [],
    });
    expect(await s.readViewRows('v')).toEqual([
      { window_start: T0, window_end: T0 + 1, service: null, n: 7, hits: null, p99: 1, ok: null, last_seen: null, tags: null },
    ]);
  });

  it('round-trips a checkpoint across reopen, including non-ASCII text split across chunks', async () => {
    const s = await open();
    const big = 'é😀'.repeat(700_000); // > 1 Mi UTF-16 units: split inside, never between a surrogate pair
    await s.commitCheckpoint({ ...empty, state: ['{"s":"', big, '"}'], offsets: [{ topic: 't', partition: 3, offset: '9000000000000' }] });
    await s.close();
    const again = await open();
    const cp = await again.readLatestCheckpoint();
    expect(cp?.id).toBe(1);
    expect(cp?.state).toBe(`{"s":"${big}"}`);
    expect(cp?.offsets).toEqual([{ topic: 't', partition: 3, offset: '9000000000000' }]);
    expect(cp?.createdAt).toBe(T0);
  });

  it('answers null when there is no checkpoint, and accepts a single string as the state', async () => {
    const s = await open();
    expect(await s.readLatestCheckpoint()).toBeNull();
    await s.commitCheckpoint({ ...empty, state: 'plain' });
    expect((await s.readLatestCheckpoint())?.state).toBe('plain');
  });

  it('keeps the last three checkpoints only', async () => {
    const s = await open();
    for (let i = 1; i <= 5; i++) await s.commitCheckpoint({ ...empty, state: [`state ${i}`], offsets: [{ topic: 't', partition: 0, offset: String(i) }] });
    const conn = await s.instance.connect();
    const counts = await conn.runAndReadAll(
      "SELECT (SELECT list(id ORDER BY id) FROM checkpoints), (SELECT list(table_name ORDER BY table_name) FROM duckdb_tables() WHERE table_name LIKE 'checkpoint_chunks%'), (SELECT count(*) FROM checkpoint_offsets)",
    );
    conn.disconnectSync();
    expect(counts.getRowsJS()).toEqual([[[3n, 4n, 5n], ['checkpoint_chunks_3', 'checkpoint_chunks_4', 'checkpoint_chunks_5'], 3n]]);
    expect((await s.readLatestCheckpoint())?.state).toBe('state 5');
  });

  it.each([
    ['corrupt (checksum mismatch)', "UPDATE checkpoint_chunks_2 SET data = 'TW0' WHERE seq = 1", /checkpoint 2 does not verify \(checksum mismatch\)/],
    ['partial (a chunk missing)', 'DELETE FROM checkpoint_chunks_2 WHERE seq = 1', /checkpoint 2 does not verify \(1 of 2 chunks present\)/],
    ['truncated chunk (length mismatch)', "UPDATE checkpoint_chunks_2 SET data = 'x' WHERE seq = 1", /checkpoint 2 does not verify \(length/],
    ['without its chunks (table gone)', 'DROP TABLE checkpoint_chunks_2', /checkpoint 2 does not verify \(0 of 2 chunks present\)/],
  ])('falls back to the previous checkpoint when the newest is %s', async (_name, sql, logLine) => {
    const s = await open();
    await s.commitCheckpoint({ ...empty, state: ['one', 'ONE'], offsets: [{ topic: 't', partition: 0, offset: '1' }] });
    await s.commitCheckpoint({ ...empty, state: ['two', 'TWO'], offsets: [{ topic: 't', partition: 0, offset: '2' }] });
    await tamper(sql);
    const again = await open();
    const cp = await again.readLatestCheckpoint();
    expect(cp).toMatchObject({ id: 1, state: 'oneONE', offsets: [{ topic: 't', partition: 0, offset: '1' }] });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(logLine);
  });

  it('reads and prunes checkpoints written with all chunks in one table (files of earlier versions)', async () => {
    const s = await open();
    await s.commitCheckpoint({ ...empty, state: ['one', 'ONE'], offsets: [{ topic: 't', partition: 0, offset: '1' }] });
    await s.commitCheckpoint({ ...empty, state: ['two', 'TWO'], offsets: [{ topic: 't', partition: 0, offset: '2' }] });
    // The earlier layout: checkpoint_chunks (checkpoint_id, seq, data) for every checkpoint.
    await tamper(
      'CREATE TABLE checkpoint_chunks AS SELECT 1::BIGINT AS checkpoint_id, seq, data FROM checkpoint_chunks_1 UNION ALL SELECT 2, seq, data FROM checkpoint_chunks_2',
      'DROP TABLE checkpoint_chunks_1',
      'DROP TABLE checkpoint_chunks_2',
    );
    const again = await open();
    expect(await again.readLatestCheckpoint()).toMatchObject({ id: 2, state: 'twoTWO', offsets: [{ topic: 't', partition: 0, offset: '2' }] });
    for (let i = 3; i <= 5; i++) await again.commitCheckpoint({ ...empty, state: [`state ${i}`] });
    const conn = await again.instance.connect();
    const tables = await conn.runAndReadAll("SELECT list(table_name ORDER BY table_name) FROM duckdb_tables() WHERE table_name LIKE 'checkpoint_chunks%'");
    conn.disconnectSync();
    expect(tables.getRowsJS()).toEqual([[['checkpoint_chunks_3', 'checkpoint_chunks_4', 'checkpoint_chunks_5']]]);
    expect((await again.readLatestCheckpoint())?.state).toBe('state 5');
    expect(logs).toEqual([]);
  });

  it('rolls back everything in a checkpoint when one part fails', async () => {
    const s = await open();
    await s.ensureViewTable('v', COLUMNS);
    const failing = s.commitCheckpoint({
      ...empty,
      viewRows: new Map([['v', [row(0)]], ['unknown_view', [row(1)]]]),
      state: ['x'],
    });
    await expect(failing).rejects.toThrow(/view unknown_view has no table/);
    expect(await s.readViewRows('v')).toEqual([]);
    expect(await s.readLatestCheckpoint()).toBeNull();
    // The store is usable afterwards.
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['v', [row(0)]]]), state: ['y'] });
    expect(await s.readViewRows('v')).toHaveLength(1);
  });

  it('renames a view table aside when the query changes its shape', async () => {
    const s = await open();
    await s.ensureViewTable('v', COLUMNS);
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['v', [row(0)]]]), state: [] });
    await s.ensureViewTable('v', COLUMNS); // same shape: kept
    expect(await s.readViewRows('v')).toHaveLength(1);
    expect(logs).toEqual([]);

    await s.ensureViewTable('v', [{ name: 'service', type: 'VARCHAR' }, { name: 'total', type: 'DOUBLE' }]);
    expect(logs).toEqual(['view v changed shape; its stored rows were moved to table view_v__20261124T100000000Z']);
    expect(await s.readViewRows('v')).toEqual([]);
    const conn = await s.instance.connect();
    const old = await conn.runAndReadAll('SELECT count(*) FROM "view_v__20261124T100000000Z"');
    conn.disconnectSync();
    expect(old.getRowsJS()).toEqual([[1n]]);
  });

  it('does not duplicate window bounds a view also selects', async () => {
    const s = await open();
    await s.ensureViewTable('w', [{ name: 'window_start', type: 'TIMESTAMP' }, { name: 'c', type: 'BIGINT' }]);
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['w', [{ window_start: T0, window_end: T0 + 5, c: 2 }]]]), state: [] });
    expect(await s.readViewRows('w')).toEqual([{ window_start: T0, window_end: T0 + 5, c: 2 }]);
  });

  it('quotes view names that are not plain identifiers', async () => {
    const s = await open();
    await s.ensureViewTable('Weird "name"; DROP TABLE alerts', [{ name: 'select', type: 'VARCHAR' }]);
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['Weird "name"; DROP TABLE alerts', [{ window_start: T0, window_end: T0, select: 'ok' }]]]), state: [] });
    expect(await s.readViewRows('Weird "name"; DROP TABLE alerts')).toEqual([{ window_start: T0, window_end: T0, select: 'ok' }]);
  });

  it('retains raw events and deletes them by age', async () => {
    const s = await open();
    expect(await s.deleteEventsBefore('logs', T0)).toBe(0); // no table yet
    await s.appendEvents('logs', [
      { eventTime: T0 - 2000, event: { msg: 'old' } },
      { eventTime: T0 - 1000, event: '{"msg":"older text"}' },
      { eventTime: T0 + 1000, event: { msg: 'new' } },
    ]);
    await s.commitCheckpoint({ ...empty, state: [], events: new Map([['logs', [{ eventTime: T0 + 2000, event: { msg: 'in checkpoint' } }]]]) });
    expect(await s.deleteEventsBefore('logs', T0)).toBe(2);
    const conn = await s.instance.connect();
    const left = await conn.runAndReadAll("SELECT event->>'msg' FROM events_logs ORDER BY event_time");
    conn.disconnectSync();
    expect(left.getRowsJS()).toEqual([['new'], ['in checkpoint']]);
  });

  it('runs the writer with external access disabled and the configuration locked', async () => {
    const s = await open();
    const conn = await s.instance.connect();
    await expect(conn.run("SET enable_external_access = true")).rejects.toThrow(/configuration has been locked/);
    await expect(conn.run("COPY alerts TO '/tmp/x.csv'")).rejects.toThrow(/disabled by configuration/);
    conn.disconnectSync();
    await s.ensureViewTable('v', COLUMNS);
    await s.commitCheckpoint({ ...empty, viewRows: new Map([['v', [row(1)]]]), state: ['ok'] });
    expect(await s.readViewRows('v')).toEqual([row(1)]);
  });
});
