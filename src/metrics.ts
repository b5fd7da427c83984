/**
 * The one prom-client registry and every metric of the engine (the only module importing
 * prom-client). Label names follow SPEC section 5.
 */
import client from 'prom-client';

export const registry = new client.Registry();
// Process metrics (resident memory, heap, event-loop lag, GC): what an operator looks at first.
client.collectDefaultMetrics({ register: registry, prefix: 'seismo_' });

const counter = (name: string, help: string, labelNames: string[]) =>
  new client.Counter({ name, help, labelNames, registers: [registry] });
const gauge = (name: string, help: string, labelNames: string[] = []) =>
  new client.Gauge({ name, help, labelNames, registers: [registry] });

/** Metrics exported on GET /metrics. */
export const metrics = {
  eventsConsumed: counter('seismo_events_consumed_total', 'Valid events consumed, per stream', ['stream']),
  eventsInvalid: counter('seismo_events_invalid_total', 'Records sent to the dead-letter topic', ['stream', 'reason']),
  eventsDeduplicated: counter('seismo_events_deduplicated_total', 'Redelivered events dropped by event id', ['stream']),
  eventsLate: counter('seismo_events_late_total', 'Events later than their window close', ['view']),
  groupsDropped: counter('seismo_groups_rejected_total', 'Rows dropped: NULL group key or group cap reached', ['view', 'reason']),
  consumerLag: gauge('seismo_consumer_lag', 'High watermark minus next offset to process', ['topic', 'partition']),
  alertsEmitted: counter('seismo_alerts_emitted_total', 'Alert transitions emitted', ['rule', 'status']),
  ruleHealth: gauge('seismo_rule_healthy', '1 when the rule evaluated without error last time', ['rule']),
  ruleErrors: counter('seismo_rule_errors_total', 'Evaluation errors per rule', ['rule']),
  checkpointDuration: new client.Histogram({
    name: 'seismo_checkpoint_duration_seconds',
    help: 'Time to write one checkpoint',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  checkpointPause: gauge('seismo_checkpoint_pause_seconds', 'Hot-path pause of the last checkpoint'),
  lastCheckpoint: gauge('seismo_last_checkpoint_timestamp_seconds', 'Wall time of the last checkpoint'),
  wsClients: gauge('seismo_ws_clients', 'Connected WebSocket clients'),
  eventLatency: new client.Histogram({
    name: 'seismo_event_latency_seconds',
    help: 'Wall time from consuming an event to pushing out what it changed (the oldest event of each flush)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  openGroups: gauge('seismo_open_groups', 'Groups with open windows, per view', ['view']),
  openPanes: gauge('seismo_open_panes', 'Open panes (partial aggregates), per view', ['view']),
  watermark: gauge('seismo_watermark_seconds', 'Event-time watermark per stream', ['stream']),
};
