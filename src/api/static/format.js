// Number and time formatting shared by panels, alerts and the engine strip.

/** Formats a value for display according to a panel's "format", "decimals" and "unit". */
export function formatValue(v, panel = {}) {
  if (v === null || v === undefined || v === '') return '–';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  const d = panel.decimals;
  const unit = panel.unit ? ` ${panel.unit}` : '';
  switch (panel.format) {
    case 'percent':
      return `${(v * 100).toFixed(d ?? (Math.abs(v) < 0.1 ? 2 : 1))}%`;
    case 'ms':
      return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(d ?? 2)} s` : `${v.toFixed(d ?? (Math.abs(v) < 10 ? 1 : 0))} ms`;
    case 'seconds':
      return formatDuration(v);
    case 'bytes':
      return formatBytes(v);
    default:
      return compact(v, d) + unit;
  }
}

function compact(v, decimals) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (decimals !== undefined) return v.toFixed(decimals);
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a >= 100 ? 0 : a >= 1 ? 2 : 3);
}

function formatBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** 42 -> "42 s", 300 -> "5m 0s", 7200 -> "2h 0m". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** "3m ago" from an epoch-ms or ISO time. */
export function formatAgo(t, now = Date.now()) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return '';
  return `${formatDuration((now - ms) / 1000)} ago`;
}

/** Local clock time of an epoch-ms or ISO time, e.g. "10:15:02". */
export function formatClock(t) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Table cells: window bounds as clock times, numbers compact, maps as k=v. */
export function formatCell(col, v, panel) {
  if ((col === 'windowstart' || col === 'windowend') && typeof v === 'number') return formatClock(v);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${x}`).join(' ');
  const y = Array.isArray(panel.y) ? panel.y : [panel.y];
  return formatValue(v, y.includes(col) ? panel : {});
}

/** Series and bar colours: distinct on a dark background, assigned in first-seen order. */
export const PALETTE = ['#4fb3ff', '#f2a93b', '#7bd88f', '#ff6b8b', '#b48cff', '#4dd0c8', '#ffd866', '#ff9e64', '#9aa5ce', '#e06c75', '#56b6c2', '#c3e88d'];

/** HTML-escapes text for innerHTML templates. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
