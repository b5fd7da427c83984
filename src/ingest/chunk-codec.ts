/**
 * Decoded records in columns, for handing a chunk of Kafka records from the ingest worker (which
 * fetches and decodes) to the main thread (which runs the engine) at a fraction of what decoding
 * costs (docs/ingest.md, "The ingest worker").
 *
 * A chunk holds, per stream reading the topic, one typed array per column its rows hold
 * (rowColumns: the declared ones less those no query reads): numbers, timestamps and booleans as
 * doubles (NaN is NULL: a decoded number is always finite), strings and maps as codes. Code 0 is
 * NULL; a positive code names an entry of a dictionary both sides keep in
 * step (entries travel once, in the chunk that first uses them, so a series name or a label set
 * crosses the thread boundary once); a negative code names a value sent inline with the chunk,
 * for columns whose values rarely repeat (event ids). The raw key and value bytes travel too: the
 * main thread needs them for dead letters of late events, and to decode a chunk itself when its
 * streams changed (reload) after the worker decoded it.
 *
 * Pure: ChunkEncoder runs in the worker, ChunkReader on the main thread; the tests run both in one.
 */
import type { ColumnType } from '../lang/ast.js';
import { rowColumns, type StreamPlan } from '../plan.js';
import type { Row, Value } from '../types.js';
import { eventIdOf, makeDecoder, type DecodeReason, type DecodeResult, type Decoder } from './decode.js';
import { sample } from './json-fields.js';
import type { SourceBatch, SourceMessage } from './kafka-source.js';

/** One stream's share of a chunk. */
export interface StreamColumns {
  readonly stream: string;
  /** Event time per record (ms); NaN where the record was refused. */
  readonly ts: Float64Array;
  /** One array per column of the stream's rows (rowColumns), in declaration order. */
  readonly columns: readonly (Float64Array | Int32Array)[];
  /** Values of negative codes: entry k is code -(k + 1). */
  readonly inline: readonly unknown[];
  /** Refused records, ascending: index, reason and one-line detail. */
  readonly refused: readonly { readonly i: number; readonly reason: DecodeReason; readonly detail: string }[];
}

/** Consecutive records of one partition, decoded for every stream of their topic. */
export interface DecodedChunk {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly count: number;
  /** Offsets and record timestamps (ms) as doubles: exact below 2^53. */
  readonly offsets: Float64Array;
  readonly timestamps: Float64Array;
  /** The records' key and value bytes: record i's key is `bytes[spans[4i]..spans[4i+1])`, its value `[spans[4i+2]..spans[4i+3])`. */
  readonly bytes: Uint8Array;
  readonly spans: Int32Array;
  /** Per record: bit 1 the key is null, bit 2 the value is null. */
  readonly nulls: Uint8Array;
  /** The stream plans' version the worker decoded with (see ChunkReader.version). */
  readonly version: number;
  /** The dictionary starts over before this chunk's entries (it reached its size limit). */
  readonly dictionaryReset: boolean;
  /** New dictionary entries, in code order. */
  readonly dictionaryAdded: readonly unknown[];
  readonly streams: readonly StreamColumns[];
}

const KEY_NULL = 1;
const VALUE_NULL = 2;
/** Entries both dictionaries hold at most before starting over (a bound on both sides' memory). */
const DICTIONARY_MAX = 1 << 18;

type Kind = 'number' | 'boolean' | 'coded';

function kindOf(type: ColumnType): Kind {
  if (type.kind === 'map') return 'coded';
  if (type.name === 'VARCHAR') return 'coded';
  if (type.name === 'BOOLEAN') return 'boolean';
  return 'number';
}

/**
 * Where the records' key and value bytes lie. Records decoded from one fetch response are views of
 * its buffer, in order: their whole span is copied at once (with the few bytes of record framing
 * between them) instead of one copy per key and value.
 */
interface ByteLayout {
  /** The one buffer all keys and values are views of, or null (then each is copied). */
  readonly shared: ArrayBufferLike | null;
  readonly lo: number;
  /** Bytes the chunk holds. */
  readonly size: number;
}

