"""Detection for one column: name rules, value rules, free-text spans and JSON leaves combined.

How the signals combine:

- A name alone gives the rule's confidence (``email`` 0.95, a bare ``name`` 0.45).
- Values alone give the fraction of sampled non-null values that pass a validator, times the
  rule's weight (1.0 for validated formats, 0.9 for name lists and street patterns, 0.5 for
  birth dates, which need a name to be reported by default). Low-cardinality columns (status
  codes, flags: fewer than 10 distinct values, repeated) are not PII by value.
- Both: ``1 - (1 - name) * (1 - value)``. Values of the same family support a name
  (first/last/full names; street/address). When the values do not even have the entity's
  shape, the name's confidence is lowered (x0.8), never dropped: a column called ``ssn`` that
  holds hashes is still worth a human look.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sandboxer.redact.detect import names as N
from sandboxer.redact.detect import text as T
from sandboxer.redact.detect import values as V
from sandboxer.redact.detect.findings import Evidence, Finding
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

DEFAULT_THRESHOLD = 0.6
LOW_CARDINALITY_DISTINCT = 10
"""Fewer distinct values than this are a lookup (statuses, regions, languages): not PII by
value, and never names of people (five regions are not five persons)."""
SHARED_MIN_SHARE = 0.3
"""A column of name-shaped values is names when this share shares a word with a column
already found to hold names (``values.score_shared_names``)."""
BINARY_TEXT_MIN_SHARE = 0.5
"""Binary columns are detected as text when at least this share of non-null values decodes as
UTF-8."""
MIN_VALUES_TO_CONTRADICT = 20
CONTRADICTED = 0.8

FAMILIES: dict[Entity, frozenset[Entity]] = {}
for _family in (
    {Entity.person_name, Entity.first_name, Entity.last_name},
    {Entity.address, Entity.street},
):
    for _entity in _family:
        FAMILIES[_entity] = frozenset(_family)


def family(entity: Entity) -> frozenset[Entity]:
    return FAMILIES.get(entity, frozenset({entity}))


def kind_of(dtype: pl.DataType) -> str:
    """``string``, ``integer``, ``float``, ``temporal``, ``list``, ``struct`` or ``other``."""
    import polars as pl

    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return N.STRING
    if dtype.is_integer():
        return N.INTEGER
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return N.FLOAT
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return N.TEMPORAL
    if isinstance(dtype, pl.List | pl.Array):
        return "list"
    if isinstance(dtype, pl.Struct | pl.Map):  # maps are JSON objects too
        return "struct"
    return "other"


def detect_column(
    name: str,
    sample: pl.Series,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    table: str | None = None,
    text_min_fraction: float = T.FREE_TEXT_MIN_FRACTION,
) -> list[Finding]:
    """Findings for one column, best first; ``[]`` when nothing reaches ``threshold``.

    ``sample`` is a sample of the column's values (any dtype). ``table`` (optional) gives
    context: ``name`` in a ``customers`` table is more likely a person's name.
    """
    return detect_frame(
        sample.rename(name).to_frame(),
        threshold=threshold,
        table=table,
        text_min_fraction=text_min_fraction,
    )[name]


def detect_frame(
    sample: pl.DataFrame,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    table: str | None = None,
    text_min_fraction: float = T.FREE_TEXT_MIN_FRACTION,
    known_names: pl.Series | None = None,
) -> dict[str, list[Finding]]:
    """``detect_column`` for every column of ``sample`` (columns without findings map to []).

    Free-form text columns are scanned for spans together, in one pass over all their values:
    the span rules cost mostly per call, not per value. Then evidence across columns: a column
    of name-shaped values that share words with a column found to hold names (of this table,
    or ``known_names``: ``values.name_tokens`` of other tables' name columns) holds names."""
    staged = {
        column: _candidates(column, sample.get_column(column), threshold=threshold, table=table)
        for column in sample.columns
    }
    texts = {column: text for column, (_, text) in staged.items() if text is not None}
    counts = T.rows_with_spans_by_column(texts) if texts else {}
    out: dict[str, list[Finding]] = {}
    for column, (findings, text) in staged.items():
        if text is not None:
            found = _free_text(column, sample.height, text.len(), counts[column], text_min_fraction)
            if found is not None:
                findings = [*findings, found]
        kept = [f for f in findings if f.confidence >= threshold]
        out[column] = sorted(kept, key=lambda f: (-f.confidence, f.entity.value))
    return _shared_names(sample, out, known_names)


def _shared_names(
    sample: pl.DataFrame, out: dict[str, list[Finding]], known_names: pl.Series | None
) -> dict[str, list[Finding]]:
    import polars as pl

    people = family(Entity.person_name)
    found = [c for c, fs in out.items() if fs and fs[0].entity in people]
    parts = [V.name_tokens(sample.get_column(c)) for c in found]
    if known_names is not None:
        parts.append(known_names.rename("w"))
    known = pl.concat(parts).unique() if parts else None
    if known is None or known.len() == 0:
        return out
    for column in sample.columns:
        values = elements(sample.get_column(column))  # a list of names is names
        if out[column] or kind_of(values.dtype) != N.STRING:
            continue
        score = V.score_shared_names(values, known)
        non_null = V.string_values(values).len()
        share = score.matched / non_null if non_null else 0.0
        if share < SHARED_MIN_SHARE or values.n_unique() < LOW_CARDINALITY_DISTINCT:
            continue
        evidence: Evidence = {
            "value_rule": score.rule,
            "sampled": sample.height,
            "non_null": non_null,
            "matched": score.matched,
            "shaped": score.shaped,
        }
        if values.len() != sample.height:
            evidence["element_of"] = "list"
        confidence = round(0.6 + 0.35 * min(1.0, share / 0.6), 3)
        out[column] = [Finding(column, Entity.person_name, confidence, "value", evidence)]
    return out


def detect_tables(
    samples: Mapping[str, pl.DataFrame],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    text_min_fraction: float = T.FREE_TEXT_MIN_FRACTION,
) -> dict[str, dict[str, list[Finding]]]:
    """``detect_frame`` for every table of a database (``samples``: table key -> sample), with
    evidence across tables: words of every name column found count in every other table."""
    import polars as pl

    first = {
        key: detect_frame(
            frame,
            threshold=threshold,
            table=key.split(".")[-1],
            text_min_fraction=text_min_fraction,
        )
        for key, frame in samples.items()
    }
    people = family(Entity.person_name)
    parts = [
        V.name_tokens(samples[key].get_column(column))
        for key, found in first.items()
        for column, fs in found.items()
        if fs and fs[0].entity in people
    ]
    if not parts:
        return first
    known = pl.concat(parts).unique()
    return {key: _shared_names(samples[key], found, known) for key, found in first.items()}


def _candidates(
    name: str,
    sample: pl.Series,
    *,
    threshold: float,
    table: str | None,
) -> tuple[list[Finding], pl.Series | None]:
    """Findings from the column's name and whole values, and the values to scan for spans
    (free-form text that is not PII as a whole) or None."""
    import polars as pl

    kind = kind_of(sample.dtype)
    if sample.dtype == pl.Binary:
        return _binary_candidates(name, sample, threshold=threshold, table=table)
    if kind == "list":
        inner = sample.explode() if isinstance(sample.dtype, pl.List) else sample.arr.explode()
        found, text = _candidates(name, inner, threshold=threshold, table=table)
        found = [_with_evidence(f, {"element_of": "list", "sampled": sample.len()}) for f in found]
        return found, text
    if kind == "struct":
        from sandboxer.redact.detect.jsonpaths import json_document_finding
        from sandboxer.redact.dtypes import json_text

        docs = json_text(sample)  # polars' json_encode panics on binary fields
        finding = json_document_finding(name, docs, threshold=threshold)
        return ([finding] if finding else []), None

    match = N.match_name(name, kind, context=table)
    if kind == N.STRING:
        values = V.string_values(sample)
        from sandboxer.redact.detect.jsonpaths import json_document_finding, looks_like_json

        if looks_like_json(values):
            finding = json_document_finding(name, sample, threshold=threshold)
            if finding is not None:
                return [finding], None
            return ([_name_only(name, match, sample, values.len())] if match else []), None
        scores = V.score_strings(values)
    elif kind == N.INTEGER:
        values = sample.drop_nulls()
        scores = V.score_integers(values)
    elif kind == N.TEMPORAL:
        values = sample.drop_nulls()
        scores = V.score_temporal(values)
    elif kind == N.FLOAT:
        values = sample.drop_nulls()
        scores = []
    else:
        return [], None

    findings = _combine(name, match, scores, sample, values)
    # Whole values that are PII (by name or by value) are replaced whole: no need for spans.
    whole = any(f.confidence >= threshold for f in findings)
    if kind == N.STRING and not whole and T.is_free_form(values):
        return findings, values
    return findings, None


def elements(series: pl.Series) -> pl.Series:
    """The leaf values of a list column (exploded, however deep), else ``series`` itself."""
    import polars as pl

    while isinstance(series.dtype, pl.List | pl.Array):
        series = series.explode() if isinstance(series.dtype, pl.List) else series.arr.explode()
    return series


def _binary_candidates(
    name: str,
    sample: pl.Series,
    *,
    threshold: float,
    table: str | None,
) -> tuple[list[Finding], pl.Series | None]:
    """Bytes that decode as UTF-8 text (a contact card, a document) are detected like a text
    column, and always scanned for spans: a personal value inside bytes is not a whole value.
    Bytes that are not text (images, hashes) give nothing. The strategy is fitted to Binary
    later (``policy.fit_to_type``: ``hash``)."""
    from sandboxer.redact.dtypes import utf8_text

    decoded = utf8_text(sample)
    non_null = sample.drop_nulls().len()
    texts = V.string_values(decoded)
    if not non_null or texts.len() < BINARY_TEXT_MIN_SHARE * non_null:
        return [], None
    found, _ = _candidates(name, decoded, threshold=threshold, table=table)
    found = [_with_evidence(f, {"decoded_from": "binary"}) for f in found]
    whole = any(f.confidence >= threshold for f in found)
    return found, (None if whole else texts)


def _with_evidence(finding: Finding, extra: Evidence) -> Finding:
    return Finding(
        finding.column,
        finding.entity,
        finding.confidence,
        finding.source,
        {**finding.evidence, **extra},
        finding.json_paths,
    )


def _name_only(name: str, match: N.NameMatch, sample: pl.Series, non_null: int) -> Finding:
    evidence: Evidence = {"name_rule": match.rule, "sampled": sample.len(), "non_null": non_null}
    return Finding(name, match.entity, round(match.confidence, 3), "name", evidence)


def _combine(
    name: str,
    match: N.NameMatch | None,
    scores: list[V.ValueScore],
    sample: pl.Series,
    values: pl.Series,
) -> list[Finding]:
    non_null = values.len()
    distinct = values.n_unique() if non_null else 0
    low_cardinality = (
        distinct < LOW_CARDINALITY_DISTINCT and distinct < 0.5 * non_null and non_null > 0
    )
    if distinct < LOW_CARDINALITY_DISTINCT:
        # A handful of distinct values is a lookup, not people: names by value need more.
        scores = [s for s in scores if s.entity not in family(Entity.person_name)]
    base: Evidence = {"sampled": sample.len(), "non_null": non_null, "distinct": distinct}
    findings: list[Finding] = []
    supported: frozenset[Entity] = frozenset()

    if match is not None:
        related = [s for s in scores if s.entity in family(match.entity)]
        supported = family(match.entity)
        best = max(related, key=lambda s: s.matched * s.weight, default=None)
        evidence: Evidence = {"name_rule": match.rule, **base}
        confidence = match.confidence
        source = "name"
        if best is not None and non_null and not low_cardinality and best.matched:
            value_confidence = best.matched / non_null * best.weight
            confidence = 1 - (1 - match.confidence) * (1 - value_confidence)
            evidence.update(value_rule=best.rule, matched=best.matched, shaped=best.shaped)
            if value_confidence > match.confidence:
                source = "value"
        elif _has_validator(match.entity) and non_null >= MIN_VALUES_TO_CONTRADICT:
            shaped = max((s.shaped for s in related), default=0)
            evidence.update(shaped=shaped)
            if shaped < 0.1 * non_null:
                confidence = match.confidence * CONTRADICTED
                evidence.update(values_contradict=1)
        findings.append(Finding(name, match.entity, round(confidence, 3), source, evidence))

    if non_null and not low_cardinality:
        for score in scores:
            if score.entity in supported or not score.matched:
                continue
            confidence = score.matched / non_null * score.weight
            evidence = {
                "value_rule": score.rule,
                **base,
                "matched": score.matched,
                "shaped": score.shaped,
            }
            findings.append(Finding(name, score.entity, round(confidence, 3), "value", evidence))
    return _best_per_entity(findings)


_VALIDATED = frozenset(
    {
        Entity.email,
        Entity.phone,
        Entity.credit_card,
        Entity.iban,
        Entity.national_id,
        Entity.ip_address,
        Entity.person_name,
        Entity.first_name,
        Entity.last_name,
        Entity.address,
        Entity.street,
        Entity.birth_date,
    }
)


def _has_validator(entity: Entity) -> bool:
    return entity in _VALIDATED


def _best_per_entity(findings: list[Finding]) -> list[Finding]:
    best: dict[Entity, Finding] = {}
    for f in findings:
        if f.entity not in best or f.confidence > best[f.entity].confidence:
            best[f.entity] = f
    return list(best.values())


def _free_text(
    name: str, sampled: int, non_null: int, counts: dict[str, int], min_fraction: float
) -> Finding | None:
    """The free-text finding of a column from its span counts (``rows_with_spans`` and one
    count per entity)."""
    counts = dict(counts)
    rows = counts.pop("rows_with_spans")
    if not rows:
        return None
    fraction = rows / non_null
    # Below the minimum share a column is still reported at a lower threshold.
    confidence = 0.7 + 0.3 * min(1.0, fraction / 0.2) if fraction >= min_fraction else 0.5
    evidence: Evidence = {
        "sampled": sampled,
        "non_null": non_null,
        "rows_with_spans": rows,
        **counts,
    }
    return Finding(name, Entity.free_text, round(confidence, 3), "text", evidence)
