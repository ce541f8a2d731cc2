-- Per product sold at least once: units, revenue, orders and the statuses of those orders.
DROP TABLE IF EXISTS product_sales;

CREATE TABLE product_sales AS
SELECT
    p.id AS product_id,
    p.sku,
    coalesce(p.category, 'Uncategorised') AS category,
    sum(i.quantity)::bigint AS units,
    sum(i.amount)::numeric(14, 2) AS revenue,
    count(DISTINCT i.order_id) AS orders,
    string_agg(DISTINCT s.status, ',' ORDER BY s.status) AS statuses
FROM products AS p
JOIN stg_order_items AS i ON i.product_id = p.id
JOIN stg_orders AS s ON s.order_id = i.order_id
GROUP BY p.id, p.sku, coalesce(p.category, 'Uncategorised');