function layoutBytes(msgs: readonly SourceMessage[]): ByteLayout {
  let shared: ArrayBufferLike | null = null;
  let lo = Infinity;
  let hi = 0;
  let size = 0;
  let contiguous = true;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as SourceMessage;
    for (const b of [m.key, m.value]) {
      if (b === null) continue;
      size += b.length;
      if (shared === null) shared = b.buffer;
      else if (b.buffer !== shared) contiguous = false;
      if (b.byteOffset < lo) lo = b.byteOffset;
      if (b.byteOffset + b.length > hi) hi = b.byteOffset + b.length;
    }
  }
  if (shared !== null && contiguous && hi - lo <= 2 * size + 4096) return { shared, lo, size: hi - lo };
  return { shared: null, lo: 0, size };
}

function copyBytes(msgs: readonly SourceMessage[], layout: ByteLayout, bytes: Uint8Array, spans: Int32Array, nulls: Uint8Array): void {
  const { shared, lo } = layout;
  if (shared !== null) bytes.set(new Uint8Array(shared, lo, layout.size));
  let at = 0;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as SourceMessage;
    nulls[i] = (m.key === null ? KEY_NULL : 0) | (m.value === null ? VALUE_NULL : 0);
    for (let part = 0; part < 2; part++) {
      const b = part === 0 ? m.key : m.value;
      if (b === null) continue;
      let start: number;
      if (shared !== null) start = b.byteOffset - lo;
      else {
        bytes.set(b, at);
        start = at;
        at += b.length;
      }
      spans[4 * i + 2 * part] = start;
      spans[4 * i + 2 * part + 1] = start + b.length;
    }
  }
}

/** Typed arrays carved one after another out of one ArrayBuffer: one allocation and one transfer per chunk. */
class Carver {
  readonly buffer: ArrayBuffer;
  private at = 0;
  constructor(doubles: number, ints: number, bytes: number) {
    this.buffer = new ArrayBuffer(doubles * 8 + ints * 4 + bytes);
  }
  doubles(n: number): Float64Array {
    const a = new Float64Array(this.buffer, this.at, n);
    this.at += n * 8;
    return a;
  }
  ints(n: number): Int32Array {
    const a = new Int32Array(this.buffer, this.at, n);
    this.at += n * 4;
    return a;
  }
  bytes(n: number): Uint8Array {
    const a = new Uint8Array(this.buffer, this.at, n);
    this.at += n;
    return a;
  }
}

/**
 * Codes of maps by content, as a trie over their entries (key, value, key, value, ...): for label
 * objects the field scanner did not share (records JSON.parse decided, sets over 512 bytes).
 */
class MapTrie {
  code = 0;
  private readonly next = new Map<string, MapTrie>();
  /** The node of a map's entries, created as needed. */
  walk(map: Record<string, string>): MapTrie {
    let node: MapTrie = this;
    for (const k in map) node = node.child(k).child(map[k] as string);
    return node;
  }
  private child(s: string): MapTrie {
    let c = this.next.get(s);
    if (c === undefined) this.next.set(s, (c = new MapTrie()));
    return c;
  }
}

/** Map objects remembered by identity at most (a fresh object per record would grow it for nothing). */
const MAP_IDENTITIES_MAX = 1 << 16;

/** Writes a decoded row into the columns at i; generated per plan so each column is a named property load. */
type ColumnWriter = (row: Row, i: number, columns: (Float64Array | Int32Array)[], code: (v: Value, c: number) => number) => void;

function columnWriter(plan: StreamPlan): ColumnWriter {
  const lines = rowColumns(plan).map((col, c) => {
    const kind = kindOf(col.type);
    const value = kind === 'coded' ? `v === null ? 0 : code(v, ${c})` : kind === 'boolean' ? 'v === null ? NaN : v ? 1 : 0' : 'v === null ? NaN : v';
    return `v = row[${JSON.stringify(col.name)}]; cols[${c}][i] = ${value};`;
  });
  // Column names are identifiers of the dialect, written as JSON string literals: nothing else is spliced in.
  return new Function('row', 'i', 'cols', 'code', `let v; ${lines.join(' ')}`) as ColumnWriter;
}

