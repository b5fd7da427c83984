// Dashboard panels: timeseries (uPlot), bar, table and stat. A panel keeps the rows it has seen,
// keyed by group + window start, and redraws at most once per animation frame. Engine panels
// (source "engine") turn each /api/engine sample into rows of the same shape, so both sources
// share one drawing path.
import uPlot from '/vendor/uplot.esm.js';
import { PALETTE, esc, formatCell, formatClock, formatValue } from './format.js';

const DEFAULT_WIDTH = { timeseries: 6, bar: 4, table: 6, stat: 3 };
const DEFAULT_HEIGHT = 220;
/** Non-timeseries panels only show the newest windows; older ones are dropped. */
const WINDOWS_KEPT_PER_GROUP = 4;
const ENGINE_GROUP = '_group';

const dirty = new Set();
function scheduleRender(panel) {
  if (dirty.size === 0) requestAnimationFrame(renderDirty);
  dirty.add(panel);
}
function renderDirty() {
  const panels = [...dirty];
  dirty.clear();
  for (const p of panels) p.render();
}

/** One panel of a dashboard; `el` is its DOM element. */
export class Panel {
  /** @param {object} def panel definition from the dashboard file @param {object|undefined} view the view from /api/views */
  constructor(def, view) {
    this.def = def;
    this.type = def.type;
    this.source = def.source ?? 'view';
    this.ys = def.y === undefined ? [] : Array.isArray(def.y) ? def.y : [def.y];
    this.x = def.x ?? 'windowstart';
    this.groupCols = this.source === 'engine' ? [ENGINE_GROUP] : def.groupBy ? [def.groupBy] : (view?.groupBy ?? []);
    this.rows = new Map();
    this.colors = new Map();
    this.chart = null;
    this.chartSeriesKey = '';
    this.sparkline = [];
    this.el = this.buildElement();
  }

  buildElement() {
    const d = this.def;
    const el = document.createElement('article');
    el.className = `panel panel-${this.type}`;
    el.style.gridColumn = `span ${Math.min(12, Math.max(1, d.width ?? DEFAULT_WIDTH[this.type] ?? 6))}`;
    el.dataset.type = this.type;
    if (d.view) el.dataset.view = d.view;
    el.dataset.points = '0';
    el.dataset.rows = '0';
    const where = Object.entries(d.where ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ');
    const sub = this.source === 'engine' ? 'engine' : `${d.view}${where ? ` · ${where}` : ''}`;
    el.innerHTML = `<header class="panel-head"><h3>${esc(d.title ?? d.view ?? '')}</h3><span class="panel-sub">${esc(sub)}</span></header>
      <div class="panel-body"><div class="empty">Waiting for data…</div></div><p class="panel-note" hidden></p>`;
    this.body = el.querySelector('.panel-body');
    this.note = el.querySelector('.panel-note');
    if (this.type === 'timeseries') {
      this.body.style.minHeight = `${d.height ?? DEFAULT_HEIGHT}px`;
      new ResizeObserver(() => this.resize()).observe(this.body);
    }
    return el;
  }

  /** The subscription request for a view panel. */
  request() {
    return { view: this.def.view, ...(this.def.where ? { where: this.def.where } : {}) };
  }

  /** Shows a one-line problem under the panel (unknown view, history unavailable...). */
  setNote(text) {
    this.note.hidden = !text;
    this.note.textContent = text ?? '';
  }

  /** Applies rows from a snapshot, an update or a history query. */
  ingest(rows, { snapshot = false } = {}) {
    // Tables, bars and stats show current state: a snapshot replaces it. Charts keep their past.
    if (snapshot && this.type !== 'timeseries') this.rows.clear();
    const now = Date.now();
    for (const r of rows) {
      const row = r[this.x] === undefined ? { ...r, [this.x]: now } : r;
      const key = `${this.groupOf(row)}\u0000${row[this.x]}`;
      if (r._retract) this.rows.delete(key);
      else this.rows.set(key, row);
    }
    this.trim();
    scheduleRender(this);
  }

  /** Turns one /api/engine sample into rows: scalar fields in group "", map fields one group per key. */
  ingestEngine(sample) {
    const byGroup = new Map();
    const rowFor = (g) => byGroup.get(g) ?? byGroup.set(g, { [ENGINE_GROUP]: g, [this.x]: sample.at }).get(g);
    for (const y of this.ys) {
      const v = sample[y];
      if (typeof v === 'number' || v === null) rowFor('')[y] = v;
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) rowFor(k)[y] = x;
    }
    this.ingest([...byGroup.values()]);
  }

  groupOf(row) {
    return this.groupCols.map((c) => row[c] ?? '').join(' / ');
  }

  valueOf(row, y) {
    const v = row[y];
    return typeof v === 'number' ? v * (this.def.scale ?? 1) : null;
  }

