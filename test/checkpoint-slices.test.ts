/**
 * The checkpoint text produced in slices (src/checkpoint-slices.ts) is exactly what a
 * synchronous serialisation gives: the meta JSON, then the engine's chunks, newline-separated.
 */
import { describe, expect, it } from 'vitest';
import { compileText } from '../src/program.js';
import { Engine } from '../src/engine/engine.js';
import { CollectingSink } from '../src/engine/sink.js';
import { Deduper } from '../src/ingest/dedupe.js';
import { checkpointPieces, giveWay, runInSlices } from '../src/checkpoint-slices.js';

const SQL = `CREATE STREAM s (id VARCHAR, t BIGINT, k VARCHAR, v DOUBLE) WITH (kafka_topic = 's', timestamp = 't', event_id = 'id');
  CREATE VIEW tumb AS SELECT k, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY k;`;

function engine(): Engine {
  return new Engine(compileText(SQL), new CollectingSink(), { coalesce: true });
}

describe('checkpoint text in slices', () => {
  // The last case wraps the deduper's ring (ids evicted from its head, new ones written at its start).
  it.each([
    [0, 200_000],
    [1, 200_000],
    [120_001, 200_000],
    [250_001, 100_000],
  ])('equals the synchronous serialisation (%i dedupe ids, at most %i kept)', async (ids, maxIds) => {
    const e = engine();
    const dedupe = new Deduper({ maxIds, horizonMs: 1e12 });
    for (let i = 0; i < ids; i++) dedupe.isDuplicate(`id-${i}`, i);
    for (let i = 0; i < 5_000; i++) e.process('s', { id: null, t: i, k: `k${i % 2_500}`, v: 1 }, i);
    const other = new Deduper();
    // Key order as checkpointPieces writes it.
    const synchronous = {
      positions: [{ topic: 't', partition: 0, offset: '42' }],
      watermarks: [['s', { watermark: 3, partitions: [[0, 3]] }]],
      dedupe: [['s', dedupe.toJSON()], ['other', other.toJSON()]],
    };
    const expected = [JSON.stringify(synchronous), ...e.snapshot()].join('\n');
    const meta = {
      positions: [{ topic: 't', partition: 0, offset: '42' }],
      dedupe: [['s', dedupe.cut()] as const, ['other', other.cut()] as const],
      watermarks: [['s', { watermark: 3, partitions: [[0, 3]] }]],
    };
    // Ids recorded after the cut (while the text is produced) do not reach it.
    for (let i = 0; i < 1_000; i++) dedupe.isDuplicate(`late-${i}`, ids + i);
    const pieces: string[] = [];
    const { slices } = await runInSlices(checkpointPieces(meta, e.beginSnapshot(), pieces), 0, () => performance.now());
    expect(slices).toBeGreaterThan(2);
    const text = pieces.join('');
    const [head, ...chunks] = text.split('\n');
    const [wantHead, ...wantChunks] = expected.split('\n');
    expect(head).toBe(wantHead);
    expect(chunks.map((c) => JSON.parse(c) as unknown)).toEqual(wantChunks.map((c) => JSON.parse(c) as unknown));
  });
});

describe('runInSlices giving way to the hot path', () => {
  function* counted(n: number, log: string[], busy: () => boolean): Generator<void> {
    for (let i = 0; i < n; i++) {
      log.push(busy() ? 'step while busy' : 'step');
      yield;
    }
  }

  it('runs no step while the hot path is busy, unless it waited maxWaitMs', async () => {
    let checks = 0;
    // Busy for the first 50 looks, then free: with a long maxWaitMs nothing runs while busy.
    const busy = () => checks < 50;
    const log: string[] = [];
    const { slices } = await runInSlices(counted(5, log, busy), 0, () => 0, {
      busy: () => {
        checks++;
        return busy();
      },
      maxWaitMs: 1e9,
    });
    expect(checks).toBeGreaterThanOrEqual(50);
    expect(log).toEqual(['step', 'step', 'step', 'step', 'step']);
    expect(slices).toBe(6); // the last slice finds the generator done
  });

  it('still progresses when the hot path is always busy, one slice per maxWaitMs', async () => {
    let clock = 0;
    const now = () => (clock += 1); // every reading advances the fake clock by 1 ms
    const starts: number[] = [];
    function* steps(): Generator<void> {
      for (let i = 0; i < 4; i++) {
        starts.push(clock);
        yield;
      }
    }
    const { slices } = await runInSlices(steps(), 0, now, { busy: () => true, maxWaitMs: 30 });
    expect(slices).toBe(5);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(30);
  });

  it('giveWay returns once the hot path is free, or after maxWaitMs of it being busy', async () => {
    let looks = 0;
    await giveWay({ busy: () => ++looks < 20, maxWaitMs: 1e9 }, () => 0);
    expect(looks).toBe(20);
    let clock = 0;
    await giveWay({ busy: () => true, maxWaitMs: 30 }, () => (clock += 1));
    expect(clock).toBeGreaterThanOrEqual(30);
    expect(clock).toBeLessThan(40);
  });
});
