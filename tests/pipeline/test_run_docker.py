"""The example pipeline in a Docker sandbox: the workspace user (1000) writes the staging
directory and the file output's directory in a project it does not own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sandboxer.console import NoopConsole
from sandboxer.context import Context
from sandboxer.pipeline.datatests import run_data_tests
from sandboxer.pipeline.runner import STAGING_DIR, run_pipeline
from tests.pipeline.conftest import shop_pipeline


def test_example_pipeline_in_docker(
    make_project: Callable[..., Path], tmp_path: Path, docker_client: object, base_image_env: None
) -> None:
    project = make_project()
    context = Context(project / "sandboxer.yaml")
    info = context.sandboxes.create("pipe", backend="docker")
    try:
        result = run_pipeline(
            context.sandboxes,
            "pipe",
            pipeline=context.project.pipeline,
            project_dir=context.project_dir,
            engine="duckdb",
            run_dir=tmp_path / "run",
            console=NoopConsole(),
        )
        staging_only = run_pipeline(
            context.sandboxes,
            "pipe",
            pipeline=context.project.pipeline.model_copy(
                update={"steps": context.project.pipeline.steps[:1], "outputs": {}}
            ),
            project_dir=context.project_dir,
            engine="duckdb",
            run_dir=tmp_path / "staging-only",
            console=NoopConsole(),
        )
    finally:
        context.sandboxes.destroy("pipe")
    assert result.ok, (result.error, [s.tail for s in result.steps])
    assert staging_only.ok and [s.name for s in staging_only.steps] == ["staging"]
    customers = info.load["tables"]["customers"]["rows"]
    assert result.outputs["customer_revenue"].rows == customers
    assert result.outputs["product_sales"].rows > 0
    assert result.outputs["country_summary"].rows > 0
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["backend"] == "docker" and manifest["snapshot_id"] == info.snapshot_id
    assert [s["status"] for s in manifest["steps"]] == ["passed"] * 3
    assert not (project / STAGING_DIR).exists()
    tests = run_data_tests(context.project.pipeline, tmp_path / "run" / "outputs")
    assert all(t.ok for t in tests), [t.to_json() for t in tests]


@pytest.mark.slow
def test_sql_pipeline_on_postgres(
    make_project: Callable[..., Path], tmp_path: Path, docker_client: object, base_image_env: None
) -> None:
    """The same postgres-dialect SQL run as written by psql in a PostgreSQL sandbox; tables
    exported from the host through the published port."""
    pipeline = shop_pipeline()
    pipeline["steps"] = pipeline["steps"][:2]
    pipeline["outputs"] = {k: v for k, v in pipeline["outputs"].items() if "table" in v}
    pipeline["tests"] = [t for t in pipeline["tests"] if t.get("output") != "country_summary"]
    project = make_project(pipeline)
    context = Context(project / "sandboxer.yaml")
    info = context.sandboxes.create("pg", template="postgres", backend="docker")
    try:
        result = run_pipeline(
            context.sandboxes,
            "pg",
            pipeline=context.project.pipeline,
            project_dir=context.project_dir,
            engine="postgres",
            run_dir=tmp_path / "run",
            console=NoopConsole(),
        )
    finally:
        context.sandboxes.destroy("pg")
    assert result.ok, (result.error, [s.tail for s in result.steps])
    assert result.outputs["customer_revenue"].rows == info.load["tables"]["customers"]["rows"]
    revenue = {c["name"]: c["type"] for c in result.outputs["customer_revenue"].columns}
    assert revenue["revenue"] == "decimal128(14, 2)" and revenue["orders"] == "int32"
    tests = run_data_tests(context.project.pipeline, tmp_path / "run" / "outputs")
    assert all(t.ok for t in tests), [t.to_json() for t in tests]
