"""Building a snapshot: source -> subset plan -> stages -> Parquet files -> checks -> publish.

Nothing is visible until ``Store.publish``: an interrupted or failing build leaves only a
staging directory that ``data gc`` removes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandboxer import __version__
from sandboxer.config.models import Dataset, TableMode
from sandboxer.console import Console
from sandboxer.errors import SandboxerError, StoreError, SubsetError
from sandboxer.snapshot import integrity
from sandboxer.snapshot.stages import BuildContext, Stage
from sandboxer.snapshot.store import MANIFEST, SnapshotInfo, Store
from sandboxer.snapshot.writer import TableWriter, file_name
from sandboxer.sources import create_source
from sandboxer.sources.base import Source
from sandboxer.sources.schema import Schema, Table
from sandboxer.subset.extract import extract
from sandboxer.subset.graph import apply_virtual_keys
from sandboxer.subset.planner import Planner

FORMAT = "sandboxer.snapshot/1"


def config_hash(dataset: Dataset) -> str:
    """sha256 of the dataset config with the source URL's credentials removed."""
    from sandboxer.sources.urls import redact_url

    payload = dataset.model_dump(mode="json")
    payload["source"] = redact_url(dataset.source)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load_schema(source: Source, dataset: Dataset) -> Schema:
    schema = source.introspect()
    if dataset.schemas:
        schema.tables = {
            k: t
            for k, t in schema.tables.items()
            if t.name.schema is None or t.name.schema in dataset.schemas
        }
    return apply_virtual_keys(schema, dataset.keys)


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


def build_snapshot(
    dataset_name: str,
    dataset: Dataset,
    store: Store,
    console: Console,
    *,
    stages: Sequence[Stage] = (),
    source: Source | None = None,
) -> SnapshotInfo:
    """Build and publish one snapshot of ``dataset``; return the published snapshot."""
    started = time.perf_counter()
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    source = source or create_source(dataset.source)
    with store.lock(dataset_name):
        console.step(f"Reading {source.display_url}")
        with source:
            schema = load_schema(source, dataset)
            if not schema.tables:
                raise SubsetError(
                    f"The source {source.display_url} has no tables",
                    hint="Check the URL (and `schemas:` for PostgreSQL).",
                )
            with store.staging(dataset_name) as staged:
                console.step(f"Planning the subset of {len(schema.tables)} tables")
                spill = staged / "spill"
                try:
                    plan = Planner(source, schema, dataset, spill, console).plan()
                except OSError as e:
                    raise store_error(store, e, dataset_name) from e
                ctx = BuildContext(dataset_name, dataset, schema, plan, console, source)
                for stage in stages:
                    stage.start(ctx)
                (staged / "data").mkdir()
                tables: dict[str, dict[str, Any]] = {}
                files: dict[str, Path] = {}
                console.step(f"Writing {len(plan.tables)} tables")
                try:
                    for key in sorted(plan.tables):
                        tp = plan.tables[key]
                        batches = extract(source, plan, key)
                        for stage in stages:
                            batches = stage.process(tp.table, batches)
                        name = file_name(key)
                        path = staged / "data" / name
                        writer: TableWriter | None = None
                        try:
                            for batch in batches:
                                if writer is None:
                                    writer = TableWriter(path, batch.schema)
                                writer.write(batch)
                            if writer is None:
                                raise SandboxerError(f"No schema reached the writer for `{key}`")
                            written = writer.close()
                        except BaseException:
                            if writer is not None:
                                writer.abort()
                            raise
                        meta = table_meta(tp.table, writer.schema)
                        meta.update(
                            file=f"data/{name}",
                            **written,
                            source_rows=tp.source_rows,
                            mode=tp.mode.value,
                            selected_by=dict(sorted(tp.reasons.items())),
                            capped=tp.capped,
                        )
                        tables[key] = meta
                        files[key] = path
                        console.detail(f"{key}: {written['rows']} rows")
                except OSError as e:
                    raise store_error(store, e, dataset_name) from e
                shutil.rmtree(spill, ignore_errors=True)
                for stage in stages:
                    stage.check_output(files)
                console.step("Checking integrity (primary keys, foreign keys)")
                checks = integrity.check(files, tables)
                excluded = sorted(
                    k
                    for k, m in ((schema.table(n).key, m) for n, m in dataset.subset.tables.items())
                    if m is TableMode.exclude
                )
                if not checks["ok"]:
                    bad = [c for c in checks["checks"] if c["failures"]]
                    lines = "; ".join(
                        f"{c['table']}({', '.join(c['columns'])}) "
                        + (
                            "duplicates"
                            if c["check"] == "primary_key_unique"
                            else f"-> {c['references']} orphans"
                        )
                        + f": {c['failures']}"
                        for c in bad[:5]
                    )
                    raise SubsetError(
                        f"The subset of `{dataset_name}` breaks integrity, so it was not "
                        f"published: {lines}",
                        hint="Orphans mean the source itself holds dangling references: set "
                        "on_missing_parent: set_null for that relation, or fix the declared keys.",
                    )
                fidelity_report = None
                if dataset.fidelity.enabled:
                    fidelity_report = fidelity_section(
                        source, schema, dataset, files, tables, stages, store, console
                    )
                sid = snapshot_id(dataset_name, tables, config_hash(dataset))
                manifest = {
                    "format": FORMAT,
                    "id": sid,
                    "dataset": dataset_name,
                    "description": dataset.description,
                    "created_at": created,
                    "tool_version": __version__,
                    "seed": dataset.seed,
                    "config_hash": config_hash(dataset),
                    "source": {
                        **source.identity(),
                        "consistent_snapshot": source.consistent_snapshot,
                    },
                    "tables": tables,
                    "excluded_tables": excluded,
                    "totals": {
                        "tables": len(tables),
                        "rows": sum(t["rows"] for t in tables.values()),
                        "source_rows": sum(t["source_rows"] or 0 for t in tables.values()),
                        "bytes": sum(t["bytes"] for t in tables.values()),
                    },
                    "subset": {
                        **plan.stats(),
                        "roots": [r.model_dump(mode="json") for r in dataset.subset.roots],
                    },
                    "integrity": checks,
                    **({"fidelity": fidelity_report} if fidelity_report is not None else {}),
                    "stages": {s.name: r for s in stages if (r := s.report()) is not None},
                    "build_seconds": round(time.perf_counter() - started, 3),
                }
                try:
                    with open(staged / MANIFEST, "w", encoding="utf-8") as f:
                        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
                        f.write("\n")
                except OSError as e:
                    raise store_error(store, e, dataset_name) from e
                info = store.publish(staged, sid, dataset_name)
    console.step(f"Published snapshot {info.id} of `{dataset_name}`")
    return info


