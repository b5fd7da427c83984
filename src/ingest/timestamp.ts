/**
 * TIMESTAMP parsing shared by the Kafka decoder and replay. Hand-written rather than Date.parse:
 * V8 reads `2026-11-24 10:15:00` and `2026-11-24T10:15:00` as LOCAL time, the dialect says UTC,
 * and this runs once per event, so it avoids the regex match array too.
 */

/** Largest magnitude a JS Date accepts (ms); beyond it a "timestamp" is certainly garbage. */
const MAX_MS = 8.64e15;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/**
 * Epoch milliseconds from a TIMESTAMP value, or null when it is not one. Accepted:
 * - a finite number: epoch milliseconds (a fraction is floored; seconds are NOT guessed);
 * - a string of digits (optional leading `-`): epoch milliseconds;
 * - ISO-8601 `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and an
 *   optional zone `Z`, `±HH`, `±HHMM` or `±HH:MM`; without a zone the time is UTC. Fractions
 *   beyond milliseconds are truncated. Fields are range-checked (no 2026-02-30, no 24:00, no
 *   year before 0100: almost certainly a mistake).
 */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v > MAX_MS || v < -MAX_MS) return null;
    return Math.floor(v);
  }
  if (typeof v !== 'string') return null;
  return parseTimestampString(v);
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Reads `n` digits at `i` as a number, or -1 when any is not a digit. */
function digits(s: string, i: number, n: number): number {
  let r = 0;
  for (let k = 0; k < n; k++) {
    const d = digit(s, i + k);
    if (d < 0) return -1;
    r = r * 10 + d;
  }
  return r;
}

function parseTimestampString(raw: string): number | null {
  const s = raw.length > 0 && (raw.charCodeAt(0) <= 32 || raw.charCodeAt(raw.length - 1) <= 32) ? raw.trim() : raw;
  const n = s.length;
  if (n === 0) return null;
  // All digits: epoch milliseconds as text.
  if (s.length < 10 || s.charCodeAt(4) !== 45 /* - */) {
    if (!/^-?\d{1,16}$/.test(s)) return null;
    const ms = Number(s);
    return Math.abs(ms) <= MAX_MS ? ms : null;
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = s.charCodeAt(7) === 45 ? digits(s, 8, 2) : -1;
  if (year < 100 || month < 1 || month > 12 || day < 1) return null;
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 1 : 0;
  if (day > (DAYS_IN_MONTH[month - 1] ?? 31) + leap) return null;
  let i = 10;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  if (i < n) {
    const sep = s.charCodeAt(i);
    if (sep === 84 /* T */ || sep === 116 /* t */ || sep === 32 /* space */) {
      hour = digits(s, i + 1, 2);
      minute = s.charCodeAt(i + 3) === 58 /* : */ ? digits(s, i + 4, 2) : -1;
      if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return null;
      i += 6;
      if (i < n && s.charCodeAt(i) === 58) {
        second = digits(s, i + 1, 2);
        if (second < 0 || second > 59) return null;
        i += 3;
        const dot = s.charCodeAt(i);
        if (i < n && (dot === 46 /* . */ || dot === 44 /* , */)) {
          i++;
          const start = i;
          while (i < n) {
            const d = digit(s, i);
            if (d < 0) break;
            if (i - start < 3) ms = ms * 10 + d;
            i++;
          }
          if (i === start) return null;
          // Pad to milliseconds: ".5" is 500 ms, ".05" is 50 ms.
          for (let k = i - start; k < 3; k++) ms *= 10;
        }
      }
    }
  }
  let offsetMin = 0;
  if (i < n) {
    const z = s.charCodeAt(i);
    if ((z === 90 /* Z */ || z === 122 /* z */) && i === n - 1) {
      i++;
    } else if (z === 43 /* + */ || z === 45 /* - */) {
      const oh = digits(s, i + 1, 2);
      let om = 0;
      let j = i + 3;
      if (j < n && s.charCodeAt(j) === 58) j++;
      if (j < n) {
        om = digits(s, j, 2);
        j += 2;
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59 || j !== n) return null;
      offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
      i = n;
    }
  }
  if (i !== n) return null;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + (minute - offsetMin) * 60_000 + second * 1000 + ms;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil): plain
 * integer arithmetic, several times faster than Date.UTC on this per-event path.
 */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
