-- Live views: continuously maintained aggregates. Dashboards subscribe to them over WebSocket,
-- their closed windows are stored in DuckDB as view_<name> for historical queries.

-- Requests per service in 10-second tumbling windows (aligned to the epoch: :00, :10, ...).
CREATE VIEW request_rate AS
SELECT labels['service'] AS service,
       COUNT(*)          AS requests
FROM metrics
WHERE name = 'http.request.duration'
WINDOW TUMBLING (SIZE 10 SECONDS)
GROUP BY labels['service']
EMIT CHANGES;

-- Latency per service over the last minute, refreshed every 10 seconds (a hopping window).
-- PERCENTILE is a DDSketch with 1% relative error and bounded memory.
CREATE VIEW latency_by_service AS
SELECT labels['service']         AS service,
       COUNT(*)                  AS requests,
       AVG(value)                AS avg_ms,
       PERCENTILE(value, 0.5)    AS p50_ms,
       PERCENTILE(value, 0.99)   AS p99_ms
FROM metrics
WHERE name = 'http.request.duration'
WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, GRACE PERIOD 5 SECONDS)
GROUP BY labels['service']
EMIT CHANGES;

-- Errors per service per 30 seconds. EMIT FINAL: one row per window, when it closes.
CREATE VIEW error_rate AS
SELECT service,
       COUNT(*)                                            AS total,
       SUM(CASE WHEN level = 'error' THEN 1 ELSE 0 END)    AS errors,
       SUM(CASE WHEN level = 'error' THEN 1 ELSE 0 END) / COUNT(*) AS error_ratio
FROM logs
WINDOW TUMBLING (SIZE 30 SECONDS)
GROUP BY service
EMIT FINAL;
