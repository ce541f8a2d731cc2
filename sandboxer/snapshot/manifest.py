"""The snapshot manifest: what ``manifest.json`` records about a snapshot and its tables."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sandboxer.sources.schema import Table

FORMAT = "sandboxer.snapshot/1"


def table_meta(table: Table, arrow_schema: Any) -> dict[str, Any]:
    types = {f.name: str(f.type) for f in arrow_schema} if arrow_schema is not None else {}
    return {
        "name": table.name.name,
        "schema": table.name.schema,
        "columns": [
            {
                "name": c.name,
                "type": types.get(c.name),
                "source_type": c.type,
                "nullable": c.nullable,
            }
            for c in table.columns
            if arrow_schema is None or c.name in types
        ]
        + [
            {"name": n, "type": t, "source_type": None, "nullable": True}
            for n, t in types.items()
            if n not in table.column_names
        ],
        "primary_key": list(table.primary_key),
        "unique_keys": [list(u) for u in table.unique_keys],
        "foreign_keys": [
            {
                "columns": list(fk.columns),
                "ref_table": fk.ref_table.key,
                "ref_columns": list(fk.ref_columns),
                "virtual": fk.virtual,
            }
            for fk in table.foreign_keys
        ],
    }


def snapshot_id(dataset_name: str, tables: dict[str, dict[str, Any]], config: str = "") -> str:
    """A hash of the data files and of the config that made them: the same source state,
    config and seed give the same id; a changed config (a new rule, fidelity on) a new one."""
    content = {
        "dataset": dataset_name,
        "config": config,
        "tables": {
            k: {"sha256": v["sha256"], "rows": v["rows"]} for k, v in sorted(tables.items())
        },
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
