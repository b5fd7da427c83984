// Engine health: polls /api/engine (computed from the same registry as /metrics) every 2 s,
// derives rates from consecutive samples, fills the strip under the header and feeds the panels
// whose source is "engine".
import { apiGet } from './api.js';
import { formatDuration, formatValue } from './format.js';

const POLL_MS = 2000;

/** Calls each listener with every sample: totals and gauges plus eventsPerSec, invalidPerSec, latePerSec, consumedPerSecByStream. */
export function pollEngine(strip, listeners) {
  let prev = null;
  const tick = async () => {
    try {
      const cur = await apiGet('/api/engine');
      const sample = withRates(cur, prev);
      prev = cur;
      showStrip(strip, sample);
      for (const l of listeners) l(sample);
      strip.dataset.state = 'ok';
    } catch {
      strip.dataset.state = 'unavailable';
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

function withRates(cur, prev) {
  const dt = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (a, b) => (dt > 0 ? Math.max(0, (a - b) / dt) : null);
  const byStream = {};
  for (const [k, v] of Object.entries(cur.consumedByStream ?? {})) byStream[k] = rate(v, prev?.consumedByStream?.[k] ?? v);
  return {
    ...cur,
    eventsPerSec: prev ? rate(cur.eventsConsumedTotal, prev.eventsConsumedTotal) : null,
    invalidPerSec: prev ? rate(cur.eventsInvalidTotal, prev.eventsInvalidTotal) : null,
    latePerSec: prev ? rate(cur.eventsLateTotal, prev.eventsLateTotal) : null,
    consumedPerSecByStream: prev ? byStream : {},
  };
}

const TILE_FORMAT = {
  eventsPerSec: (v) => formatValue(v, { decimals: v !== null && v < 10 ? 1 : 0 }),
  consumerLag: (v) => formatValue(v),
  eventsLateTotal: (v) => formatValue(v),
  eventsInvalidTotal: (v) => formatValue(v),
  checkpointAgeSeconds: (v) => (v === null ? 'never' : formatDuration(v)),
  wsClients: (v) => formatValue(v),
};
const TILE_WARN = {
  consumerLag: (v) => v > 10_000,
  checkpointAgeSeconds: (v) => v !== null && v > 60,
  eventsInvalidTotal: (v) => v > 0,
  eventsLateTotal: (v) => v > 0,
};

function showStrip(strip, s) {
  for (const tile of strip.querySelectorAll('.tile')) {
    const key = tile.dataset.metric;
    const v = s[key] ?? null;
    tile.querySelector('.v').textContent = TILE_FORMAT[key]?.(v) ?? String(v);
    tile.dataset.level = TILE_WARN[key]?.(v) ? 'warn' : 'ok';
  }
}
