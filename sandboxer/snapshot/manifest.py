"""The snapshot manifest: what ``manifest.json`` records about a snapshot and its tables.

The manifest is a contract between sandboxer versions (a store outlives the sandboxer that
wrote it), so it is a typed model with a ``format``: ``SnapshotManifest.to_json()`` writes it
(``indent=2``, sorted keys, a trailing newline) and ``SnapshotManifest.load(path)`` reads it,
refusing a format this sandboxer does not know. ``VersionedManifest`` holds that machinery for
the other files the store keeps (baselines, runs).

Reading a future ``/2`` that changes the shape: the model describes ``/2``, ``FORMAT``
becomes ``/2``, and ``UPGRADES["sandboxer.snapshot/1"]`` turns a ``/1`` document into a ``/2``
one before validation, so older stores keep loading.

Typed loosely (``dict[str, Any]``), because other modules own their inner shape: ``stages``
(each build stage's ``report()``: redaction, synthesis), ``fidelity`` (the report of
``sandboxer.profile.fidelity``, or ``{"error"}``), ``subset.roots`` (the dataset's roots as
configured) and any extra keys a source puts in its ``identity()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandboxer import __version__
from sandboxer.errors import StoreError
from sandboxer.sources.schema import Table

FORMAT = "sandboxer.snapshot/1"

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a document of one format into one of the next format (its ``format`` included)."""


class ManifestError(StoreError):
    """A manifest file cannot be read: missing, not JSON, or not the shape its format says."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        """What is wrong, without the file's name (for messages that name it themselves)."""


class UnsupportedFormat(ManifestError):
    """A manifest in a format this sandboxer cannot read (written by a newer one)."""

    # A set-up problem (the wrong sandboxer for this store), not a failed check.
    exit_code = 2


class ManifestModel(BaseModel):
    """Base of every part of a manifest. Unknown keys are refused (a new key means a new
    format), and ``to_dict()`` gives the JSON document as sandboxer has always written it."""

    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (parts typed loosely are returned as they were given)."""
        return self.model_dump()


class VersionedManifest(ManifestModel):
    """A whole manifest file: a ``format``, the reader's checks, ``to_json``/``load``."""

    FORMAT: ClassVar[str]
    """The format this sandboxer writes."""
    UPGRADES: ClassVar[dict[str, Upgrade]] = {}
    """Older formats this sandboxer still reads, each with its step to the next format."""
    KIND: ClassVar[str]
    """What the file is, for messages: ``snapshot manifest``."""

    format: str

    @field_validator("format")
    @classmethod
    def _current_format(cls, value: str) -> str:
        if value != cls.FORMAT:
            raise ValueError(f"must be {cls.FORMAT} (older formats are upgraded by from_dict)")
        return value

    @classmethod
    def supported_formats(cls) -> list[str]:
        """Every format this sandboxer reads: the current one and those it upgrades."""
        return sorted({cls.FORMAT, *cls.UPGRADES})

    def to_json(self) -> str:
        """The file's text: ``indent=2``, sorted keys, a trailing newline."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str, *, origin: str | Path = "<text>") -> Self:
        """Parse and check a document; ``origin`` (a file) is named in errors."""
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ManifestError(
                f"{origin} is not a readable {cls.KIND}: {e}", reason=str(e)
            ) from None
        return cls.from_dict(data, origin=origin)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read the manifest file ``path``."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            reason = e.strerror or str(e)
            raise ManifestError(
                f"Cannot read the {cls.KIND} {path}: {reason}", reason=reason
            ) from e
        return cls.from_json(text, origin=path)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str | Path = "<document>") -> Self:
        """A manifest from its JSON document: older formats are upgraded step by step to
        ``FORMAT``; a newer or unknown one raises ``UnsupportedFormat``."""
        if not isinstance(data, dict):
            reason = f"a JSON object was expected, not {type(data).__name__}"
            raise ManifestError(f"{origin} is not a {cls.KIND}: {reason}", reason=reason)
        found = data.get("format")
        seen: set[str] = set()
        while isinstance(found, str) and found in cls.UPGRADES and found not in seen:
            seen.add(found)
            data = cls.UPGRADES[found](data)
            found = data.get("format")
        if found != cls.FORMAT:
            raise cls._unsupported(found, origin)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            reason = f"`{where}`: {first['msg']}" + (
                f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
            )
            raise ManifestError(
                f"{origin} is not a valid {cls.KIND} ({cls.FORMAT}): {reason}", reason=reason
            ) from None

    @classmethod
    def _unsupported(cls, found: Any, origin: str | Path) -> UnsupportedFormat:
        family = cls.FORMAT.rsplit("/", 1)[0] + "/"
        supported = ", ".join(cls.supported_formats())
        shown = f"`{found}`" if isinstance(found, str) else "none"
        reason = f"format {shown} is not supported: sandboxer {__version__} reads {supported}"
        if isinstance(found, str) and found.startswith(family):
            hint = "It was written by a newer sandboxer: upgrade sandboxer to read it."
        else:
            hint = (
                f"It is not a {cls.KIND} this sandboxer knows; if a newer sandboxer wrote it, "
                "upgrade sandboxer."
            )
        return UnsupportedFormat(f"{origin}: {reason}", reason=reason, hint=hint)


# -- the parts of a snapshot manifest ---------------------------------------------------------


class SourceIdentity(ManifestModel):
    """Where the data came from (never credentials): ``Source.identity()`` and whether the
    source read everything in one consistent snapshot."""

    # A source may record more about itself than type and URL.
    model_config = ConfigDict(extra="allow")

    type: str
    url: str
    consistent_snapshot: bool


class ManifestColumn(ManifestModel):
    name: str
    type: str | None
    """The Arrow type written (None when the table was described without its data)."""
    source_type: str | None
    """The source's own type name; None for a column a stage added."""
    nullable: bool


