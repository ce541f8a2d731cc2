"""The DuckDB engine: the snapshot in one database file that the workspace opens itself.

The load is ``scripts/loader_duckdb.py``, self-contained (duckdb + the standard library) so it
runs inside the workspace container with the snapshot mounted read-only; ``load_duckdb_local``
runs the same code in this process (the ``process`` backend). It checks the files' sha256
first, then compares every table's row count with the manifest and its content checksum
(``loader_duckdb.checksum_terms``) with the same checksum computed over the Parquet file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.sandbox.engines.base import (
    Engine,
    LoadError,
    LoadReport,
    WorkspaceLoader,
    finish_report,
)

if TYPE_CHECKING:
    from sandboxer.sandbox.templates import DataEngine
    from sandboxer.snapshot.store import SnapshotInfo

LOADER_PATH = Path(__file__).resolve().parent / "scripts" / "loader_duckdb.py"
"""The host path of the self-contained DuckDB loader (mounted into the workspace container)."""
LOADER_MOUNT = "/opt/sandboxer/loader_duckdb.py"
"""Where the workspace container sees ``LOADER_PATH`` (mounted read-only)."""
LOADER = WorkspaceLoader(LOADER_PATH, LOADER_MOUNT)


class DuckDBEngine(Engine):
    """A DuckDB file in the sandbox's data volume (or the process sandbox's directory)."""

    name = "duckdb"
    label = "DuckDB"
    embedded = True
    workspace_loader = LOADER

    def workspace_env(self, data: DataEngine, *, secret_dir: str) -> dict[str, str]:
        return {"SANDBOXER_DUCKDB": data.path}

    def load(self, snapshot: SnapshotInfo, target: str, *, replace: bool = False) -> LoadReport:
        return load_duckdb_local(snapshot, Path(target), replace=replace)

    def verify(self, snapshot: SnapshotInfo, target: str) -> LoadReport:
        return verify_loaded_duckdb(snapshot, Path(target))


def load_duckdb_local(
    snapshot: SnapshotInfo, db_path: Path, *, replace: bool = False
) -> LoadReport:
    """Load ``snapshot`` into the DuckDB file ``db_path`` in this process (``process`` backend)."""
    from sandboxer.sandbox.engines.scripts import loader_duckdb

    try:
        payload = loader_duckdb.load(snapshot.path, db_path, replace=replace)
    except loader_duckdb.LoadError as e:
        raise LoadError(f"Loading snapshot {snapshot.id} into DuckDB failed: {e}") from e
    return report_from_loader(payload)


def duckdb_loader_command(
    snapshot_mount: str, db_path: str, *, replace: bool = False, python: str = "python3"
) -> list[str]:
    """The argv that loads the snapshot inside the workspace container (which mounts
    ``LOADER_PATH`` at ``LOADER_MOUNT`` and the snapshot at ``snapshot_mount``, read-only)."""
    return LOADER.command(snapshot_mount, db_path, replace=replace, python=python)


def report_from_loader(payload: dict[str, Any]) -> LoadReport:
    """From the JSON line ``loader_duckdb.py`` prints (raises LoadError on a failure)."""
    if not payload.get("ok"):
        raise LoadError(f"Loading the snapshot into DuckDB failed: {payload.get('error')}")
    return LoadReport(
        engine=payload.get("engine", DuckDBEngine.name),
        tables=payload["tables"],
        seconds=payload["seconds"],
        ok=True,
        snapshot_id=payload.get("snapshot"),
        target=payload.get("target"),
        notes=[f"foreign keys: {payload['foreign_keys']}"] if "foreign_keys" in payload else [],
    )


def parse_loader_output(stdout: str) -> LoadReport:
    """The report from the loader's output: its last JSON line."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return report_from_loader(json.loads(line))
    raise LoadError("The DuckDB loader printed no report", hint="See the sandbox's logs.")


def verify_loaded_duckdb(snapshot: SnapshotInfo, db_path: Path) -> LoadReport:
    """Recompute counts and checksums of a loaded DuckDB file against the snapshot's files."""
    import duckdb

    from sandboxer.sandbox.engines.scripts import loader_duckdb as ld

    started = time.perf_counter()
    tables: dict[str, dict[str, Any]] = {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for key, meta in sorted(snapshot.manifest.tables.items()):
            # The loader script reads the manifest as plain JSON.
            columns = [c.to_dict() for c in meta.columns]
            path = str(snapshot.path / meta.file)
            expected, _ = ld.checksum_duckdb(con, "read_parquet(?)", columns, [path])
            try:
                loaded, terms = ld.checksum_duckdb(con, ld.table_sql(meta.to_dict()), columns)
            except duckdb.CatalogException:
                tables[key] = {"rows": None, "expected": meta.rows, "checksum_ok": False}
                continue
            tables[key] = {
                "rows": int(terms["rows"]),
                "expected": meta.rows,
                "checksum": loaded,
                "checksum_ok": loaded == expected,
            }
    finally:
        con.close()
    return finish_report(DuckDBEngine.name, snapshot, str(db_path), tables, started)
