-- Order lines of revenue orders, with their amount.
DROP TABLE IF EXISTS stg_order_items;

CREATE TABLE stg_order_items AS
SELECT
    i.order_id,
    i.line_no,
    i.product_id,
    i.quantity,
    (i.quantity * i.unit_price)::numeric(12, 2) AS amount
FROM order_items AS i
JOIN stg_orders AS s ON s.order_id = i.order_id;
