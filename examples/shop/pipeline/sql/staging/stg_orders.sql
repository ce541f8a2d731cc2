-- Orders that count as revenue, one row per order. Written in PostgreSQL's dialect (the
-- production warehouse); sandboxer transpiles it to the sandbox's engine.
DROP TABLE IF EXISTS stg_orders;

CREATE TABLE stg_orders AS
SELECT
    o.id AS order_id,
    o.customer_id,
    lower(o.status) AS status,
    o.ordered_at::date AS order_date,
    date_trunc('month', o.ordered_at)::date AS order_month,
    o.total::numeric(12, 2) AS total
FROM orders AS o
WHERE o.status NOT ILIKE 'cancel%'
  AND o.status <> 'pending';
