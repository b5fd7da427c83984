/**
 * The decode boundary: Kafka record bytes to a typed Row, or a reason to dead-letter it. Pure and
 * per event, so the stream's schema is compiled once into an array of converter closures and the
 * hot path allocates only the row (and the small result object).
 *
 * Coercions follow ksqlDB's JSON format where it is lenient, and refuse what would silently lose
 * meaning (docs/ingest.md has the full table):
 * - VARCHAR accepts strings, and numbers/booleans as their JSON text (ksqlDB does the same);
 * - INT / BIGINT accept integral numbers and numeric strings in range (BIGINT: JS safe integers);
 * - DOUBLE accepts numbers and numeric strings; BOOLEAN accepts booleans and "true"/"false";
 * - TIMESTAMP accepts what parseTimestamp does; MAP<VARCHAR,VARCHAR> accepts an object whose
 *   values are strings (numbers/booleans coerced, nulls dropped).
 * JSON null and absent fields are NULL. Field names match case-insensitively (identifiers are), with
 * an exact lower-case match tried first because it is the common case and costs one lookup.
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnType, ScalarType } from '../lang/ast.js';
import { rowColumns, type StreamPlan } from '../plan.js';
import type { Row, Value } from '../types.js';
import { FieldScanner } from './json-fields.js';
import { parseTimestamp } from './timestamp.js';

export { parseTimestamp } from './timestamp.js';

/** Why a record was dead-lettered; also the `reason` label of seismo_events_invalid_total. */
export const DECODE_REASONS = [
  'not_json',
  'not_object',
  'missing_timestamp',
  'bad_timestamp',
  'missing_event_id',
  'wrong_type',
  'empty',
  /** Event time too far ahead of the wall clock (checked by the live service, not here). */
  'future_timestamp',
] as const;
export type DecodeReason = (typeof DECODE_REASONS)[number];

/** A decoded event (ts in epoch ms) or the reason it was refused, with a one-line detail. */
export type DecodeResult =
  | { readonly ok: true; readonly row: Row; readonly ts: number; readonly eventId: string | null }
  | { readonly ok: false; readonly reason: DecodeReason; readonly detail: string };

/**
 * Decodes one Kafka record of a stream. `recordTimestamp` is the record's timestamp in epoch ms, a
 * number or the string kafkajs gives; it is parsed, and used, only when the stream declares no
 * timestamp column. An ok result is one object per decoder, overwritten by its next call (an
 * allocation per event less): read it before decoding the next record.
 */
export type Decoder = (value: Buffer | null, key: Buffer | null, recordTimestamp: number | string) => DecodeResult;

/** Decodes one already-parsed object (replay reads NDJSON/CSV itself); same rules as Decoder. */
export type ObjectDecoder = (obj: Record<string, unknown>, key: Buffer | null, recordTimestamp: number | string) => DecodeResult;

export interface DecoderOptions {
  /**
   * Read KEY columns from the record key (the default, for Kafka) or as plain fields of the
   * value (replay files, SPEC section 3).
   */
  readonly keysFromValue?: boolean;
  /** Records with the same bytes for a MAP field share one object (FieldScanner's shareObjects). */
  readonly shareMaps?: boolean;
}

/** Marks a value a converter refused; a symbol so it can never collide with a Value. */
const BAD: unique symbol = Symbol('bad');
type Converter = (v: unknown) => Value | typeof BAD;

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const NUMERIC = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

const toVarchar: Converter = (v) => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return BAD;
};
const toInt: Converter = (v) => {
  const n = toNumber(v);
  return n !== null && Number.isInteger(n) && n >= INT_MIN && n <= INT_MAX ? n : BAD;
};
const toBigint: Converter = (v) => {
  const n = toNumber(v);
  return n !== null && Number.isSafeInteger(n) ? n : BAD;
};
const toDouble: Converter = (v) => {
  const n = toNumber(v);
  return n === null ? BAD : n;
};
const toBoolean: Converter = (v) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const l = v.trim().toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  return BAD;
};
const toTimestamp: Converter = (v) => parseTimestamp(v) ?? BAD;

/** MAP<VARCHAR, VARCHAR>: reuses the parsed object when every value is already a string. */
const toMap: Converter = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return BAD;
  const obj = v as Record<string, unknown>;
  for (const k in obj) {
    if (typeof obj[k] !== 'string') return copyMap(obj);
  }
  return obj as Record<string, string>;
};
function copyMap(obj: Record<string, unknown>): Record<string, string> | typeof BAD {
  const out: Record<string, string> = {};
  for (const k in obj) {
    const x = obj[k];
    if (x === null || x === undefined) continue;
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else return BAD;
  }
  return out;
}

