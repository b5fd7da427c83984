// The dashboards page: loads dashboards/*.json (GET /api/dashboards), draws every panel,
// subscribes each view panel over one WebSocket, shows alerts and the engine's own health.
import { apiGet, apiPost, wsUrl } from './api.js';
import { Live } from './live.js';
import { Panel } from './panels.js';
import { AlertsPanel } from './alerts.js';
import { pollEngine } from './engine.js';
import { esc } from './format.js';

const conn = document.getElementById('conn');
const live = new Live(wsUrl(), (state, detail) => {
  conn.dataset.state = state;
  conn.querySelector('.label').textContent = state === 'live' ? 'live' : state;
  conn.title = detail ?? 'Live connection';
});

const alerts = new AlertsPanel(document.getElementById('alert-list'), document.getElementById('alert-empty'), document.getElementById('alert-count'));
live.subscribe('alerts', { alerts: true }, (msg) => {
  if (msg.op === 'snapshot') alerts.snapshot(msg.rows);
  else if (msg.op === 'alert') alerts.transition(msg.alert);
});

const engineListeners = [];
pollEngine(document.getElementById('engine'), engineListeners);

await showDashboards();

async function showDashboards() {
  const root = document.getElementById('dashboards');
  let dashboards;
  let views = [];
  try {
    [dashboards, views] = await Promise.all([apiGet('/api/dashboards'), apiGet('/api/views').catch(() => [])]);
  } catch (err) {
    root.innerHTML = `<p class="placeholder error">Cannot load dashboards: ${esc(err.message)}</p>`;
    return;
  }
  if (dashboards.length === 0) {
    root.innerHTML = '<p class="placeholder">No dashboards yet: add a JSON file to <code>dashboards/</code> (see docs/dashboards.md).</p>';
    return;
  }
  const viewsByName = new Map(views.map((v) => [v.name, v]));
  root.innerHTML = '';
  const nav = document.getElementById('nav');
  let n = 0;
  for (const d of dashboards) {
    nav.insertAdjacentHTML('beforeend', `<a href="#dash-${esc(d.id)}">${esc(d.title)}</a>`);
    const section = document.createElement('section');
    section.className = 'dashboard';
    section.id = `dash-${d.id}`;
    section.innerHTML = `<h2 class="dash-title">${esc(d.title)}</h2>${
      d.errors.length ? `<div class="dash-errors">${d.errors.map((e) => `<div>${esc(e)}</div>`).join('')}</div>` : ''
    }<div class="grid"></div>`;
    root.append(section);
    const grid = section.querySelector('.grid');
    for (const def of d.panels) {
      const panel = new Panel(def, viewsByName.get(def.view));
      grid.append(panel.el);
      if ((def.source ?? 'view') === 'engine') engineListeners.push((s) => panel.ingestEngine(s));
      else startViewPanel(panel, `p${n++}`);
    }
  }
}

async function startViewPanel(panel, id) {
  if (panel.def.history) {
    try {
      panel.ingest(await loadHistory(panel.def));
    } catch (err) {
      panel.setNote(`history unavailable: ${err.message}`);
    }
  }
  live.subscribe(id, panel.request(), (msg) => {
    if (msg.op === 'snapshot') {
      panel.setNote('');
      panel.ingest(msg.rows, { snapshot: true });
    } else if (msg.op === 'update') panel.ingest(msg.rows);
    else if (msg.op === 'error') panel.setNote(msg.message);
  });
}

/** Past rows of a view from the store (table view_<name>, SPEC section 6), shaped like live rows. */
async function loadHistory(def) {
  const h = def.history === true ? {} : def.history;
  const sql = h.sql ?? `SELECT * FROM view_${def.view} ORDER BY window_start DESC LIMIT ${h.limit ?? 2000}`;
  const res = await apiPost('/api/query', { sql });
  const names = (res.columns ?? []).map((c) => (typeof c === 'string' ? c : c.name));
  const where = Object.entries(def.where ?? {});
  return (res.rows ?? [])
    .map((r) => (Array.isArray(r) ? Object.fromEntries(names.map((c, i) => [c, r[i]])) : r))
    .map((r) => {
      const row = { ...r };
      for (const [from, to] of [['window_start', 'windowstart'], ['window_end', 'windowend']]) {
        if (row[from] !== undefined) {
          row[to] = toEpochMs(row[from]);
          delete row[from];
        }
      }
      return row;
    })
    .filter((r) => where.every(([k, v]) => String(r[k]) === String(v)));
}

function toEpochMs(v) {
  if (typeof v === 'number') return v;
  // DuckDB prints TIMESTAMP as "YYYY-MM-DD HH:MM:SS[.fff]" in UTC.
  const s = String(v);
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
}