  trim() {
    if (this.type === 'timeseries') {
      let maxX = -Infinity;
      for (const r of this.rows.values()) maxX = Math.max(maxX, r[this.x]);
      const oldest = maxX - (this.def.rangeMinutes ?? 15) * 60_000;
      for (const [k, r] of this.rows) if (r[this.x] < oldest) this.rows.delete(k);
      return;
    }
    const perGroup = new Map();
    for (const [k, r] of this.rows) {
      const g = this.groupOf(r);
      (perGroup.get(g) ?? perGroup.set(g, []).get(g)).push([k, r[this.x]]);
    }
    for (const list of perGroup.values()) {
      if (list.length <= WINDOWS_KEPT_PER_GROUP) continue;
      list.sort((a, b) => b[1] - a[1]);
      for (const [k] of list.slice(WINDOWS_KEPT_PER_GROUP)) this.rows.delete(k);
    }
  }

  /** The newest row of each group; with "complete": true, the newest window that has ended. */
  latestRows() {
    let newestStart = -Infinity;
    for (const r of this.rows.values()) newestStart = Math.max(newestStart, r[this.x]);
    const best = new Map();
    for (const r of this.rows.values()) {
      if (this.def.complete && typeof r.windowend === 'number' && r.windowend > newestStart) continue;
      const g = this.groupOf(r);
      const cur = best.get(g);
      if (!cur || r[this.x] > cur[this.x]) best.set(g, r);
    }
    return [...best.values()];
  }

  colorOf(label) {
    if (!this.colors.has(label)) this.colors.set(label, PALETTE[this.colors.size % PALETTE.length]);
    return this.colors.get(label);
  }

  render() {
    if (this.rows.size === 0) return;
    if (this.type === 'timeseries') this.renderChart();
    else if (this.type === 'bar') this.renderBars();
    else if (this.type === 'table') this.renderTable();
    else this.renderStat();
  }