def fidelity_section(
    source: Source,
    schema: Schema,
    dataset: Dataset,
    files: dict[str, Path],
    tables: dict[str, dict[str, Any]],
    stages: Sequence[Stage],
    store: Store,
    console: Console,
) -> dict[str, Any]:
    """The manifest's ``fidelity``: the report, or ``{"error"}`` when it could not be measured
    (a report, not the product: the snapshot is sound without it)."""
    console.step("Measuring fidelity against a profile of the source")
    cache = store.cache_dir("profiles") if dataset.fidelity.cache else None
    try:
        report = measure_fidelity(source, schema, dataset, files, tables, stages, cache)
    except SandboxerError as e:
        console.warn(f"Fidelity was not measured: {e.message}")
        return {"error": e.message}
    reference = report["reference"]
    cached = " (cached, source unchanged)" if reference["cached"] else ""
    console.detail(
        f"fidelity {report['score']:.3f} against the source profile of "
        f"{reference['profiled_at']}{cached}"
    )
    return report


def measure_fidelity(
    source: Source,
    schema: Schema,
    dataset: Dataset,
    files: dict[str, Path],
    tables: dict[str, dict[str, Any]],
    stages: Sequence[Stage],
    cache: Path | None = None,
) -> dict[str, Any]:
    """Fidelity of the written snapshot against a profile of the source.

    Both profiles treat the same columns as personal: those the build rewrote (redaction),
    whose values differ from production by design and are compared by length and null rate
    only. Nothing else is detected here: the report holds distances, never values. Only the
    snapshot's tables are profiled. The source's profile comes from ``cache`` when the source
    has not changed since it was taken (see ``sandboxer.profile.cache``)."""
    import polars as pl

    from sandboxer.profile import ProfileSettings, fidelity, profile_frames
    from sandboxer.profile.cache import cached_source_profile

    pii: set[tuple[str, str]] = set()
    for stage in stages:
        pii |= stage.rewritten_columns()
    settings = ProfileSettings(patterns=False)
    # Only the tables the snapshot holds: an excluded table is not profiled (nor cached).
    written = Schema({k: t for k, t in schema.tables.items() if k in files})
    reference, provenance = cached_source_profile(
        source,
        written,
        cache,
        sample_rows=dataset.fidelity.sample_rows,
        seed=dataset.seed,
        pii_columns=pii,
        detect=False,
        settings=settings,
    )
    candidate = profile_frames(
        {k: pl.scan_parquet(p) for k, p in files.items()},
        tables,
        pii_columns=pii,
        detect=False,
        settings=settings,
    )
    report: dict[str, Any] = fidelity(reference, candidate)
    report["reference"] = {**provenance, "sample_rows": dataset.fidelity.sample_rows}
    return report


def store_error(store: Store, error: OSError, dataset: str) -> StoreError:
    return store.disk_error(error, dataset)
