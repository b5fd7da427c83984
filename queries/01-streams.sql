-- Sources: a stream is a Kafka topic of JSON objects with a declared schema.
-- Fields not declared here are ignored; a record that is not JSON, lacks the timestamp or the
-- event id, or has a wrongly typed value goes to the dead-letter topic (seismo.dlq).

-- Metrics: one measurement per record, e.g.
-- {"event_id":"m-1","event_time":"2026-11-24T10:15:00.123Z","source":"checkout-7f9",
--  "schema_version":1,"name":"http.request.duration","value":84.2,"labels":{"service":"checkout"}}
CREATE STREAM metrics (
  event_id       VARCHAR,
  event_time     TIMESTAMP,
  source         VARCHAR,
  schema_version INT,
  name           VARCHAR,
  value          DOUBLE,
  labels         MAP<VARCHAR, VARCHAR>
) WITH (
  kafka_topic = 'telemetry.metrics',
  timestamp   = 'event_time',   -- event time comes from this column, not the Kafka record time
  event_id    = 'event_id'      -- a redelivered event (same id) is counted once
);

-- Logs: one log line per record.
CREATE STREAM logs (
  event_id       VARCHAR,
  event_time     TIMESTAMP,
  source         VARCHAR,
  schema_version INT,
  service        VARCHAR,
  level          VARCHAR,
  message        VARCHAR
) WITH (kafka_topic = 'telemetry.logs', timestamp = 'event_time', event_id = 'event_id');
