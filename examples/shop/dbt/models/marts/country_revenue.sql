-- Per country: customers, buyers and revenue.
select
    k.code as country_code,
    k.name as country,
    count(l.customer_id) as customers,
    sum(case when l.orders > 0 then 1 else 0 end) as buyers,
    coalesce(sum(l.lifetime_revenue), 0) as revenue
from {{ source('shop', 'countries') }} as k
left join {{ ref('customer_lifetime') }} as l on l.country_code = k.code
group by k.code, k.name
