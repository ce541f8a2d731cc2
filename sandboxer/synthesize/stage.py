"""Synthesis as a build stage: whole synthetic tables, or synthetic rows added to the subset.

It runs before redaction, so synthetic rows go through the same keyed rules as real ones (keys
keep joining). Before publishing, it checks that no synthetic row is identical to a real row of
the source (the share must be 0) and records distance-to-closest-record statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.synthesize import SynthesizeConfig, SynthesizeMode
from sandboxer.errors import ConfigError, SandboxerError
from sandboxer.snapshot.stage import BuildContext, Stage
from sandboxer.sources.schema import Table

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

PRIVACY_REFERENCE_ROWS = 20_000


class SynthesizeStage(Stage):
    name = "synthesize"

    def __init__(self, cfg: SynthesizeConfig, base: Path) -> None:
        self.cfg = cfg
        self.base = base
        self.streams: dict[str, Iterator[pa.RecordBatch]] = {}
        self.added: dict[str, pl.DataFrame] = {}
        self.generated: dict[str, int] = {}
        self.privacy: dict[str, Any] = {}
        self.ctx: BuildContext | None = None

    def _profile(self, ctx: BuildContext) -> dict[str, Any]:
        if self.cfg.profile:
            path = Path(self.cfg.profile)
            path = path if path.is_absolute() else self.base / path
            try:
                profile: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ConfigError(
                    f"Cannot read the synthesis profile {path}: {e}",
                    hint="Write one with `sandboxer data profile -o FILE`.",
                ) from None
            return profile
        from sandboxer.profile import profile_source

        ctx.console.step("Profiling the source for synthesis")
        result: dict[str, Any] = profile_source(ctx.source, ctx.schema, seed=ctx.dataset.seed)
        return result

    def start(self, ctx: BuildContext) -> None:
        import polars as pl
        import pyarrow as pa

        from sandboxer.snapshot.manifest import TableSchema
        from sandboxer.subset.extract import extract
        from sandboxer.synthesize import fill_in, generate

        self.ctx = ctx
        profile = self._profile(ctx)
        meta = {
            k: TableSchema.from_table(t).to_dict()
            for k, t in ctx.schema.tables.items()
            if k in ctx.plan.tables
        }
        for k, table_meta in meta.items():
            # The Arrow types the source yields, so synthetic columns have exactly the real
            # columns' types (lists stay lists, JSON text stays text).
            types = _arrow_schema(ctx, k)
            for column in table_meta["columns"]:
                if column["name"] in types.names:
                    column["type"] = types.field(column["name"]).type
        if self.cfg.mode is SynthesizeMode.tables:
            names = [ctx.schema.table(t).key for t in self.cfg.tables] if self.cfg.tables else None
            self.streams = generate(
                profile,
                meta,
                scale=self.cfg.scale,
                seed=ctx.dataset.seed,
                tables=names,
                edge_cases=self.cfg.edge_cases,
                locale=self.cfg.locale,
            )
            missing = sorted(set(self.streams) - set(ctx.plan.tables))
            if missing:
                raise ConfigError(
                    f"Synthesis generates {', '.join(missing)}, which the dataset excludes",
                    hint="Do not exclude tables that are synthesized.",
                )
            return
        for fill in self.cfg.fill:
            key = ctx.schema.table(fill.table).key
            needed = {key} | {fk.ref_table.key for fk in ctx.schema.tables[key].foreign_keys}
            existing = {}
            for name in sorted(needed & set(ctx.plan.tables)):
                batches = list(extract(ctx.source, ctx.plan, name))
                existing[name] = pl.from_arrow(pa.Table.from_batches(batches)).lazy()  # type: ignore[union-attr]
            new = fill_in(
                existing,
                profile,
                meta,
                table=key,
                rows=fill.rows,
                seed=ctx.dataset.seed,
                where=fill.where,
                locale=self.cfg.locale,
            )
            for name, frame in new.items():
                prior = self.added.get(name)
                self.added[name] = (
                    frame if prior is None else pl.concat([prior, frame], how="vertical_relaxed")
                )

    def process(self, table: Table, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        key = table.key
        if key in self.streams:
            count = 0
            for batch in self.streams[key]:
                count += batch.num_rows
                yield batch
            self.generated[key] = count
            return
        schema = None
        for batch in batches:
            schema = batch.schema
            yield batch
        extra = self.added.get(key)
        if extra is not None and extra.height:
            arrow = extra.to_arrow()
            if schema is not None:
                arrow = arrow.select(schema.names).cast(schema)
            yield from arrow.to_batches()
            self.generated[key] = extra.height

    def check_output(self, files: dict[str, Path]) -> None:
        """No synthetic row may be a copy of a real row of the source."""
        import polars as pl

        from sandboxer.profile import synthetic_privacy

        assert self.ctx is not None
        for key in sorted(self.generated):
            table = self.ctx.schema.tables[key]
            real = pl.from_arrow(
                self.ctx.source.select(table, table.column_names, limit=PRIVACY_REFERENCE_ROWS)
            ).lazy()  # type: ignore[union-attr]
            synthetic = (
                pl.scan_parquet(files[key]) if key in self.streams else self.added[key].lazy()
            )
            columns = [c for c in table.column_names if c in synthetic.collect_schema()]
            report = synthetic_privacy(real, synthetic, columns)
            self.privacy[key] = report
            if report.get("exact_matches"):
                raise SandboxerError(
                    f"{report['exact_matches']} synthetic row(s) of `{key}` are identical to "
                    "real rows; nothing was published",
                    hint="Raise the profile's thresholds or synthesize fewer columns exactly.",
                )

    def report(self) -> dict[str, Any]:
        return {
            "mode": self.cfg.mode.value,
            "scale": self.cfg.scale,
            "rows": dict(sorted(self.generated.items())),
            "privacy": self.privacy,
        }


def _arrow_schema(ctx: BuildContext, key: str) -> pa.Schema:
    """The Arrow schema of a table as the source yields it: from the subset's spilled rows, or
    an empty read of the source when the subset selected none."""
    import pyarrow.parquet as pq

    tp = ctx.plan.tables[key]
    if tp.rows and tp.spill:
        return pq.read_schema(tp.spill[0])
    return ctx.source.select(tp.table, tp.table.column_names, limit=0).schema