interface EncodedStream {
  readonly plan: StreamPlan;
  readonly decode: Decoder;
  readonly kinds: readonly Kind[];
  readonly write: ColumnWriter;
}

/** Worker side: decodes records with the streams' decoders and lays the results out in columns. */
export class ChunkEncoder {
  private streams: EncodedStream[] = [];
  private version = 0;
  private readonly dictionary = new Map<string, number>();
  /** Codes of maps by identity (the field scanner hands out one object per distinct label set when shareMaps is on), then by content. */
  private readonly mapIdentities = new Map<object, number>();
  private maps = new MapTrie();
  /** Codes given since the dictionary last started over. */
  private size = 0;
  private added: unknown[] = [];
  /**
   * The next chunk tells the reader to start over. True for a new encoder's first chunk: it may
   * replace one (a worker that died) whose entries the reader still holds.
   */
  private reset = true;
  /** Per stream and column: values looked up, and found, in the current sample. */
  private tries = new Map<string, Int32Array>();
  private hits = new Map<string, Int32Array>();

  /** `dictionaryMax`: entries before the dictionary starts over (smaller only in tests). */
  constructor(
    plans: readonly StreamPlan[],
    version = 0,
    private readonly dictionaryMax = DICTIONARY_MAX,
  ) {
    this.setStreams(plans, version);
  }

  /** Decodes with these plans from now on (a reload); chunks carry the version. */
  setStreams(plans: readonly StreamPlan[], version: number): void {
    this.version = version;
    this.streams = plans.map((plan) => ({ plan, decode: makeDecoder(plan, { shareMaps: true }), kinds: rowColumns(plan).map((c) => kindOf(c.type)), write: columnWriter(plan) }));
    this.tries = new Map(plans.map((p) => [p.name, new Int32Array(p.columns.length)]));
    this.hits = new Map(plans.map((p) => [p.name, new Int32Array(p.columns.length)]));
  }

  /** The chunk for a batch, and the buffers to transfer with it. */
  encode(batch: SourceBatch): { chunk: DecodedChunk; transfer: ArrayBuffer[] } {
    const msgs = batch.messages;
    const n = msgs.length;
    const streamsOfTopic = this.streams.filter((s) => s.plan.topic === batch.topic);
    let doubles = 2 * n;
    let ints = 4 * n;
    for (const s of streamsOfTopic) {
      doubles += n;
      for (const kind of s.kinds) {
        if (kind === 'coded') ints += n;
        else doubles += n;
      }
    }
    const layout = layoutBytes(msgs);
    const carve = new Carver(doubles, ints, n + layout.size);
    // Doubles first, then ints, then bytes: every view is aligned to its element size.
    const offsets = carve.doubles(n);
    const timestamps = carve.doubles(n);
    const tss = streamsOfTopic.map(() => carve.doubles(n));
    const doubleColumns = streamsOfTopic.map((s) => s.kinds.map((k) => (k === 'coded' ? null : carve.doubles(n))));
    const spans = carve.ints(4 * n);
    const columns = streamsOfTopic.map((s, k) => s.kinds.map((kind, c) => (kind === 'coded' ? carve.ints(n) : (doubleColumns[k]![c] as Float64Array))));
    const nulls = carve.bytes(n);
    const bytes = carve.bytes(layout.size);
    copyBytes(msgs, layout, bytes, spans, nulls);
    for (let i = 0; i < n; i++) {
      const m = msgs[i] as SourceMessage;
      offsets[i] = Number(m.offset);
      timestamps[i] = Number(m.timestamp);
    }
    // The dictionary starts over only between chunks, so every code of a chunk means one thing.
    const codedColumns = streamsOfTopic.reduce((k, s) => k + s.kinds.filter((kind) => kind === 'coded').length, 0);
    if (this.size + n * codedColumns > this.dictionaryMax) {
      this.dictionary.clear();
      this.mapIdentities.clear();
      this.maps = new MapTrie();
      this.size = 0;
      this.added = [];
      this.reset = true;
    }
    const streams = streamsOfTopic.map((s, k) => this.encodeStream(s, msgs, tss[k]!, columns[k]!));
    const chunk: DecodedChunk = {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: batch.highWatermark,
      count: n,
      offsets,
      timestamps,
      bytes,
      spans,
      nulls,
      version: this.version,
      dictionaryReset: this.reset,
      dictionaryAdded: this.added,
      streams,
    };
    this.added = [];
    this.reset = false;
    return { chunk, transfer: [carve.buffer] };
  }

