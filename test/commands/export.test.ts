import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportView } from '../../src/commands/export.js';
import { openStore } from '../../src/sinks/store.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-24T23:00:00.000Z');
let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seismo-export-'));
  db = join(dir, 'seismo.duckdb');
  const store = await openStore(db, { log: () => undefined });
  await store.ensureViewTable('errors', [
    { name: 'service', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'tags', type: 'MAP' },
  ]);
  const rows = [0, 1, 2, 3].map((i) => ({
    window_start: T0 + i * (DAY / 2), // 24th 23:00, 25th 11:00, 25th 23:00, 26th 11:00
    window_end: T0 + i * (DAY / 2) + 60_000,
    service: `s${i}`,
    n: i,
    tags: { env: 'prod' },
  }));
  await store.commitCheckpoint({ viewRows: new Map([['errors', rows]]), alerts: [], state: [], offsets: [] });
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seismo export', () => {
  it('writes Parquet partitioned by day that reads back identically', async () => {
    const out = join(dir, 'out');
    expect(await exportView({ view: 'errors', to: out, db })).toEqual({ rows: 4, days: 3 });
    expect(readdirSync(out).sort()).toEqual(['day=2026-11-24', 'day=2026-11-25', 'day=2026-11-26']);

    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    const back = await conn.runAndReadAll(
      `SELECT day::VARCHAR, service, n, tags->>'env', epoch_ms(window_start) FROM read_parquet('${out}/*/*.parquet', hive_partitioning = true) ORDER BY n`,
    );
    conn.disconnectSync();
    inst.closeSync();
    expect(back.getRowsJS()).toEqual([
      ['2026-11-24', 's0', 0n, 'prod', BigInt(T0)],
      ['2026-11-25', 's1', 1n, 'prod', BigInt(T0 + DAY / 2)],
      ['2026-11-25', 's2', 2n, 'prod', BigInt(T0 + DAY)],
      ['2026-11-26', 's3', 3n, 'prod', BigInt(T0 + (3 * DAY) / 2)],
    ]);
  });

  it('refuses a non-empty directory unless --overwrite, and then keeps unrelated files', async () => {
    const out = join(dir, 'busy');
    await exportView({ view: 'errors', to: out, db });
    writeFileSync(join(out, 'README'), 'mine');
    await expect(exportView({ view: 'errors', to: out, db })).rejects.toThrow(`${out} is not empty; pass --overwrite to replace files of the same name`);
    expect(await exportView({ view: 'errors', to: out, db, overwrite: true })).toEqual({ rows: 4, days: 3 });
    expect(readdirSync(out).sort()).toEqual(['README', 'day=2026-11-24', 'day=2026-11-25', 'day=2026-11-26']);
  });

  it('names the stored views when the view is unknown', async () => {
    await expect(exportView({ view: 'nope', to: join(dir, 'x'), db })).rejects.toThrow(`no stored view nope in ${db} (stored: errors)`);
  });
});
