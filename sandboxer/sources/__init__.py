"""Production data sources: one module per backend, one registry, one factory."""

from __future__ import annotations

import importlib

from sandboxer.errors import SourceError, did_you_mean
from sandboxer.sources.base import Sample, Source
from sandboxer.sources.schema import Column, ForeignKey, Schema, Table, TableName
from sandboxer.sources.urls import redact_url, scheme_of

# name -> "module:Class"; modules import their drivers lazily.
SOURCES: dict[str, str] = {
    "postgresql": "sandboxer.sources.postgres:PostgresSource",
    "duckdb": "sandboxer.sources.duckdb:DuckDBSource",
    "sqlite": "sandboxer.sources.sqlite:SQLiteSource",
    "files": "sandboxer.sources.files:FilesSource",
}


def create_source(url: str) -> Source:
    """The Source for a URL: ``postgresql://``, ``duckdb:///path``, ``sqlite:///path``, a dir."""
    kind = scheme_of(url)
    if kind not in SOURCES:
        raise SourceError(
            f"Unsupported source URL scheme `{kind}://` in {redact_url(url)}",
            hint=did_you_mean(kind, SOURCES)
            or "Use postgresql://..., duckdb:///path.db, sqlite:///path.db or a directory path.",
        )
    module_name, class_name = SOURCES[kind].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    source: Source = cls(url)
    return source


__all__ = [
    "SOURCES",
    "Column",
    "ForeignKey",
    "Sample",
    "Schema",
    "Source",
    "Table",
    "TableName",
    "create_source",
    "redact_url",
]