  /** Decodes the records for one stream into `ts` and `columns` (views of the chunk's buffer). */
  private encodeStream(s: EncodedStream, msgs: readonly SourceMessage[], ts: Float64Array, columns: (Float64Array | Int32Array)[]): StreamColumns {
    const n = msgs.length;
    const inline: unknown[] = [];
    const refused: { i: number; reason: DecodeReason; detail: string }[] = [];
    const tries = this.tries.get(s.plan.name) as Int32Array;
    const hits = this.hits.get(s.plan.name) as Int32Array;
    const code = (v: Value, c: number) => this.code(v, c, tries, hits, inline);
    for (let i = 0; i < n; i++) {
      const m = msgs[i] as SourceMessage;
      const r = s.decode(m.value, m.key, m.timestamp);
      if (!r.ok) {
        ts[i] = NaN; // marks the record refused: its columns are never read
        refused.push({ i, reason: r.reason, detail: r.detail });
        continue;
      }
      ts[i] = r.ts;
      s.write(r.row, i, columns, code);
    }
    return { stream: s.plan.name, ts, columns, inline, refused };
  }

  /** A string's or map's code: from the dictionary when its column's values repeat, else inline. */
  private code(v: Value, c: number, tries: Int32Array, hits: Int32Array, inline: unknown[]): number {
    if (!sample(c, tries, hits)) {
      inline.push(v);
      return -inline.length;
    }
    if (typeof v === 'string') {
      const known = this.dictionary.get(v);
      if (known !== undefined) {
        hits[c]!++;
        return known;
      }
      this.dictionary.set(v, ++this.size);
    } else {
      const map = v as Record<string, string>;
      const known = this.mapIdentities.get(map);
      if (known !== undefined) {
        hits[c]!++;
        return known;
      }
      if (this.mapIdentities.size >= MAP_IDENTITIES_MAX) this.mapIdentities.clear();
      const node = this.maps.walk(map);
      if (node.code !== 0) {
        this.mapIdentities.set(map, node.code);
        hits[c]!++;
        return node.code;
      }
      node.code = ++this.size;
      this.mapIdentities.set(map, node.code);
    }
    this.added.push(v);
    return this.size;
  }
}

/** Builds a stream's row i from its columns; generated per plan so every row is one object literal. */
type RowBuilder = (columns: readonly (Float64Array | Int32Array)[], i: number, dictionary: readonly unknown[], inline: readonly unknown[]) => Row;

function rowBuilder(plan: StreamPlan): RowBuilder {
  const fields = rowColumns(plan).map((col, c) => {
    const kind = kindOf(col.type);
    const read =
      kind === 'coded'
        ? `((x = cols[${c}][i]) === 0 ? null : x > 0 ? dict[x] : inline[-x - 1])`
        : kind === 'boolean'
          ? `((x = cols[${c}][i]) !== x ? null : x === 1)`
          : `((x = cols[${c}][i]) !== x ? null : x)`;
    return `${JSON.stringify(col.name)}: ${read}`;
  });
  // Column names are identifiers of the dialect, written as JSON string literals: nothing else is spliced in.
  return new Function('cols', 'i', 'dict', 'inline', `let x; return { ${fields.join(', ')} };`) as RowBuilder;
}

