/**
 * Reads the declared fields of one JSON object straight from a record's bytes: no string of the
 * whole record and no object holding every field, which is most of what JSON.parse costs a
 * decoder that wants 6 fields of 12 (docs/ingest.md, "Decoding").
 *
 * It validates the whole record as JSON but decides only the common case: an ASCII object, no
 * duplicate or differently-cased declared field, no nesting deeper than 64. On anything else
 * scan() returns false and the caller parses with JSON.parse, so the result is always exactly what
 * JSON.parse would have given: numbers are converted with Clinger's exact fast path or Number(),
 * strings are the same characters, and a malformed record is never accepted.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const MAX_DEPTH = 64;
/** Strings up to this many bytes are interned: group keys repeat, so most need no allocation. */
const INTERN_MAX_BYTES = 32;
const INTERN_SLOTS = 16384;
/** Lookups per field before deciding whether its strings repeat enough to intern. */
const INTERN_SAMPLE = 1024;
/** A field left out of interning is sampled again after this many strings. */
const INTERN_RESAMPLE_AFTER = 1 << 16;
/** Objects (MAP values) up to this many bytes are shared between records with the same bytes. */
const SHARE_MAX_BYTES = 512;
/** Shared objects kept per scanner before the table starts over. */
const SHARE_MAX = 1 << 16;
/** 10^0 .. 10^22, every one exact as a double (Clinger's fast path). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** A scanner for one stream's declared fields; reused for every record (not reentrant). */
export class FieldScanner {
  /** After a successful scan(): each declared field's JSON value, undefined when absent. */
  readonly values: unknown[];
  private readonly names: Uint8Array[];
  private buf: Buffer = Buffer.alloc(0);
  /** The value read by the last readValue (a field rather than an allocated pair). */
  private value: unknown = undefined;
  private readonly interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);
  /** Per declared field: intern lookups and hits in the current sample (shouldIntern). */
  private readonly internTries: Int32Array;
  private readonly internHits: Int32Array;
  /** The bytes of each interned string (slot × INTERN_MAX_BYTES): compared as bytes, not characters. */
  private readonly internedBytes = Buffer.alloc(INTERN_SLOTS * INTERN_MAX_BYTES);
  /** Flat objects by their bytes (as latin1 text): a label set repeats with its series. */
  private readonly shared = new Map<string, Record<string, string>>();
  private readonly shareTries: Int32Array;
  private readonly shareHits: Int32Array;

  /**
   * `names`: the declared field names in the order of `values`. `shareObjects`: records with
   * the same bytes for an object field get the same object (the ingest worker codes label sets by
   * identity; on one thread the lookup costs more than building the object).
   */
  constructor(
    names: readonly string[],
    private readonly shareObjects = false,
    /**
     * Per field: only its JSON type matters (a column no query reads, type-checked all the same),
     * so its value is validated and values[] gets a stand-in of that type (standIn).
     */
    private readonly typeOnly: readonly boolean[] = [],
  ) {
    this.names = names.map((n) => Buffer.from(n, 'latin1'));
    this.values = new Array<unknown>(names.length).fill(undefined);
    this.internTries = new Int32Array(names.length);
    this.internHits = new Int32Array(names.length);
    this.shareTries = new Int32Array(names.length);
    this.shareHits = new Int32Array(names.length);
  }

  /** Scans one record; false when the caller must decide with JSON.parse instead. */
  scan(buf: Buffer): boolean {
    this.buf = buf;
    const values = this.values;
    for (let f = 0; f < values.length; f++) values[f] = undefined;
    const n = buf.length;
    let i = this.ws(0);
    if (i >= n || buf[i] !== OPEN_OBJECT) return false;
    i = this.ws(i + 1);
    if (i < n && buf[i] === CLOSE_OBJECT) return this.ws(i + 1) === n;
    for (;;) {
      if (i >= n || buf[i] !== QUOTE) return false;
      const keyStart = i + 1;
      i = this.skipString(i);
      if (i < 0) return false;
      const field = this.matchKey(keyStart, i - 1);
      if (field === AMBIGUOUS) return false;
      i = this.ws(i);
      if (i >= n || buf[i] !== COLON) return false;
      i = this.ws(i + 1);
      if (field >= 0) {
        if (values[field] !== undefined) return false; // a duplicate: JSON.parse keeps the last
        i = this.typeOnly[field] === true ? this.standIn(i) : this.readValue(i, field);
        values[field] = this.value;
      } else {
        i = this.skipValue(i, 0);
      }
      if (i < 0) return false;
      i = this.ws(i);
      if (i >= n) return false;
      const c = buf[i];
      if (c === COMMA) {
        i = this.ws(i + 1);
        continue;
      }
      if (c === CLOSE_OBJECT) return this.ws(i + 1) === n;
      return false;
    }
  }

  private ws(i: number): number {
    const buf = this.buf;
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    return i;
  }

  /**
   * The declared field a key (bytes start..end, no escapes) names: its index, UNKNOWN, or
   * AMBIGUOUS when it matches only ignoring case (JSON.parse's path resolves precedence then).
   */
  private matchKey(start: number, end: number): number {
    const buf = this.buf;
    const len = end - start;
    const names = this.names;
    for (let f = 0; f < names.length; f++) {
      const name = names[f]!;
      if (name.length !== len) continue;
      let exact = true;
      let j = 0;
      for (; j < len; j++) {
        const a = buf[start + j]!;
        const b = name[j]!;
        if (a === b) continue;
        if (foldAscii(a) !== foldAscii(b)) break;
        exact = false;
      }
      if (j === len) return exact ? f : AMBIGUOUS;
    }
    return UNKNOWN;
  }

  /** Reads the value at i into this.value; returns the index after it, or -1. */
  private readValue(i: number, field: number): number {
    const buf = this.buf;
    const c = buf[i];
    if (c === QUOTE) return this.readString(i, field);
    if (c === MINUS || (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) return this.readNumber(i, true);
    if (c === OPEN_OBJECT) {
      const end = this.shareObjects && sample(field, this.shareTries, this.shareHits) ? this.readSharedObject(i, field) : this.readFlatObject(i, field);
      if (end !== DECLINED) return end;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const end = this.skipValue(i, 0);
      // Validated, ASCII-only JSON: parsing the slice gives what parsing the record would.
      if (end >= 0) this.value = JSON.parse(latin1(buf, i, end));
      return end;
    }
    const end = this.skipLiteral(i);
    if (end >= 0) this.value = c === 0x74 ? true : c === 0x66 ? false : null;
    return end;
  }

  /**
   * Validates the value at i without building it; this.value gets a stand-in of its JSON type: ''
   * for a string, 0 for a number, the literal itself, or a shared empty object or array.
   */
  private standIn(i: number): number {
    const c = this.buf[i];
    this.value = c === QUOTE ? '' : c === OPEN_OBJECT ? STAND_IN_OBJECT : c === OPEN_ARRAY ? STAND_IN_ARRAY : c === 0x74 ? true : c === 0x66 ? false : c === 0x6e ? null : 0;
    return this.skipValue(i, 0);
  }

  /**
   * A flat object at i, the one read earlier from the same bytes when there is one. The same
   * bytes always read the same way, so what readFlatObject accepted once it accepts again; rows
   * then share the object (the engine never changes a row's values).
   */
  private readSharedObject(i: number, field: number): number {
    const end = this.skipValue(i, 0);
    if (end < 0 || end - i > SHARE_MAX_BYTES) return this.readFlatObject(i, field);
    const text = latin1(this.buf, i, end);
    const known = this.shared.get(text);
    if (known !== undefined) {
      this.value = known;
      this.shareHits[field]!++;
      return end;
    }
    const read = this.readFlatObject(i, field);
    if (read !== DECLINED) {
      if (this.shared.size >= SHARE_MAX) this.shared.clear();
      this.shared.set(text, this.value as Record<string, string>);
    }
    return read;
  }

  /**
   * An object of string values at i (`{"service":"api","region":"eu"}`, what MAP columns mostly
   * hold), built directly into this.value. DECLINED for anything else (another value type, a
   * `__proto__` key, a syntax error): the caller then validates and parses the slice.
   */
  private readFlatObject(i: number, field: number): number {
    const buf = this.buf;
    const n = buf.length;
    const obj: Record<string, string> = {};
    i = this.ws(i + 1);
    if (i < n && buf[i] === CLOSE_OBJECT) {
      this.value = obj;
      return i + 1;
    }
    for (;;) {
      if (i >= n || buf[i] !== QUOTE) return DECLINED;
      i = this.readString(i, field);
      const key = this.value as string;
      if (i < 0 || key === '__proto__') return DECLINED;
      i = this.ws(i);
      if (i >= n || buf[i] !== COLON) return DECLINED;
      i = this.ws(i + 1);
      if (i >= n || buf[i] !== QUOTE) return DECLINED;
      i = this.readString(i, field);
      if (i < 0) return DECLINED;
      // A repeated key keeps its first position and takes the last value, as in JSON.parse.
      obj[key] = this.value as string;
      i = this.ws(i);
      if (i >= n) return DECLINED;
      if (buf[i] === COMMA) {
        i = this.ws(i + 1);
        continue;
      }
      if (buf[i] !== CLOSE_OBJECT) return DECLINED;
      this.value = obj;
      return i + 1;
    }
  }

  /** A string at i: interned when short and escape-free, else parsed from its (ASCII) slice. */
  private readString(i: number, field: number): number {
    const buf = this.buf;
    const n = buf.length;
    let j = i + 1;
    while (j < n && PLAIN[buf[j]!] === 1) j++;
    if (j >= n) return -1;
    if (buf[j] !== QUOTE) {
      const end = this.skipString(i);
      if (end >= 0) this.value = JSON.parse(latin1(buf, i, end));
      return end;
    }
    const start = i + 1;
    const len = j - start;
    if (len > INTERN_MAX_BYTES || len === 0 || !this.shouldIntern(field)) {
      this.value = latin1(buf, start, j);
      return j + 1;
    }
    // A hash of a few bytes: ids and host names differ at the end, and a collision only costs a miss.
    const hash = Math.imul(len * 0x3b + buf[start]! * 0x1f3 + buf[start + (len >> 1)]!, 0x9e3779b1) ^ Math.imul(buf[j - 1]! + (buf[j - 2]! << 8) + (buf[j - 3]! << 16), 0x85ebca6b);
    const slot = (hash ^ (hash >>> 15)) & (INTERN_SLOTS - 1);
    const cached = this.interned[slot];
    const pool = this.internedBytes;
    const at = slot * INTERN_MAX_BYTES;
    if (cached !== undefined && cached.length === len && sameBytes(pool, at, buf, start, len)) {
      this.value = cached;
      this.internHits[field]!++;
    } else {
      const s = latin1(buf, start, j);
      this.interned[slot] = s;
      for (let k = 0; k < len; k++) pool[at + k] = buf[start + k]!;
      this.value = s;
    }
    return j + 1;
  }

  /**
   * Whether to look this field's string up in the intern table. A field whose strings rarely
   * repeat (event ids) only pays for the lookup and evicts useful entries, so after INTERN_SAMPLE
   * lookups with fewer than a quarter hits it is left out for a while, then sampled again.
   */
  private shouldIntern(field: number): boolean {
    return sample(field, this.internTries, this.internHits);
  }

  /**
   * A number at i (JSON grammar); with `convert`, its value into this.value, exactly as JSON.parse
   * converts it (a skipped field's number is only validated).
   */
  private readNumber(i: number, convert: boolean): number {
    const buf = this.buf;
    const n = buf.length;
    const start = i;
    const negative = buf[i] === MINUS;
    if (negative) i++;
    let mantissa = 0;
    let digits = 0;
    let c = i < n ? buf[i]! : -1;
    if (c === DIGIT_0) {
      i++;
    } else if (c > DIGIT_0 && c <= DIGIT_9) {
      while (i < n && (c = buf[i]!) >= DIGIT_0 && c <= DIGIT_9) {
        mantissa = mantissa * 10 + (c - DIGIT_0);
        digits++;
        i++;
      }
    } else {
      return -1;
    }
    let exponent = 0;
    if (i < n && buf[i] === DOT) {
      i++;
      const fracStart = i;
      while (i < n && (c = buf[i]!) >= DIGIT_0 && c <= DIGIT_9) {
        mantissa = mantissa * 10 + (c - DIGIT_0);
        digits++;
        i++;
      }
      if (i === fracStart) return -1;
      exponent = fracStart - i;
    }
    if (i < n && (buf[i] === 0x65 || buf[i] === 0x45)) {
      i++;
      let expNegative = false;
      if (i < n && (buf[i] === MINUS || buf[i] === PLUS)) expNegative = buf[i++] === MINUS;
      const expStart = i;
      let e = 0;
      while (i < n && (c = buf[i]!) >= DIGIT_0 && c <= DIGIT_9) {
        if (e < 100_000) e = e * 10 + (c - DIGIT_0);
        i++;
      }
      if (i === expStart) return -1;
      exponent += expNegative ? -e : e;
    }
    if (!convert) return i;
    let v: number;
    // Up to 15 digits the mantissa is exact, and so is 10^k for k <= 22: one IEEE operation on
    // two exact operands rounds correctly. Anything else goes through Number(), as JSON.parse.
    if (digits <= 15 && exponent >= -22 && exponent <= 22) {
      v = exponent === 0 ? mantissa : exponent < 0 ? mantissa / POW10[-exponent]! : mantissa * POW10[exponent]!;
      if (negative) v = -v;
    } else {
      v = Number(latin1(buf, start, i));
    }
    this.value = v;
    return i;
  }

  /** Skips (and validates) any JSON value at i; returns the index after it, or -1. */
  private skipValue(i: number, depth: number): number {
    const buf = this.buf;
    const n = buf.length;
    if (i >= n) return -1;
    const c = buf[i]!;
    if (c === QUOTE) return this.skipString(i);
    if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) return this.readNumber(i, false);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth >= MAX_DEPTH) return -1;
      const isObject = c === OPEN_OBJECT;
      const close = isObject ? CLOSE_OBJECT : CLOSE_ARRAY;
      i = this.ws(i + 1);
      if (i < n && buf[i] === close) return i + 1;
      for (;;) {
        if (isObject) {
          if (i >= n || buf[i] !== QUOTE) return -1;
          i = this.skipString(i);
          if (i < 0) return -1;
          i = this.ws(i);
          if (i >= n || buf[i] !== COLON) return -1;
          i = this.ws(i + 1);
        }
        i = this.skipValue(i, depth + 1);
        if (i < 0) return -1;
        i = this.ws(i);
        if (i >= n) return -1;
        if (buf[i] === COMMA) {
          i = this.ws(i + 1);
          continue;
        }
        return buf[i] === close ? i + 1 : -1;
      }
    }
    return this.skipLiteral(i);
  }

  /** Skips a string at i (escapes validated; non-ASCII refused); the index after its quote, or -1. */
  private skipString(i: number): number {
    const buf = this.buf;
    const n = buf.length;
    for (let j = i + 1; j < n; j++) {
      const c = buf[j]!;
      if (PLAIN[c] === 1) continue;
      if (c === QUOTE) return j + 1;
      if (c !== BACKSLASH) return -1;
      const e = buf[++j];
      if (e === 0x75) {
        for (let k = 0; k < 4; k++) if (!isHex(buf[++j])) return -1;
      } else if (e === undefined || !SIMPLE_ESCAPES.has(e)) {
        return -1;
      }
    }
    return -1;
  }

  /** true, false or null at i; the index after it, or -1. */
  private skipLiteral(i: number): number {
    const buf = this.buf;
    const c = buf[i];
    const word = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : null;
    if (word === null || i + word.length > buf.length) return -1;
    for (let k = 1; k < word.length; k++) if (buf[i + k] !== word[k]) return -1;
    return i + word.length;
  }
}

