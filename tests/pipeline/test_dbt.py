"""The example dbt project as a `dbt` step, unchanged, against the sandbox's DuckDB: with the
process backend when dbt is installed here, else in Docker with the dbt-duckdb template."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandboxer.config.pipeline import Pipeline
from sandboxer.console import NoopConsole
from sandboxer.context import Context
from sandboxer.pipeline.datatests import run_data_tests
from sandboxer.pipeline.runner import STAGING_DIR, run_pipeline

DBT_PIPELINE: dict[str, Any] = {
    "steps": [
        {"name": "seed-and-build", "kind": "dbt", "project": "dbt", "command": "build"},
        {
            "name": "docs",
            "kind": "dbt",
            "command": "ls --resource-type model",
            "depends_on": ["seed-and-build"],
        },
    ],
    "outputs": {
        "customer_lifetime": {"table": "customer_lifetime", "key": ["customer_id"]},
        "country_revenue": {"table": "country_revenue", "key": ["country_code"]},
    },
    "tests": [
        {"type": "unique", "output": "customer_lifetime", "columns": ["customer_id"]},
        {
            "type": "relationships",
            "output": "customer_lifetime",
            "column": "country_code",
            "to": "country_revenue",
            "field": "country_code",
        },
        {"type": "row_count", "output": "country_revenue", "min": 20, "max": 20},
    ],
}


def run_dbt(project: Path, backend: str, tmp_path: Path) -> None:
    context = Context(project / "sandboxer.yaml")
    context.sandboxes.create("dbt", template="dbt-duckdb", backend=backend)
    try:
        result = run_pipeline(
            context.sandboxes,
            "dbt",
            pipeline=context.project.pipeline,
            project_dir=context.project_dir,
            engine="duckdb",
            run_dir=tmp_path / "run",
            console=NoopConsole(),
        )
    finally:
        context.sandboxes.destroy("dbt")
    log = (tmp_path / "run" / "logs" / "seed-and-build.log").read_text()
    assert result.ok, (result.error, result.steps[-1].tail, log[-3000:])
    assert "Completed successfully" in log and "PASS=" in log
    assert result.outputs["country_revenue"].rows == 20
    assert result.outputs["customer_lifetime"].rows > 0
    models = (tmp_path / "run" / "logs" / "docs.log").read_text()
    assert "shop.marts.customer_lifetime" in models
    # dbt wrote its target/ and logs/ to the staging directory, not into the project.
    assert not (project / "dbt" / "target").exists() and not (project / "dbt" / "logs").exists()
    assert not (project / STAGING_DIR).exists()
    tests = run_data_tests(Pipeline.model_validate(DBT_PIPELINE), tmp_path / "run" / "outputs")
    assert all(t.ok for t in tests), [t.to_json() for t in tests]
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["template"] == "dbt-duckdb" and manifest["backend"] == backend


@pytest.mark.slow
def test_dbt_step_process(make_project: Callable[..., Path], tmp_path: Path) -> None:
    # Without dbt on the host, the process backend installs the template's dbt packages into
    # the sandbox's own venv: the test runs either way.
    run_dbt(make_project(DBT_PIPELINE), "process", tmp_path)


@pytest.mark.slow
def test_dbt_step_docker(
    make_project: Callable[..., Path],
    tmp_path: Path,
    docker_client: object,
    base_image_env: None,
) -> None:
    run_dbt(make_project(DBT_PIPELINE), "docker", tmp_path)
