-- Every aggregate over one tumbling window, with NULLs; EMIT FINAL.
CREATE STREAM orders (id VARCHAR, t BIGINT, customer VARCHAR, amount DOUBLE, coupon VARCHAR) WITH (kafka_topic = 'orders', timestamp = 't');
CREATE VIEW stats AS
SELECT customer,
       COUNT(*) AS orders, COUNT(coupon) AS with_coupon, COUNT(DISTINCT coupon) AS coupons,
       SUM(amount) AS total, MIN(amount) AS smallest, MAX(amount) AS largest, AVG(amount) AS mean,
       STDDEV(amount) AS sd, VARIANCE(amount) AS var, PERCENTILE(amount, 0.5) AS median,
       EARLIEST(coupon) AS first_coupon, LATEST(coupon) AS last_coupon,
       LATEST(coupon, false) AS last_coupon_or_null
FROM orders
WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 0 SECONDS)
GROUP BY customer
EMIT FINAL;