  renderChart() {
    const visible = this.def.complete ? this.completeRows() : [...this.rows.values()];
    const groups = [...new Set(visible.map((r) => this.groupOf(r)))].sort();
    const series = [];
    for (const g of groups) for (const y of this.ys) series.push({ g, y, label: this.ys.length > 1 ? (g ? `${g} · ${y}` : y) : g || y });
    const xs = [...new Set(visible.map((r) => r[this.x]))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const index = new Map(series.map((s, i) => [`${s.g}\u0000${s.y}`, i]));
    const columns = series.map(() => new Array(xs.length).fill(null));
    let points = 0;
    for (const r of visible) {
      const i = at.get(r[this.x]);
      for (const y of this.ys) {
        const v = this.valueOf(r, y);
        if (v === null) continue;
        columns[index.get(`${this.groupOf(r)}\u0000${y}`)][i] = v;
        points++;
      }
    }
    const data = [xs.map((x) => x / 1000), ...columns];
    this.el.dataset.points = String(points);
    this.el.dataset.series = String(series.length);
    // A line needs two points; a single x value would also stretch uPlot's time axis over years.
    if (points === 0 || xs.length < 2) return;
    const seriesKey = series.map((s) => s.label).join('\u0000');
    if (!this.chart || seriesKey !== this.chartSeriesKey) this.createChart(series, data, seriesKey);
    else {
      this.chart.setData(data);
      // While nobody hovers, the legend shows each series' newest value.
      if (this.chart.legend.idx == null) this.chart.setLegend({ idx: null });
    }
  }

  completeRows() {
    let newestStart = -Infinity;
    for (const r of this.rows.values()) newestStart = Math.max(newestStart, r[this.x]);
    return [...this.rows.values()].filter((r) => typeof r.windowend !== 'number' || r.windowend <= newestStart);
  }

  createChart(series, data, seriesKey) {
    this.chart?.destroy();
    this.body.innerHTML = '';
    const fmt = (v) => (v === null || v === undefined ? '–' : formatValue(v, this.def));
    // With no cursor (idx null) the legend shows the newest value instead of a dash.
    const newest = (u, v, sidx, idx) => (idx === null || idx === undefined ? lastValue(u.data[sidx]) : v);
    const axis = { stroke: '#8b96a3', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.08)', width: 1 }, font: '11px system-ui, sans-serif' };
    this.chart = new uPlot(
      {
        width: Math.max(200, this.body.clientWidth),
        height: this.def.height ?? DEFAULT_HEIGHT,
        scales: { x: { time: true } },
        cursor: { points: { size: 6 } },
        legend: { live: true },
        series: [
          { value: (u, v, si, idx) => formatClock(newest(u, v, si, idx) * 1000) || '–' },
          ...series.map((s) => ({
            label: s.label,
            stroke: this.colorOf(s.label),
            width: 1.75,
            spanGaps: true,
            points: { show: false },
            value: (u, v, si, idx) => fmt(newest(u, v, si, idx)),
          })),
        ],
        axes: [axis, { ...axis, size: 64, values: (_u, splits) => splits.map((v) => formatValue(v, { ...this.def, decimals: undefined, unit: undefined })) }],
      },
      data,
      this.body,
    );
    this.chartSeriesKey = seriesKey;
  }

  resize() {
    if (!this.chart) return;
    const width = Math.max(200, this.body.clientWidth);
    if (width !== this.chart.width) this.chart.setSize({ width, height: this.def.height ?? DEFAULT_HEIGHT });
  }

  renderBars() {
    const y = this.ys[0];
    const items = this.latestRows()
      .map((r) => ({ label: this.groupOf(r) || y, value: this.valueOf(r, y) }))
      .filter((i) => i.value !== null)
      .sort((a, b) => b.value - a.value)
      .slice(0, this.def.limit ?? 20);
    const max = Math.max(...items.map((i) => Math.abs(i.value)), 1e-12);
    this.body.innerHTML = `<div class="bars">${items
      .map(
        (i) => `<div class="bar-row" data-group="${esc(i.label)}"><span class="bar-label" title="${esc(i.label)}">${esc(i.label)}</span>
        <span class="bar-track"><span class="bar-fill ${this.level(i.value)}" style="width:${((Math.abs(i.value) / max) * 100).toFixed(1)}%;--c:${this.colorOf(i.label)}"></span></span>
        <span class="bar-value">${esc(formatValue(i.value, this.def))}</span></div>`,
      )
      .join('')}</div>`;
    this.el.dataset.rows = String(items.length);
  }

  renderTable() {
    const rows = this.latestRows();
    const sortCol = this.def.sort;
    rows.sort((a, b) => (sortCol ? (b[sortCol] ?? -Infinity) - (a[sortCol] ?? -Infinity) : this.groupOf(a).localeCompare(this.groupOf(b))));
    const shown = rows.slice(0, this.def.limit ?? 50);
    const cols = this.def.columns ?? [...new Set(shown.flatMap((r) => Object.keys(r)))].filter((c) => c !== 'windowend' && c !== ENGINE_GROUP);
    const cell = (r, c) => {
      const v = this.ys.includes(c) ? this.valueOf(r, c) ?? r[c] : r[c];
      const cls = this.ys.includes(c) && typeof v === 'number' ? ` class="num ${this.level(v)}"` : typeof v === 'number' ? ' class="num"' : '';
      return `<td${cls}>${esc(formatCell(c, v, this.def))}</td>`;
    };
    this.body.innerHTML = `<div class="table-wrap"><table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
      <tbody>${shown.map((r) => `<tr>${cols.map((c) => cell(r, c)).join('')}</tr>`).join('')}</tbody></table></div>`;
    this.el.dataset.rows = String(shown.length);
  }

  renderStat() {
    const y = this.ys[0];
    const rows = this.latestRows();
    const values = rows.map((r) => this.valueOf(r, y)).filter((v) => v !== null);
    const value = reduce(values, this.def.reduce ?? (values.length === 1 ? 'last' : 'sum'));
    const now = Date.now();
    const last = this.sparkline[this.sparkline.length - 1];
    if (value !== null && (!last || now - last[0] >= 1000)) this.sparkline.push([now, value]);
    if (this.sparkline.length > 120) this.sparkline.shift();
    const newest = Math.max(...rows.map((r) => r[this.x]));
    const context =
      this.source === 'engine' ? '' : `${rows.length} group${rows.length === 1 ? '' : 's'}${rows[0]?.windowstart !== undefined ? ` · window ${formatClock(newest)}` : ''}`;
    this.body.innerHTML = `<div class="stat ${this.level(value)}"><div class="stat-value">${esc(formatValue(value, this.def))}</div>
      ${sparkline(this.sparkline)}<div class="stat-context">${esc(context)}</div></div>`;
    this.el.dataset.rows = String(rows.length);
    this.el.dataset.value = value === null ? '' : String(value);
  }

  /** "ok" / "warn" / "crit" class from the panel's thresholds. */
  level(v) {
    const t = this.def.thresholds;
    if (!t || typeof v !== 'number') return '';
    if (t.crit !== undefined && v >= t.crit) return 'crit';
    if (t.warn !== undefined && v >= t.warn) return 'warn';
    return 'ok';
  }
}

function lastValue(column) {
  for (let i = (column?.length ?? 0) - 1; i >= 0; i--) if (column[i] !== null && column[i] !== undefined) return column[i];
  return null;
}

function reduce(values, how) {
  if (values.length === 0) return null;
  switch (how) {
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'last':
      return values[values.length - 1];
    default:
      return values.reduce((a, b) => a + b, 0);
  }
}

function sparkline(points) {
  if (points.length < 2) return '<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none"></svg>';
  const xs = points.map((p) => p[0]);
  const vs = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [v0, v1] = [Math.min(...vs), Math.max(...vs)];
  const pts = points
    .map(([x, v]) => `${(((x - x0) / (x1 - x0 || 1)) * 100).toFixed(2)},${(22 - ((v - v0) / (v1 - v0 || 1)) * 20).toFixed(2)}`)
    .join(' ');
  return `<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none"><polyline points="${pts}" /></svg>`;
}
