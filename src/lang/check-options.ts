/**
 * WITH options of CREATE STREAM, VIEW and ALERT: their types, defaults and validation. Part of
 * the checker; errors go through `report` so they join the checker's list with positions.
 */
import type { ColumnType, LiteralValue, Pos, Statement, WithOption } from './ast.js';
import type { SqlType } from './functions.js';
import { parseDuration } from './parser.js';
import { suggest } from './suggest.js';

/** Where the checker's diagnostics go. */
export type Report = (pos: Pos, message: string) => void;

/** CREATE STREAM options, validated and defaulted. */
export interface StreamOptions {
  readonly topic: string;
  /** Column holding event time (TIMESTAMP or BIGINT), or null for the Kafka record timestamp. */
  readonly timestampColumn: string | null;
  readonly eventIdColumn: string | null;
  readonly retainMs: number | null;
  readonly partitions: number | null;
  readonly valueFormat: 'JSON';
}

/** CREATE VIEW options, validated and defaulted. */
export interface ViewOptions {
  readonly topic: string | null;
  /** What happens to events later than the watermark allows (default 'drop', counted). */
  readonly late: 'drop' | 'dead-letter';
  readonly maxGroups: number | null;
}

/** CREATE ALERT options, validated and defaulted. */
export interface AlertOptions {
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly quietPeriodMs: number | null;
  readonly severity: string | null;
  readonly summary: string | null;
  readonly description: string | null;
  /** Parsed from `labels = 'team=payments,tier=1'`. */
  readonly labels: Readonly<Record<string, string>>;
  readonly flappingChanges: number | null;
  readonly flappingWindow: number | null;
}

/** Validates a stream's WITH options against its columns. */
export function streamOptions(
  stmt: Extract<Statement, { kind: 'createStream' }>,
  columns: readonly { readonly name: string; readonly type: SqlType; readonly declared: ColumnType }[],
  report: Report,
): StreamOptions {
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const o = new Options(stmt.options, 'a stream', report);
  const topic = o.string('kafka_topic');
  if (topic === null && !o.has('kafka_topic')) report(stmt.namePos, `stream '${stmt.name}' needs WITH (kafka_topic = '...')`);
  const columnOption = (key: string, allowed: readonly SqlType[] | null): string | null => {
    const v = o.string(key);
    if (v === null) return null;
    const name = v.toLowerCase();
    const t = types.get(name);
    const pos = o.valuePos(key);
    if (t === undefined) report(pos, `${key} names unknown column '${v}'${suggest(name, types.keys())}`);
    else if (allowed && !allowed.includes(t)) report(pos, `${key} column '${name}' must be ${allowed.join(' or ')}, not ${t}`);
    else if (t === 'MAP') report(pos, `${key} column '${name}' cannot be a MAP`);
    return name;
  };
  const options: StreamOptions = {
    topic: topic ?? '',
    timestampColumn: columnOption('timestamp', ['TIMESTAMP', 'BIGINT']),
    eventIdColumn: columnOption('event_id', null),
    retainMs: o.duration('retain'),
    partitions: o.integer('partitions', 1),
    valueFormat: 'JSON',
  };
  const format = o.string('value_format');
  if (format !== null && format.toUpperCase() !== 'JSON') report(o.valuePos('value_format'), `value_format must be 'JSON', not '${format}'`);
  o.rejectUnknown(['kafka_topic', 'timestamp', 'event_id', 'retain', 'partitions', 'value_format']);
  return options;
}

/** Validates a view's WITH options. */
export function viewOptions(options: readonly WithOption[], report: Report): ViewOptions {
  const o = new Options(options, 'a view', report);
  const late = o.string('late');
  if (late !== null && late !== 'drop' && late !== 'dead-letter') report(o.valuePos('late'), `late must be 'drop' or 'dead-letter', not '${late}'`);
  const result: ViewOptions = {
    topic: o.string('kafka_topic'),
    late: late === 'dead-letter' ? 'dead-letter' : 'drop',
    maxGroups: o.integer('max_groups', 1),
  };
  o.rejectUnknown(['kafka_topic', 'late', 'max_groups']);
  return result;
}

/**
 * Validates an alert's WITH options; summary/description templates may use the output columns,
 * the window bounds (when windowed), alertname, severity and the alert's own labels.
 */