/** Main side: keeps the dictionary in step and reads chunks back as decode results. */
export class ChunkReader {
  private readonly dictionary: unknown[] = [undefined];
  /** Per stream: its row builder and event id column. */
  private readonly streams = new Map<string, { build: RowBuilder; idCol: string | null }>();
  private readonly ok: { ok: true; row: Row; ts: number; eventId: string | null } = { ok: true, row: {}, ts: 0, eventId: null };

  constructor(plans: readonly StreamPlan[]) {
    this.setStreams(plans);
  }

  /** Reads chunks of these plans from now on (a reload); the dictionary stays. */
  setStreams(plans: readonly StreamPlan[]): void {
    this.streams.clear();
    for (const p of plans) this.streams.set(p.name, { build: rowBuilder(p), idCol: p.eventIdColumn });
  }

  /** Takes a chunk's dictionary entries; call once per chunk, in the order the worker encoded them. */
  accept(chunk: DecodedChunk): void {
    if (chunk.dictionaryReset) this.dictionary.length = 1;
    for (const v of chunk.dictionaryAdded) this.dictionary.push(typeof v === 'object' && v !== null ? Object.freeze(v) : v);
  }

  /**
   * A cursor over one stream's records of an accepted chunk; `at(i)` returns what the stream's
   * Decoder returned for record i (its ok result reused by the next call, as the Decoder's is).
   */
  cursor(columns: StreamColumns): (i: number) => DecodeResult {
    const stream = this.streams.get(columns.stream);
    if (!stream) throw new Error(`chunk of unknown stream ${columns.stream}`);
    const { build, idCol } = stream;
    const { ts, inline, refused } = columns;
    const cols = columns.columns;
    const dict = this.dictionary;
    const ok = this.ok;
    let nextRefused = 0;
    return (i) => {
      const t = ts[i] as number;
      if (t !== t) {
        while (nextRefused < refused.length && (refused[nextRefused] as { i: number }).i < i) nextRefused++;
        const bad = refused[nextRefused];
        if (bad === undefined || bad.i !== i) throw new Error(`record ${i} of a chunk is neither decoded nor refused`);
        return { ok: false, reason: bad.reason, detail: bad.detail };
      }
      const row = build(cols, i, dict, inline);
      ok.row = row;
      ok.ts = t;
      ok.eventId = idCol === null ? null : eventIdOf(row[idCol] as Value);
      return ok;
    };
  }
}

/** The key and value bytes of record i of a chunk (views, not copies). */
export function recordBytes(chunk: DecodedChunk, i: number): { key: Buffer | null; value: Buffer | null } {
  const { spans, bytes } = chunk;
  const flags = chunk.nulls[i] as number;
  const view = (from: number, to: number) => Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from);
  return {
    key: flags & KEY_NULL ? null : view(spans[4 * i] as number, spans[4 * i + 1] as number),
    value: flags & VALUE_NULL ? null : view(spans[4 * i + 2] as number, spans[4 * i + 3] as number),
  };
}

/**
 * Where record i of a chunk came from, for dead letters (EventOrigin); one per chunk, moved along
 * its records. The bytes are only looked at for a refused or late record.
 */
export class ChunkOrigin {
  i = 0;
  readonly topic: string;
  readonly partition: number;
  constructor(private readonly chunk: DecodedChunk) {
    this.topic = chunk.topic;
    this.partition = chunk.partition;
  }
  get offset(): string {
    return String(this.chunk.offsets[this.i]);
  }
  get key(): Buffer | null {
    return recordBytes(this.chunk, this.i).key;
  }
  get value(): Buffer | null {
    return recordBytes(this.chunk, this.i).value;
  }
}

/** The chunk's records as source messages again (the main thread decodes them itself after a reload). */
export function chunkMessages(chunk: DecodedChunk): SourceBatch {
  const messages: SourceMessage[] = [];
  for (let i = 0; i < chunk.count; i++) {
    const { key, value } = recordBytes(chunk, i);
    messages.push({ offset: String(chunk.offsets[i]), timestamp: String(chunk.timestamps[i]), key, value });
  }
  return { topic: chunk.topic, partition: chunk.partition, messages, highWatermark: chunk.highWatermark };
}
