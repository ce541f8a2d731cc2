"""The FK closure: which rows of which tables make a referentially complete subset.

Every row is read from the source once. The planner keeps only *key frames* in memory (per
table, the columns that identify a row or take part in a foreign key: ``key_columns``) and
spills the whole rows it fetched to Parquet chunks in the build's staging directory, from which
extraction streams them, sorted by row identity, to the later stages.

Closure rules:
- Roots select rows by where/percent/limit; ``all`` tables are copied whole.
- Parents of every selected row are pulled, transitively (integrity first, over budgets),
  unless the FK is nullable and configured ``on_missing_parent: null``, or its parent table
  is excluded: those values are set to null at extraction when the parent is absent.
- Children are pulled only from rows selected as roots or as children (not from rows pulled
  as parents: following a country's children would pull every customer), per relation or
  globally, with a fan-out cap per parent and per-table row budgets.
- Cycles and self-references need no special case: only newly added rows are expanded, so
  the worklist ends when a round adds nothing.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.models import Dataset, MissingParent, TableMode
from sandboxer.console import Console, NoopConsole
from sandboxer.errors import SubsetError
from sandboxer.sources.base import Sample, Source
from sandboxer.sources.schema import ForeignKey, Schema, Table
from sandboxer.sources.sql import parse_where
from sandboxer.subset.graph import check_columns

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def key_columns(schema: Schema, table: Table) -> list[str]:
    """Row identity + outgoing FK columns + columns referenced by incoming FKs, in table order."""
    wanted = set(table.row_identity)
    for fk in table.foreign_keys:
        wanted.update(fk.columns)
    for fk in schema.children_of(table.key):
        wanted.update(fk.ref_columns)
    return [c for c in table.column_names if c in wanted]


@dataclass
class RelationRule:
    follow_children: bool
    max_children: int | None
    on_missing_parent: MissingParent


@dataclass
class TablePlan:
    table: Table
    mode: TableMode
    key_columns: list[str]
    chunks: list[pl.DataFrame] = field(default_factory=list)
    spill: list[Path] = field(default_factory=list)
    """Parquet chunks holding the whole selected rows (same rows as ``chunks``)."""
    reasons: Counter[str] = field(default_factory=Counter)
    capped: int = 0
    """Rows left out by fan-out caps and budgets."""
    source_rows: int | None = None

    @property
    def rows(self) -> int:
        return sum(c.height for c in self.chunks)

    def frame(self) -> pl.DataFrame:
        import polars as pl

        if not self.chunks:
            return pl.DataFrame(schema=dict.fromkeys(self.key_columns, pl.Null))
        if len(self.chunks) > 1:
            self.chunks = [pl.concat(self.chunks, how="vertical_relaxed", rechunk=True)]
        return self.chunks[0]


@dataclass
class SubsetPlan:
    """The result of the closure: a key frame per included table, and how it got there."""

    schema: Schema
    tables: dict[str, TablePlan]
    null_fks: list[ForeignKey]
    """Nullable FKs whose values are set to null when their parent row is absent."""
    rounds: int = 0
    seconds: float = 0.0
    fetches: int = 0

    def stats(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "fetches": self.fetches,
            "seconds": round(self.seconds, 3),
            "tables": {
                key: {
                    "mode": tp.mode.value,
                    "rows": tp.rows,
                    "source_rows": tp.source_rows,
                    "selected_by": dict(sorted(tp.reasons.items())),
                    "capped": tp.capped,
                }
                for key, tp in sorted(self.tables.items())
            },
        }


class Planner:
    """Computes a SubsetPlan for one dataset against an open source."""

    def __init__(
        self,
        source: Source,
        schema: Schema,
        dataset: Dataset,
        spill_dir: Path,
        console: Console | None = None,
    ) -> None:
        self.source = source
        self.spill_dir = spill_dir
        self.schema = schema
        self.dataset = dataset
        self.console = console or NoopConsole()
        self.modes = self._resolve_modes()
        self.rules = self._resolve_relations()
        self.fetches = 0
        self._spilled: list[Path] = []

    # -- configuration -------------------------------------------------------------------
    def _resolve_modes(self) -> dict[str, TableMode]:
        modes = dict.fromkeys(self.schema.tables, TableMode.subset)
        for name, mode in self.dataset.subset.tables.items():
            modes[self.schema.table(name).key] = mode
        for name in self.dataset.subset.budgets:
            self.schema.table(name)  # unknown names fail with a suggestion
        for root in self.dataset.subset.roots:
            key = self.schema.table(root.table).key
            if modes[key] is TableMode.exclude:
                raise SubsetError(f"Root table `{key}` is marked `exclude` in subset.tables")
        return modes

    def _resolve_relations(self) -> dict[ForeignKey, RelationRule]:
        cfg = self.dataset.subset
        rules: dict[ForeignKey, RelationRule] = {}
        for fk in self.schema.foreign_keys:
            rules[fk] = RelationRule(
                cfg.follow_children, cfg.max_children_per_parent, cfg.on_missing_parent
            )
        for i, rel in enumerate(cfg.relations):
            table = self.schema.table(rel.table)
            check_columns(table, rel.columns, f"subset.relations[{i}]")
            matches = [fk for fk in table.foreign_keys if list(fk.columns) == rel.columns]
            if not matches:
                known = "; ".join(str(fk) for fk in table.foreign_keys) or "none"
                raise SubsetError(
                    f"subset.relations[{i}]: `{table.key}` has no foreign key on "
                    f"({', '.join(rel.columns)})",
                    hint=f"Its foreign keys: {known}. Declare virtual ones under keys.foreign.",
                )
            for fk in matches:
                rule = rules[fk]
                if rel.follow_children is not None:
                    rule.follow_children = rel.follow_children
                if rel.max_children is not None:
                    rule.max_children = rel.max_children
                if rel.on_missing_parent is not None:
                    rule.on_missing_parent = rel.on_missing_parent
        for fk, rule in rules.items():
            nullable = all(self._nullable(fk, c) for c in fk.columns)
            if rule.on_missing_parent is MissingParent.set_null and not nullable:
                # Only an explicit per-relation request is an error; the global default
                # silently keeps pulling parents for NOT NULL keys.
                explicit = any(
                    self.schema.table(r.table).key == fk.table.key
                    and r.columns == list(fk.columns)
                    and r.on_missing_parent is MissingParent.set_null
                    for r in cfg.relations
                )
                if explicit:
                    raise SubsetError(
                        f"on_missing_parent: set_null for {fk}: column(s) are NOT NULL",
                        hint="Use `pull`, or make the column nullable in the source.",
                    )
                rule.on_missing_parent = MissingParent.pull
        return rules

    def _nullable(self, fk: ForeignKey, column: str) -> bool:
        return self.schema.tables[fk.table.key].column(column).nullable

    # -- closure -------------------------------------------------------------------------
    def plan(self) -> SubsetPlan:
        import polars as pl

        started = time.perf_counter()
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        included = {k for k, m in self.modes.items() if m is not TableMode.exclude}
        plans = {
            key: TablePlan(
                self.schema.tables[key],
                self.modes[key],
                key_columns(self.schema, self.schema.tables[key]),
            )
            for key in sorted(included)
        }
        self.plans = plans
        null_fks = self._null_fks(included)
        for tp in plans.values():
            tp.source_rows = self.source.count_rows(tp.table)

        # pending[(table, downward)] = key frames of newly added rows to expand
        pending: dict[tuple[str, bool], list[pl.DataFrame]] = defaultdict(list)
        for key, tp in plans.items():
            if tp.mode is TableMode.all:
                rows = self.source.select(tp.table, tp.table.column_names)
                self.fetches += 1
                added = self._add(tp, rows, "all")
                if added.height:
                    pending[(key, False)].append(added)
        for i, root in enumerate(self.dataset.subset.roots):
            tp = plans[self.schema.table(root.table).key]
            added = self._select_root(i, tp)
            if added.height:
                pending[(tp.table.key, True)].append(added)

        rounds = 0
        while pending:
            rounds += 1
            work, pending = pending, defaultdict(list)
            for (key, downward), frames in sorted(work.items()):
                new = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
                self._expand(plans[key], new, downward, pending)
            self.console.detail(
                f"closure round {rounds}: "
                + ", ".join(f"{k}={tp.rows}" for k, tp in plans.items() if tp.rows)
            )
        return SubsetPlan(
            self.schema, plans, null_fks, rounds, time.perf_counter() - started, self.fetches
        )

    def _null_fks(self, included: set[str]) -> list[ForeignKey]:
        result = []
        for fk, rule in self.rules.items():
            if fk.table.key not in included:
                continue
            if fk.ref_table.key not in included:
                if not all(self._nullable(fk, c) for c in fk.columns):
                    raise SubsetError(
                        f"`{fk.ref_table}` is excluded, but {fk} is NOT NULL",
                        hint=f"Exclude `{fk.table}` too, or do not exclude `{fk.ref_table}`.",
                    )
                result.append(fk)
            elif rule.on_missing_parent is MissingParent.set_null:
                result.append(fk)
        return result

    def _select_root(self, index: int, tp: TablePlan) -> pl.DataFrame:
        root = self.dataset.subset.roots[index]
        where = None
        if root.where:
            where = parse_where(
                root.where, tp.table, self.source.dialect, origin=f"subset.roots[{index}].where"
            )
        sample = Sample(root.percent, self.dataset.seed) if root.percent is not None else None
        order = list(tp.table.row_identity) if root.limit else None
        limit = root.limit
        budget = self._budget_left(tp)
        if budget is not None:
            limit = budget if limit is None else min(limit, budget)
            order = list(tp.table.row_identity)
        rows = self.source.select(
            tp.table,
            tp.table.column_names,
            where=where,
            sample=sample,
            limit=limit,
            order_by=order,
        )
        self.fetches += 1
        if rows.num_rows == 0:
            if tp.source_rows == 0:
                self.console.warn(f"root table `{tp.table.key}` is empty in the source")
            else:
                parts = [
                    f"{k}={v}"
                    for k, v in (
                        ("where", root.where),
                        ("percent", root.percent),
                        ("limit", root.limit),
                    )
                    if v is not None
                ]
                raise SubsetError(
                    f"subset.roots[{index}] selects no rows of `{tp.table.key}` "
                    f"({', '.join(parts) or 'no filter'}; the table has {tp.source_rows} rows)",
                    hint="Loosen the where clause or raise percent.",
                )
        return self._add(tp, rows, "root")

    def _budget_left(self, tp: TablePlan) -> int | None:
        budgets = {self.schema.table(k).key: v for k, v in self.dataset.subset.budgets.items()}
        if tp.table.key not in budgets:
            return None
        return max(budgets[tp.table.key] - tp.rows, 0)

    def _key_frame(self, tp: TablePlan, rows: pa.Table) -> pl.DataFrame:
        """The key columns of ``rows`` with their row positions, minus rows already selected."""
        import polars as pl

        identity = list(tp.table.row_identity)
        keys: pl.DataFrame = pl.from_arrow(rows.select(tp.key_columns))  # type: ignore[assignment]
        keys = keys.with_row_index(_ROW)
        keys = keys.unique(subset=identity, keep="first", maintain_order=True)
        if tp.chunks and keys.height:
            have = tp.frame().select(identity)
            keys = keys.cast(dict(have.schema), strict=False)  # type: ignore[arg-type]
            keys = keys.join(have, on=identity, how="anti", nulls_equal=True)
        return keys

    def _add(
        self,
        tp: TablePlan,
        rows: pa.Table | pa.RecordBatch,
        reason: str,
        keys: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Select the rows not selected yet: spill them whole, keep their key frame; return
        the key frame of the newly added rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if isinstance(rows, pa.RecordBatch):
            rows = pa.Table.from_batches([rows])
        if keys is None:
            keys = self._key_frame(tp, rows)
        if keys.height == 0:
            return keys.drop(_ROW)
        if keys.height < rows.num_rows or not keys[_ROW].is_sorted():
            rows = rows.take(keys[_ROW].to_arrow())
        frame = keys.drop(_ROW)
        path = self.spill_dir / f"{len(self._spilled):06d}.parquet"
        self._spilled.append(path)
        # Scratch files, read once by extraction: cheap to write beats small.
        pq.write_table(rows, path, compression="lz4", use_dictionary=False, write_statistics=False)
        tp.spill.append(path)
        tp.chunks.append(frame)
        tp.reasons[reason] += frame.height
        return frame

    def _fetch(
        self, tp: TablePlan, match: tuple[str, ...], keys: pl.DataFrame
    ) -> Iterable[pa.RecordBatch]:
        """Whole rows of ``tp`` matching ``keys``, streamed (no order: sorted at extraction)."""
        self.fetches += 1
        return self.source.fetch_matching(
            tp.table, tp.table.column_names, list(match), keys.to_arrow()
        )

    def _expand(
        self,
        tp: TablePlan,
        new: pl.DataFrame,
        downward: bool,
        pending: dict[tuple[str, bool], list[pl.DataFrame]],
    ) -> None:
        import polars as pl
        import pyarrow as pa

        # Parents: always (integrity), except nullable FKs configured to be nulled.
        for fk in tp.table.foreign_keys:
            parent = self.plans.get(fk.ref_table.key)
            if parent is None or self.rules[fk].on_missing_parent is MissingParent.set_null:
                continue
            values = new.select(list(fk.columns)).drop_nulls().unique()
            if values.height == 0:
                continue
            values = values.rename(dict(zip(fk.columns, fk.ref_columns, strict=True)))
            if parent.chunks:
                have = parent.frame().select(list(fk.ref_columns)).drop_nulls()
                values = values.cast(dict(have.schema), strict=False)  # type: ignore[arg-type]
                values = values.join(have, on=list(fk.ref_columns), how="anti")
            if values.height == 0:
                continue
            found = 0
            for batch in self._fetch(parent, fk.ref_columns, values):
                found += batch.num_rows
                added = self._add(parent, batch, "parent")
                if added.height:
                    pending[(parent.table.key, False)].append(added)
            if found < values.height:
                # The source holds dangling references (typical of virtual keys); the
                # integrity check after writing names the FK and the count.
                self.console.warn(
                    f"{values.height - found} value(s) of {fk} have no parent row in the source"
                )

        if not downward:
            return
        for fk in self.schema.children_of(tp.table.key):
            child = self.plans.get(fk.table.key)
            rule = self.rules[fk]
            if child is None or child.mode is not TableMode.subset or not rule.follow_children:
                continue
            keys = new.select(list(fk.ref_columns)).drop_nulls().unique()
            if keys.height == 0:
                continue
            keys = keys.rename(dict(zip(fk.ref_columns, fk.columns, strict=True)))
            budget = self._budget_left(child)
            if budget == 0:
                continue
            batches = self._fetch(child, fk.columns, keys)
            if rule.max_children is None and budget is None:
                for batch in batches:
                    added = self._add(child, batch, "child")
                    if added.height:
                        pending[(child.table.key, True)].append(added)
                continue
            # Capped: the lowest row identities per parent, then within the budget.
            parts = [b for b in batches if b.num_rows]
            if not parts:
                continue
            rows = pa.Table.from_batches(parts)
            frame = self._key_frame(child, rows).sort(list(child.table.row_identity))
            before = frame.height
            if rule.max_children is not None:
                frame = frame.filter(
                    pl.int_range(pl.len()).over(list(fk.columns)) < rule.max_children
                )
            if budget is not None:
                frame = frame.head(budget)
            child.capped += before - frame.height
            added = self._add(child, rows, "child", keys=frame)
            if added.height:
                pending[(child.table.key, True)].append(added)


_ROW = "__sandboxer_row"
