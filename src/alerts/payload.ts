/**
 * The alert payload (SPEC section 4): Alertmanager's alert model plus the values and window that
 * made the rule match. Pure: fingerprints and templates need no I/O.
 */
import type { Value } from '../types.js';

/**
 * One notification. `fingerprint` + `startsAt` + `status` identifies one transition, so a consumer
 * can drop a redelivered one. A `flapping` payload is seismo's own: the instance changes state too
 * often and its transitions are held back until it settles.
 */
export interface AlertPayload {
  fingerprint: string;
  status: 'firing' | 'resolved' | 'flapping';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the instance started firing (Prometheus's FiredAt); for flapping, when flapping began. */
  startsAt: string;
  /** When it resolved; null unless status is resolved. */
  endsAt: string | null;
  values: Record<string, Value>;
  window: { start: string; end: string } | null;
  /** Event time of the evaluation that produced it; a live sink may overwrite it with wall time. */
  emittedAt: string;
}

const encoder = new TextEncoder();
const TWO_32 = 0x1_0000_0000;

/**
 * A stable hash of a label set: FNV-1a 64 over the labels sorted by name, each as
 * `name 0xff value 0xff` (Prometheus's separator, a byte that never occurs in UTF-8), so label
 * order does not matter and `{a:"b,c"}` cannot collide with `{a:"b", c:""}`. 16 hex chars.
 * Computed in two 32-bit halves rather than BigInt: per-event rules look an instance up on
 * every event, so this is on the hot path.
 */
export function fingerprint(labels: Record<string, string>): string {
  // FNV-1a 64: offset basis 0xcbf29ce484222325, prime 0x100000001b3 = 2^40 + 0x1b3.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const mix = (byte: number): void => {
    lo = (lo ^ byte) >>> 0;
    // h * prime = h * 0x1b3 + (h << 40); lo * 0x1b3 < 2^41 is exact in a double.
    const p = lo * 0x1b3;
    const carry = Math.floor(p / TWO_32);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = p >>> 0;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const part of [name, labels[name] ?? '']) {
      for (const byte of encoder.encode(part)) mix(byte);
      mix(0xff);
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** What a missing column or a NULL renders as, like Go templates in Prometheus. */
export const NO_VALUE = '<no value>';

/**
 * Renders `{{column}}` placeholders (whitespace inside the braces allowed, names case-insensitive
 * like SQL identifiers). A missing column or NULL renders as `<no value>` so a broken template is
 * visible in the notification rather than silently empty.
 */
export function renderTemplate(template: string, values: Record<string, Value>): string {
  const lower: Record<string, Value> = {};
  for (const [k, v] of Object.entries(values)) lower[k.toLowerCase()] = v;
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g, (_m, name: string) => {
    const v = lower[name.toLowerCase()];
    return v === undefined ? NO_VALUE : formatValue(v);
  });
}

/**
 * A value as text for templates and labels. Integers print whole; other numbers keep 4 decimals
 * (4 significant digits below 1, so 0.000123 stays readable), trailing zeros dropped.
 */
export function formatValue(v: Value): string {
  if (v === null) return NO_VALUE;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    const s = Math.abs(v) >= 1 ? v.toFixed(4) : v.toPrecision(4);
    return s.includes('e') ? s : s.replace(/\.?0+$/, '');
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * A group column's value as a label value: strings as they are, other values as formatValue,
 * NULL as the empty string (Prometheus's "absent").
 */
export function labelValue(v: Value): string {
  return v === null ? '' : formatValueExact(v);
}

function formatValueExact(v: Exclude<Value, null>): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(v).sort()) sorted[k] = v[k] ?? '';
  return JSON.stringify(sorted);
}

/** Epoch ms as the ISO-8601 UTC text used in payloads. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
