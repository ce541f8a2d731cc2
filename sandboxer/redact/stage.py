"""Redaction as a build stage: after subsetting, before writing; the leak gate after writing."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.models import Redact
from sandboxer.redact.policy import Policy, resolve
from sandboxer.redact.secret_key import RedactionKey
from sandboxer.snapshot.stage import BuildContext, Stage
from sandboxer.sources.schema import Schema, Table

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from sandboxer.redact.originals import Originals, PersonalColumn
    from sandboxer.redact.report import GateReport, RedactionReport
    from sandboxer.subset.planner import SubsetPlan


class RedactStage(Stage):
    """Applies the policy to every table's batches and remembers what the leak gate needs
    (in memory only, never written): the inputs of the rewritten columns, and the originals
    of every personal column of the dataset, read from the source."""

    name = "redaction"
    checks_files = True

    def __init__(self, cfg: Redact, key: RedactionKey, base: Path) -> None:
        self.cfg = cfg
        self.key = key
        self.base = base
        self.policy: Policy | None = None
        self.stats: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.inputs: dict[tuple[str, str], list[pl.Series]] = defaultdict(list)
        """The inputs of the rewritten columns, batch by batch, row-aligned with the output:
        the gate tells a value that survived its strategy from one the strategy generated."""
        self.seconds = 0.0
        self.values = 0
        self.gate_report: GateReport | None = None
        self.quasi_identifiers: dict[str, list[str]] = {}
        self.personal: list[PersonalColumn] = []
        """Every column of the dataset whose originals the gate searches (set by ``start``)."""
        self.found: Future[Originals] | None = None
        """What the gate searches for: their originals, read from the source by ``start``
        (memory only) and turned into forms on a worker thread while the tables are written."""
        self.names: tuple[str, ...] = ()
        """Originals of names, usernames and emails: ``scrub_text`` replaces them anywhere."""
        self.dataset_name = ""

    def start(self, ctx: BuildContext) -> None:
        started = time.perf_counter()

        from sandboxer.redact.originals import collect, personal_columns, source_samples

        samples: dict[str, pl.DataFrame] = {}
        included = Schema({k: t for k, t in ctx.schema.tables.items() if k in ctx.plan.tables})
        if self.cfg.mode.value == "auto":
            ctx.console.step("Detecting personal data on a sample of each table")
            samples = subset_samples(ctx.plan, self.cfg.sample_rows)
        # What is personal is decided on the source's values, not on what the subset kept.
        auto = self.cfg.mode.value == "auto"
        rows = self.cfg.sample_rows
        read = source_samples(ctx.source, ctx.schema, ctx.plan, samples, rows, inside=auto)
        samples |= {k: v for k, v in read.items() if k in ctx.plan.tables}
        self._check_gate_names(included)
        self.policy = resolve(self.cfg, included, samples, base=self.base)
        outside = {k: v for k, v in read.items() if k not in ctx.plan.tables}
        found = _detect(outside, self.cfg)
        self.personal = personal_columns(self.policy, found, self.cfg.threshold)
        self.dataset_name = ctx.dataset_name
        collected = collect(ctx.source, ctx.schema, self.personal)
        if any(r.strategy in ("scrub_text", "json") for r in self.policy.rules.values()):
            self.names = collected.names()
        pool = ThreadPoolExecutor(1, thread_name_prefix="sandboxer-originals")
        self.found = pool.submit(collected.build, self.cfg.gate)
        pool.shutdown(wait=False)  # the thread ends with its one task
        redacted = sum(1 for r in self.policy.rules.values() if r.redacts)
        ctx.console.detail(f"redaction policy: {redacted} column(s) redacted")
        self.seconds += time.perf_counter() - started

    def _check_gate_names(self, schema: Schema) -> None:
        from sandboxer.subset.graph import check_columns

        quasi = {}
        for name, columns in self.cfg.gate.quasi_identifiers.items():
            table = schema.table(name)
            check_columns(table, columns, "redact.gate.quasi_identifiers")
            quasi[table.key] = columns
        self.quasi_identifiers = quasi

    def process(self, table: Table, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        assert self.policy is not None
        rules = self.policy.for_table(table.key)
        if not rules:
            yield from batches
            return
        for batch in batches:
            started = time.perf_counter()
            out = self._redact(table, batch, rules)
            self.seconds += time.perf_counter() - started
            yield out

    def _redact(self, table: Table, batch: pa.RecordBatch, rules: list[Any]) -> pa.RecordBatch:
        import polars as pl

        from sandboxer.redact.strategies import RedactionContext

        # Only the columns with rules become polars: the others pass through as Arrow, so a
        # type polars cannot hold (or would change) is never touched unless a rule names it.
        by = {r.params["by"] for r in rules if r.strategy == "date_shift" and "by" in r.params}
        frame = _to_polars(batch, {r.column for r in rules} | by, table.key)
        # Originals of this batch's redacted columns are scrubbed out of its free text and
        # JSON too; computed only when the table has such a column.
        literals: tuple[str, ...] = ()
        json_safe: list[str] = []
        if any(r.strategy in ("scrub_text", "json") for r in rules):
            sources = [
                _as_text(frame[r.column])
                for r in rules
                if r.strategy not in ("scrub_text", "json", "keep")
            ]
            if sources:
                values = pl.concat(sources).drop_nulls().unique()
                values = values.filter(values.str.len_chars() >= self.cfg.gate.min_length).sort()
                literals = tuple(values.to_list())
                json_safe = values.filter(~values.str.contains(r'["\\]')).to_list()
        replaced: dict[str, pl.Series] = {}
        dropped: list[str] = []
        for rule in rules:
            original = frame[rule.column]
            ctx = RedactionContext(
                key=self.key.secret,
                entity=rule.entity,
                unique=rule.unique,
                locale=self.cfg.locale,
                table=table.key,
                column=rule.column,
                extra_literals=literals if rule.strategy in ("scrub_text", "json") else (),
                dataset_names=self.names if rule.strategy in ("scrub_text", "json") else (),
            )
            params = dict(rule.params)
            if rule.strategy == "date_shift" and "by" in params:
                params["by"] = frame[params["by"]]
            stat = self.stats[table.key].setdefault(
                rule.column, {**rule.describe(), "rows": 0, "changed": 0, "nulls_in": 0}
            )
            stat["rows"] += frame.height
            stat["nulls_in"] += original.null_count()
            self.values += frame.height
            if rule.strategy == "drop":
                dropped.append(rule.column)
                stat["changed"] += frame.height
                self.inputs[(table.key, rule.column)].append(_as_text(original))
                continue
            new = _apply(rule.strategy, original, ctx, params)
            if rule.strategy == "json" and json_safe and new.dtype == pl.String:
                # Values of this row's redacted columns can sit at JSON paths no rule names
                # (a name under an unexpected key): replace them inside the strings too. The
                # replacement has no quote or backslash, so documents stay valid JSON.
                new = new.str.replace_many(json_safe, ["[REDACTED]"] * len(json_safe))
            stat["changed"] += _changed(original, new)
            replaced[rule.column] = new.alias(rule.column)
            self.inputs[(table.key, rule.column)].append(_as_text(original))
        return _to_batch(batch, replaced, set(dropped))

    def check_output(self, files: dict[str, Path]) -> None:
        from sandboxer.redact.gate import run_gate

        assert self.policy is not None
        started = time.perf_counter()
        self.gate_report = run_gate(self, files, self._originals())
        self.seconds += time.perf_counter() - started

    def check_file(self, path: Path) -> None:
        from sandboxer.redact.gate import check_file

        started = time.perf_counter()
        check_file(self._originals(), path)
        self.seconds += time.perf_counter() - started

    def _originals(self) -> Originals:
        """The searchable forms of every personal column's originals (waits for them)."""
        assert self.found is not None
        return self.found.result()

    def rewritten_columns(self) -> set[tuple[str, str]]:
        assert self.policy is not None
        return {k for k, r in self.policy.rules.items() if r.redacts}

    def report(self) -> dict[str, Any]:
        return self.redaction_report().to_dict()

    def redaction_report(self) -> RedactionReport:
        """What the manifest records under ``stages.redaction``."""
        from sandboxer.redact.report import ColumnReport, RedactionReport

        assert self.policy is not None
        return RedactionReport(
            mode=self.cfg.mode.value,
            key_fingerprint=self.key.fingerprint,
            key_origin="throwaway"
            if self.key.origin == "throwaway"
            else self.key.origin.split(":", 1)[0],
            columns={
                t: {k: ColumnReport.model_validate(v) for k, v in sorted(c.items())}
                for t, c in sorted(self.stats.items())
            },
            kept_detected=sorted(
                f"{r.table}.{r.column}" for r in self.policy.rules.values() if not r.redacts
            ),
            values=self.values,
            seconds=round(self.seconds, 3),
            gate=self.gate_report,
        )


