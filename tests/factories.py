"""Factories for test data: small real databases with the shapes that break subsetters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GRAPH_DDL = """
create table region (id integer primary key, name varchar);
create table nation (id integer primary key, region_id integer not null references region(id),
                     name varchar);
create table customer (id integer primary key, nation_id integer not null references nation(id),
                       referred_by integer, name varchar);
create table address (id integer primary key, customer_id integer not null references customer(id),
                      city varchar);
create table product (id integer primary key, sku varchar not null unique, price double);
create table orders (id integer primary key, customer_id integer not null references customer(id),
                     billing_address_id integer references address(id),
                     shipping_address_id integer references address(id), total double);
create table items (order_id integer not null references orders(id), line integer not null,
                    product_sku varchar not null references product(sku), qty integer,
                    primary key (order_id, line));
create table audit_log (id integer primary key, customer_id integer references customer(id),
                        note varchar);
create table empty_table (id integer primary key, label varchar);
insert into region select i, 'region ' || i from range(3) t(i);
insert into nation select i, i % 3, 'nation ' || i from range(12) t(i);
insert into customer select i, i % 12, case when i > 0 and i % 3 = 0 then i - 1 end, 'c' || i
  from range(2000) t(i);
insert into address select i, i // 2, 'city ' || (i % 50) from range(4000) t(i);
insert into product select i, 'SKU-' || i, i * 1.25 from range(300) t(i);
insert into orders select i, (i * 7) % 2000, ((i * 7) % 2000) * 2, ((i * 7) % 2000) * 2 + 1,
  i * 0.5 from range(9000) t(i);
insert into items select o, l, 'SKU-' || ((o * 13 + l) % 300), l + 1
  from range(9000) a(o), range(3) b(l);
insert into audit_log select i, i % 2000, 'note ' || i from range(500) t(i);
"""

# People with personal data in every shape detection knows: plain columns (a name, an email that
# is also a unique key, a birth date), free text (ticket bodies with phone numbers and names) and
# JSON (a reply-to address inside ``context``). Invented names, reserved domains and the UK's
# drama phone range; a pure function of the row number, so builds over it are reproducible.
PEOPLE_DDL = """
create temp macro first_name(i) as
  ['Ada', 'Bruno', 'Chiara', 'Dmitri', 'Elif', 'Farid', 'Greta', 'Hugo'][1 + i % 8];
create temp macro last_name(i) as
  ['Quennell', 'Marrowby', 'Ostrava', 'Pellinore', 'Vantis'][1 + (i * 3) % 5];
create table people (id integer primary key, full_name varchar not null,
                     email varchar not null unique, birth_date date, status varchar not null);
create table orders (id integer primary key, person_id integer not null references people(id),
                     ordered_on date not null, amount decimal(10,2) not null);
create table tickets (id integer primary key, person_id integer not null references people(id),
                      body varchar, context json);
insert into people select i, first_name(i) || ' ' || last_name(i),
  lower(first_name(i) || '.' || last_name(i)) || i || '@example.com',
  date '1960-01-01' + ((i * 397) % 15000)::integer, ['active', 'paused', 'closed'][1 + i % 3]
  from range(40) t(i);
insert into orders select i, (i * 7) % 40, date '2024-01-01' + (i * 3)::integer,
  ((i * 37) % 500) / 4 + 5
  from range(120) t(i);
insert into tickets select i, (i * 3) % 40,
  'Please call me back on +44 20 7946 ' || lpad((100 + i)::varchar, 4, '0') || ', '
    || first_name((i * 3) % 40) || ' ' || last_name((i * 3) % 40),
  json_object('channel', ['mail', 'phone'][1 + i % 2],
              'reply_to', lower(first_name((i * 3) % 40)) || i || '@example.org')
  from range(30) t(i);
"""

VIRTUAL_SELF_FK: dict[str, Any] = {
    "foreign": [{"table": "customer", "columns": ["referred_by"], "references": "customer"}]
}


def make_duckdb(path: Path, ddl: str = GRAPH_DDL) -> str:
    """Write a DuckDB file from DDL+DML; return its URL."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(ddl)
    finally:
        con.close()
    return f"duckdb:///{path}"


def dataset(url: str, **subset: Any) -> Any:
    """A Dataset config for ``url`` with subset options and the graph's virtual self-FK."""
    from sandboxer.config.models import Dataset

    keys = subset.pop("keys", VIRTUAL_SELF_FK)
    seed = subset.pop("seed", 7)
    return Dataset.model_validate({"source": url, "seed": seed, "keys": keys, "subset": subset})


def read_snapshot(info: Any) -> dict[str, Any]:
    """Snapshot tables as polars DataFrames, keyed by table."""
    import polars as pl

    return {
        key: pl.read_parquet(info.path / meta.file) for key, meta in info.manifest.tables.items()
    }