export function alertOptions(options: readonly WithOption[], output: readonly { readonly name: string }[], windowed: boolean, report: Report): AlertOptions {
  const o = new Options(options, 'an alert', report);
  const labelsText = o.string('labels');
  const labels: Record<string, string> = {};
  if (labelsText !== null) {
    const parsed = parseLabels(labelsText);
    if (typeof parsed === 'string') report(o.valuePos('labels'), parsed);
    else Object.assign(labels, parsed);
  }
  const result: AlertOptions = {
    forMs: o.duration('for') ?? 0,
    keepFiringForMs: o.duration('keep_firing_for') ?? 0,
    quietPeriodMs: o.duration('quiet_period'),
    severity: o.string('severity'),
    summary: o.string('summary'),
    description: o.string('description'),
    labels,
    flappingChanges: o.integer('flapping_changes', 1),
    flappingWindow: o.integer('flapping_window', 1),
  };
  // Templates may use output columns, the window bounds, and the alert's own labels.
  const known = [...output.map((c) => c.name), ...(windowed ? ['windowstart', 'windowend'] : []), 'alertname', 'severity', ...Object.keys(labels)];
  for (const key of ['summary', 'description'] as const) {
    const text = result[key];
    if (text === null) continue;
    for (const m of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
      const name = m[1]!.toLowerCase();
      if (!known.includes(name)) report(o.valuePos(key), `${key} refers to unknown column '${m[1]}'${suggest(name, known)}`);
    }
  }
  o.rejectUnknown(['for', 'keep_firing_for', 'quiet_period', 'severity', 'summary', 'description', 'labels', 'flapping_changes', 'flapping_window']);
  return result;
}

/** Typed access to a statement's WITH options; reports wrong types, duplicates and unknown keys. */
class Options {
  private readonly byKey = new Map<string, WithOption>();

  constructor(
    options: readonly WithOption[],
    private readonly what: string,
    private readonly report: Report,
  ) {
    for (const o of options) {
      if (this.byKey.has(o.key)) report(o.pos, `option '${o.key}' is given twice`);
      else this.byKey.set(o.key, o);
    }
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  valuePos(key: string): Pos {
    return this.byKey.get(key)!.valuePos;
  }

  string(key: string): string | null {
    const o = this.byKey.get(key);
    if (!o) return null;
    if (typeof o.value !== 'string') {
      this.report(o.valuePos, `option '${key}' must be a string, not ${describeLiteral(o.value)}`);
      return null;
    }
    return o.value;
  }

  duration(key: string): number | null {
    const o = this.byKey.get(key);
    if (!o) return null;
    const ms = typeof o.value === 'string' ? parseDuration(o.value) : null;
    if (ms === null) this.report(o.valuePos, `option '${key}' must be a duration such as '2 MINUTES' or '30s', not ${describeLiteral(o.value)}`);
    return ms;
  }

  integer(key: string, min: number): number | null {
    const o = this.byKey.get(key);
    if (!o) return null;
    if (typeof o.value !== 'number' || !Number.isSafeInteger(o.value) || o.value < min) {
      this.report(o.valuePos, `option '${key}' must be an integer >= ${min}, not ${describeLiteral(o.value)}`);
      return null;
    }
    return o.value;
  }

  rejectUnknown(known: readonly string[]): void {
    for (const [key, o] of this.byKey) {
      if (!known.includes(key)) {
        this.report(o.pos, `unknown option '${key}' for ${this.what}${suggest(key, known)}; expected ${known.join(', ')}`);
      }
    }
  }
}

/**
 * Parses the alert `labels` option: `'team=payments,tier=1'`, comma-separated `name=value`
 * pairs, spaces around names and values trimmed, names as in Prometheus. Returns a message when
 * malformed.
 */
export function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `labels must look like 'team=payments,tier=1' (bad pair '${part.trim()}')`;
    if (name === 'alertname') return "labels cannot set 'alertname' (it is the alert's name)";
    if (name in out) return `label '${name}' is given twice`;
    out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

function describeLiteral(v: LiteralValue): string {
  if (typeof v === 'string') return `'${v}'`;
  return String(v).toUpperCase() === 'NULL' ? 'NULL' : String(v);
}

