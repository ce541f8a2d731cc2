"""Fixtures of the pipeline tests: a copy of the shop example (its pipeline, dbt project and
the `pipeline:` block of its sandboxer.yaml) over a small generated shop database."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

SHOP = REPO / "examples" / "shop"


def shop_pipeline() -> dict[str, Any]:
    """The `pipeline:` block of examples/shop/sandboxer.yaml, as plain data."""
    text = (SHOP / "sandboxer.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text)["pipeline"])


def write_config(project: Path, pipeline: dict[str, Any] | None = None) -> Path:
    """A sandboxer.yaml for the small shop with the given pipeline block (default: the
    example's)."""
    config = {
        "version": 1,
        "datasets": {
            "shop": {
                "source": "duckdb:///prod.duckdb",
                "seed": 42,
                "subset": {
                    "roots": [{"table": "customers", "percent": 50}],
                    "tables": {"countries": "all", "products": "all"},
                    "relations": [
                        {"table": "customers", "columns": ["referred_by"], "follow_children": False}
                    ],
                },
                "redact": {"mode": "off"},
            }
        },
        "pipeline": shop_pipeline() if pipeline is None else pipeline,
    }
    path = project / "sandboxer.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small shop database (300 customers), generated once per session."""
    from examples.shop.generate import generate_shop, write_duckdb

    path = tmp_path_factory.mktemp("shopdb") / "prod.duckdb"
    write_duckdb(generate_shop(customers=300, seed=7), str(path))
    return path


def copy_shop(target: Path, shop_db: Path) -> Path:
    """The shop example's pipeline and dbt project plus the small database, in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SHOP / "pipeline", target / "pipeline", ignore=_ignore)
    shutil.copytree(SHOP / "dbt", target / "dbt", ignore=_ignore)
    shutil.copy(shop_db, target / "prod.duckdb")
    write_config(target)
    return target


def _ignore(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("out", "target", "logs", "__pycache__")]


@pytest.fixture
def make_project(tmp_path: Path, shop_db: Path) -> Callable[..., Path]:
    """``make_project(pipeline=None)``: a project dir with the shop copied in."""

    def make(pipeline: dict[str, Any] | None = None, name: str = "proj") -> Path:
        project = copy_shop(tmp_path / name, shop_db)
        if pipeline is not None:
            write_config(project, pipeline)
        return project

    return make


@pytest.fixture(scope="module")
def process_sandbox(
    tmp_path_factory: pytest.TempPathFactory, shop_db: Path
) -> Iterator[tuple[Any, str]]:
    """A process sandbox over the shop project, shared by a module: ``(context, name)``.
    Tests that change the pipeline pass their own ``pipeline=`` to ``run_pipeline``."""
    from sandboxer.context import Context

    project = copy_shop(tmp_path_factory.mktemp("shop") / "proj", shop_db)
    context = Context(project / "sandboxer.yaml")
    context.sandboxes.create("pipe", backend="process")
    try:
        yield context, "pipe"
    finally:
        context.sandboxes.destroy("pipe")


@pytest.fixture
def base_image_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOXER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv(
        "SANDBOXER_BASE_IMAGE", os.environ.get("SANDBOXER_BASE_IMAGE", "sandboxer-base:bookworm")
    )
