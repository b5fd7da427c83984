-- Alert rules: a query whose HAVING decides, per group, whether the alert is active.
-- Alerts go to the Kafka topic seismo.alerts in Alertmanager's shape (key = fingerprint).

-- 1. Latency anomaly: the p99 of a service is far above its own baseline. The query reads the
--    view latency_by_service, so it is evaluated on each closed window, per service (the view's
--    group). ZSCORE compares against an exponentially weighted mean and deviation of earlier
--    windows; it is NULL while it warms up, so a new service does not page anyone.
CREATE ALERT latency_anomaly WITH (
  for      = '20 SECONDS',
  severity = 'page',
  summary  = 'p99 latency of {{service}} is {{p99_ms}} ms (z={{z}})'
) AS
SELECT service, p99_ms, ZSCORE(p99_ms) AS z
FROM latency_by_service
HAVING ZSCORE(p99_ms) > 4 AND p99_ms > 100;

-- 2. Error-rate spike: more than 20% of a service's log lines are errors in 30 seconds.
CREATE ALERT error_spike WITH (
  severity = 'page',
  summary  = '{{service}}: {{errors}} errors in {{total}} log lines'
) AS
SELECT service,
       COUNT(*) AS total,
       SUM(CASE WHEN level = 'error' THEN 1 ELSE 0 END) AS errors
FROM logs
WINDOW TUMBLING (SIZE 30 SECONDS)
GROUP BY service
HAVING SUM(CASE WHEN level = 'error' THEN 1 ELSE 0 END) > 0.2 * COUNT(*) AND COUNT(*) >= 10;

-- 3. Absence: a service that stops sending metrics. Windowed alerts evaluate every known group
--    on every closed window, also when it had no events (COUNT(*) = 0), so silence fires.
CREATE ALERT service_silent WITH (
  severity = 'ticket',
  summary  = '{{service}} sent no metrics for 20 seconds'
) AS
SELECT labels['service'] AS service, COUNT(*) AS events
FROM metrics
WINDOW TUMBLING (SIZE 20 SECONDS)
GROUP BY labels['service']
HAVING COUNT(*) = 0;
