-- Per customer: revenue orders, lifetime revenue, first and last order date.
select
    c.id as customer_id,
    c.country_code,
    count(o.order_id) as orders,
    coalesce(sum(o.total), 0) as lifetime_revenue,
    min(o.order_date) as first_order_date,
    max(o.order_date) as last_order_date
from {{ source('shop', 'customers') }} as c
left join {{ ref('stg_shop_orders') }} as o on o.customer_id = c.id
group by c.id, c.country_code
