-- Per customer: revenue orders, revenue, first and last order month ('YYYY-MM').
DROP TABLE IF EXISTS customer_revenue;

CREATE TABLE customer_revenue AS
SELECT
    c.id AS customer_id,
    c.country_code,
    count(s.order_id)::int AS orders,
    coalesce(sum(s.total), 0)::numeric(14, 2) AS revenue,
    to_char(min(s.order_month), 'YYYY-MM') AS first_order_month,
    to_char(max(s.order_month), 'YYYY-MM') AS last_order_month
FROM customers AS c
LEFT JOIN stg_orders AS s ON s.customer_id = c.id
GROUP BY c.id, c.country_code;
