-- A trailing 10-second window per sensor, updated on every event, at a resolution of 100 ms
-- (the pane: the coarsest round unit at most 1/60 of the size). Grace 0: the b event at :03
-- arrives after the watermark passed its window and is late.
CREATE STREAM readings (sensor VARCHAR, at TIMESTAMP, temp DOUBLE) WITH (kafka_topic = 'readings', timestamp = 'at');
CREATE VIEW trailing AS
SELECT sensor, COUNT(*) AS n, AVG(temp) AS avg_temp, MAX(temp) AS max_temp, WINDOWSTART AS ws, WINDOWEND AS we
FROM readings
WINDOW SLIDING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS)
GROUP BY sensor;
