-- Orders whose status counts as revenue (see seeds/order_statuses.csv).
select
    o.id as order_id,
    o.customer_id,
    o.status,
    cast(o.ordered_at as date) as order_date,
    o.total
from {{ source('shop', 'orders') }} as o
join {{ ref('order_statuses') }} as s on s.status = o.status
where s.counts_as_revenue
