/**
 * Decode throughput against bare JSON.parse of the same records, measured in the same run. Not a
 * test (no .test suffix); run: npm run build && node dist/bench/decode.js.
 * Prints one JSON line.
 */
import { makeDecoder } from '../src/ingest/decode.js';
import { Deduper } from '../src/ingest/dedupe.js';
import type { StreamPlan } from '../src/plan.js';

const stream: StreamPlan = {
  name: 'metrics',
  topic: 'telemetry.metrics',
  columns: [
    { name: 'event_id', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'event_time', type: { kind: 'scalar', name: 'TIMESTAMP' }, key: false },
    { name: 'source', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'schema_version', type: { kind: 'scalar', name: 'INT' }, key: false },
    { name: 'name', type: { kind: 'scalar', name: 'VARCHAR' }, key: false },
    { name: 'value', type: { kind: 'scalar', name: 'DOUBLE' }, key: false },
    { name: 'labels', type: { kind: 'map', key: 'VARCHAR', value: 'VARCHAR' }, key: false },
  ],
  timestampColumn: 'event_time',
  eventIdColumn: 'event_id',
  retainMs: null,
};

const N = 200_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');
const values = Array.from({ length: N }, (_, i) =>
  Buffer.from(
    JSON.stringify({
      event_id: `0b7c9e0e-${i.toString(16).padStart(8, '0')}`,
      event_time: new Date(T0 + i).toISOString(),
      source: 'host-' + (i % 40),
      schema_version: 1,
      name: 'http.request.duration',
      value: (i % 1000) / 7,
      labels: { service: 'svc-' + (i % 12), region: 'eu-west-1', status: '200' },
      extra: 'ignored',
    }),
  ),
);

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const decode = makeDecoder(stream);
let sink = 0;
const bare = () => {
  for (const v of values) sink += (JSON.parse(v.toString('utf8')) as { value: number }).value;
};
const full = () => {
  for (const v of values) {
    const r = decode(v, null, 0);
    if (r.ok) sink += r.ts;
  }
};
const withDedupe = () => {
  const d = new Deduper();
  for (const v of values) {
    const r = decode(v, null, 0);
    if (r.ok && r.eventId !== null && !d.isDuplicate(r.eventId, r.ts)) sink += 1;
  }
};
// Warm up, then best of 5.
for (let i = 0; i < 2; i++) { bare(); full(); withDedupe(); }
const best = (fn: () => void) => Math.min(...Array.from({ length: 5 }, () => time(fn)));
const tb = best(bare);
const tf = best(full);
const td = best(withDedupe);
console.log(
  JSON.stringify({
    events: N,
    bytesPerEvent: Math.round(values.reduce((n, v) => n + v.length, 0) / N),
    jsonParsePerSec: Math.round(N / tb),
    decodePerSec: Math.round(N / tf),
    decodeDedupePerSec: Math.round(N / td),
    decodeVsJsonParse: +(tf / tb).toFixed(2),
    sink: sink > 0,
  }),
);
