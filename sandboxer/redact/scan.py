"""``data scan --pii``: detection over a sample of every table, and the policy file it writes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandboxer.sources.base import Sample, Source
from sandboxer.sources.schema import Schema

if TYPE_CHECKING:
    import polars as pl


def sample_tables(
    source: Source,
    schema: Schema,
    rows: int,
    seed: int,
    counts: dict[str, int | None] | None = None,
) -> dict[str, pl.DataFrame]:
    """About ``rows`` rows of each non-empty table (a deterministic md5 sample)."""
    import polars as pl

    samples: dict[str, pl.DataFrame] = {}
    for key, table in sorted(schema.tables.items()):
        total = (counts or {}).get(key)
        if total is None:
            total = source.count_rows(table)
        if total == 0:
            continue
        percent = min(100.0, max(0.001, rows * 2 / total * 100))
        sample = Sample(percent, seed) if percent < 100 else None
        arrow = source.select(table, table.column_names, sample=sample, limit=rows)
        samples[key] = pl.from_arrow(arrow)  # type: ignore[assignment]
    return samples


def scan_pii(samples: dict[str, pl.DataFrame], threshold: float) -> list[dict[str, Any]]:
    """One row per column: the best finding (or none), with counts as evidence."""
    from sandboxer.redact.detect import detect_frame
    from sandboxer.redact.policy import fit_to_type

    rows: list[dict[str, Any]] = []
    for key, frame in sorted(samples.items()):
        findings = detect_frame(frame, threshold=threshold)
        for column in frame.columns:
            found = findings.get(column) or []
            best = found[0] if found else None
            pii = best is not None and best.confidence >= threshold
            # The rule auto mode would use: the suggestion, fitted to the column's type.
            suggested, params = "keep", dict[str, Any]()
            if pii and best:
                suggested, params, _ = fit_to_type(best, frame.get_column(column))
            rows.append(
                {
                    "table": key,
                    "column": column,
                    "pii": pii,
                    "entity": best.entity.value if best else None,
                    "confidence": round(best.confidence, 3) if best else None,
                    "source": best.source if best else None,
                    "suggested": suggested,
                    "params": params,
                    "json_paths": list(best.json_paths) if best else [],
                    "evidence": dict(best.evidence) if best else {},
                }
            )
    return rows


def policy_yaml(rows: list[dict[str, Any]], source: str) -> str:
    """A policy file for people to review: every column, detected ones redacted."""
    lines = [
        "# Redaction policy written by `sandboxer data scan --pii --write-policy`.",
        f"# Source: {source}",
        "# Review every line: this file decides what leaves production. Use it with",
        "#   redact: {policy_file: <this file>, mode: strict}",
        "# Strategies: keep null drop mask hash fake format date_shift generalize noise",
        "#             scrub_text json expr. Evidence below is counts, never values.",
        "version: 1",
        "columns:",
    ]
    current = None
    for row in rows:
        if row["table"] != current:
            current = row["table"]
            lines.append(f"  {json.dumps(current)}:")
        rule: dict[str, Any] = {"strategy": row["suggested"]}
        if row["pii"] and row["entity"]:
            rule["entity"] = row["entity"]
        rule |= row.get("params") or {}
        comment = ""
        if row["entity"]:
            ev = ", ".join(
                f"{k}={v}"
                for k, v in sorted(row["evidence"].items())
                if isinstance(v, int | float) or k in ("name_rule", "source")
            )
            comment = f"  # {row['entity']} {row['confidence']} by {row['source']}" + (
                f" ({ev})" if ev else ""
            )
        lines.append(f"    {json.dumps(row['column'])}: {json.dumps(rule)}{comment}")
    lines.append("")
    return "\n".join(lines)
