/**
 * The checkpoint tables: engine state as verified text chunks plus the Kafka offsets it covers.
 * Writing happens inside the store's checkpoint transaction; reading verifies each checkpoint
 * (chunk count, length, SHA-1) and falls back to an older one when the newest does not verify.
 */
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { timestampFromMs } from './store-sql.js';

/** Kafka position a checkpoint covers: the next offset to consume, as kafkajs spells it. */
export interface KafkaOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A checkpoint read back and verified. */
export interface StoredCheckpoint {
  readonly id: number;
  /** When it was written, epoch ms. */
  readonly createdAt: number;
  /** The serialized engine state: the chunks given to commitCheckpoint, concatenated. */
  readonly state: string;
  readonly offsets: KafkaOffset[];
}

/** How many checkpoints to keep: the newest plus two to fall back on if it does not verify. */
export const CHECKPOINTS_KEPT = 3;

/**
 * Pieces larger than this are split before storage: a 50 MB state then never needs one 50 MB
 * DuckDB value, and a chunk stays far below any string limit.
 */
const MAX_CHUNK_CHARS = 1 << 20;

/**
 * DDL for the checkpoint tables. No keys or indexes: a single writer assigns ids. Each
 * checkpoint's chunks get a table of their own (chunksTable), created in its transaction.
 */
export const CHECKPOINT_DDL = [
  `CREATE TABLE IF NOT EXISTS checkpoints (
     id BIGINT NOT NULL, created_at TIMESTAMP NOT NULL, chunk_count INTEGER NOT NULL,
     total_length BIGINT NOT NULL, checksum VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS checkpoint_offsets (
     checkpoint_id BIGINT NOT NULL, topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, "offset" VARCHAR NOT NULL)`,
];

/**
 * The table of checkpoint `id`'s chunks. A table per checkpoint, not one table for all: pruning
 * then drops a whole table, whose blocks DuckDB frees, where deleting a third of a shared
 * table's rows made DuckDB's next checkpoint rewrite the two thirds kept (a 32 MB state: 0.9 s
 * of CPU per commit instead of 0.4-0.5, docs/performance.md, "Round 12").
 */
export function chunksTable(id: number): string {
  return `checkpoint_chunks_${id}`;
}

/** Chunks of checkpoints written before the table per checkpoint: read, and pruned, still. */
const LEGACY_CHUNKS = 'checkpoint_chunks';

