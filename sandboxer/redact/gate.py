"""The leak gate: runs on the written files of every redacted build, before publishing, and on
every other file the build writes under the store (the manifest, the source profile cache).

1. **Originals.** No identifying original of the dataset appears in any written text, JSON or
   array value, kept or rewritten. The originals are read from the source, not the subset:
   every personal column of every table, all rows (``redact/originals.py`` says what is
   searched: whole values and names as token sequences, rare tokens alone, bare digits;
   case-folded and word-bounded). A hit in a kept column is a leak. In a rewritten column a
   hit is a leak when the original is also in the same row's input (it survived the
   strategy); otherwise the strategy generated it (a fake name or phone that happens to be
   another person's) and it is reported as a coincidence. Numbers and dates are compared
   with the originals' bare digits. Whether a hit counts is decided by where the original
   came from (a personal column) and by token rarity, never by which column it lands in: a
   lookup value equal to a town is no hit (towns are not searched alone), nor are the digits
   of ``Customer#001234567``.
2. Every redacted value differs from its own original (``generalize`` excepted: a value that
   is already as coarse as its generalisation, a 1 January birth date under ``to: year``, is
   its own generalisation).
3. The detectors run again: kept columns that detection flags, JSON paths without a rule,
   and PII spans in scrubbed text (what the scrub should have removed) are refused unless
   allowlisted. Spans in kept text refuse when their format is unambiguous (``STRONG``:
   emails, cards, IBANs, national ids); a phone-like number or a capitalised word there is
   a notice, since what decides is whether it is an original (point 1).
4. k-anonymity over declared quasi-identifiers is reported, and enforced with ``min_k``.

Every refusal names the table, the column, a count and the YAML to add; never a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.redact.entities import DEFAULT_STRATEGY, Entity
from sandboxer.redact.report import (
    Coincidence,
    Finding,
    GateReport,
    KAnonymity,
    KTable,
    Leak,
)

if TYPE_CHECKING:
    import polars as pl

    from sandboxer.redact.originals import Originals
    from sandboxer.redact.policy import ColumnRule
    from sandboxer.redact.stage import RedactStage

VOCABULARY_FAKES = {Entity.first_name, Entity.last_name, Entity.city, Entity.company}
"""Fakes drawn from word lists, whose chance equality with a one-word original is allowed."""
TEXT_STRATEGIES = ("scrub_text", "json")
IDENTIFIER_DIGITS = r"(#|\p{L}{3})\d+"
"""Digits glued to ``#`` or to a word (``Customer#001234567``, ``INV2024000123``) count an
identifier, not a phone: masked before the detectors re-scan kept text. A real phone of the
dataset written that way is still found by the originals search."""
SHOWN = 8
"""Problems listed in a refusal; the rest are counted."""
BATCH_BYTES = 256 << 20
"""Written text gathered before it is searched: tables are searched together up to this much
(each search costs mostly per call), so memory stays bounded on large snapshots."""
STRONG = frozenset({"email", "credit_card", "iban", "national_id"})
"""Span entities whose format is unambiguous (validated: Luhn, mod-97, fixed layouts): found
in kept text they refuse a build even when they are no original of the dataset."""


class LeakError(SandboxerError):
    """The leak gate found personal data in the output: the snapshot is not published."""


def run_gate(stage: RedactStage, files: dict[str, Path], originals: Originals) -> GateReport:
    """Check the written ``files`` (table -> Parquet) of ``stage``'s build; raise
    ``LeakError`` when anything is found, else return the report."""
    import polars as pl

    from sandboxer.redact.detect import json_leaf_findings
    from sandboxer.redact.stage import _as_text

    assert stage.policy is not None
    cfg = stage.cfg.gate
    allowed = set(cfg.allow_findings)
    leaks: list[Leak] = []
    findings: list[Finding] = []
    notices: list[Finding] = []
    coincidences: list[Coincidence] = []
    checked = 0

    batch = _Batch()
    for table, path in sorted(files.items()):
        frame = pl.read_parquet(path)
        for column in frame.columns:
            key = (table, column)
            series = frame[column]
            textual = _is_text(series.dtype)
            checked += 1
            rule = stage.policy.rules.get(key)
            is_json = rule is not None and rule.strategy == "json"
            redacted = rule is not None and rule.redacts
            # Numbers and dates are compared as text only where a rule rewrote them.
            text = _as_text(series) if textual or redacted else series
            if redacted and rule is not None and rule.strategy not in TEXT_STRATEGIES:
                if rule.strategy != "generalize":
                    _unchanged(stage, key, rule, text, leaks, coincidences)
            else:
                _kept_detected(
                    stage, key, rule, allowed, findings, binary=series.dtype == pl.Binary
                )
                if rule is not None and is_json:
                    found = json_leaf_findings(
                        text.head(stage.cfg.sample_rows).drop_nulls(),
                        threshold=stage.cfg.threshold,
                    )
                    _json_paths(key, rule, found, allowed, findings)
                if series.dtype == pl.String and not is_json:
                    batch.rescan[key] = text
            if textual:
                batch.texts[key] = text
                batch.size += int(text.str.len_bytes().sum() or 0)
            else:
                batch.others[key] = series
            if isinstance(series.dtype, pl.List | pl.Array) and _leaf(series.dtype) == pl.String:
                batch.lists.add(key)
            elif isinstance(series.dtype, pl.List | pl.Array):
                batch.kinds[key] = "nested"
            elif series.dtype == pl.Binary:
                batch.kinds[key] = "binary"
            elif isinstance(series.dtype, pl.Struct | pl.Object):
                batch.kinds[key] = "nested"
        if batch.size >= BATCH_BYTES:
            _search(stage, batch, originals, leaks, coincidences)
            _rescan(stage, batch, allowed, findings, notices)
            batch = _Batch()
    _search(stage, batch, originals, leaks, coincidences)
    _rescan(stage, batch, allowed, findings, notices)

    k_report = _k_anonymity(files, stage.quasi_identifiers, cfg.min_k)
    report = GateReport(
        ok=not leaks and not findings and k_report.ok,
        columns_checked=checked,
        originals_checked=originals.values,
        tokens_checked=originals.tokens,
        sequences_checked=originals.sequences,
        personal_columns=sorted({c.name for c in originals.columns}),
        leaks=leaks,
        findings=findings,
        notices=notices,
        coincidences=coincidences,
        k_anonymity=k_report,
    )
    if not report.ok:
        problems = [_leak_line(x) for x in leaks]
        problems += [
            f"{x.table}.{x.column}: {x.entity} found ({x.check})"
            + (f"; add {x.rule}" if x.rule else "")
            for x in findings
        ]
        problems += [
            f"{g.table}: {g.rows_below_k} row(s) in groups smaller than "
            f"k={cfg.min_k} over ({', '.join(g.columns)})"
            for g in k_report.tables
            if g.violates
        ]
        raise LeakError(
            "The leak gate refused to publish the snapshot: "
            + "; ".join(problems[:SHOWN])
            + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""),
            hint=f"Add the rules above under datasets.{stage.dataset_name} in sandboxer.yaml "
            "(or, once reviewed, an allowlist entry under redact.gate), then build again. "
            "Nothing was published.",
        )
    return report


def _leak_line(x: Leak) -> str:
    origin = f" of {', '.join(x.from_)}" if x.from_ else ""
    line = f"{x.table}.{x.column}: {x.rows} row(s) hold original values{origin} ({x.check})"
    return line + (f"; add {x.rule}" if x.rule else "")


def _is_text(dtype: pl.DataType) -> bool:
    import polars as pl

    return not (dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.Boolean, pl.Null))


def _leaf(dtype: Any) -> Any:
    """The innermost type of a list (of lists)."""
    import polars as pl

    while isinstance(dtype, pl.List | pl.Array):
        dtype = dtype.inner
    return dtype


def rule_yaml(table: str, column: str, rule: Any) -> str:
    """The YAML (flow style) that gives ``table.column`` the rule ``rule``, to add under a
    dataset in sandboxer.yaml."""
    import yaml

    text = yaml.safe_dump(
        {"redact": {"columns": {table: {column: rule}}}},
        default_flow_style=True,
        sort_keys=False,
        width=10_000,
    )
    return text.strip()


def _entity_rule(entity: Entity | None) -> Any:
    """The rule that replaces whole values of ``entity`` consistently."""
    if entity is None:
        return "hash"
    strategy = DEFAULT_STRATEGY.get(entity, "hash")
    return {"strategy": strategy, "entity": entity.value} if strategy == "fake" else strategy


# -- 1. originals ----------------------------------------------------------------------------


@dataclass
class _Batch:
    """Written columns gathered over tables, searched together (the searches cost mostly per
    call): ``texts`` and ``others`` (numbers, dates) by ``(table, column)``, ``lists`` (list
    columns), ``rescan`` (kept and scrubbed strings, for the detectors)."""

    texts: dict[tuple[str, str], pl.Series] = field(default_factory=dict)
    others: dict[tuple[str, str], pl.Series] = field(default_factory=dict)
    lists: set[tuple[str, str]] = field(default_factory=set)
    rescan: dict[tuple[str, str], pl.Series] = field(default_factory=dict)
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    """``binary`` or ``nested`` (structs, maps) for text columns that are not strings."""
    size: int = 0
    distinct: pl.DataFrame | None = None
    """``c`` (index into ``texts``) and ``v``: the distinct values of the text columns."""

    def values(self) -> pl.DataFrame:
        if self.distinct is None:
            self.distinct = _distinct(self.texts, list(self.texts))
        return self.distinct


def _search(
    stage: RedactStage,
    batch: _Batch,
    originals: Originals,
    leaks: list[Leak],
    coincidences: list[Coincidence],
) -> None:
    """One search over the distinct values of every gathered column; rows are counted only
    for the columns that were hit."""
    import polars as pl

    from sandboxer.redact.originals import keys

    names = list(batch.texts) + list(batch.others)
    values = batch.values().with_row_index("vid")
    found = [originals.search(values["v"]).join(values, on="vid").select("c", "v", "form")]
    for j, key in enumerate(batch.others):
        distinct = batch.others[key].drop_nulls().unique().cast(pl.String)
        exact = originals.search_exact(distinct)
        found.append(
            exact.join(pl.DataFrame({"v": distinct}).with_row_index("vid"), on="vid").select(
                c=pl.lit(len(batch.texts) + j, pl.UInt32), v="v", form="form"
            )
        )
    hits = pl.concat(found)
    if hits.height == 0:
        return
    # Whether a hit is the whole value (a copy of an original) or inside a longer text.
    hit_values = hits.select("v").unique()
    hits = (
        hits.join(hit_values.with_columns(norm=keys(hit_values["v"])), on="v", how="left")
        .join(originals.forms.select("form", "key"), on="form")
        .with_columns(whole=(pl.col("norm") == pl.col("key")).fill_null(False))
    )
    for c in hits["c"].unique().sort().to_list():
        table, column = key = names[c]
        column_hits = hits.filter(pl.col("c") == c)
        series = batch.texts[key] if key in batch.texts else batch.others[key].cast(pl.String)
        rule = stage.policy.rules.get(key) if stage.policy else None
        if rule is None or not rule.redacts:
            kind = "list" if key in batch.lists else batch.kinds.get(key, "text")
            _kept_hits(table, column, series, column_hits, originals, leaks, kind=kind)
        else:
            found_in = (series, column_hits, originals)
            _rewritten_hits(stage, table, column, rule, *found_in, leaks, coincidences)


def _kept_hits(
    table: str,
    column: str,
    series: pl.Series,
    hits: pl.DataFrame,
    originals: Originals,
    leaks: list[Leak],
    *,
    kind: str,
) -> None:
    """Originals in a kept column, and the rule that redacts them for its type: whole values
    and list elements get the rule of the column they came from, text gets ``scrub_text``,
    binary and nested values ``hash`` (every type takes it)."""
    whole = _whole(hits)
    rows = int(series.is_in(hits["v"].unique().implode()).sum())
    forms = hits["form"].unique().to_list()
    rule: Any
    if kind in ("binary", "nested"):
        rule = "hash"
    elif whole or kind == "list":
        # The entity of the columns the values are copies of (not of their parts).
        exact = hits.filter("whole")["form"].unique().to_list() if whole else forms
        entities = {originals.columns[o].entity for o in _origins(originals, exact)}
        rule = _entity_rule(entities.pop() if len(entities) == 1 else None)
    else:
        rule = "scrub_text"
    leaks.append(
        Leak(
            table=table,
            column=column,
            check="exact" if whole else "substring",
            rows=rows,
            **_from(originals.origin_names(forms)),
            rule=rule_yaml(table, column, rule),
        )
    )


def _rewritten_hits(
    stage: RedactStage,
    table: str,
    column: str,
    rule: ColumnRule,
    series: pl.Series,
    hits: pl.DataFrame,
    originals: Originals,
    leaks: list[Leak],
    coincidences: list[Coincidence],
) -> None:
    """A hit in a rewritten column leaks when the same row's input holds it too; otherwise
    the strategy generated it."""
    import polars as pl

    inputs = stage.inputs.get((table, column))
    rows = (
        pl.DataFrame({"v": series})
        .with_row_index("row")
        .join(hits.select("v", "form", "whole"), on="v")
    )
    if inputs and sum(len(s) for s in inputs) == len(series):
        before = pl.concat(inputs).cast(pl.String).gather(rows["row"])
        survived = originals.present(before, rows["form"])
    else:  # nothing to compare with: every hit counts
        survived = pl.Series([True] * rows.height)
    rows = rows.with_columns(survived=survived)
    leaked = rows.filter("survived")
    by_chance = rows.filter(~pl.col("row").is_in(leaked["row"].implode()))
    if leaked.height:
        whole = _whole(leaked)
        fix = "drop" if rule.strategy in TEXT_STRATEGIES else "hash"
        leaks.append(
            Leak(
                table=table,
                column=column,
                check="exact" if whole else "substring",
                rows=leaked["row"].n_unique(),
                **_from(originals.origin_names(leaked["form"].unique().to_list())),
                rule=rule_yaml(table, column, fix),
            )
        )
    if by_chance.height:
        coincidences.append(
            Coincidence(
                table=table,
                column=column,
                rows=by_chance["row"].n_unique(),
                check="generated",
                **_from(originals.origin_names(by_chance["form"].unique().to_list())),
            )
        )


def _whole(hits: pl.DataFrame) -> bool:
    """Whether every value hit is an original as a whole (a copy), not only holds some."""
    import polars as pl

    return bool(hits.group_by("v").agg(pl.col("whole").any())["whole"].all())


def _from(columns: list[str]) -> dict[str, Any]:
    """The ``from`` field of a report entry (a Python keyword, so passed by its alias)."""
    return {"from": columns}


def _origins(originals: Originals, forms: list[int]) -> list[int]:
    import polars as pl

    wanted = pl.Series(forms, dtype=pl.UInt64).implode()
    return originals.origins.filter(pl.col("form").is_in(wanted))["origin"].unique().to_list()


# -- 2. unchanged values ---------------------------------------------------------------------


def _unchanged(
    stage: RedactStage,
    key: tuple[str, str],
    rule: ColumnRule,
    text: pl.Series,
    leaks: list[Leak],
    coincidences: list[Coincidence],
) -> None:
    """A pseudonym equal to its own (identifying) original is a leak."""
    import polars as pl

    parts = stage.inputs.get(key)
    if not parts:
        return
    before = pl.concat(parts).cast(pl.String)
    if len(before) != len(text):
        return
    cfg = stage.cfg.gate
    counts = before.drop_nulls().value_counts(name="n")
    ids = counts.filter(
        (pl.col("n") < cfg.common_value_rows)
        & (pl.col(before.name).str.len_chars() >= cfg.min_length)
        & ~pl.col(before.name).is_in(pl.Series(cfg.allow_values, dtype=pl.String).implode())
    ).get_column(before.name)
    same = int(((text == before) & before.is_in(ids.implode())).fill_null(False).sum())
    if not same:
        return
    table, column = key
    if rule.strategy == "fake" and rule.entity in VOCABULARY_FAKES:
        # A fake drawn from a word list can be the same word by chance: a single first name
        # or city is not identifying, and the draw does not depend on it.
        coincidences.append(Coincidence(table=table, column=column, rows=same))
    else:
        leaks.append(
            Leak(
                table=table,
                column=column,
                check="unchanged",
                rows=same,
                rule=rule_yaml(table, column, "hash"),
            )
        )


# -- 3. the detectors again ------------------------------------------------------------------


def _kept_detected(
    stage: RedactStage,
    key: tuple[str, str],
    rule: ColumnRule | None,
    allowed: set[str],
    findings: list[Finding],
    *,
    binary: bool = False,
) -> None:
    if rule is None or rule.redacts or rule.confidence is None:
        return
    if rule.confidence < stage.cfg.threshold:
        return
    table, column = key
    entity = str(rule.evidence.get("detected_entity", "pii"))
    if not _allowed(allowed, table, column, entity):
        known = entity in Entity.__members__
        findings.append(
            Finding(
                table=table,
                column=column,
                entity=entity,
                confidence=rule.confidence,
                check="kept by rule, but detected as personal",
                # Bytes take ``hash`` (every type does), not the entity's text strategy.
                rule=rule_yaml(
                    table,
                    column,
                    "hash" if binary else _entity_rule(Entity(entity) if known else None),
                ),
            )
        )


def _json_paths(
    key: tuple[str, str],
    rule: ColumnRule,
    found: list[Any],
    allowed: set[str],
    findings: list[Finding],
) -> None:
    """Faked leaves are still emails and phones: PII at paths the policy does not cover
    (``found``: the detectors' JSON leaf findings on a sample of the written documents)."""
    table, column = key
    covered = set(rule.params.get("paths") or {})
    for f in found:
        extra = sorted(set(f.json_paths) - covered)
        if extra and not _allowed(allowed, table, column, f.entity.value):
            findings.append(
                Finding(
                    table=table,
                    column=column,
                    entity=f.entity.value,
                    paths=extra,
                    check="JSON paths without a rule",
                    rule=rule_yaml(table, column, _json_rule(rule, extra, f.entity)),
                )
            )


def _json_rule(rule: ColumnRule, paths: list[str], entity: Entity) -> dict[str, Any]:
    """The column's ``json`` rule with the uncovered ``paths`` added (as ``entity``)."""
    known: dict[str, Any] = {
        p: v.model_dump(exclude_defaults=True) if hasattr(v, "model_dump") else v
        for p, v in (rule.params.get("paths") or {}).items()
    }
    for path in paths:
        known.setdefault(path, _entity_rule(entity))
    return {"strategy": "json", "paths": known}


def _rescan(
    stage: RedactStage,
    gathered: _Batch,
    allowed: set[str],
    findings: list[Finding],
    notices: list[Finding],
) -> None:
    """PII spans in kept and scrubbed text (distinct values; one batch of each).

    Scrubbed text is scanned whole, the way the scrub worked (the dataset's names; its own
    keyed name pseudonyms are not names): a span left is a refusal, but for recognised names,
    reported as notices (an original name left is found by the originals search). In kept text the
    originals search is the proof; a span there refuses only for unambiguous formats
    (``STRONG``), looked for in every value that can hold one (an ``@`` or two digits in a
    row). A phone-like digit run or a capitalised word that is no original of the dataset is
    reported (a notice), from a sample of ``sample_rows`` values per column: ``Customer#00123``
    holds no phone, and "Tiresias" in a product comment is nobody's name."""
    import polars as pl

    from sandboxer.redact.detect import find_spans

    assert stage.policy is not None
    scrubbed = {k for k, r in stage.policy.rules.items() if r.strategy in TEXT_STRATEGIES}
    columns = gathered.rescan
    index = {k: i for i, k in enumerate(gathered.texts)}
    for is_scrubbed in (False, True):
        names = [k for k in columns if (k in scrubbed) is is_scrubbed]
        if not names:
            continue
        # The distinct values already gathered for the search, renumbered over ``names``.
        renumber = pl.DataFrame(
            {"c": [index[k] for k in names], "n": range(len(names))},
            schema={"c": pl.UInt32, "n": pl.UInt32},
        )
        batch = (
            gathered.values()
            .join(renumber, on="c")
            .select(c="n", v="v", m=pl.col("v").str.replace_all(IDENTIFIER_DIGITS, "${1}0"))
        )
        if is_scrubbed:
            batch = batch.with_columns(strong=pl.lit(True), sampled=pl.lit(True))
        else:
            rank, count = pl.int_range(pl.len()).over("c"), pl.len().over("c")
            step = (count // stage.cfg.sample_rows).clip(lower_bound=1)
            batch = batch.with_columns(
                strong=pl.col("m").str.contains(r"@|\d\d"),
                sampled=(rank % step == 0) & (rank // step < stage.cfg.sample_rows),
            ).filter(pl.col("strong") | pl.col("sampled"))
        if batch.height == 0:
            continue
        if is_scrubbed:
            spans = find_spans(batch["m"], names=stage.names, skip_fakes_of=stage.cfg.locale)
        else:
            spans = find_spans(batch["m"])
        for entity in spans.columns:
            strong = is_scrubbed or entity in STRONG
            hit = (spans[entity] > 0) & batch["strong" if strong else "sampled"]
            if not hit.any():
                continue
            for i in batch["c"].filter(hit).unique().sort().to_list():
                table, column = names[i]
                if _allowed(allowed, table, column, entity):
                    continue
                values = columns[names[i]]
                found = batch["v"].filter(hit & (batch["c"] == i))
                rows = int(values.is_in(found.implode()).sum())
                if not rows:
                    continue
                if is_scrubbed and entity != "person_name":
                    check, fix, into = "spans after scrub", "drop", findings
                elif is_scrubbed:
                    # The scrub's pseudonyms are names by design, and next to a capitalised
                    # word can read as a new name: whether a name left is an original is
                    # decided by the originals search, not by recognition (key-independent).
                    check, fix, into = "name spans after scrub", "drop", notices
                elif strong:
                    check, fix, into = "PII spans in kept text", "scrub_text", findings
                else:
                    sampled = int((batch["sampled"] & (batch["c"] == i)).sum())
                    # Name spans come from recognition and are noisy: reported when frequent.
                    if entity == "person_name" and found.len() < 0.01 * sampled:
                        continue
                    check, fix, into = "PII spans in kept text (sampled)", "scrub_text", notices
                into.append(
                    Finding(
                        table=table,
                        column=column,
                        entity=entity,
                        rows=rows,
                        check=check,
                        rule=rule_yaml(table, column, fix),
                    )
                )


def _distinct(columns: Mapping[Any, pl.Series], names: list[Any]) -> pl.DataFrame:
    """``c`` (index into ``names``) and ``v``: the distinct non-null values of each column."""
    import polars as pl

    parts = [pl.DataFrame(schema={"c": pl.UInt32, "v": pl.String})]
    for i, name in enumerate(names):
        distinct = columns[name].drop_nulls().unique()
        parts.append(
            pl.DataFrame(
                {"c": pl.repeat(i, len(distinct), dtype=pl.UInt32, eager=True), "v": distinct}
            )
        )
    return pl.concat(parts)


def _allowed(allowed: set[str], table: str, column: str, entity: str) -> bool:
    return f"{table}.{column}" in allowed or f"{table}.{column}:{entity}" in allowed


# -- 4. k-anonymity --------------------------------------------------------------------------


def _k_anonymity(
    files: dict[str, Path], quasi: dict[str, list[str]], min_k: int | None
) -> KAnonymity:
    import polars as pl

    tables = []
    ok = True
    for table, columns in sorted(quasi.items()):
        if table not in files:
            continue
        frame = pl.read_parquet(files[table], columns=columns)
        groups = frame.group_by(columns).len()
        k = int(groups["len"].min() or 0) if groups.height else 0  # type: ignore[arg-type]
        entry = KTable(table=table, columns=columns, k=k, groups=groups.height)
        if min_k is not None:
            small = groups.filter(pl.col("len") < min_k)
            entry.rows_below_k = int(small["len"].sum())
            entry.violates = small.height > 0
            ok = ok and not entry.violates
        tables.append(entry)
    return KAnonymity(ok=ok, min_k=min_k, tables=tables)


# -- other files under the store -------------------------------------------------------------


def check_file(originals: Originals, path: Path, *, shown_as: str | None = None) -> None:
    """Search a file the build writes under the store besides the snapshot's tables (the
    manifest, a cached profile): Parquet is decoded, JSON is searched string by string and
    each hit is named by where it sits; anything else is searched as text. Raises
    ``LeakError`` on any hit."""
    import polars as pl

    name = shown_as or path.name
    if originals.empty:
        return
    where: list[str] = []
    values: list[str] = []
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        from sandboxer.redact.stage import _as_text

        for name_ in frame.columns:
            text = _as_text(frame[name_]).drop_nulls().unique()
            where += [name_] * len(text)
            values += text.to_list()
    else:
        import json

        raw = path.read_text(encoding="utf-8", errors="replace")
        try:
            document = json.loads(raw)
        except ValueError:
            where, values = ["(text)"], [raw]
        else:
            for at, value in _json_strings(document, ""):
                where.append(at)
                values.append(value)
    if not values:
        return
    hits = originals.search(pl.Series(values, dtype=pl.String))
    if hits.height == 0:
        return
    places: dict[str, list[int]] = {}
    for vid, form in hits.iter_rows():
        places.setdefault(_place(where[vid]), []).append(form)
    lines = []
    for place, forms in sorted(places.items()):
        origins = ", ".join(originals.origin_names(forms))
        line = f"{name} at {place}: {len(forms)} original value(s) of {origins}"
        profiled = _profile_column(place)
        if profiled is not None:
            line += f"; add {rule_yaml(profiled[0], profiled[1], 'hash')}"
        lines.append(line)
    raise LeakError(
        "The leak gate refused a file the build writes to the store: "
        + "; ".join(lines[:SHOWN])
        + (f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""),
        hint="A column holding personal values was not treated as personal: give it a rule "
        "(or mark it as personal) and build again. The file was not kept, and nothing was "
        "published.",
    )


def _json_strings(value: Any, at: str) -> list[tuple[str, str]]:
    """Every string of a JSON document (object keys too), with its path."""
    out: list[tuple[str, str]] = []
    if isinstance(value, str):
        out.append((at, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append((f"{at}.{k}", str(k)))
            out += _json_strings(v, f"{at}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _json_strings(v, f"{at}[{i}]")
    return out


def _place(at: str) -> str:
    """A JSON path without list indexes, so one column's hits are reported together."""
    import re

    return re.sub(r"\[\d+\]", "[*]", at) or "(document)"


def _profile_column(place: str) -> tuple[str, str] | None:
    """``(table, column)`` when ``place`` is inside a profiled column (``...tables.<t>.
    columns.<c>...``)."""
    import re

    found = re.search(r"\.tables\.([^.\[]+(?:\.[^.\[]+)?)\.columns\.([^.\[]+)", place)
    return (found.group(1), found.group(2)) if found else None
