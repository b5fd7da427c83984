/**
 * `seismo backtest` against a real DuckDB file written through the store API: the transitions it
 * finds over stored view rows (and retained events) are the ones replaying the raw events through
 * the same view -> alert chain emits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProgram } from '../src/program.js';
import { replayRows } from '../src/replay.js';
import { openStore } from '../src/sinks/store.js';
import { viewColumnSpecs } from '../src/view-schema.js';
import { parseTimeArg } from '../src/backtest.js';
import { runBacktestCommand } from '../src/commands/backtest.js';
import { holdDuckDbFile } from './helpers/hold-duckdb.js';
import type { AlertPayload } from '../src/alerts/payload.js';
import type { ProgramPlan } from '../src/lang/compile.js';
import type { Row } from '../src/types.js';

const T0 = Date.UTC(2026, 10, 24, 10);
const iso = (sec: number) => new Date(T0 + sec * 1000).toISOString();

const SQL = `
CREATE STREAM metrics (event_time TIMESTAMP, service VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>)
  WITH (kafka_topic = 'm', timestamp = 'event_time');
CREATE VIEW lat AS
SELECT service, COUNT(*) AS n, AVG(value) AS avg_ms, LATEST(labels['zone']) AS zone FROM metrics
WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY service EMIT FINAL;
CREATE ALERT lat_high WITH (for = '20 SECONDS', severity = 'page', summary = '{{service}} at {{avg_ms}} ms (z={{z}})') AS
SELECT service, avg_ms, ZSCORE(avg_ms) AS z FROM lat HAVING ZSCORE(avg_ms) > 4 AND avg_ms > 100;
CREATE ALERT silent AS
SELECT service, COUNT(*) AS events FROM metrics
WINDOW TUMBLING (SIZE 20 SECONDS) GROUP BY service HAVING COUNT(*) = 0;
`;

/** 10 minutes: checkout spikes in [300,350), search stops sending in [400,450). */
function events(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let sec = 0; sec < 600; sec++) {
    const checkout = sec >= 300 && sec < 350 ? 400 : 50 + ((sec * 7) % 11);
    out.push({ event_time: T0 + sec * 1000, service: 'checkout', value: checkout, labels: { zone: 'a' } });
    if (sec < 400 || sec >= 450) out.push({ event_time: T0 + sec * 1000, service: 'search', value: 40 + ((sec * 5) % 7), labels: { zone: 'b' } });
  }
  return out;
}

let dir: string;
let queries: string;
let program: ProgramPlan;
let replayed: AlertPayload[];
let viewRows: Row[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'seismo-backtest-'));
  queries = join(dir, 'q.sql');
  writeFileSync(queries, SQL);
  const loaded = loadProgram([queries]);
  if (!loaded.ok) throw new Error(loaded.errors);
  program = loaded.program;
  const out = replayRows(program, events());
  replayed = out.flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
  // EMIT FINAL: the view's visible rows are exactly its closed windows, what the service stores.
  viewRows = out.flatMap((r) =>
    r.kind === 'row' && r.view === 'lat' && r.window
      ? [{ window_start: Date.parse(r.window.start), window_end: Date.parse(r.window.end), ...r.row }]
      : [],
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A DuckDB file holding the view rows (and optionally the raw events), written as the service does. */
async function storeFile(name: string, withEvents: boolean): Promise<string> {
  const path = join(dir, name);
  const store = await openStore(path, { log: () => undefined });
  try {
    const lat = program.queries.find((q) => q.name === 'lat')!;
    await store.ensureViewTable('lat', viewColumnSpecs(lat));
    await store.commitCheckpoint({ viewRows: new Map([['lat', viewRows]]), alerts: [], state: '{}', offsets: [] });
    if (withEvents) {
      await store.appendEvents('metrics', events().map((e) => ({ eventTime: e.event_time as number, event: e as Row })));
    }
  } finally {
    await store.close();
  }
  return path;
}

const rule = (alerts: AlertPayload[], name: string) => alerts.filter((a) => a.labels.alertname === name);
const ndjson = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AlertPayload);

