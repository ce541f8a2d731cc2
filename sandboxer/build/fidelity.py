"""Fidelity of a written snapshot against a (cached) profile of its source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandboxer.config.models import Dataset
from sandboxer.console import Console
from sandboxer.errors import SandboxerError
from sandboxer.snapshot.manifest import TableSchema
from sandboxer.snapshot.stage import Stage
from sandboxer.snapshot.store import Store
from sandboxer.sources.base import Source
from sandboxer.sources.schema import Schema


def fidelity_section(
    source: Source,
    schema: Schema,
    dataset: Dataset,
    files: dict[str, Path],
    tables: Mapping[str, TableSchema],
    stages: Sequence[Stage],
    store: Store,
    console: Console,
) -> dict[str, Any]:
    """The manifest's ``fidelity``: the report, or ``{"error"}`` when it could not be measured
    (a report, not the product: the snapshot is sound without it)."""
    from sandboxer.redact.gate import LeakError

    console.step("Measuring fidelity against a profile of the source")
    cache = store.cache_dir("profiles") if dataset.fidelity.cache else None
    try:
        report = measure_fidelity(source, schema, dataset, files, tables, stages, cache)
    except LeakError:
        raise  # the cache would have held production values: the build is refused
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
    tables: Mapping[str, TableSchema],
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
        check=(lambda path: _check_file(stages, path))
        if any(s.checks_files for s in stages)
        else None,
    )
    candidate = profile_frames(
        {k: pl.scan_parquet(p) for k, p in files.items()},
        {k: t.to_dict() for k, t in tables.items()},
        pii_columns=pii,
        detect=False,
        settings=settings,
    )
    report: dict[str, Any] = fidelity(reference, candidate)
    report["reference"] = {**provenance, "sample_rows": dataset.fidelity.sample_rows}
    return report


def _check_file(stages: Sequence[Stage], path: Path) -> None:
    """Every stage's check of a file about to be kept under the store (the leak gate)."""
    for stage in stages:
        stage.check_file(path)
