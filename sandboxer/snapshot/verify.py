"""Verification of a published snapshot: checksums, sizes, Parquet footers, integrity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandboxer.snapshot import integrity
from sandboxer.snapshot.store import MANIFEST, SnapshotInfo
from sandboxer.snapshot.writer import sha256_file


def verify(info: SnapshotInfo) -> dict[str, Any]:
    """Return ``{"ok": bool, "problems": [...], "integrity": {...}}``; problems name files."""
    import pyarrow.parquet as pq

    problems: list[dict[str, str]] = []
    files: dict[str, Path] = {}
    tables = info.manifest.tables
    for key, meta in sorted(tables.items()):
        path = info.path / meta.file
        rel = meta.file
        if not path.is_file():
            problems.append({"file": rel, "table": key, "problem": "missing"})
            continue
        size = path.stat().st_size
        if size != meta.bytes:
            problems.append(
                {
                    "file": rel,
                    "table": key,
                    "problem": f"size {size} bytes, manifest says {meta.bytes}",
                }
            )
        elif sha256_file(path) != meta.sha256:
            problems.append({"file": rel, "table": key, "problem": "sha256 mismatch"})
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for broken footers
            problems.append(
                {
                    "file": rel,
                    "table": key,
                    "problem": f"unreadable Parquet footer ({type(e).__name__})",
                }
            )
            continue
        if rows != meta.rows:
            problems.append(
                {"file": rel, "table": key, "problem": f"{rows} rows, manifest says {meta.rows}"}
            )
            continue
        files[key] = path
    known = {meta.file for meta in tables.values()} | {MANIFEST}
    for path in sorted(info.path.rglob("*")):
        rel = str(path.relative_to(info.path))
        if path.is_file() and rel not in known:
            problems.append({"file": rel, "table": "", "problem": "not listed in the manifest"})
    checks: dict[str, Any] = {"ok": False, "checks": [], "skipped": True}
    if not problems:
        result = integrity.check(files, tables)
        checks = result.to_dict()
        for c in result.checks:
            if c.failures:
                kind = (
                    "duplicate primary keys"
                    if c.check == "primary_key_unique"
                    else f"foreign key orphans -> {c.references}"
                )
                problems.append(
                    {
                        "file": tables[c.table].file,
                        "table": c.table,
                        "problem": f"{c.failures} {kind} on ({', '.join(c.columns)})",
                    }
                )
    return {"ok": not problems, "id": info.id, "problems": problems, "integrity": checks}
