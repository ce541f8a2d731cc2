"""The sandboxer.yaml model tree. Strict: unknown keys are errors (reported with their path,
line and a suggestion by ``sandboxer.config.validation``).

    version: 1
    store: {path: .sandboxer}
    datasets:
      shop:
        source: duckdb:///examples/shop/prod.duckdb   # or ${PROD_DATABASE_URL}
        seed: 42
        keys: {primary: {...}, foreign: [...]}          # virtual keys for loose sources
        subset:
          roots: [{table: customers, percent: 10}]
          tables: {countries: all, audit_log: exclude}
          follow_children: true
          relations: [{table: customers, columns: [referred_by], follow_children: false}]

See docs/config.md for every field.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandboxer.config.pipeline import Pipeline
from sandboxer.config.strict import Strict
from sandboxer.config.synthesize import SynthesizeConfig

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
"""Dataset names become directory names and labels: a conservative allowlist."""


class TableMode(StrEnum):
    subset = "subset"
    """Rows are selected by roots and by the FK closure (the default)."""
    all = "all"
    """Copied whole (lookup tables); pulls its parents, not its children."""
    exclude = "exclude"
    """Left out of the snapshot; nullable FKs into it are set to null."""


class MissingParent(StrEnum):
    pull = "pull"
    """Pull the referenced parent row into the subset (default; keeps every value)."""
    set_null = "set_null"
    """Set a nullable FK to null when its parent is not otherwise selected."""


class Root(Strict):
    """A starting point of the subset: rows of ``table`` chosen by where/percent/limit."""

    table: str
    where: str | None = None
    """A SQL condition in the source's dialect, validated with sqlglot."""
    percent: Annotated[float, Field(gt=0, le=100)] | None = None
    """Deterministic sample keyed on the primary key hash and the seed."""
    limit: Annotated[int, Field(ge=1)] | None = None
    """At most this many rows (lowest primary keys of those selected)."""


class Relation(Strict):
    """Overrides for one foreign key, named by its child table and columns."""

    table: str
    columns: list[str]
    follow_children: bool | None = None
    max_children: Annotated[int, Field(ge=0)] | None = None
    on_missing_parent: MissingParent | None = None


class Subset(Strict):
    roots: list[Root] = Field(default_factory=list)
    tables: dict[str, TableMode] = Field(default_factory=dict)
    follow_children: bool = True
    """Pull the children of rows selected as roots or as children (not of rows pulled in as
    parents, which would pull back most of the database)."""
    max_children_per_parent: Annotated[int, Field(ge=0)] | None = None
    on_missing_parent: MissingParent = MissingParent.pull
    budgets: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """Per-table row caps for rows pulled as roots or children (parents are always pulled,
    since integrity comes first)."""
    relations: list[Relation] = Field(default_factory=list)


class VirtualForeignKey(Strict):
    table: str
    columns: list[str]
    references: str
    ref_columns: list[str] | None = None
    """Defaults to the primary key of ``references``."""

    @model_validator(mode="after")
    def _same_arity(self) -> VirtualForeignKey:
        if self.ref_columns is not None and len(self.ref_columns) != len(self.columns):
            raise ValueError("columns and ref_columns must have the same length")
        return self


class Keys(Strict):
    """Keys the source does not declare (files, loose databases)."""

    primary: dict[str, list[str]] = Field(default_factory=dict)
    unique: dict[str, list[list[str]]] = Field(default_factory=dict)
    foreign: list[VirtualForeignKey] = Field(default_factory=list)