const UNKNOWN = -1;
const AMBIGUOUS = -2;
/** readFlatObject's answer for an object it does not build itself. */
const DECLINED = -2;
const STAND_IN_OBJECT = Object.freeze({});
const STAND_IN_ARRAY = Object.freeze([]);
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
/** 1 for a byte that stands for itself inside a JSON string: printable ASCII but quote and backslash. */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH ? 1 : 0));
/** The characters that may follow a backslash, besides u. */
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((ch) => ch.charCodeAt(0)));

function foldAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= DIGIT_0 && c <= DIGIT_9) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function sameBytes(a: Buffer, aStart: number, b: Buffer, bStart: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[aStart + k] !== b[bStart + k]) return false;
  return true;
}

/**
 * Bytes s..e (ASCII) as a string. Up to 16 bytes by a fixed-arity String.fromCharCode call, which
 * V8 compiles inline: about a third of the time of a call into Buffer#latin1Slice (measured 12
 * against 42 ns for an 8-byte id), and most strings in events (ids, hosts, names) are short.
 */
function latin1(b: Buffer, s: number, e: number): string {
  switch (e - s) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[s]!);
    case 2:
      return fromCharCode(b[s]!, b[s + 1]!);
    case 3:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
    default:
      return (b as LatinSliceable).latin1Slice(s, e);
  }
}
const fromCharCode = String.fromCharCode;

/**
 * Whether to use a cache for this field's next value, from its counters of lookups and hits: after
 * INTERN_SAMPLE lookups with fewer than a quarter hits the field is left out for a while, then
 * sampled again. (Also the ingest worker's dictionary policy, chunk-codec.ts.)
 */
export function sample(field: number, tries: Int32Array, hits: Int32Array): boolean {
  const t = ++tries[field]!;
  if (t <= INTERN_SAMPLE) return true;
  if (t === INTERN_SAMPLE + 1 && hits[field]! >= INTERN_SAMPLE / 4) {
    tries[field] = hits[field] = 0; // a good field: sample again
    return true;
  }
  if (t >= INTERN_RESAMPLE_AFTER) tries[field] = hits[field] = 0;
  return false;
}

/** Node's Buffer has latin1Slice (toString('latin1') without its argument checks); untyped. */
type LatinSliceable = Buffer & { latin1Slice(start: number, end: number): string };
