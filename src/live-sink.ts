/**
 * Where the live engine's output goes: visible rows to the WebSocket hub (and the view's Kafka
 * topic), closed windows and alert transitions into buffers the next checkpoint writes to DuckDB,
 * alerts to the alerts topic and Alertmanager, late and rejected events to metrics and the
 * dead-letter topic.
 */
import type { QueryPlan } from './lang/compile.js';
import type { EngineSink, RowFlags } from './engine/sink.js';
import type { AlertPayload } from './alerts/payload.js';
import type { AlertPayloadLike, WsHub } from './api/ws-hub.js';
import type { ProducerMessage } from './ingest/kafka-producer.js';
import { metrics } from './metrics.js';
import { rowWithBounds, storedRow } from './engine/row-shape.js';
import type { Row, WindowBounds } from './types.js';

/** Where a late event came from, for the dead-letter record. */
export interface EventOrigin {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** Health of one rule (GET /api/rules). */
export interface RuleHealth {
  healthy: boolean;
  lastError: string | null;
  errors: number;
}

export class LiveSink implements EngineSink {
  /** Closed windows since the last checkpoint, per view (rows with window_start/window_end). */
  viewRows = new Map<string, Row[]>();
  /** Alert transitions since the last checkpoint. */
  alerts: AlertPayload[] = [];
  /** Messages to produce at the end of the current batch, per topic. */
  outbox = new Map<string, ProducerMessage[]>();
  readonly health = new Map<string, RuleHealth>();
  /** Views whose group cap was hit (logged once each). */
  private readonly capped = new Set<string>();

  constructor(
    private readonly deps: {
      hub: WsHub | null;
      alertsTopic: string;
      deadLetterTopic: string;
      onAlert?: (alert: AlertPayload) => void;
      now: () => number;
      log?: (line: string) => void;
    },
  ) {}

  row(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string, flags: RowFlags): void {
    if (plan.kind !== 'view') return;
    // Subscribers also get a window's final value when it closes (EMIT CHANGES or FINAL). The
    // row with its bounds is built only for a view someone watches: a closing minute of a
    // million groups would otherwise copy a million rows for nobody.
    const hub = this.deps.hub;
    if ((flags.visible || window) && hub?.hasSubscribers(plan.name)) {
      const full: Row = window ? rowWithBounds(plan, row, window.start, window.end) : row;
      hub.publish({ view: plan.name, key: window ? `${key}|${window.start}` : key, row: full });
    }
    if (flags.visible) {
      const topic = plan.options.kafka_topic;
      if (typeof topic === 'string') this.send(topic, { key, value: JSON.stringify({ window: isoWindow(window), row }) });
    }
    if (flags.closed) {
      let rows = this.viewRows.get(plan.name);
      if (!rows) this.viewRows.set(plan.name, (rows = []));
      rows.push(storedRow(plan, row, window?.start ?? null, window?.end ?? null));
    }
  }

  retract(plan: QueryPlan, window: WindowBounds | null, row: Row, key: string): void {
    if (plan.kind !== 'view') return;
    const rowKey = window ? `${key}|${window.start}` : key;
    this.deps.hub?.publish({ view: plan.name, key: rowKey, row: { ...row, windowstart: window?.start ?? null, windowend: window?.end ?? null }, retract: true });
    const topic = plan.options.kafka_topic;
    if (typeof topic === 'string') this.send(topic, { key, value: null });
  }

  alert(plan: QueryPlan, alert: AlertPayload): void {
    const stamped: AlertPayload = { ...alert, emittedAt: new Date(this.deps.now()).toISOString() };
    this.alerts.push(stamped);
    metrics.alertsEmitted.inc({ rule: plan.name, status: stamped.status });
    this.send(this.deps.alertsTopic, { key: stamped.fingerprint, value: JSON.stringify(stamped) });
    this.deps.hub?.publishAlert(asAlertLike(stamped));
    this.deps.onAlert?.(stamped);
  }

  late(plan: QueryPlan, origin: unknown): void {
    metrics.eventsLate.inc({ view: plan.name });
    const o = origin as EventOrigin | null;
    if (!plan.lateToDeadLetter || !o) return;
    const text = o.value ? o.value.toString('utf8') : null;
    this.send(this.deps.deadLetterTopic, {
      // A copy, as in deadLetterMessage: the key is a view of a whole fetch's bytes.
      key: o.key === null ? null : Buffer.from(o.key),
      value: JSON.stringify({
        topic: o.topic,
        partition: o.partition,
        offset: Number(o.offset),
        reason: 'late',
        detail: `later than every window of view ${plan.name} it belongs to`,
        value: text,
      }),
    });
  }

  rejected(plan: QueryPlan, reason: 'null_key' | 'max_groups'): void {
    metrics.groupsDropped.inc({ view: plan.name, reason });
    if (reason === 'max_groups' && !this.capped.has(plan.name)) {
      this.capped.add(plan.name);
      this.deps.log?.(`${plan.name}: reached max_groups = ${plan.maxGroups}; rows of new groups are dropped (seismo_groups_rejected_total)`);
    }
  }

  ruleError(plan: QueryPlan, error: unknown): void {
    const h = this.health.get(plan.name) ?? { healthy: true, lastError: null, errors: 0 };
    h.healthy = false;
    h.errors++;
    h.lastError = error instanceof Error ? error.message : String(error);
    this.health.set(plan.name, h);
    metrics.ruleErrors.inc({ rule: plan.name });
    metrics.ruleHealth.set({ rule: plan.name }, 0);
  }

  send(topic: string, message: ProducerMessage): void {
    let list = this.outbox.get(topic);
    if (!list) this.outbox.set(topic, (list = []));
    list.push(message);
  }

  /** Takes what the next checkpoint must write. */
  drainForCheckpoint(): { viewRows: Map<string, Row[]>; alerts: AlertPayload[] } {
    const out = { viewRows: this.viewRows, alerts: this.alerts };
    this.viewRows = new Map();
    this.alerts = [];
    return out;
  }

  /** Takes the messages to produce. */
  drainOutbox(): Map<string, ProducerMessage[]> {
    const out = this.outbox;
    this.outbox = new Map();
    return out;
  }
}

/** An alert payload as the hub's loosely typed record. */
export function asAlertLike(a: AlertPayload): AlertPayloadLike {
  return { ...a };
}

function isoWindow(w: WindowBounds | null): { start: string; end: string } | null {
  return w ? { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() } : null;
}