class RedactRule(BaseModel):
    """How one column is redacted. Strategy parameters sit beside ``strategy`` and are
    validated by the strategy itself (e.g. ``{strategy: mask, keep_last: 4}``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    strategy: str
    entity: str | None = None
    """The kind of data (email, phone, person_name...): picks fakes and keeps pseudonyms
    consistent across columns holding the same kind."""


class RedactMode(StrEnum):
    auto = "auto"
    """Redact explicit rules, and every other column detection flags, with its suggestion."""
    strict = "strict"
    """Refuse to build while any column lacks an explicit rule (``keep`` counts)."""
    off = "off"
    """No redaction: only for sources that hold no personal data."""


class Gate(Strict):
    common_value_rows: Annotated[int, Field(ge=1)] = 10
    """Original values shared by at least this many rows of their column are not identifying
    and are ignored by the original-value check (cities, first names)."""
    min_length: Annotated[int, Field(ge=1)] = 4
    """Shorter original values are ignored by the original-value check."""
    allow_values: list[str] = Field(default_factory=list)
    """Values the original-value check ignores (reviewed by a person)."""
    allow_findings: list[str] = Field(default_factory=list)
    """``table.column`` or ``table.column:entity`` findings of the re-scan that were reviewed."""
    quasi_identifiers: dict[str, list[str]] = Field(default_factory=dict)
    """Per table, columns that together could re-identify a person (zip, birth date, sex)."""
    min_k: Annotated[int, Field(ge=2)] | None = None
    """Refuse to publish when a quasi-identifier group is smaller than this."""


class Redact(Strict):
    mode: RedactMode = RedactMode.auto
    key_env: str = "SANDBOXER_REDACTION_KEY"
    """Environment variable holding the secret key (at least 16 characters)."""
    key_file: str | None = None
    """Or a file holding it (relative to the config file)."""
    key_command: str | list[str] | None = None
    """Or a command that prints it (a secret manager's CLI), run without a shell: a string is
    split into words as a shell would, with no expansion; its standard output is the key."""
    key_command_timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    """Seconds the key command may take."""
    locale: str = "en_US"
    policy_file: str | None = None
    """A reviewed policy written by ``data scan --pii --write-policy`` (same shape as
    ``columns``); rules in ``columns`` override it."""
    columns: dict[str, dict[str, str | RedactRule]] = Field(default_factory=dict)
    """table -> column -> strategy name or rule."""
    sample_rows: Annotated[int, Field(ge=10)] = 2000
    """Rows sampled per table for detection."""
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.6
    """Detection confidence from which a column is treated as PII."""
    gate: Gate = Field(default_factory=Gate)

    @model_validator(mode="after")
    def _one_key_source(self) -> Redact:
        given = [
            name
            for name in ("key_env", "key_file", "key_command")
            if name in self.model_fields_set and getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"set one redaction key source, not {' and '.join(given)} "
                "(the environment variable, the file or the command)"
            )
        if isinstance(self.key_command, list) and not all(self.key_command):
            raise ValueError("key_command: every argument must be a non-empty string")
        return self


class Fidelity(Strict):
    """Representativeness of every snapshot, measured against a profile of the source."""

    enabled: bool = True
    """Profile the source (a deterministic sample of large tables) and the snapshot, and
    record the fidelity score in the manifest."""
    sample_rows: Annotated[int, Field(ge=1000)] = 200_000
    """Tables with more rows are profiled on a deterministic sample of about this many."""
    cache: bool = True
    """Reuse the source's profile from the store while the source has not changed (file
    sizes and times; PostgreSQL's table change counters)."""


class Dataset(Strict):
    source: str
    """postgresql://user:${PGPASSWORD}@host/db, duckdb:///path.db, sqlite:///path.db, or a
    directory of Parquet/CSV files."""
    description: str | None = None
    seed: int = 0
    schemas: list[str] | None = None
    """Only these source schemas (PostgreSQL); default: every non-system schema."""
    keys: Keys = Field(default_factory=Keys)
    subset: Subset = Field(default_factory=Subset)
    redact: Redact = Field(default_factory=Redact)
    fidelity: Fidelity = Field(default_factory=lambda: Fidelity())
    synthesize: SynthesizeConfig | None = None
    """Synthetic tables or rows (see docs/config.md)."""


class SandboxDefaults(Strict):
    """Defaults of ``sandboxer create``."""

    backend: str = "auto"
    """``docker``, ``process`` (no engine; not isolated) or ``auto`` (docker when reachable)."""
    template: str = "python-duckdb"
    dataset: str | None = None
    """Dataset whose latest snapshot is loaded (default: the only dataset)."""
    ttl: str | None = None
    """Default time to live (``8h``, ``2d``) after which ``sandboxer gc`` removes a sandbox."""

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value not in ("auto", "docker", "process"):
            raise ValueError("must be auto, docker or process")
        return value

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


def parse_duration(text: str) -> int:
    """``90s``, ``30m``, ``8h``, ``2d`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and s, m, h or d (e.g. 8h)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


class Store(Strict):
    path: str = ".sandboxer"
    """Snapshot store directory, relative to the config file."""


class Project(Strict):
    version: int = 1
    name: str | None = None
    store: Store = Field(default_factory=Store)
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    sandbox: SandboxDefaults = Field(default_factory=SandboxDefaults)
    pipeline: Pipeline = Field(default_factory=Pipeline)
    """The team's pipeline: steps run in a sandbox, outputs, data tests
    (``sandboxer.config.pipeline``)."""

    @field_validator("datasets")
    @classmethod
    def _dataset_names(cls, value: dict[str, Dataset]) -> dict[str, Dataset]:
        for name in value:
            if not NAME_PATTERN.match(name):
                raise ValueError(
                    f"dataset name {name!r} must start with a letter or digit and use only "
                    "letters, digits, '_', '.', '-' (at most 63 characters)"
                )
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only version 1 is supported by this sandboxer")
        return value
