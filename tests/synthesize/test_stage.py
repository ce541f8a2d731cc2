"""Synthesis inside real builds: rows added to a subset, whole synthetic datasets; integrity,
redaction and the no-copy check all apply."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.redact.secret_key import load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.snapshot.stage import Stage
from sandboxer.snapshot.store import LocalStore
from sandboxer.synthesize.stage import SynthesizeStage
from tests.factories import VIRTUAL_SELF_FK, make_duckdb


@pytest.fixture(scope="module")
def graph_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_duckdb(tmp_path_factory.mktemp("graph") / "prod.duckdb")


def build(tmp_path: Path, url: str, synthesize: dict, redact: bool = True):  # type: ignore[no-untyped-def]
    ds = Dataset.model_validate(
        {
            "source": url,
            "seed": 3,
            "keys": VIRTUAL_SELF_FK,
            "subset": {"roots": [{"table": "customer", "percent": 10}]},
            "synthesize": synthesize,
            "redact": {"mode": "auto" if redact else "off"},
        }
    )
    assert ds.synthesize is not None
    stages: list[Stage] = [SynthesizeStage(ds.synthesize, tmp_path)]
    if redact:
        key = load_key(env="K", file=None, base=tmp_path, environ={"K": "synth-key-0123456789"})
        stages.append(RedactStage(ds.redact, key, tmp_path))
    return build_snapshot("s", ds, LocalStore(tmp_path / "store"), NoopConsole(), stages=stages)


def table(info, name: str) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.read_parquet(info.path / info.manifest.tables[name].file)


def test_fill_in_adds_rows_that_join(tmp_path: Path, graph_url: str) -> None:
    plain = build(
        tmp_path / "plain", graph_url, {"mode": "fill_in", "fill": [{"table": "orders", "rows": 1}]}
    )
    info = build(
        tmp_path / "filled",
        graph_url,
        {"mode": "fill_in", "fill": [{"table": "orders", "rows": 120}]},
    )
    added = info.manifest.stages["synthesize"]["rows"]["orders"]
    assert added == 120
    assert table(info, "orders").height == table(plain, "orders").height - 1 + 120
    assert info.manifest.integrity.ok and info.manifest.integrity.fk_orphans == 0
    assert table(info, "orders")["id"].n_unique() == table(info, "orders").height
    assert info.manifest.stages["synthesize"]["privacy"]["orders"]["exact_matches"] == 0
    assert info.manifest.stages["redaction"]["gate"]["ok"]


def test_whole_synthetic_dataset_keeps_keys_and_scale(tmp_path: Path, graph_url: str) -> None:
    info = build(tmp_path, graph_url, {"mode": "tables", "scale": 0.5}, redact=False)
    rows = info.manifest.stages["synthesize"]["rows"]
    assert rows["customer"] == 1000 and rows["orders"] == 4500
    assert rows["region"] == 3  # small lookups keep their size
    assert info.manifest.integrity.ok and info.manifest.integrity.pk_duplicates == 0
    privacy = info.manifest.stages["synthesize"]["privacy"]
    assert all(p["exact_matches"] == 0 for p in privacy.values())
    again = build(tmp_path / "again", graph_url, {"mode": "tables", "scale": 0.5}, redact=False)
    assert again.id == info.id  # deterministic for the seed
