/**
 * NAB benchmark: runs every file of the NAB data folder (default <repo>/../shared/nab, or
 * NAB_DIR) through a detector, scores it with NAB's rules (src/detect/nab-score.ts) and prints
 * ONE JSON line with the three profile scores of ANOMALY_SCORE, ZSCORE and ROBUST_ZSCORE, then a
 * table per category on stderr.
 *
 * How a file is scored is swappable (FileScorer). ANOMALY_SCORE runs through the real engine
 * (src/replay.ts, the code behind `seismo replay`) with REPLAY_QUERY; NAB_VIA=direct calls the
 * detector directly instead. ZSCORE and ROBUST_ZSCORE are called directly.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { detectorFactory, type BaselineFunction } from '../src/detect/index.js';
import { NAB_PROFILES, matchWindows, scoreCorpus, type NabFile, type NabResult } from '../src/detect/nab-score.js';
import { compileText } from '../src/program.js';
import { type ProgramPlan } from '../src/lang/compile.js';
import { replayRows } from '../src/replay.js';

/** One NAB data file: row timestamps (as written), epoch ms (read as UTC) and values. */
export interface NabSeries {
  /** `<category>/<file>.csv` as in combined_windows.json. */
  readonly name: string;
  readonly category: string;
  readonly timestamps: readonly string[];
  readonly times: readonly number[];
  readonly values: readonly number[];
  readonly windows: readonly (readonly [number, number])[];
}

/** Produces one score in [0, 1] per row of a file, with no look-ahead. */
export type FileScorer = (series: NabSeries) => Promise<ArrayLike<number>> | ArrayLike<number>;

