"""The ``synthesize:`` section of a dataset.

synthesize:
  mode: tables            # whole tables from the profile (default); or fill_in
  profile: profile.json   # optional: a profile file instead of profiling the source
  scale: 10               # 0.01 to 100 x the profiled row counts (mode: tables)
  tables: [orders]        # only these (and the tables they reference); default all
  edge_cases: true        # nulls, empty/unicode strings, extremes, duplicates
  locale: en_US           # fakes of PII columns
  fill:                   # mode: fill_in: synthetic rows added to the subset
    - {table: orders, rows: 1000}
    - {table: orders, rows: 50, where: "o_orderstatus = 'F'"}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from sandboxer.config.strict import Strict


class SynthesizeMode(StrEnum):
    tables = "tables"
    """Generate whole tables from the profile, replacing the subset's rows."""
    fill_in = "fill_in"
    """Keep the subset and add synthetic rows to the tables named in ``fill``."""


class Fill(Strict):
    table: str
    rows: Annotated[int, Field(ge=1)]
    where: str | None = None
    """A SQL condition the new rows satisfy (polars SQL), e.g. ``o_orderstatus = 'F'``."""


class SynthesizeConfig(Strict):
    mode: SynthesizeMode = SynthesizeMode.tables
    profile: str | None = None
    """A profile file (``sandboxer.profile/1`` JSON, relative to the config file); default: the
    source is profiled during the build."""
    scale: Annotated[float, Field(ge=0.01, le=100)] = 1.0
    tables: list[str] | None = None
    edge_cases: bool = False
    locale: str = "en_US"
    fill: list[Fill] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mode_fits(self) -> SynthesizeConfig:
        if self.mode is SynthesizeMode.fill_in and not self.fill:
            raise ValueError("mode fill_in needs at least one entry in `fill`")
        if self.mode is SynthesizeMode.tables and self.fill:
            raise ValueError("`fill` is only used with mode: fill_in")
        return self
