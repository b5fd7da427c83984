// The Alerts panel: firing alerts first, then those resolved in the last 30 minutes, each with
// its labels, summary and start time. Fed by an alerts subscription (snapshot + transitions).
import { esc, formatAgo, formatClock } from './format.js';

const KEEP_RESOLVED_MS = 30 * 60_000;
const HIDDEN_LABELS = new Set(['alertname', 'severity']);

export class AlertsPanel {
  constructor(list, empty, count) {
    this.list = list;
    this.empty = empty;
    this.count = count;
    this.alerts = new Map();
    setInterval(() => this.render(), 15_000);
  }

  /** The active alerts at (re)subscription: firing entries are replaced, resolved ones kept. */
  snapshot(rows) {
    for (const [fp, a] of this.alerts) if (a.status === 'firing') this.alerts.delete(fp);
    for (const a of rows) this.alerts.set(a.fingerprint, { ...a, seenAt: Date.now() });
    this.render();
  }

  /** One transition (firing or resolved). */
  transition(alert) {
    this.alerts.set(alert.fingerprint, { ...alert, seenAt: Date.now() });
    this.render();
  }

  render() {
    const now = Date.now();
    for (const [fp, a] of this.alerts) if (a.status !== 'firing' && now - a.seenAt > KEEP_RESOLVED_MS) this.alerts.delete(fp);
    const items = [...this.alerts.values()].sort(
      (a, b) => Number(b.status === 'firing') - Number(a.status === 'firing') || Date.parse(b.startsAt ?? 0) - Date.parse(a.startsAt ?? 0),
    );
    const firing = items.filter((a) => a.status === 'firing').length;
    this.count.textContent = `${firing} firing`;
    document.title = firing > 0 ? `(${firing}) seismo` : 'seismo';
    this.count.dataset.firing = String(firing);
    this.empty.hidden = items.length > 0;
    this.list.innerHTML = items.map((a) => item(a, now)).join('');
  }
}

function item(a, now) {
  const labels = a.labels ?? {};
  const name = labels.alertname ?? 'alert';
  const severity = labels.severity ?? '';
  const chips = Object.entries(labels)
    .filter(([k]) => !HIDDEN_LABELS.has(k))
    .map(([k, v]) => `<span class="chip"><span class="chip-k">${esc(k)}</span>${esc(v)}</span>`)
    .join('');
  const summary = a.annotations?.summary ?? a.annotations?.description ?? '';
  const when =
    a.status === 'firing'
      ? `since ${formatClock(a.startsAt)} · ${formatAgo(a.startsAt, now)}`
      : `${formatClock(a.startsAt)} → ${formatClock(a.endsAt ?? a.seenAt)} · resolved ${formatAgo(a.endsAt ?? a.seenAt, now)}`;
  return `<li class="alert ${a.status === 'firing' ? 'firing' : 'resolved'}" data-fingerprint="${esc(a.fingerprint)}" data-status="${esc(a.status)}">
    <div class="alert-top"><span class="badge">${esc(a.status)}</span><span class="alert-name">${esc(name)}</span>${severity ? `<span class="sev sev-${esc(severity)}">${esc(severity)}</span>` : ''}</div>
    ${summary ? `<p class="alert-summary">${esc(summary)}</p>` : ''}
    ${chips ? `<div class="chips">${chips}</div>` : ''}
    <div class="alert-time">${esc(when)}</div>
  </li>`;
}