/** Reads a NAB `timestamp,value` CSV: tolerates CRLF and a missing final newline. */
export function parseNabCsv(text: string): { timestamps: string[]; times: number[]; values: number[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const timestamps: string[] = [];
  const times: number[] = [];
  const values: number[] = [];
  for (const line of lines.slice(1)) {
    const comma = line.indexOf(',');
    const ts = line.slice(0, comma).trim();
    timestamps.push(ts);
    times.push(Date.parse(ts.replace(' ', 'T') + 'Z'));
    values.push(Number(line.slice(comma + 1)));
  }
  return { timestamps, times, values };
}

/** Loads every labelled file of a NAB folder that exists on disk, sorted by name. */
export function loadNab(dir: string): NabSeries[] {
  const labels = JSON.parse(readFileSync(join(dir, 'labels', 'combined_windows.json'), 'utf8')) as Record<
    string,
    [string, string][]
  >;
  const out: NabSeries[] = [];
  for (const category of readdirSync(join(dir, 'data')).sort()) {
    for (const file of readdirSync(join(dir, 'data', category)).sort()) {
      if (!file.endsWith('.csv')) continue;
      const name = `${category}/${file}`;
      const windows = labels[name];
      if (windows === undefined) continue;
      const csv = parseNabCsv(readFileSync(join(dir, 'data', category, file), 'utf8'));
      out.push({ name, category, ...csv, windows: matchWindows(csv.timestamps, windows) });
    }
  }
  return out;
}

/**
 * Maps a signed z-score to [0, 1) by |z| / (|z| + 4). Any monotone map scores the same under the
 * threshold sweep, but 1 − e^(−|z|/k) rounds every large z to exactly 1 and so ties them.
 */
export function zToUnit(z: number | null): number {
  return z === null ? 0 : Math.abs(z) / (Math.abs(z) + 4);
}

/** Scores a file by calling a baseline function's detector directly, one row at a time. */
export function directScorer(fn: BaselineFunction, toUnit: (v: number | null) => number = (v) => v ?? 0): FileScorer {
  const factory = detectorFactory(fn, [], {});
  return (series) => {
    const det = factory.create();
    const out = new Float64Array(series.values.length);
    for (let i = 0; i < out.length; i++) out[i] = toUnit(det.update(series.values[i]!, series.times[i]!));
    return out;
  };
}

/** Runs a scorer over the corpus and scores all profiles. */
export async function benchDetector(corpus: readonly NabSeries[], scorer: FileScorer): Promise<NabResult[]> {
  const files: NabFile[] = [];
  for (const series of corpus) {
    files.push({ name: series.name, category: series.category, scores: await scorer(series), windows: series.windows });
  }
  return NAB_PROFILES.map((profile) => scoreCorpus(files, profile));
}

/** The scorer for ANOMALY_SCORE: the real engine (seismo replay's replayRows), or direct detector calls with NAB_VIA=direct. */
function anomalyScorer(): { scorer: FileScorer; via: string } {
  if (process.env['NAB_VIA'] === 'direct') return { scorer: directScorer('ANOMALY_SCORE'), via: 'direct' };
  return { scorer: replayScorer(compileQuery(REPLAY_QUERY)), via: 'replay' };
}

/** The query the engine runs over each NAB file: one output row per input row. */
export const REPLAY_QUERY = `CREATE STREAM nab (timestamp TIMESTAMP, value DOUBLE) WITH (kafka_topic = 'nab', timestamp = 'timestamp');
CREATE VIEW scores AS SELECT timestamp, value, ANOMALY_SCORE(value) AS score FROM nab;`;

/** Parses, checks and compiles query text as seismo does for query files; throws the formatted errors. */
export function compileQuery(text: string): ProgramPlan {
  return compileText(text, 'nab.sql');
}

/** Scores a file through the engine's replay: one `score` per input row, in file order. */
export function replayScorer(program: ProgramPlan): FileScorer {
  return (series) => {
    const rows = series.values.map((value, i) => ({ timestamp: series.times[i]!, value }));
    const out = replayRows(program, rows).filter((r) => r.kind === 'row');
    if (out.length !== rows.length) throw new Error(`replay emitted ${out.length} rows for ${rows.length} in ${series.name}`);
    return out.map((r) => {
      const score = r.kind === 'row' ? r.row['score'] : null;
      return typeof score === 'number' ? score : 0;
    });
  };
}

/** One result as {profile: score} rounded to 0.1. */
function profileScores(results: readonly NabResult[]): Record<string, number> {
  return Object.fromEntries(results.map((r) => [r.profile, Math.round(r.score * 10) / 10]));
}

/** Prints a per-category table of one detector's results. */
function printTable(label: string, results: readonly NabResult[]): void {
  const cats = Object.keys(results[0]!.categories);
  const lines = [`${label}`, `  ${'category'.padEnd(24)}${results.map((r) => r.profile.padStart(20)).join('')}`];
  for (const c of cats) {
    const cells = results.map((r) => {
      const v = r.categories[c]!;
      const text = v.score === null ? `fp=${v.fp} raw=${v.raw.toFixed(2)}` : v.score.toFixed(1);
      return text.padStart(20);
    });
    lines.push(`  ${c.padEnd(24)}${cells.join('')}`);
  }
  lines.push(`  ${'corpus'.padEnd(24)}${results.map((r) => r.score.toFixed(1).padStart(20)).join('')}`);
  lines.push(`  ${'threshold / tp / fp'.padEnd(24)}${results.map((r) => `${r.threshold.toFixed(4)}/${r.tp}/${r.fp}`.padStart(20)).join('')}`);
  process.stderr.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = process.env['NAB_DIR'] ?? resolve(root, '..', 'shared', 'nab');
  if (!existsSync(join(dir, 'labels', 'combined_windows.json'))) {
    process.stderr.write(`bench:nab: no NAB data at ${dir} (set NAB_DIR)\n`);
    process.exitCode = 1;
    return;
  }
  const corpus = loadNab(dir);
  const anomaly = anomalyScorer();
  const started = performance.now();
  const results = {
    ANOMALY_SCORE: await benchDetector(corpus, anomaly.scorer),
    ZSCORE: await benchDetector(corpus, directScorer('ZSCORE', zToUnit)),
    ROBUST_ZSCORE: await benchDetector(corpus, directScorer('ROBUST_ZSCORE', zToUnit)),
  };
  const line = {
    bench: 'nab',
    files: corpus.length,
    windows: corpus.reduce((s, f) => s + f.windows.length, 0),
    rows: corpus.reduce((s, f) => s + f.values.length, 0),
    anomaly_score_via: anomaly.via,
    ANOMALY_SCORE: profileScores(results.ANOMALY_SCORE),
    ZSCORE: profileScores(results.ZSCORE),
    ROBUST_ZSCORE: profileScores(results.ROBUST_ZSCORE),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  for (const [label, r] of Object.entries(results)) printTable(label, r);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:nab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