/** Writes one checkpoint and prunes old ones; the caller owns the surrounding transaction. */
export async function writeCheckpoint(
  conn: DuckDBConnection,
  state: Iterable<string>,
  offsets: readonly KafkaOffset[],
  createdAt: number,
  pace?: () => Promise<void>,
): Promise<number> {
  const next = await conn.runAndReadAll('SELECT coalesce(max(id), 0) + 1 FROM checkpoints');
  const id = Number(next.getRows()[0]?.[0] ?? 1);

  const hash = createHash('sha1');
  let seq = 0;
  let totalLength = 0;
  // One prepared INSERT per chunk, awaited: DuckDB runs it on a worker thread, so a large state
  // does not stall ingestion (an Appender's flush ran on the main thread: 0.3–2.5 s at 1M groups).
  await conn.run(`CREATE TABLE ${chunksTable(id)} (seq INTEGER NOT NULL, data VARCHAR NOT NULL)`);
  const insert = await conn.prepare(`INSERT INTO ${chunksTable(id)} VALUES ($1, $2)`);
  try {
    for (const piece of state) {
      // Empty pieces are skipped: they change neither the concatenation nor the checksum.
      for (let at = 0; at < piece.length; ) {
        let end = Math.min(piece.length, at + MAX_CHUNK_CHARS);
        // Never cut a surrogate pair: each half alone is not valid UTF-8 and would not round-trip.
        if (end < piece.length && isHighSurrogate(piece.charCodeAt(end - 1))) end--;
        const data = piece.slice(at, end);
        at = end;
        if (pace) await pace();
        hash.update(data, 'utf8');
        totalLength += data.length;
        insert.bind([seq++, data]);
        await insert.run();
      }
    }
  } finally {
    insert.destroySync();
  }

  await conn.run('INSERT INTO checkpoints VALUES ($1, $2, $3, $4, $5)', [
    BigInt(id),
    timestampFromMs(createdAt),
    seq,
    BigInt(totalLength),
    hash.digest('hex'),
  ]);
  if (offsets.length > 0) {
    const app = await conn.createAppender('checkpoint_offsets');
    try {
      for (const o of offsets) {
        app.appendBigInt(BigInt(id));
        app.appendVarchar(o.topic);
        app.appendInteger(o.partition);
        app.appendVarchar(o.offset);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  const newest = `SELECT id FROM checkpoints ORDER BY id DESC LIMIT ${CHECKPOINTS_KEPT}`;
  const keep = `(${newest})`;
  const kept = new Set((await conn.runAndReadAll(newest)).getRows().map(([k]) => Number(k)));
  for (const [table, tableId] of await chunkTables(conn)) {
    if (!kept.has(tableId)) await conn.run(`DROP TABLE ${table}`);
  }
  if (await hasLegacyChunks(conn)) {
    await conn.run(`DELETE FROM ${LEGACY_CHUNKS} WHERE checkpoint_id NOT IN ${keep}`);
    const left = await conn.runAndReadAll(`SELECT count(*) FROM ${LEGACY_CHUNKS}`);
    if (Number(left.getRows()[0]?.[0]) === 0) await conn.run(`DROP TABLE ${LEGACY_CHUNKS}`);
  }
  await conn.run(`DELETE FROM checkpoint_offsets WHERE checkpoint_id NOT IN ${keep}`);
  await conn.run(`DELETE FROM checkpoints WHERE id NOT IN ${keep}`);
  return id;
}

/** The per-checkpoint chunk tables there are, with their checkpoint ids. */
async function chunkTables(conn: DuckDBConnection): Promise<[string, number][]> {
  const r = await conn.runAndReadAll(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND regexp_matches(table_name, '^checkpoint_chunks_[0-9]+$')`,
  );
  return r.getRows().map(([name]) => [String(name), Number(String(name).slice('checkpoint_chunks_'.length))]);
}

async function tableExists(conn: DuckDBConnection, table: string): Promise<boolean> {
  const r = await conn.runAndReadAll(
    `SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1`,
    [table],
  );
  return r.getRows().length > 0;
}

const hasLegacyChunks = (conn: DuckDBConnection) => tableExists(conn, LEGACY_CHUNKS);

/**
 * The newest checkpoint that verifies. A newest one that does not (a chunk missing, a length or
 * checksum mismatch: a torn file or a hand edit) is reported through `log` and skipped.
 */
export async function readVerifiedCheckpoint(
  conn: DuckDBConnection,
  log: (line: string) => void,
): Promise<StoredCheckpoint | null> {
  const heads = await conn.runAndReadAll(
    'SELECT id, epoch_ms(created_at), chunk_count, total_length, checksum FROM checkpoints ORDER BY id DESC',
  );
  for (const [idRaw, createdRaw, countRaw, lengthRaw, checksumRaw] of heads.getRows()) {
    const id = Number(idRaw);
    const problem = await verify(conn, id, Number(countRaw), Number(lengthRaw), String(checksumRaw));
    if (typeof problem === 'string') {
      log(`checkpoint ${id} does not verify (${problem}); falling back to an older checkpoint`);
      continue;
    }
    const offs = await conn.runAndReadAll(
      'SELECT topic, "partition", "offset" FROM checkpoint_offsets WHERE checkpoint_id = $1 ORDER BY topic, "partition"',
      [BigInt(id)],
    );
    const offsets = offs.getRows().map(([topic, partition, offset]) => ({
      topic: String(topic),
      partition: Number(partition),
      offset: String(offset),
    }));
    return { id, createdAt: Number(createdRaw), state: problem.state, offsets };
  }
  return null;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

async function verify(
  conn: DuckDBConnection,
  id: number,
  chunkCount: number,
  totalLength: number,
  checksum: string,
): Promise<string | { state: string }> {
  let rows: unknown[][] = [];
  if (await tableExists(conn, chunksTable(id))) {
    rows = (await conn.runAndReadAll(`SELECT seq, data FROM ${chunksTable(id)} ORDER BY seq`)).getRows();
  } else if (await hasLegacyChunks(conn)) {
    const legacy = `SELECT seq, data FROM ${LEGACY_CHUNKS} WHERE checkpoint_id = $1 ORDER BY seq`;
    rows = (await conn.runAndReadAll(legacy, [BigInt(id)])).getRows();
  }
  if (rows.length !== chunkCount) return `${rows.length} of ${chunkCount} chunks present`;
  const hash = createHash('sha1');
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; i < rows.length; i++) {
    const [seq, data] = rows[i] ?? [];
    if (Number(seq) !== i) return `chunk ${i} missing`;
    const text = String(data);
    hash.update(text, 'utf8');
    length += text.length;
    parts.push(text);
  }
  if (length !== totalLength) return `length ${length}, expected ${totalLength}`;
  if (hash.digest('hex') !== checksum) return 'checksum mismatch';
  return { state: parts.join('') };
}