const SCALAR: Record<ScalarType, Converter> = {
  VARCHAR: toVarchar,
  INT: toInt,
  BIGINT: toBigint,
  DOUBLE: toDouble,
  BOOLEAN: toBoolean,
  TIMESTAMP: toTimestamp,
};

function converterFor(type: ColumnType): Converter {
  return type.kind === 'map' ? toMap : SCALAR[type.name];
}

function typeLabel(type: ColumnType): string {
  return type.kind === 'map' ? `MAP<${type.key}, ${type.value}>` : type.name;
}

/** A short, one-line rendering of an offending value for the dead-letter detail. */
function preview(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Case-insensitive fallback for a field the exact lower-case lookup missed. */
function lookupFolded(obj: Record<string, unknown>, name: string): unknown {
  for (const k in obj) {
    if (k.length === name.length && k.toLowerCase() === name) return obj[k];
  }
  return undefined;
}

interface CompiledColumn {
  readonly name: string;
  readonly convert: Converter;
  readonly type: ColumnType;
  /** Conversion failures of the timestamp column are bad_timestamp, of others wrong_type. */
  readonly badReason: DecodeReason;
  /** Whether rows hold the column; an unread one (StreamPlan.unread) is only type-checked. */
  readonly keep: boolean;
}

function fail(reason: DecodeReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

function badValue(col: CompiledColumn, v: unknown, where: string): DecodeResult {
  return fail(col.badReason, `${where}${col.name}: expected ${typeLabel(col.type)}, got ${preview(v)}`);
}

/**
 * Compiles a stream's schema into a decoder. Rules (SPEC section 4): the value must be a JSON
 * object; declared columns are converted, unknown fields ignored, absent ones NULL; the
 * timestamp column (when declared) and the event id column (when declared) are required.
 * Records are read from their bytes by a FieldScanner; the few it cannot decide (non-ASCII,
 * differently-cased or duplicate fields, malformed JSON) go through JSON.parse, with the same result.
 */
export function makeDecoder(stream: StreamPlan, opts: DecoderOptions = {}): Decoder {
  const schema = compileSchema(stream, opts);
  const decodeObject = objectDecoder(schema);
  const { fromValue, template } = schema;
  const scanner = new FieldScanner(
    fromValue.map((c) => c.name),
    opts.shareMaps ?? false,
    // An unread VARCHAR column takes any string, number or boolean: its value need not be built.
    fromValue.map((c) => !c.keep && c.convert === toVarchar),
  );
  const ok: OkResult = { ok: true, row: template, ts: 0, eventId: null };
  return (value, key, recordTimestamp) => {
    if (value === null || value.length === 0) return fail('empty', 'record has no value (tombstone)');
    if (scanner.scan(value)) {
      const row: Row = { ...template };
      const values = scanner.values;
      for (let i = 0; i < fromValue.length; i++) {
        const v = values[i];
        if (v === undefined || v === null) continue;
        const col = fromValue[i] as CompiledColumn;
        const out = col.convert(v);
        if (out === BAD) return badValue(col, v, '');
        if (col.keep) row[col.name] = out;
      }
      return finishRow(schema, row, key, recordTimestamp, ok);
    }
    const text = value.toString('utf8');
    // Buffer#toString replaces invalid bytes with U+FFFD silently; confirm only when one shows up.
    if (text.includes('\uFFFD') && !isUtf8(value)) return fail('not_json', 'value is not valid UTF-8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return fail('not_json', (err as Error).message);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return fail('not_object', `value is ${Array.isArray(parsed) ? 'an array' : `${preview(parsed)}`}, not an object`);
    }
    return decodeObject(parsed as Record<string, unknown>, key, recordTimestamp);
  };
}

/** Like makeDecoder, for callers that already hold the parsed object (replay). */
export function makeObjectDecoder(stream: StreamPlan, opts: DecoderOptions = {}): ObjectDecoder {
  return objectDecoder(compileSchema(stream, opts));
}

/** A stream's schema compiled for decoding. */
interface CompiledSchema {
  readonly fromKey: readonly CompiledColumn[];
  readonly fromValue: readonly CompiledColumn[];
  /**
   * Every row starts as a copy of this all-NULL template: V8 clones an object of a known shape
   * in one step, and every row of the stream shares that shape (one hidden class downstream).
   */
  readonly template: Row;
  readonly tsCol: string | null;
  readonly idCol: string | null;
  readonly readKey: (key: Buffer | null, row: Row) => DecodeResult | null;
}

function compileSchema(stream: StreamPlan, opts: DecoderOptions): CompiledSchema {
  const kept = rowColumns(stream);
  const compile = (c: StreamPlan['columns'][number]): CompiledColumn => ({
    name: c.name,
    convert: converterFor(c.type),
    type: c.type,
    badReason: c.name === stream.timestampColumn ? 'bad_timestamp' : 'wrong_type',
    keep: kept.includes(c),
  });
  const fromKey = opts.keysFromValue ? [] : stream.columns.filter((c) => c.key).map(compile);
  const fromValue = stream.columns.filter((c) => opts.keysFromValue || !c.key).map(compile);
  const template: Row = {};
  for (const c of kept) template[c.name] = null;
  return { fromKey, fromValue, template, tsCol: stream.timestampColumn, idCol: stream.eventIdColumn, readKey: makeKeyReader(fromKey) };
}

function objectDecoder(schema: CompiledSchema): ObjectDecoder {
  const { fromValue, template } = schema;
  return (obj, key, recordTimestamp) => {
    const row: Row = { ...template };
    for (let i = 0; i < fromValue.length; i++) {
      const col = fromValue[i] as CompiledColumn;
      let v = obj[col.name];
      if (v === undefined) v = lookupFolded(obj, col.name);
      if (v === undefined || v === null) continue;
      const out = col.convert(v);
      if (out === BAD) return badValue(col, v, '');
      if (col.keep) row[col.name] = out;
    }
    return finishRow(schema, row, key, recordTimestamp, null);
  };
}

type OkResult = { -readonly [K in keyof Extract<DecodeResult, { ok: true }>]: Extract<DecodeResult, { ok: true }>[K] };

/**
 * Key columns, event time and event id of a row whose value columns are converted; an ok result
 * is written into `out` when given (the decoder's reused result), else allocated.
 */
function finishRow(schema: CompiledSchema, row: Row, key: Buffer | null, recordTimestamp: number | string, out: OkResult | null): DecodeResult {
  const { tsCol, idCol } = schema;
  if (schema.fromKey.length > 0) {
    const err = schema.readKey(key, row);
    if (err !== null) return err;
  }
  let ts: number;
  if (tsCol === null) ts = Number(recordTimestamp);
  else {
    const t = row[tsCol];
    if (t === null || t === undefined) return fail('missing_timestamp', `timestamp column ${tsCol} is missing or null`);
    const ms = parseTimestamp(t);
    if (ms === null) return fail('bad_timestamp', `${tsCol}: not a timestamp: ${preview(t)}`);
    if (ms < 0) return fail('bad_timestamp', `${tsCol}: ${ms} is before 1970`);
    ts = ms;
  }
  let eventId: string | null = null;
  if (idCol !== null) {
    const id = row[idCol];
    if (id === null || id === undefined || id === '') {
      return fail('missing_event_id', `event id column ${idCol} is missing, null or empty`);
    }
    eventId = eventIdOf(id);
  }
  if (out === null) return { ok: true, row, ts, eventId };
  out.row = row;
  out.ts = ts;
  out.eventId = eventId;
  return out;
}

/** The deduplication id of an event id column's (non-null) value: its text. */
export function eventIdOf(id: Value): string {
  return typeof id === 'string' ? id : typeof id === 'object' ? JSON.stringify(id) : String(id);
}

/**
 * KEY columns from the record key: one KEY column takes the whole key (UTF-8 text, converted like
 * a JSON value, so `42` and `"42"` both read as INT 42); several KEY columns need a JSON object key.
 */
function makeKeyReader(cols: readonly CompiledColumn[]): (key: Buffer | null, row: Row) => DecodeResult | null {
  const single = cols.length === 1 ? cols[0] : undefined;
  if (single !== undefined) {
    return (key, row) => {
      if (key === null) return null;
      const text = key.toString('utf8');
      let out = single.type.kind === 'scalar' && single.type.name === 'VARCHAR' ? text : single.convert(text);
      if (out === BAD) out = single.convert(parseJsonOr(text));
      if (out === BAD) return badValue(single, text, 'key column ');
      row[single.name] = out;
      return null;
    };
  }
  return (key, row) => {
    if (key === null) return null;
    const parsed = parseJsonOr(key.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return fail('wrong_type', `record key must be a JSON object for ${cols.length} KEY columns`);
    }
    const obj = parsed as Record<string, unknown>;
    for (const col of cols) {
      let v = obj[col.name];
      if (v === undefined) v = lookupFolded(obj, col.name);
      if (v === undefined || v === null) continue;
      const out = col.convert(v);
      if (out === BAD) return badValue(col, v, 'key column ');
      row[col.name] = out;
    }
    return null;
  };
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