class ManifestForeignKey(ManifestModel):
    columns: list[str]
    ref_table: str
    """The referenced table's key (``schema.name`` or ``name``)."""
    ref_columns: list[str]
    virtual: bool
    """Declared in the dataset's ``keys:``, not by the source."""


class TableSchema(ManifestModel):
    """A table's name, columns and keys: the part of a manifest table that describes it."""

    name: str
    schema_name: str | None = Field(alias="schema")
    columns: list[ManifestColumn]
    primary_key: list[str]
    unique_keys: list[list[str]]
    foreign_keys: list[ManifestForeignKey]

    @classmethod
    def from_table(cls, table: Table, arrow_schema: Any = None, **fields: Any) -> Self:
        """``table`` as written: with ``arrow_schema`` (of the written file) its columns are
        the file's, with their Arrow types; without, the source's columns, untyped.
        ``fields`` are a subclass's own (``SnapshotTable``: file, rows, ...)."""
        types = {f.name: str(f.type) for f in arrow_schema} if arrow_schema is not None else {}
        return cls(
            name=table.name.name,
            schema=table.name.schema,
            columns=[
                ManifestColumn(
                    name=c.name, type=types.get(c.name), source_type=c.type, nullable=c.nullable
                )
                for c in table.columns
                if arrow_schema is None or c.name in types
            ]
            + [
                ManifestColumn(name=n, type=t, source_type=None, nullable=True)
                for n, t in types.items()
                if n not in table.column_names
            ],
            primary_key=list(table.primary_key),
            unique_keys=[list(u) for u in table.unique_keys],
            foreign_keys=[
                ManifestForeignKey(
                    columns=list(fk.columns),
                    ref_table=fk.ref_table.key,
                    ref_columns=list(fk.ref_columns),
                    virtual=fk.virtual,
                )
                for fk in table.foreign_keys
            ],
            **fields,
        )


class SnapshotTable(TableSchema):
    """One table of a snapshot: its schema, its Parquet file and how the subset chose it."""

    file: str
    """The Parquet file, relative to the snapshot directory."""
    rows: int
    bytes: int
    sha256: str
    source_rows: int | None
    mode: str
    """The table's mode in the subset: ``subset``, ``all``, ``empty``."""
    selected_by: dict[str, int]
    """Rows per reason they were selected (``root``, ``parent``, ``child``, ``all``)."""
    capped: int
    """Rows left out by ``max_children_per_parent``."""


class Totals(ManifestModel):
    tables: int
    rows: int
    source_rows: int
    bytes: int


class SubsetTable(ManifestModel):
    mode: str
    rows: int
    source_rows: int | None
    selected_by: dict[str, int]
    capped: int


class SubsetStats(ManifestModel):
    """The subset planner's statistics (``SubsetPlan.stats()``) and the roots it started from."""

    rounds: int
    fetches: int
    seconds: float
    tables: dict[str, SubsetTable]
    roots: list[dict[str, Any]]


class IntegrityCheck(ManifestModel):
    check: str
    """``primary_key_unique`` or ``foreign_key``."""
    table: str
    columns: list[str]
    references: str | None = Field(default=None, exclude_if=lambda v: v is None)
    """The referenced table (foreign keys only)."""
    failures: int
    """Duplicate keys or orphan rows: a count, never a value."""


class Integrity(ManifestModel):
    ok: bool
    pk_duplicates: int
    fk_orphans: int
    checks: list[IntegrityCheck]


class SnapshotManifest(VersionedManifest):
    """``manifest.json`` of a published snapshot."""

    FORMAT: ClassVar[str] = FORMAT
    KIND: ClassVar[str] = "snapshot manifest"

    format: str = FORMAT
    id: str
    dataset: str
    description: str | None
    created_at: str
    """When the build started, ISO 8601 in UTC."""
    tool_version: str
    seed: int
    config_hash: str
    source: SourceIdentity
    tables: dict[str, SnapshotTable]
    excluded_tables: list[str]
    totals: Totals
    subset: SubsetStats
    integrity: Integrity
    fidelity: dict[str, Any] | None = Field(default=None, exclude_if=lambda v: v is None)
    """The fidelity report, ``{"error": ...}`` when it could not be measured, or absent when
    fidelity is off."""
    stages: dict[str, dict[str, Any]]
    """Each build stage's report, by stage name (``redaction``, ``synthesize``)."""
    build_seconds: float


def snapshot_id(dataset_name: str, tables: dict[str, SnapshotTable], config: str = "") -> str:
    """A hash of the data files and of the config that made them: the same source state,
    config and seed give the same id; a changed config (a new rule, fidelity on) a new one."""
    content = {
        "dataset": dataset_name,
        "config": config,
        "tables": {k: {"sha256": v.sha256, "rows": v.rows} for k, v in sorted(tables.items())},
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
