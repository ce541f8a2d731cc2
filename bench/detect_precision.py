"""Detection precision and recall on a labelled set of real databases (issue 11, item 6).

Every column of the labelled databases (``precision_sets.py``: Chinook, Northwind, Pagila,
AdventureWorks, jaffle_shop; TPC-H; the invented-identity canary database) is labelled by hand
in ``precision_labels.yaml`` with the entity it holds or ``none``. Each database is scanned as a
default build decides what to redact: ``data scan --pii``'s sample of every table
(``sample_tables``: about ``redact.sample_rows`` = 2,000 rows, seed 0) and auto mode's policy
(``policy.resolve`` with a default ``Redact()``: detection with the table name as context, the
default threshold, rules copied along foreign keys). A column is *flagged* when that policy
redacts it (any strategy but ``keep``): that is what a default build would change. A build
draws its detection sample from the subset's rows instead, so on tables over 2,000 rows it can
see other rows than this scan.

Reported, over the whole set and per database:

- **Redaction** (personal or not): precision = flagged personal columns / flagged columns,
  recall = flagged personal columns / personal columns.
- **Per entity**: recall of the columns labelled E that are flagged as E's family (first, last
  and full names are one family; address and street another); precision of the columns
  flagged as E whose label is in E's family.
- The false positives that a default build would redact (label ``none``: lookups, catalogue
  names ...), with the strategy it would apply; the false negatives (personal, kept); and the
  columns flagged as another entity than their label.

Columns detection had nothing to judge in (empty tables, columns with no value in the sample)
are listed as unmeasured and left out of the figures. Labels ``personal_other`` (photos ...)
count as personal in the redaction figures and have no entity row.

Time, as every benchmark reports it, against a plain baseline: the tool side opens the
source, introspects it, samples every table and resolves the policy (``sample_s`` and
``detect_s`` in info); the baseline reads every column of every table with polars (DuckDB or
SQLite into polars; ``read_parquet`` for TPC-H). Each side runs in a fresh process, alternating.
There is no goal on the ratio: rows fail only on an error or a label set that does not match
the database's columns. TPC-H is generated at the run's ``--sf``. Public databases whose files
are absent are skipped with the commands that fetch them (``$SANDBOXER_BENCH_DATA``).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Measurement, Result

NAME = "detect_precision"
HERE = Path(__file__).resolve().parent
LABELS = HERE / "precision_labels.yaml"
NONE = "none"
PERSONAL_OTHER = "personal_other"
SAMPLE_SEED = 0
"""A dataset's default ``seed``: the sample ``data scan --pii`` draws."""

_FAMILIES = ({"person_name", "first_name", "last_name"}, {"address", "street"})


def family(entity: str) -> frozenset[str]:
    """The entities that count as a match for ``entity`` (names together, addresses together)."""
    for members in _FAMILIES:
        if entity in members:
            return frozenset(members)
    return frozenset({entity})


# -- labels --------------------------------------------------------------------------------
Labels = dict[str, dict[tuple[str, str], str]]
"""database -> (table, column) -> entity name, ``none`` or ``personal_other``."""


def load_labels(path: Path = LABELS) -> Labels:
    """The labelled set; every label must be a sandboxer entity, ``none`` or ``personal_other``."""
    import yaml

    from sandboxer.redact.entities import Entity

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("version") != 1:
        raise ValueError(f"{path.name}: version 1 expected")
    known = {e.value for e in Entity} | {NONE, PERSONAL_OTHER}
    labels: Labels = {}
    for database, tables in data["databases"].items():
        flat: dict[tuple[str, str], str] = {}
        for table, columns in tables.items():
            for column, label in columns.items():
                if label not in known:
                    raise ValueError(f"{path.name}: {database}.{table}.{column}: unknown {label!r}")
                flat[(str(table), str(column))] = label
        labels[database] = flat
    return labels


