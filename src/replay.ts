/**
 * `seismo replay`: the engine over a file, deterministically. Events are processed in file order;
 * the watermark is the largest event time seen; EMIT CHANGES emits every change (no coalescing),
 * so the output is an exact changelog (SPEC sections 2 and 4).
 */
import type { ProgramPlan, QueryPlan } from './lang/compile.js';
import { Engine } from './engine/engine.js';
import type { EngineSink, RowFlags } from './engine/sink.js';
import { makeObjectDecoder, parseTimestamp } from './ingest/decode.js';
import type { AlertPayload } from './alerts/payload.js';
import type { Row, WindowBounds } from './types.js';

/** One line of replay output (SPEC section 4). */
export type ReplayRecord =
  | { kind: 'row'; view: string; window: { start: string; end: string } | null; row: Row }
  | { kind: 'retract'; view: string; window: { start: string; end: string } | null; row: Row }
  | { kind: 'alert'; alert: AlertPayload };

export interface ReplayStats {
  events: number;
  invalid: number;
  late: number;
  rejected: number;
  errors: number;
}

function isoWindow(w: WindowBounds | null): { start: string; end: string } | null {
  return w ? { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() } : null;
}

class ReplaySink implements EngineSink {
  constructor(
    private readonly emit: (r: ReplayRecord) => void,
    readonly stats: ReplayStats,
    private readonly onProblem: (msg: string) => void,
  ) {}
  row(plan: QueryPlan, window: WindowBounds | null, row: Row, _key: string, flags: RowFlags): void {
    if (flags.visible) this.emit({ kind: 'row', view: plan.name, window: isoWindow(window), row });
  }
  retract(plan: QueryPlan, window: WindowBounds | null, row: Row): void {
    this.emit({ kind: 'retract', view: plan.name, window: isoWindow(window), row });
  }
  alert(_plan: QueryPlan, alert: AlertPayload): void {
    this.emit({ kind: 'alert', alert });
  }
  late(): void {
    this.stats.late++;
  }
  rejected(): void {
    this.stats.rejected++;
  }
  ruleError(plan: QueryPlan, error: unknown): void {
    this.stats.errors++;
    this.onProblem(`${plan.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface ReplayInput {
  /** Parsed input objects in file order; `line` is for error messages. */
  rows: Iterable<{ obj: Record<string, unknown>; line: number }>;
}

/** Picks the stream to replay into: the named one, or the only one. Throws a one-line error. */
export function replayStream(program: ProgramPlan, name: string | undefined): string {
  if (name) {
    const s = program.streams.find((x) => x.name === name.toLowerCase());
    if (!s) throw new Error(`unknown stream '${name}' (streams: ${program.streams.map((x) => x.name).join(', ') || 'none'})`);
    return s.name;
  }
  if (program.streams.length !== 1) {
    throw new Error(`the queries declare ${program.streams.length} streams; choose one with --stream`);
  }
  return program.streams[0]!.name;
}

/** Runs the engine over input rows, calling `emit` for every output record in order. */
export function replay(
  program: ProgramPlan,
  streamName: string,
  input: ReplayInput,
  emit: (r: ReplayRecord) => void,
  onProblem: (msg: string) => void = () => {},
): ReplayStats {
  const stats: ReplayStats = { events: 0, invalid: 0, late: 0, rejected: 0, errors: 0 };
  const engine = new Engine(program, new ReplaySink(emit, stats, onProblem), { coalesce: false });
  const stream = engine.streams.get(streamName)!;
  const decode = makeObjectDecoder(stream, { keysFromValue: true });
  let watermark = -Infinity;
  let index = 0;
  for (const { obj, line } of input.rows) {
    // Without a timestamp column, a row's `rowtime` field stands for the Kafka record timestamp
    // (ksqlDB's name for it); failing that, its position in the file is its event time.
    const rowtime = stream.timestampColumn === null ? (obj.rowtime ?? obj.ROWTIME) : undefined;
    const recordTs = rowtime === undefined ? index : (parseTimestamp(rowtime) ?? index);
    index++;
    const r = decode(obj, null, recordTs);
    if (!r.ok) {
      stats.invalid++;
      onProblem(`line ${line}: ${r.reason}: ${r.detail}`);
      continue;
    }
    stats.events++;
    engine.process(streamName, r.row, r.ts);
    if (r.ts > watermark) {
      watermark = r.ts;
      engine.advance(streamName, watermark);
    }
  }
  return stats;
}

/** Convenience for tests and benches: replays rows, returns every record. */
export function replayRows(program: ProgramPlan, rows: Record<string, unknown>[], stream?: string): ReplayRecord[] {
  const out: ReplayRecord[] = [];
  const name = replayStream(program, stream);
  replay(program, name, { rows: rows.map((obj, i) => ({ obj, line: i + 1 })) }, (r) => out.push(r));
  return out;
}
