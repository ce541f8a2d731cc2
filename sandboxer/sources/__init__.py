"""Production data sources: one module per backend, one registry, one factory."""

from __future__ import annotations

from sandboxer.errors import SourceError, did_you_mean
from sandboxer.sources.base import Sample, Source
from sandboxer.sources.schema import Column, ForeignKey, Schema, Table, TableName
from sandboxer.sources.urls import redact_url, scheme_of


def source_classes() -> dict[str, type[Source]]:
    """The registry: each Source class under its ``type`` (the URL scheme it reads).

    Built on first use, not at import: the source modules need sqlglot, which ``sandboxer
    --help`` should not load (their database drivers are imported later still).
    """
    from sandboxer.sources.duckdb import DuckDBSource
    from sandboxer.sources.files import FilesSource
    from sandboxer.sources.postgres import PostgresSource
    from sandboxer.sources.sqlite import SQLiteSource

    return {cls.type: cls for cls in (PostgresSource, DuckDBSource, SQLiteSource, FilesSource)}


def create_source(url: str) -> Source:
    """The Source for a URL: ``postgresql://``, ``duckdb:///path``, ``sqlite:///path``, a dir."""
    kind = scheme_of(url)
    classes = source_classes()
    if kind not in classes:
        raise SourceError(
            f"Unsupported source URL scheme `{kind}://` in {redact_url(url)}",
            hint=did_you_mean(kind, classes)
            or "Use postgresql://..., duckdb:///path.db, sqlite:///path.db or a directory path.",
        )
    return classes[kind](url)


__all__ = [
    "Column",
    "ForeignKey",
    "Sample",
    "Schema",
    "Source",
    "Table",
    "TableName",
    "create_source",
    "redact_url",
    "source_classes",
]
