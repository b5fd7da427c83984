/**
 * Local hour and weekday of an epoch-ms instant in an IANA time zone, for SEASONAL_ZSCORE.
 *
 * Intl.DateTimeFormat knows every zone's DST rules but costs microseconds per call, too much per
 * event. UTC offsets only change on quarter-hour boundaries (every zone's transitions fall on
 * them), so the offset is computed once per 15-minute bucket of UTC time and cached per zone.
 */

const BUCKET_MS = 15 * 60_000;
const CACHE_LIMIT = 4096;

/** One zone's formatter and its bucket → offset cache. */
interface Zone {
  readonly format: Intl.DateTimeFormat;
  readonly offsets: Map<number, number>;
}

const zones = new Map<string, Zone>();

/** Returns the zone's formatter, throwing a one-line error for an unknown zone name. */
function zone(tz: string): Zone {
  let z = zones.get(tz);
  if (z === undefined) {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      throw new Error(`unknown time zone '${tz}' (use an IANA name such as 'Europe/Berlin' or 'UTC')`);
    }
    z = { format, offsets: new Map() };
    zones.set(tz, z);
  }
  return z;
}

/** Checks a time zone name once, at query load. */
export function validateTimeZone(tz: string): void {
  zone(tz);
}

/** The zone's UTC offset in ms at instant t. */
export function utcOffset(tz: string, t: number): number {
  const z = zone(tz);
  const bucket = Math.floor(t / BUCKET_MS);
  let off = z.offsets.get(bucket);
  if (off === undefined) {
    const at = bucket * BUCKET_MS;
    const p: Record<string, number> = {};
    for (const part of z.format.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const local = Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!);
    off = local - at;
    if (z.offsets.size >= CACHE_LIMIT) z.offsets.clear();
    z.offsets.set(bucket, off);
  }
  return off;
}

/** Local wall-clock time of t in the zone, as ms since 1970-01-01T00:00 local. */
export function localMs(tz: string, t: number): number {
  return tz === 'UTC' ? t : t + utcOffset(tz, t);
}

/** Local hour of day, 0..23. */
export function hourOfDay(local: number): number {
  return Math.floor((((local % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000);
}

/** Local day of week, 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday). */
export function dayOfWeek(local: number): number {
  return (((Math.floor(local / 86_400_000) + 3) % 7) + 7) % 7;
}