describe('seismo backtest', () => {
  it('finds the transitions replay finds, from stored view rows; skips stream rules without retained events', async () => {
    expect(rule(replayed, 'lat_high').map((a) => [a.status, a.startsAt, a.endsAt])).toEqual([
      ['firing', iso(330), null],
      ['resolved', iso(330), iso(360)],
    ]);
    const db = await storeFile('views.duckdb', false);
    const { stdout, stderr } = await runBacktestCommand({ queries: [queries], from: iso(0), to: iso(600), db, json: true }, T0 + 3_600_000);
    expect(ndjson(stdout)).toEqual(rule(replayed, 'lat_high'));
    expect(stderr).toContain(`lat_high: ${viewRows.length} rows of view_lat`);
    expect(stderr).toContain("silent: skipped: stream metrics keeps no raw events (add retain = '7 DAYS'");
  });

  it('evaluates rules on raw streams from retained events', async () => {
    expect(rule(replayed, 'silent').map((a) => [a.status, a.labels.service, a.startsAt, a.endsAt])).toEqual([
      ['firing', 'search', iso(420), null],
      ['resolved', 'search', iso(420), iso(460)],
    ]);
    const db = await storeFile('events.duckdb', true);
    const { stdout, stderr } = await runBacktestCommand({ queries: [queries], from: iso(0), to: iso(600), db, json: true }, T0);
    const alerts = ndjson(stdout);
    expect(rule(alerts, 'lat_high')).toEqual(rule(replayed, 'lat_high'));
    expect(rule(alerts, 'silent')).toEqual(rule(replayed, 'silent'));
    expect(stderr).toContain('silent: 1150 events of events_metrics');

    // The table: one line per incident.
    const table = (await runBacktestCommand({ queries: [queries], from: iso(0), to: iso(600), db }, T0)).stdout.split('\n');
    expect(table[0]).toMatch(/^rule\s+labels\s+fired\s+status\s+resolved\s+duration\s+summary$/);
    expect(table.find((l) => l.startsWith('lat_high'))).toMatch(
      new RegExp(`^lat_high\\s+service=checkout\\s+${iso(330)}\\s+resolved\\s+${iso(360)}\\s+30s\\s+checkout at 400 ms`),
    );
    expect(table.find((l) => l.startsWith('silent'))).toMatch(new RegExp(`^silent\\s+service=search\\s+${iso(420)}\\s+resolved\\s+${iso(460)}\\s+40s`));
    expect(table).toContain('(2 rows)');
  });

  it('reads only the range asked for; relative times count back from now', async () => {
    const db = join(dir, 'views.duckdb');
    // From 5 minutes in: the baseline has 0 windows of history, so ZSCORE stays NULL through the spike.
    const late = await runBacktestCommand({ queries: [queries], from: iso(300), to: iso(600), db, json: true }, T0);
    expect(late.stdout).toBe('');
    // -10m .. -5m with now = T0 + 10 min covers [0, 300): the history, not the spike.
    const rel = await runBacktestCommand({ queries: [queries], from: '-10m', to: '-5m', db, json: true }, T0 + 600_000);
    expect(rel.stdout).toBe('');
    expect(rel.stderr).toContain(`lat_high: ${viewRows.filter((r) => (r.window_start as number) < T0 + 300_000).length} rows of view_lat`);
  });

  it('says in one line when a service holds the file, and on bad arguments', async () => {
    const db = join(dir, 'views.duckdb');
    const holder = await holdDuckDbFile(db);
    try {
      await expect(runBacktestCommand({ queries: [queries], from: iso(0), to: iso(600), db }, T0)).rejects.toThrow(
        /^\S+views\.duckdb is in use by another process \(PID \d+\).*; stop it before backtesting \(backtest reads the file directly\)$/,
      );
    } finally {
      holder.kill();
    }
    await expect(runBacktestCommand({ queries: [queries], from: iso(10), to: iso(0), db }, T0)).rejects.toThrow(/must be before --to/);
    await expect(runBacktestCommand({ queries: [queries], from: '-1h', db: join(dir, 'nope.duckdb') }, T0)).rejects.toThrow(
      /nope\.duckdb does not exist/,
    );
  });
});

describe('parseTimeArg', () => {
  const now = Date.UTC(2026, 10, 24, 12);
  it.each([
    ['now', now],
    ['-2h', now - 7_200_000],
    ['-30m', now - 1_800_000],
    ['-1.5d', now - 129_600_000],
    ['-500ms', now - 500],
    ['2026-11-24T10:00:00Z', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24 10:00:00', Date.UTC(2026, 10, 24, 10)], // no zone: UTC, as in the dialect
    ['2026-11-24T11:00:00+01:00', Date.UTC(2026, 10, 24, 10)],
    ['1795000000000', 1_795_000_000_000],
  ])('%s', (text, expected) => {
    expect(parseTimeArg('from', text, now)).toBe(expected);
  });
  it.each(['yesterday', '2h', '-2x', '2026-13-01', ''])('rejects %j in one line', (text) => {
    expect(() => parseTimeArg('from', text, now)).toThrow(/^--from: expected an ISO time .* got ".*"$/);
  });
});
