"""The starter sandboxer.yaml written by ``sandboxer init``, filled from a scanned schema."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit, urlunsplit

from sandboxer.sources.schema import Schema


def _q(value: str) -> str:
    """A YAML scalar that round-trips (JSON strings are valid YAML)."""
    return value if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", value) else json.dumps(value)


def _url_without_password(url: str) -> tuple[str, bool]:
    """Replace a password with ${SANDBOXER_SOURCE_PASSWORD}: secrets stay out of the file."""
    if "://" not in url:
        return url, False
    parts = urlsplit(url)
    if parts.password is None:
        return url, False
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{parts.username}:${{SANDBOXER_SOURCE_PASSWORD}}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), True


def dataset_name_for(url: str | None) -> str:
    if not url:
        return "main"
    stem = re.split(r"[/\\]", urlsplit(url).path.rstrip("/") or url.rstrip("/"))[-1]
    stem = re.sub(r"\.(duckdb|db|sqlite3?|parquet)$", "", stem)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")
    return name[:63] or "main"


def starter_config(url: str | None, schema: Schema | None, name: str | None = None) -> str:
    from sandboxer.subset.graph import is_lookup, suggest_root

    name = name or dataset_name_for(url)
    lines = [
        "# sandboxer.yaml: how to build PII-safe test datasets from production.",
        "# Reference: docs/config.md. Unknown keys are errors, ${ENV_VAR} is interpolated.",
        "version: 1",
        "store:",
        "  path: .sandboxer          # snapshot store, relative to this file",
        "datasets:",
        f"  {_q(name)}:",
    ]
    if url is None:
        lines += [
            "    source: ${SANDBOXER_SOURCE_URL}   # postgresql://..., duckdb:///x.db, "
            "sqlite:///x.db or a directory"
        ]
    else:
        safe, had_password = _url_without_password(url)
        comment = "   # export SANDBOXER_SOURCE_PASSWORD=..." if had_password else ""
        lines.append(f"    source: {json.dumps(safe)}{comment}")
    lines += ["    seed: 42                  # same source + config + seed = same snapshot"]
    if schema is None or not schema.tables:
        lines += [
            "    subset:",
            "      roots: []               # e.g. [{table: customers, percent: 10}]",
            "",
        ]
        return "\n".join(lines)
    lines.append(f"    # Scanned {len(schema.tables)} tables. Row counts at scan time in comments.")
    root = suggest_root(schema)
    loose = [k for k, t in schema.tables.items() if not t.primary_key]
    if loose or not schema.foreign_keys:
        lines += [
            "    # This source declares no (or few) keys. Declare them so the subset keeps",
            "    # referential integrity:",
            "    keys:",
            "      primary: {}             # e.g. {orders: [id]}",
            "      foreign: []             # e.g. [{table: orders, columns: [customer_id], "
            "references: customers}]",
        ]
    lines += ["    subset:", "      roots:"]
    if root is not None:
        rows = schema.tables[root].row_count or 0
        # A hashed 10 % of a handful of rows can select none, and the build then stops
        # ("selects no rows"): a root this small is taken whole.
        if rows < 100:
            percent = 100.0
        elif rows <= 10_000:
            percent = 10.0
        else:
            percent = max(0.01, round(1000 / rows * 100, 2))
        lines += [
            f"        - table: {_q(root)}      # suggested: most tables hang off it ({rows} rows)",
            f"          percent: {percent:g}",
            "          # where: \"created_at >= '2024-01-01'\"",
            "          # limit: 1000",
        ]
    else:
        lines[-1] = "      roots: []"
    lookups = sorted(k for k in schema.tables if is_lookup(schema, k))
    lines.append("      tables:                 # subset (default) | all | exclude")
    if lookups:
        lines += [
            f"        {_q(k)}: all   # lookup table, {schema.tables[k].row_count} rows"
            for k in lookups
        ]
    else:
        lines[-1] = "      tables: {}              # subset (default) | all | exclude"
    lines += [
        "      follow_children: true   # pull children of selected rows (orders of customers)",
        "      on_missing_parent: pull # or set_null: null a nullable FK to an unselected parent",
        "      # relations: [{table: orders, columns: [customer_id], max_children: 20}]",
        "      # budgets: {orders: 100000}",
        "# Tables and keys found:",
    ]
    for key, t in sorted(schema.tables.items()):
        fks = ", ".join(f"{'/'.join(fk.columns)} -> {fk.ref_table}" for fk in t.foreign_keys)
        pk = "/".join(t.primary_key) or "no primary key"
        lines.append(f"#   {key} ({t.row_count} rows; pk {pk}{'; ' + fks if fks else ''})")
    lines.append("")
    return "\n".join(lines)
