import { compileText } from '../../src/program.js';
import { replayRows, type ReplayRecord } from '../../src/replay.js';

/** Compiles query text (failing the test on any diagnostic) and replays rows through it. */
export function run(sql: string, rows: Record<string, unknown>[]): ReplayRecord[] {
  return replayRows(compileText(sql, 'test.sql'), rows);
}

/** Compact form of output for assertions: "row v [start,end) {...}" with times in seconds. */
export function compact(out: ReplayRecord[]): string[] {
  const sec = (iso: string) => Date.parse(iso) / 1000;
  return out.map((r) => {
    if (r.kind === 'alert') return `alert ${r.alert.status} ${JSON.stringify(r.alert.labels)}`;
    const w = r.window ? ` [${sec(r.window.start)},${sec(r.window.end)}]` : '';
    return `${r.kind} ${r.view}${w} ${JSON.stringify(r.row)}`;
  });
}

export const STREAM = `CREATE STREAM s (id VARCHAR, t BIGINT, k VARCHAR, v DOUBLE) WITH (kafka_topic = 's', timestamp = 't');`;

/** Events at times in seconds for key k with value v. */
export function ev(tSec: number, k = 'a', v: number | null = 1): Record<string, unknown> {
  return { t: tSec * 1000, k, v };
}