# -- the scan (a default build's detection), in a worker or in-process ---------------------
def scan(url: str, keys: dict[str, Any] | None = None, clock: Any = None) -> dict[str, Any]:
    """Detection as a default build runs it on the source at ``url``: what each column would
    get. Only ``with clock`` (when given) is timed: opening, introspection, sampling and
    policy; imports happen before."""
    import duckdb  # noqa: F401  (what the sources and detection import lazily)
    import polars  # noqa: F401
    import pyarrow  # noqa: F401

    import sandboxer.redact.detect  # noqa: F401
    from sandboxer.build.builder import load_schema
    from sandboxer.config.models import Dataset, Redact
    from sandboxer.redact.policy import resolve
    from sandboxer.redact.scan import sample_tables
    from sandboxer.sources import create_source

    cfg = Redact()
    dataset = Dataset.model_validate({"source": url, **({"keys": keys} if keys else {})})
    timer = clock if clock is not None else contextlib.nullcontext()
    with timer:
        started = _now()
        source = create_source(url)
        with source:
            schema = load_schema(source, dataset)
            samples = sample_tables(source, schema, cfg.sample_rows, SAMPLE_SEED)
        sampled = _now()
        policy = resolve(cfg, schema, samples, base=Path("."))
        ended = _now()
    flagged = {
        f"{table}\t{column}": {
            "strategy": rule.strategy,
            "entity": rule.entity.value if rule.entity else None,
            "origin": rule.origin,
            "confidence": rule.confidence,
            "source": rule.evidence.get("source"),
        }
        for (table, column), rule in policy.rules.items()
        if rule.redacts
    }
    non_null = {
        key: {c: frame.get_column(c).len() - frame.get_column(c).null_count()
              for c in frame.columns}
        for key, frame in samples.items()
    }  # fmt: skip
    return {
        "columns": {key: t.column_names for key, t in sorted(schema.tables.items())},
        "sampled_non_null": non_null,
        "sampled_rows": {key: frame.height for key, frame in samples.items()},
        "flagged": flagged,
        "sample_s": round(sampled - started, 4),
        "detect_s": round(ended - sampled, 4),
    }


def _now() -> float:
    import time

    return time.perf_counter()


def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The measured side: ``scan``."""
    return scan(args["url"], args.get("keys"), clock)


def baseline(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A plain read of every column of the labelled tables into polars."""
    import duckdb
    import polars as pl

    url: str = args["url"]
    tables: list[str] = args["tables"]
    rows = 0
    with clock:
        if url.startswith("duckdb:///"):
            conn = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
            try:
                for key in tables:
                    rows += conn.sql(f"SELECT * FROM {_quoted_key(key)}").pl().height
            finally:
                conn.close()
        elif url.startswith("sqlite:///"):
            import sqlite3

            conn_s = sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True)
            try:
                for key in tables:
                    frame = pl.read_database(
                        f"SELECT * FROM {_quoted_key(key)}", conn_s, infer_schema_length=None
                    )
                    rows += frame.height
            finally:
                conn_s.close()
        else:
            for key in tables:
                rows += pl.read_parquet(Path(url) / f"{key}.parquet").height
    return {"rows": rows}


def _quoted_key(key: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in key.split(".", 1))


# -- scoring -------------------------------------------------------------------------------
@dataclass
class ColumnOutcome:
    database: str
    table: str
    column: str
    label: str
    flagged_as: str | None
    """The entity of the redacting rule (None: kept)."""
    strategy: str | None = None
    origin: str | None = None
    measured: bool = True

    @property
    def name(self) -> str:
        return f"{self.database}:{self.table}.{self.column}"

    @property
    def personal(self) -> bool:
        return self.label != NONE

    @property
    def flagged(self) -> bool:
        return self.strategy is not None

    @property
    def entity_matches(self) -> bool:
        return self.flagged_as is not None and self.flagged_as in family(self.label)


@dataclass
class Ratio:
    hits: int
    of: int

    @property
    def value(self) -> float | None:
        return self.hits / self.of if self.of else None

    def __str__(self) -> str:
        return "-" if self.value is None else f"{self.value:.2f} ({self.hits}/{self.of})"


@dataclass
class EntityScore:
    entity: str
    labelled: int
    flagged: int
    recall: Ratio
    precision: Ratio


