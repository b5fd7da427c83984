/**
 * The checkpoint text produced in slices (src/checkpoint-slices.ts) is exactly what a
 * synchronous serialisation gives: the meta JSON, then the engine's chunks, newline-separated.
 */
import { describe, expect, it } from 'vitest';
import { compileText } from '../src/program.js';
import { Engine } from '../src/engine/engine.js';
import { CollectingSink } from '../src/engine/sink.js';
import { Deduper } from '../src/ingest/dedupe.js';
import { checkpointPieces, runInSlices } from '../src/checkpoint-slices.js';

const SQL = `CREATE STREAM s (id VARCHAR, t BIGINT, k VARCHAR, v DOUBLE) WITH (kafka_topic = 's', timestamp = 't', event_id = 'id');
  CREATE VIEW tumb AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k;`;

function engine(): Engine {
  return new Engine(compileText(SQL), new CollectingSink(), { coalesce: true });
}

describe('checkpoint text in slices', () => {
  it.each([0, 1, 120_001])('equals the synchronous serialisation (%i dedupe ids)', async (ids) => {
    const e = engine();
    const dedupe = new Deduper({ maxIds: 200_000, horizonMs: 1e12 });
    for (let i = 0; i < ids; i++) dedupe.isDuplicate(`id-${i}`, i);
    for (let i = 0; i < 5_000; i++) e.process('s', { id: null, t: i, k: `k${i % 2_500}`, v: 1 }, i);
    const meta = {
      positions: [{ topic: 't', partition: 0, offset: '42' }],
      dedupe: [['s', dedupe.toJSON()] as const, ['other', new Deduper().toJSON()] as const],
      watermarks: [['s', { watermark: 3, partitions: [[0, 3]] }]],
    };
    const expected = [JSON.stringify(meta), ...e.snapshot()].join('\n');
    const pieces: string[] = [];
    const { slices } = await runInSlices(checkpointPieces(meta, e.beginSnapshot(), pieces), 0, () => performance.now());
    expect(slices).toBeGreaterThan(2);
    const text = pieces.join('');
    const [head, ...chunks] = text.split('\n');
    const [wantHead, ...wantChunks] = expected.split('\n');
    expect(JSON.parse(head!)).toEqual(JSON.parse(wantHead!));
    expect(chunks.map((c) => JSON.parse(c) as unknown)).toEqual(wantChunks.map((c) => JSON.parse(c) as unknown));
  });
});
