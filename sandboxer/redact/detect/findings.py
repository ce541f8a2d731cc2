"""What detection reports about a column: an entity, a confidence and evidence as counts."""

from __future__ import annotations

from dataclasses import dataclass

from sandboxer.redact.entities import DEFAULT_STRATEGY, Entity

Evidence = dict[str, int | float | str]


@dataclass(frozen=True)
class Finding:
    """One detected kind of personal data in one column.

    ``evidence`` holds counts and rule names only (``{"name_rule": "email", "sampled": 1000,
    "non_null": 950, "matched": 941}``), never a sampled value, so findings can go into
    reports, manifests and logs as they are.
    """

    column: str
    entity: Entity
    confidence: float
    """0..1: how sure detection is that the column holds this entity."""
    source: str
    """What found it: ``name``, ``value`` (whole values), ``text`` (spans) or ``json`` (leaves)."""
    evidence: Evidence
    json_paths: tuple[str, ...] = ()
    """For ``json`` findings: the PII leaves, as ``$.contact.email`` or ``$.phones[*]``."""

    @property
    def suggested_strategy(self) -> str:
        """The default strategy for the entity; a JSON document gets ``json`` (per-path rules)
        and free text ``scrub_text`` (spans replaced, the rest kept)."""
        if self.entity is Entity.json:
            return "json"
        if self.entity is Entity.free_text or self.source == "text":
            return "scrub_text"
        return DEFAULT_STRATEGY[self.entity]
