"""The leak gate: runs on the written files of every redacted build, before publishing.

1. No original value of a redacted column appears anywhere in the output: exactly, in any
   kept column; as a substring, in kept text; or unchanged in its own redacted column.
   Nulls, empty strings, short values, values common in their column (not identifying) and an
   allowlist are ignored.
2. The detectors run again over every kept column (on a sample) and over the full text of
   scrubbed columns: no finding above the threshold unless it is allowlisted.
3. k-anonymity over declared quasi-identifiers is reported, and enforced with ``min_k``.

Reports hold tables, columns and counts; never values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

    from sandboxer.redact.policy import ColumnRule
    from sandboxer.redact.stage import RedactStage

SUBSTRING_MIN = 6
"""Originals shorter than this are matched only as whole values, not inside text."""
SUBSTRING_DIGITS = 8
"""Mostly-digit originals need this many digits to be searched inside text."""
NUMERIC_MIN = 7
"""Originals shorter than this are not compared with numeric, date or boolean columns."""
VOCABULARY_FAKES = {Entity.first_name, Entity.last_name, Entity.city, Entity.company}
"""Fakes drawn from word lists, whose chance equality with a one-word original is allowed."""


class LeakError(SandboxerError):
    """The leak gate found personal data in the output: the snapshot is not published."""


def _originals(stage: RedactStage) -> tuple[pl.Series, dict[tuple[str, str], pl.Series]]:
    import polars as pl

    cfg = stage.cfg.gate
    allow = pl.Series(cfg.allow_values, dtype=pl.String)
    per_column: dict[tuple[str, str], pl.Series] = {}
    for key, parts in stage.originals.items():
        values = pl.concat(parts).drop_nulls()
        values = values.filter(values.str.len_chars() >= cfg.min_length)
        counts = values.value_counts(name="n")
        rare = counts.filter(pl.col("n") < cfg.common_value_rows).get_column(values.name)
        per_column[key] = rare.filter(~rare.is_in(allow.implode())).rename("v")
    if per_column:
        everything = pl.concat(list(per_column.values())).unique()
    else:
        everything = pl.Series("v", [], dtype=pl.String)
    return everything, per_column


def run_gate(stage: RedactStage, files: dict[str, Path]) -> dict[str, Any]:
    import polars as pl

    from sandboxer.redact.detect import json_leaf_findings
    from sandboxer.redact.stage import _as_text

    assert stage.policy is not None
    cfg = stage.cfg.gate
    originals, per_column = _originals(stage)
    # One-word values of word-list entities (a surname, a city) are not identifying inside
    # text, and fakes drawn from the same word lists contain them by chance: searched as
    # whole values only.
    searchable = [
        values
        for key, values in per_column.items()
        if stage.policy.rules.get(key) is None
        or stage.policy.rules[key].entity not in VOCABULARY_FAKES
    ]
    long_originals = (
        pl.concat(searchable).unique() if searchable else pl.Series("v", [], dtype=pl.String)
    )
    long_originals = long_originals.filter(
        (long_originals.str.len_chars() >= SUBSTRING_MIN)
        # Mostly-digit values (postcodes, short codes) turn up by chance inside other numbers,
        # a fake phone among them: inside text, only 8+ digits (phones, ids, cards) identify.
        & (
            (long_originals.str.count_matches(r"[^\W\d_]") >= 3)
            | (long_originals.str.count_matches(r"[0-9]") >= SUBSTRING_DIGITS)
        )
    )
    redacted = {k for k, r in stage.policy.rules.items() if r.redacts}
    scrubbed = {k for k, r in stage.policy.rules.items() if r.strategy in ("scrub_text", "json")}
    allowed = set(cfg.allow_findings)
    leaks: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    coincidences: list[dict[str, Any]] = []
    checked = 0

    for table, path in sorted(files.items()):
        frame = pl.read_parquet(path)
        columns: dict[str, tuple[pl.Series, bool, bool]] = {}
        for column in frame.columns:
            key = (table, column)
            text = _as_text(frame[column])
            checked += 1
            if key in redacted and key not in scrubbed:
                # A pseudonym equal to its own (identifying) original is a leak.
                before = pl.concat(stage.originals[key]) if stage.originals.get(key) else None
                ids = per_column.get(key)
                if before is not None and ids is not None and len(before) == len(text):
                    same = ((text == before) & before.is_in(ids.implode())).fill_null(False).sum()
                    own: ColumnRule | None = stage.policy.rules[key]
                    if same and own and own.strategy == "fake" and own.entity in VOCABULARY_FAKES:
                        # A fake drawn from a word list can be the same word by chance: a
                        # single first name or city is not identifying, and the draw does
                        # not depend on it. Reported, not refused.
                        coincidences.append({"table": table, "column": column, "rows": int(same)})
                    elif same:
                        leaks.append(
                            {
                                "table": table,
                                "column": column,
                                "check": "unchanged",
                                "rows": int(same),
                            }
                        )
                continue
            rule = stage.policy.rules.get(key)
            if (
                rule is not None
                and not rule.redacts
                and rule.confidence is not None
                and rule.confidence >= stage.cfg.threshold
            ):
                entity = str(rule.evidence.get("detected_entity", "pii"))
                if not _allowed(allowed, table, column, entity):
                    findings.append(
                        {
                            "table": table,
                            "column": column,
                            "entity": entity,
                            "confidence": rule.confidence,
                            "check": "kept by rule, but detected as personal",
                        }
                    )
            if rule is not None and rule.strategy == "json":
                # Faked leaves are still emails and phones: check for PII at paths the
                # policy does not cover; originals are checked with the other text below.
                covered = set(rule.params.get("paths") or {})
                for f in json_leaf_findings(
                    text.head(stage.cfg.sample_rows).drop_nulls(), threshold=stage.cfg.threshold
                ):
                    extra = sorted(set(f.json_paths) - covered)
                    if extra and not _allowed(allowed, table, column, f.entity.value):
                        findings.append(
                            {
                                "table": table,
                                "column": column,
                                "entity": f.entity.value,
                                "paths": extra,
                                "check": "JSON paths without a rule",
                            }
                        )
            columns[column] = (
                text,
                frame[column].dtype == pl.String,
                rule is not None and rule.strategy == "json",
            )
        # One batch per table: the distinct values of every kept column, checked at once
        # (exact originals, originals inside text, PII spans), then rows counted only for
        # the columns that were hit.
        _check_table(
            table,
            columns,
            originals,
            long_originals,
            per_column,
            scrubbed,
            allowed,
            leaks,
            findings,
        )

    k_report = _k_anonymity(files, stage.quasi_identifiers, cfg.min_k)
    report = {
        "ok": not leaks and not findings and k_report["ok"],
        "columns_checked": checked,
        "originals_checked": len(originals),
        "leaks": leaks,
        "findings": findings,
        "coincidences": coincidences,
        "k_anonymity": k_report,
    }
    if not report["ok"]:
        problems = [
            f"{x['table']}.{x['column']}: {x['rows']} row(s) hold original values ({x['check']})"
            for x in leaks
        ]
        problems += [
            f"{x['table']}.{x['column']}: {x['entity']} found ({x['check']})" for x in findings
        ]
        problems += [
            f"{g['table']}: {g['rows_below_k']} row(s) in groups smaller than "
            f"k={cfg.min_k} over ({', '.join(g['columns'])})"
            for g in k_report["tables"]
            if g.get("violates")
        ]
        raise LeakError(
            "The leak gate refused to publish the snapshot: "
            + "; ".join(problems[:8])
            + (f"; and {len(problems) - 8} more" if len(problems) > 8 else ""),
            hint="Add rules for these columns under redact.columns (or a reviewed allowlist "
            "under redact.gate), then build again. Nothing was published.",
        )
    return report


def _check_table(
    table: str,
    columns: dict[str, tuple[pl.Series, bool, bool]],
    originals: pl.Series,
    long_originals: pl.Series,
    per_column: dict[tuple[str, str], pl.Series],
    scrubbed: set[tuple[str, str]],
    allowed: set[str],
    leaks: list[dict[str, Any]],
    findings: list[dict[str, Any]],
) -> None:
    import polars as pl

    from sandboxer.redact.detect import find_spans

    if not columns:
        return
    parts = [
        pl.DataFrame({"c": pl.Series([], dtype=pl.UInt32), "v": pl.Series([], dtype=pl.String)})
    ]
    names = list(columns)
    for i, name in enumerate(names):
        text, _, _ = columns[name]
        distinct = text.drop_nulls().unique()
        parts.append(
            pl.DataFrame(
                {
                    "c": pl.Series([i], dtype=pl.UInt32).new_from_index(0, len(distinct)),
                    "v": distinct,
                }
            )
        )
    batch = pl.concat(parts)
    is_string = pl.Series([columns[n][1] for n in names])
    string_row = is_string.gather(batch["c"]) if len(batch) else pl.Series([], dtype=pl.Boolean)
    numeric_originals = originals.filter(originals.str.len_chars() >= NUMERIC_MIN)
    exact = (
        pl.when(string_row)
        .then(batch["v"].is_in(originals.implode()))
        .otherwise(batch["v"].is_in(numeric_originals.implode()))
        if len(batch)
        else None
    )
    flags: dict[str, pl.Series] = {}
    if exact is not None and len(originals):
        flags["exact"] = batch.select(exact.alias("x"))["x"].fill_null(False)
    if len(long_originals) and len(batch):
        flags["substring"] = (
            batch["v"].str.contains_any(long_originals.implode()).fill_null(False) & string_row
        )
    spans = find_spans(batch["v"]) if len(batch) else None

    def rows_of(i: int, hit: pl.Series) -> int:
        text = columns[names[i]][0]
        values = batch["v"].filter(hit & (batch["c"] == i))
        return int(text.is_in(values.implode()).sum()) if len(values) else 0

    for check, hit in flags.items():
        for i in batch["c"].filter(hit).unique().sort().to_list():
            rows = rows_of(i, hit)
            if rows:
                text = columns[names[i]][0]
                leaks.append(
                    {
                        "table": table,
                        "column": names[i],
                        "check": check,
                        "rows": rows,
                        "from": _sources(text, per_column, substring=check == "substring"),
                    }
                )
    if spans is None:
        return
    for entity in spans.columns:
        hit = spans[entity] > 0
        # Only string columns that are kept or scrubbed are scanned; JSON columns hold fakes
        # that are emails and phones by design.
        hit = hit & string_row & ~pl.Series([columns[n][2] for n in names]).gather(batch["c"])
        if not hit.any():
            continue
        for i in batch["c"].filter(hit).unique().sort().to_list():
            column = names[i]
            key = (table, column)
            if _allowed(allowed, table, column, entity):
                continue
            rows = rows_of(i, hit)
            text = columns[column][0]
            total = max(len(text) - text.null_count(), 1)
            if not rows:
                continue
            # Name spans come from word lists and are noisy (a product "Grace Green"): they
            # count when frequent; an email, card or national id counts once.
            if entity == "person_name" and key not in scrubbed and rows / total < 0.01:
                continue
            findings.append(
                {
                    "table": table,
                    "column": column,
                    "entity": entity,
                    "rows": rows,
                    "check": "spans after scrub" if key in scrubbed else "PII spans in kept text",
                }
            )


def _allowed(allowed: set[str], table: str, column: str, entity: str) -> bool:
    return f"{table}.{column}" in allowed or f"{table}.{column}:{entity}" in allowed


def _sources(
    text: pl.Series, per_column: dict[tuple[str, str], pl.Series], *, substring: bool
) -> list[str]:
    """Which redacted columns the leaked values came from (names only)."""
    found = []
    for (table, column), values in sorted(per_column.items()):
        if not len(values):
            continue
        if substring:
            values = values.filter(values.str.len_chars() >= SUBSTRING_MIN)
            hit = len(values) and bool(
                text.str.contains_any(values.implode()).fill_null(False).any()
            )
        else:
            hit = bool(text.is_in(values.implode()).any())
        if hit:
            found.append(f"{table}.{column}")
    return found


def _k_anonymity(
    files: dict[str, Path], quasi: dict[str, list[str]], min_k: int | None
) -> dict[str, Any]:
    import polars as pl

    tables = []
    ok = True
    for table, columns in sorted(quasi.items()):
        if table not in files:
            continue
        frame = pl.read_parquet(files[table], columns=columns)
        groups = frame.group_by(columns).len()
        k = int(groups["len"].min() or 0) if groups.height else 0  # type: ignore[arg-type]
        entry: dict[str, Any] = {
            "table": table,
            "columns": columns,
            "k": k,
            "groups": groups.height,
        }
        if min_k is not None:
            small = groups.filter(pl.col("len") < min_k)
            entry["rows_below_k"] = int(small["len"].sum())
            entry["violates"] = small.height > 0
            ok = ok and not entry["violates"]
        tables.append(entry)
    return {"ok": ok, "min_k": min_k, "tables": tables}
