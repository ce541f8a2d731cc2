"""The redaction report: what a build's redaction did, and what its leak gate checked.

``RedactStage`` writes it into the snapshot manifest under ``stages.redaction``; ``data build``
and ``data show`` read it back with ``RedactionReport.from_manifest``. Like the manifest's own
parts it is a typed model whose ``to_dict()`` is the JSON document as sandboxer has always
written it, so manifests keep their bytes. Counts, names and rule names only: never a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, ValidationError

from sandboxer.snapshot.manifest import ManifestError, ManifestModel

if TYPE_CHECKING:
    from sandboxer.snapshot.manifest import SnapshotManifest

STAGE = "redaction"
"""The stage's name, and the key of its report in a manifest's ``stages``."""


def _none(value: Any) -> bool:
    return value is None


class ColumnReport(ManifestModel):
    """One redacted column: its rule (``ColumnRule.describe()``) and what it changed."""

    strategy: str
    entity: str | None
    origin: str
    """``config``, ``policy``, ``detected`` or ``key group``."""
    unique: bool
    confidence: float | None
    evidence: dict[str, Any]
    """What detection saw (counts and rule names), as the detectors record it."""
    params: dict[str, Any]
    rows: int
    changed: int
    nulls_in: int


class Leak(ManifestModel):
    """Rows of a written column that hold originals: the gate refuses to publish."""

    table: str
    column: str
    check: str
    """``exact`` (a whole value is an original), ``substring`` (originals inside text) or
    ``unchanged`` (a redacted value equal to its own original)."""
    rows: int
    from_: list[str] | None = Field(default=None, alias="from", exclude_if=_none)
    """The personal columns the originals came from (``table.column``)."""
    rule: str | None = Field(default=None, exclude_if=_none)
    """The YAML to add under the dataset to redact the column."""


class Finding(ManifestModel):
    """Personal data found by the detectors where no rule redacts it."""

    table: str
    column: str
    entity: str
    check: str
    confidence: float | None = Field(default=None, exclude_if=_none)
    rows: int | None = Field(default=None, exclude_if=_none)
    paths: list[str] | None = Field(default=None, exclude_if=_none)
    rule: str | None = Field(default=None, exclude_if=_none)
    """The YAML to add under the dataset."""


class Coincidence(ManifestModel):
    """Rewritten values equal to an original by chance (a fake drawn from a word list, a
    pseudonym equal to another row's original): not carried over from the row's own value,
    so not a leak. Reported, never refused."""

    table: str
    column: str
    rows: int
    check: str | None = Field(default=None, exclude_if=_none)
    from_: list[str] | None = Field(default=None, alias="from", exclude_if=_none)


class KTable(ManifestModel):
    """k-anonymity of one table over its quasi-identifiers."""

    table: str
    columns: list[str]
    k: int
    groups: int
    rows_below_k: int | None = Field(default=None, exclude_if=_none)
    violates: bool | None = Field(default=None, exclude_if=_none)


class KAnonymity(ManifestModel):
    ok: bool
    min_k: int | None
    tables: list[KTable]


class GateReport(ManifestModel):
    """What the leak gate searched and found."""

    ok: bool
    columns_checked: int
    originals_checked: int
    """Distinct identifying values read from the source's personal columns."""
    tokens_checked: int | None = Field(default=None, exclude_if=_none)
    """Of the searched forms: rare single tokens and bare digit strings (absent before the
    gate searched tokens)."""
    sequences_checked: int | None = Field(default=None, exclude_if=_none)
    """Of the searched forms: multi-token values and names in other orders."""
    personal_columns: list[str] | None = Field(default=None, exclude_if=_none)
    """Every column whose originals were searched (``table.column``)."""
    leaks: list[Leak]
    findings: list[Finding]
    notices: list[Finding] | None = Field(default=None, exclude_if=_none)
    """Spans in kept text that are no original of the dataset and of no unambiguous format
    (a phone-like number, a capitalised word): reported, not refused."""
    coincidences: list[Coincidence]
    k_anonymity: KAnonymity


class RedactionReport(ManifestModel):
    """``stages.redaction`` of a snapshot manifest."""

    mode: str
    key_fingerprint: str
    key_origin: str
    """``env``, ``file`` or ``throwaway``: where the key came from, never the key."""
    columns: dict[str, dict[str, ColumnReport]]
    """table -> column -> what was done."""
    kept_detected: list[str]
    """Columns detected as personal and kept by a rule (``table.column``)."""
    values: int
    seconds: float
    gate: GateReport | None

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """The report from its JSON document; ``ManifestError`` when it is not one."""
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            reason = f"`{where}`: {first['msg']}"
            raise ManifestError(
                f"The redaction report is not valid: {reason}", reason=reason
            ) from None

    @classmethod
    def from_manifest(cls, manifest: SnapshotManifest) -> Self | None:
        """The report of a snapshot, or None when no redaction stage ran."""
        data = manifest.stages.get(STAGE)
        return cls.from_dict(data) if data else None
