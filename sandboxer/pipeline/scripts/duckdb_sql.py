"""Run the transpiled statements of one SQL step against ``$SANDBOXER_DUCKDB``.

Usage: ``python3 duckdb_sql.py STEP.json`` where the JSON holds
``{"files": [{"path": ..., "statements": [{"line": N, "sql": ...}]}]}``. Stops at the first
failing statement, naming its file and line; exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(plan_path: str) -> int:
    import duckdb

    with open(plan_path, encoding="utf-8") as f:
        plan = json.load(f)
    con = duckdb.connect(os.environ["SANDBOXER_DUCKDB"])
    try:
        for sql_file in plan["files"]:
            started = time.perf_counter()
            for statement in sql_file["statements"]:
                try:
                    con.execute(statement["sql"])
                except duckdb.Error as e:
                    where = f"{sql_file['path']}:{statement['line']}"
                    print(f"SQL in {where} failed on duckdb: {e}", file=sys.stderr)
                    return 1
            seconds = time.perf_counter() - started
            count = len(sql_file["statements"])
            print(f"{sql_file['path']}: {count} statement(s) in {seconds:.2f}s", flush=True)
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
