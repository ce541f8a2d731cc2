"""The Source interface: what the subset planner needs from any production database.

A source is opened once per build; between ``open()`` and ``close()`` every read sees the same
consistent state (PostgreSQL: one REPEATABLE READ snapshot). All SQL is built as sqlglot
expressions and generated in the source's dialect with every identifier quoted.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sandboxer.sources.schema import Schema, Table

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp


@dataclass(frozen=True)
class Sample:
    """A deterministic sample of ``percent`` % of a table's rows, keyed on its row identity.

    A row is in the sample when the first 8 hex digits of ``md5(seed | key columns as text)``
    fall below ``percent`` of the hash space: stable across runs and identical across sources
    holding the same keys, unlike ``random()`` or ``TABLESAMPLE``.
    """

    percent: float
    seed: int
    method: str = "md5"
    """``md5`` (above), or ``native``: the engine's own seeded Bernoulli sample (DuckDB and
    PostgreSQL ``TABLESAMPLE BERNOULLI ... REPEATABLE (seed)``), several times cheaper than
    hashing every row and repeatable while the table is unchanged, but not the same rows on
    another engine. Profiles use it; subsets never do. Sources without one use md5."""

    @property
    def threshold(self) -> str:
        return format(min(int(self.percent / 100 * 16**8), 16**8 - 1), "08x")


class Source(abc.ABC):
    """A production data source. Subclasses are listed in ``sources.source_classes()``."""

    type: ClassVar[str]
    """Registry name and URL scheme (``postgresql``, ``duckdb``, ``sqlite``, ``files``)."""
    dialect: ClassVar[str]
    """sqlglot dialect used to generate this source's SQL."""
    consistent_snapshot: ClassVar[bool] = False
    """True when all reads between open() and close() see one point-in-time state."""

    def __init__(self, url: str) -> None:
        self.url = url

    # -- identity ------------------------------------------------------------------------
    @property
    def display_url(self) -> str:
        """The URL with any password removed: the only form that may be printed or stored."""
        from sandboxer.sources.urls import redact_url

        return redact_url(self.url)

    def identity(self) -> dict[str, Any]:
        """What the manifest records about where the data came from (never credentials)."""
        return {"type": self.type, "url": self.display_url}

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:  # noqa: B027 - optional hook
        """Connect and, where supported, start the consistent read snapshot."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """End the snapshot and disconnect; safe to call twice."""

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog -------------------------------------------------------------------------
    @abc.abstractmethod
    def introspect(self) -> Schema:
        """Tables, columns, primary/unique/foreign keys as the source declares them."""

    def count_rows(self, table: Table) -> int:
        """Exact row count of a table."""
        from sandboxer.sources.sql import count_query

        return int(self.aggregate(count_query(table), table)[0][0])

    @abc.abstractmethod
    def aggregate(self, query: exp.Expression, table: Table) -> list[tuple[Any, ...]]:
        """Run a read-only query whose result is small (counts, statistics) in the same
        consistent state as every other read, and return its rows; errors name ``table``."""

    def state(self, schema: Schema) -> str | None:
        """A token that changes whenever the data of ``schema``'s tables may have changed
        (file sizes and modification times, the database's change counters), or None when
        the source cannot tell. Cached results derived from the data (source profiles) are
        reused only while it stays the same."""
        return None

    # -- reads ---------------------------------------------------------------------------
    @abc.abstractmethod
    def select(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        where: exp.Expression | None = None,
        sample: Sample | None = None,
        limit: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``table`` (only ``columns``) matching ``where`` and ``sample``.

        ``where`` has been validated by ``sandboxer.sources.sql.parse_where``. With ``limit``,
        ``order_by`` makes the choice deterministic.
        """

    @abc.abstractmethod
    def fetch_matching(
        self,
        table: Table,
        columns: Sequence[str],
        match_columns: Sequence[str],
        keys: pa.Table,
        *,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the rows of ``table`` whose ``match_columns`` tuple is one of the rows of
        ``keys`` (a semi-join; ``keys`` has exactly ``match_columns`` as its columns, in that
        order, distinct, without nulls). Only ``columns`` are returned, ordered by
        ``order_by`` when given. Must not load the whole table into memory."""


def files_state(paths: Iterable[Path]) -> str:
    """A token of the size and modification time of every file under ``paths`` (files or
    directories; missing paths count as missing): it changes when any of them is written."""
    import hashlib
    import os

    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in found:
            try:
                st = os.stat(file)
            except FileNotFoundError:
                digest.update(f"{file}\0missing\n".encode())
                continue
            digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()
