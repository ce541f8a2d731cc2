"""The Python step of the shop pipeline: a per-country summary of customer_revenue, written
as a file output (pipeline/out/country_summary.parquet).

Runs inside the sandbox, with the project directory as the working directory and
$SANDBOXER_DUCKDB pointing at the sandbox's DuckDB file (DuckDB templates).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

OUT = Path("pipeline/out/country_summary.parquet")

SUMMARY = """
SELECT
    country_code,
    count(*) AS customers,
    count(*) FILTER (WHERE orders > 0) AS buyers,
    sum(revenue) AS revenue,
    round(avg(revenue), 2) AS revenue_per_customer,
    sum(orders)::BIGINT AS orders
FROM customer_revenue
GROUP BY country_code
ORDER BY country_code
"""


def main() -> None:
    con = duckdb.connect(os.environ["SANDBOXER_DUCKDB"], read_only=True)
    try:
        summary = con.sql(SUMMARY)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        tmp = OUT.with_name(OUT.name + ".tmp")
        summary.write_parquet(str(tmp))
        tmp.replace(OUT)
        count = con.execute(f"SELECT count(*) FROM ({SUMMARY})").fetchone()
    finally:
        con.close()
    print(f"country_summary: {count[0] if count else 0} countries -> {OUT}")


if __name__ == "__main__":
    main()