def _detect(samples: dict[str, pl.DataFrame], cfg: Redact) -> dict[str, dict[str, Any]]:
    """Detection findings of tables the build does not write (their columns get no rule)."""
    from sandboxer.redact.detect import detect_frame

    return {
        key: detect_frame(sample, threshold=cfg.threshold, table=key.split(".")[-1])
        for key, sample in sorted(samples.items())
        if sample.height
    }


def subset_samples(plan: SubsetPlan, rows: int) -> dict[str, pl.DataFrame]:
    """About ``rows`` rows of each table's selected rows, evenly spread, read from the
    planner's spilled chunks: detection looks at exactly what is about to be written, and
    costs no second read of the source."""
    import polars as pl

    samples: dict[str, pl.DataFrame] = {}
    for key, tp in sorted(plan.tables.items()):
        if not tp.rows or not tp.spill:
            continue
        step = max(1, tp.rows // rows)
        frame = pl.scan_parquet(tp.spill).gather_every(step).head(rows).collect()
        samples[key] = frame
    return samples


def _as_text(series: pl.Series) -> pl.Series:
    """Values as text for comparisons (any type; see ``dtypes.as_text``)."""
    from sandboxer.redact.dtypes import as_text

    return as_text(series)


def _to_polars(batch: pa.RecordBatch, columns: set[str], table: str) -> pl.DataFrame:
    """The named columns of ``batch`` as a polars frame; a column polars cannot hold is
    refused by name and type (keep and drop never convert it)."""
    import polars as pl

    from sandboxer.redact.strategies import RedactionError, column_rule_yaml

    series = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if field.name not in columns:
            continue
        try:
            if "decimal256" in str(field.type):
                raise TypeError("polars holds decimals of up to 38 digits")  # (it panics)
            series.append(pl.Series(field.name, column))
        except (Exception, pl.exceptions.PanicException):
            raise RedactionError(
                f"Cannot redact `{table}.{field.name}`: its type ({field.type}) has no "
                "redaction strategy",
                table=table,
                column=field.name,
                hint="Write its rule in sandboxer.yaml, under the dataset: "
                f"{column_rule_yaml(table, field.name, 'drop')} (or `keep` it, after review).",
            ) from None
    return pl.DataFrame(series, height=batch.num_rows)


def _apply(strategy: str, series: pl.Series, ctx: Any, params: dict[str, Any]) -> pl.Series:
    """``strategies.apply``, with any failure a strategy did not word itself (an engine error
    on odd values) turned into an error naming the column and the rule to write; engine
    messages can quote cell values, so only their kind is kept."""
    import polars as pl

    from sandboxer.errors import SandboxerError
    from sandboxer.redact.dtypes import type_name
    from sandboxer.redact.strategies import RedactionError, apply, rule_hint

    try:
        return apply(strategy, series, ctx, params)
    except SandboxerError:
        raise
    except (Exception, pl.exceptions.PanicException) as e:
        raise RedactionError(
            f"Cannot redact {ctx.where} ({type_name(series.dtype)}) with `{strategy}`: "
            f"the values could not be processed ({type(e).__name__})",
            table=ctx.table,
            column=ctx.column,
            hint=rule_hint(ctx, "hash" if strategy != "hash" else "drop"),
        ) from None


def _to_batch(
    batch: pa.RecordBatch, replaced: dict[str, pl.Series], dropped: set[str]
) -> pa.RecordBatch:
    """``batch`` with the redacted columns put back (as the types their strategy made) and the
    dropped ones removed; the other columns are the source's Arrow arrays, untouched."""
    import pyarrow as pa

    fields, arrays = [], []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if field.name in dropped:
            continue
        if field.name in replaced:
            column = replaced[field.name].to_arrow()
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            field = pa.field(field.name, column.type, nullable=field.nullable)
        fields.append(field)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata))


def _changed(before: pl.Series, after: pl.Series) -> int:
    """Rows whose value changed (null -> null counts as unchanged)."""
    a, b = _as_text(before), _as_text(after)
    if len(a) != len(b):
        return len(a)
    same = (a == b).fill_null(False) | (a.is_null() & b.is_null())
    return int(len(a) - same.sum())
