"""Export tables of ``$SANDBOXER_DUCKDB`` to Parquet files.

Usage: ``python3 duckdb_export.py EXPORT.json`` where the JSON is a list of
``{"name": output, "table": table, "select": quoted SELECT, "path": target .parquet}``.
Exit code 1 naming the output when a table is missing or cannot be written.
"""

from __future__ import annotations

import json
import os
import sys


def main(plan_path: str) -> int:
    import duckdb

    with open(plan_path, encoding="utf-8") as f:
        outputs = json.load(f)
    con = duckdb.connect(os.environ["SANDBOXER_DUCKDB"], read_only=True)
    failed = 0
    try:
        for out in outputs:
            target = "'" + out["path"].replace("'", "''") + "'"
            try:
                con.execute(f"COPY ({out['select']}) TO {target} (FORMAT parquet)")
            except duckdb.Error as e:
                kind = type(e).__name__
                print(
                    f"Output `{out['name']}` (table {out['table']}): {kind}: {e}", file=sys.stderr
                )
                failed += 1
                continue
            print(f"exported {out['name']}", flush=True)
    finally:
        con.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