@dataclass
class Score:
    """The figures of a set of column outcomes."""

    outcomes: list[ColumnOutcome]
    mismatched: list[str] = field(default_factory=list)
    """Columns the labels and the database disagree on (``db:table.column: why``)."""

    @property
    def measured(self) -> list[ColumnOutcome]:
        return [o for o in self.outcomes if o.measured]

    @property
    def unmeasured(self) -> list[ColumnOutcome]:
        return [o for o in self.outcomes if not o.measured]

    @property
    def precision(self) -> Ratio:
        flagged = [o for o in self.measured if o.flagged]
        return Ratio(sum(o.personal for o in flagged), len(flagged))

    @property
    def recall(self) -> Ratio:
        personal = [o for o in self.measured if o.personal]
        return Ratio(sum(o.flagged for o in personal), len(personal))

    @property
    def false_positives(self) -> list[ColumnOutcome]:
        return [o for o in self.measured if o.flagged and not o.personal]

    @property
    def false_negatives(self) -> list[ColumnOutcome]:
        return [o for o in self.measured if o.personal and not o.flagged]

    @property
    def other_entity(self) -> list[ColumnOutcome]:
        """Personal columns flagged as another entity than their label (same family or not)."""
        return [
            o
            for o in self.measured
            if o.personal and o.flagged and o.label != PERSONAL_OTHER and o.flagged_as != o.label
        ]

    def entities(self) -> list[EntityScore]:
        measured = self.measured
        names = sorted(
            {o.label for o in measured if o.personal and o.label != PERSONAL_OTHER}
            | {o.flagged_as for o in measured if o.flagged_as}
        )
        scores = []
        for entity in names:
            labelled = [o for o in measured if o.label == entity]
            flagged = [o for o in measured if o.flagged_as == entity]
            scores.append(
                EntityScore(
                    entity,
                    len(labelled),
                    len(flagged),
                    Ratio(sum(o.entity_matches for o in labelled), len(labelled)),
                    Ratio(sum(o.label in family(entity) for o in flagged), len(flagged)),
                )
            )
        return scores

    def to_json(self) -> dict[str, Any]:
        def names(outcomes: list[ColumnOutcome]) -> list[dict[str, Any]]:
            return [
                {"column": o.name, "label": o.label, "flagged_as": o.flagged_as,
                 "strategy": o.strategy, "origin": o.origin}
                for o in outcomes
            ]  # fmt: skip

        entities = [
            {"entity": e.entity, "labelled": e.labelled, "flagged": e.flagged,
             "recall": e.recall.value, "recall_counts": [e.recall.hits, e.recall.of],
             "precision": e.precision.value,
             "precision_counts": [e.precision.hits, e.precision.of]}
            for e in self.entities()
        ]  # fmt: skip
        return {
            "columns": len(self.outcomes),
            "measured": len(self.measured),
            "personal": sum(o.personal for o in self.measured),
            "precision": self.precision.value,
            "recall": self.recall.value,
            "precision_counts": [self.precision.hits, self.precision.of],
            "recall_counts": [self.recall.hits, self.recall.of],
            "entities": entities,
            "false_positives": names(self.false_positives),
            "false_negatives": names(self.false_negatives),
            "other_entity": names(self.other_entity),
            "unmeasured": [o.name for o in self.unmeasured],
            "mismatched": self.mismatched,
        }


def score(database: str, labels: dict[tuple[str, str], str], scanned: dict[str, Any]) -> Score:
    """The outcome of every labelled column of one database from ``scan``'s result."""
    outcomes: list[ColumnOutcome] = []
    mismatched: list[str] = []
    present = {(t, c) for t, columns in scanned["columns"].items() for c in columns}
    for table, column in sorted(present - set(labels)):
        mismatched.append(f"{database}:{table}.{column}: in the database, not labelled")
    for table, column in sorted(set(labels) - present):
        mismatched.append(f"{database}:{table}.{column}: labelled, not in the database")
    flagged = scanned["flagged"]
    non_null = scanned["sampled_non_null"]
    for table, column in sorted(set(labels) & present):
        rule = flagged.get(f"{table}\t{column}")
        outcomes.append(
            ColumnOutcome(
                database,
                table,
                column,
                labels[(table, column)],
                rule["entity"] if rule else None,
                rule["strategy"] if rule else None,
                rule["origin"] if rule else None,
                measured=non_null.get(table, {}).get(column, 0) > 0,
            )
        )
    return Score(outcomes, mismatched)


def combine(scores: list[Score]) -> Score:
    return Score([o for s in scores for o in s.outcomes], [m for s in scores for m in s.mismatched])


