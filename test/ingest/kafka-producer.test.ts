import { describe, expect, it } from 'vitest';
import { chunksOf } from '../../src/ingest/kafka-producer.js';

describe('produce requests stay under the broker limit', () => {
  it('splits by bytes, keeps order, and lets one oversized message through alone', () => {
    const msg = (n: number) => ({ key: null, value: 'x'.repeat(n) });
    const chunks = chunksOf([msg(300), msg(300), msg(300), msg(2000), msg(10)], 1000);
    expect(chunks.map((c) => c.map((m) => m.value!.length))).toEqual([[300, 300], [300], [2000], [10]]);
    expect(chunksOf([], 1000)).toEqual([]);
  });
});
