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

from sandboxer import __version__
from sandboxer.build.fidelity import fidelity_section
from sandboxer.config.models import Dataset, TableMode
from sandboxer.console import Console
from sandboxer.errors import SandboxerError, StoreError, SubsetError
from sandboxer.snapshot import integrity
from sandboxer.snapshot.manifest import (
    SnapshotManifest,
    SnapshotTable,
    SourceIdentity,
    SubsetStats,
    Totals,
    snapshot_id,
)
from sandboxer.snapshot.stage import BuildContext, Stage
from sandboxer.snapshot.store import MANIFEST, SnapshotInfo, Store
from sandboxer.snapshot.writer import TableWriter, file_name
from sandboxer.sources import create_source
from sandboxer.sources.base import Source
from sandboxer.sources.schema import Schema
from sandboxer.subset.extract import extract
from sandboxer.subset.graph import apply_virtual_keys
from sandboxer.subset.planner import Planner


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
                tables: dict[str, SnapshotTable] = {}
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
                        tables[key] = SnapshotTable.from_table(
                            tp.table,
                            writer.schema,
                            file=f"data/{name}",
                            **written,
                            source_rows=tp.source_rows,
                            mode=tp.mode.value,
                            selected_by=dict(sorted(tp.reasons.items())),
                            capped=tp.capped,
                        )
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
                if not checks.ok:
                    bad = [c for c in checks.checks if c.failures]
                    lines = "; ".join(
                        f"{c.table}({', '.join(c.columns)}) "
                        + (
                            "duplicates"
                            if c.check == "primary_key_unique"
                            else f"-> {c.references} orphans"
                        )
                        + f": {c.failures}"
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
                manifest = SnapshotManifest(
                    id=sid,
                    dataset=dataset_name,
                    description=dataset.description,
                    created_at=created,
                    tool_version=__version__,
                    seed=dataset.seed,
                    config_hash=config_hash(dataset),
                    source=SourceIdentity.model_validate(
                        {
                            **source.identity(),
                            "consistent_snapshot": source.consistent_snapshot,
                        }
                    ),
                    tables=tables,
                    excluded_tables=excluded,
                    totals=Totals(
                        tables=len(tables),
                        rows=sum(t.rows for t in tables.values()),
                        source_rows=sum(t.source_rows or 0 for t in tables.values()),
                        bytes=sum(t.bytes for t in tables.values()),
                    ),
                    subset=SubsetStats.model_validate(
                        {
                            **plan.stats(),
                            "roots": [r.model_dump(mode="json") for r in dataset.subset.roots],
                        }
                    ),
                    integrity=checks,
                    fidelity=fidelity_report,
                    stages={s.name: r for s in stages if (r := s.report()) is not None},
                    build_seconds=round(time.perf_counter() - started, 3),
                )
                try:
                    (staged / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
                except OSError as e:
                    raise store_error(store, e, dataset_name) from e
                for stage in stages:
                    stage.check_file(staged / MANIFEST)
                info = store.publish(staged, sid, dataset_name)
    console.step(f"Published snapshot {info.id} of `{dataset_name}`")
    return info


def store_error(store: Store, error: OSError, dataset: str) -> StoreError:
    return store.disk_error(error, f"building `{dataset}`")