def render(total: Score, per_database: dict[str, Score]) -> str:
    """The report as Markdown: overall and per-database figures, per-entity figures, lists."""
    out = ["", "Detection on the labelled set (auto mode, default threshold):", ""]
    out.append("| database | columns | personal | flagged | precision | recall | FP | FN |")
    out.append("|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, s in [*per_database.items(), ("all", total)]:
        flagged = sum(o.flagged for o in s.measured)
        out.append(
            f"| {name} | {len(s.measured)} | {sum(o.personal for o in s.measured)} | "
            f"{flagged} | {s.precision} | {s.recall} | {len(s.false_positives)} | "
            f"{len(s.false_negatives)} |"
        )
    out += ["", "| entity | labelled | flagged as | recall | precision |", "|---|--:|--:|--:|--:|"]
    for e in total.entities():
        out.append(f"| {e.entity} | {e.labelled} | {e.flagged} | {e.recall} | {e.precision} |")

    def listing(title: str, outcomes: list[ColumnOutcome], what: str) -> None:
        out.extend(["", f"{title} ({len(outcomes)}):"])
        for o in outcomes:
            detail = {
                "fp": f"{o.strategy} as {o.flagged_as}",
                "fn": f"labelled {o.label}",
                "other": f"labelled {o.label}, flagged as {o.flagged_as} ({o.strategy})",
            }[what]
            out.append(f"  {o.name}: {detail}")

    listing("False positives a default build would redact", total.false_positives, "fp")
    listing("False negatives (personal, kept)", total.false_negatives, "fn")
    listing("Flagged as another entity", total.other_entity, "other")
    if total.unmeasured:
        out.extend(["", f"Unmeasured (no value in the sample): {len(total.unmeasured)} column(s): "
                    + ", ".join(o.name for o in total.unmeasured)])  # fmt: skip
    if total.mismatched:
        out.extend(["", "Labels that do not match the databases:", *total.mismatched])
    return "\n".join(out)


# -- the benchmark -------------------------------------------------------------------------
def _prepare(bench: Bench) -> tuple[list[Any], list[str]]:
    from precision_sets import PUBLIC, Absent, prepare_canary, prepare_tpch

    prepared, absent = [], []
    for name, db in PUBLIC.items():
        if not bench.selected(f"{NAME}/{name}"):
            continue
        try:
            prepared.append(db.prepare())
        except Absent as e:
            absent.append(name)
            print(f"{NAME}: skipped {e}", file=sys.stderr)
    if bench.selected(f"{NAME}/tpch"):
        prepared.append(prepare_tpch(bench.sf))
    if bench.selected(f"{NAME}/canary"):
        prepared.append(prepare_canary())
    return prepared, absent


def run(bench: Bench) -> list[Result]:
    labels = load_labels()
    prepared, absent = _prepare(bench)
    results: list[Result] = []
    scores: dict[str, Score] = {}
    for db in prepared:
        name = f"{NAME}/{db.name}"
        print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
        result = Result(name)
        tables = sorted({table for table, _ in labels.get(db.name, {})})
        args: dict[str, Any] = {"url": db.url, "keys": db.keys, "tables": tables}
        for i in range(bench.repeat):
            # Alternate which side goes first, so neither always runs on a warmer machine.
            for side in ("tool", "baseline") if i % 2 == 0 else ("baseline", "tool"):
                m = bench.measure(f"{NAME}:{side}", args)
                (result.tool_runs if side == "tool" else result.baseline_runs).append(m)
                if not m.ok:
                    result.errors.append(f"{side}: {m.error}")
            if result.errors:
                break
        ok = [r for r in result.tool_runs if r.ok]
        if ok:
            s = score(db.name, labels.get(db.name, {}), ok[0].info)
            scores[db.name] = s
            result.errors.extend(s.mismatched)
            _fill(result, s, ok)
        results.append(result)
    if scores:
        results.append(_overall(scores, results, absent))
        print(render(combine(list(scores.values())), scores))
        if absent:
            print(f"\nAbsent (not in the figures): {', '.join(absent)}; see the messages above.")
    return results


def _fill(result: Result, s: Score, ok: list[Measurement]) -> None:
    def med(part: str) -> float:
        return round(statistics.median(r.info[part] for r in ok), 3)

    result.info = {
        "columns": len(s.measured),
        "personal": sum(o.personal for o in s.measured),
        "precision": _fmt(s.precision.value),
        "recall": _fmt(s.recall.value),
        "fp": len(s.false_positives),
        "fn": len(s.false_negatives),
        "sample_s": med("sample_s"),
        "detect_s": med("detect_s"),
    }
    result.details["score"] = s.to_json()
    result.details["flagged"] = ok[0].info["flagged"]
    result.details["sampled_rows"] = ok[0].info["sampled_rows"]


def _overall(scores: dict[str, Score], results: list[Result], absent: list[str]) -> Result:
    """All databases together; its times are the sums over the databases, run by run."""
    total = combine(list(scores.values()))
    result = Result(f"{NAME}/all")
    for side in ("tool_runs", "baseline_runs"):
        runs = [getattr(r, side) for r in results]
        for i in range(min(len(x) for x in runs)):
            group = [x[i] for x in runs]
            if all(m.ok for m in group):
                getattr(result, side).append(
                    Measurement(
                        seconds=sum(m.seconds or 0 for m in group),
                        peak_mib=max(m.peak_mib or 0 for m in group),
                    )
                )
    result.errors = [e for r in results for e in r.errors]
    result.info = {
        "databases": len(scores),
        "columns": len(total.measured),
        "personal": sum(o.personal for o in total.measured),
        "precision": _fmt(total.precision.value),
        "recall": _fmt(total.recall.value),
        "fp": len(total.false_positives),
        "fn": len(total.false_negatives),
    }
    if absent:
        result.info["absent"] = "+".join(absent)
    result.details["score"] = total.to_json()
    result.details["absent"] = absent
    result.details["labels_per_entity"] = dict(
        sorted(Counter(o.label for o in total.measured).items())
    )
    result.details["per_database"] = {k: v.to_json() for k, v in scores.items()}
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
