"""The pipeline run end to end in a process sandbox: steps in the sandbox, outputs exported,
run.json, failing steps, data and code tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandboxer.config.pipeline import Pipeline
from sandboxer.console import Console
from sandboxer.pipeline.datatests import run_code_tests, run_data_tests
from sandboxer.pipeline.errors import TranspileError
from sandboxer.pipeline.runner import STAGING_DIR, RunResult, run_pipeline
from tests.pipeline.conftest import shop_pipeline


class Recorder(Console):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def step(self, message: str) -> None:
        self.lines.append(f"- {message}")

    def warn(self, message: str) -> None:
        self.lines.append(f"Warning: {message}")


def run(
    sandbox: tuple[Any, str], tmp_path: Path, pipeline: dict[str, Any] | None = None
) -> tuple[RunResult, Recorder]:
    context, name = sandbox
    console = Recorder()
    result = run_pipeline(
        context.sandboxes,
        name,
        pipeline=(
            Pipeline.model_validate(pipeline) if pipeline is not None else context.project.pipeline
        ),
        project_dir=context.project_dir,
        engine="duckdb",
        run_dir=tmp_path / "run",
        console=console,
    )
    return result, console


def sandbox_count(sandbox: tuple[Any, str], sql: str) -> int:
    context, name = sandbox
    db = context.sandboxes.status(name).connections["duckdb"]
    con = duckdb.connect(db, read_only=True)
    try:
        row = con.execute(sql).fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_example_pipeline(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    result, console = run(process_sandbox, tmp_path)
    assert result.ok, (result.error, console.lines)
    context, _ = process_sandbox
    # Lineage put staging first (marts read its tables), files inside it by lineage too.
    assert [s.name for s in result.steps] == ["staging", "marts", "features"]
    assert result.steps[1].depends_on == ["staging"] and result.steps[1].inferred
    assert all(s.status == "passed" and s.seconds is not None for s in result.steps)
    customers = sandbox_count(process_sandbox, "select count(*) from customers")
    sold = sandbox_count(
        process_sandbox,
        "select count(distinct i.product_id) from order_items i join orders o "
        "on o.id = i.order_id where o.status not in ('cancelled', 'pending')",
    )
    countries = sandbox_count(process_sandbox, "select count(distinct country_code) from customers")
    rows = {name: o.rows for name, o in result.outputs.items()}
    assert rows == {
        "customer_revenue": customers,
        "product_sales": sold,
        "country_summary": countries,
    }
    out = tmp_path / "run" / "outputs"
    assert sorted(p.name for p in out.iterdir()) == [
        "country_summary.parquet",
        "customer_revenue.parquet",
        "product_sales.parquet",
    ]
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["status"] == "passed" and manifest["run_id"] == "run"
    info = context.sandboxes.status("pipe")
    assert manifest["snapshot_id"] == info.snapshot_id and manifest["dataset"] == "shop"
    assert manifest["backend"] == "process" and manifest["template"] == "python-duckdb"
    assert manifest["engine"] == "duckdb" and manifest["dialect"] == "postgres"
    assert manifest["git"] == {"commit": None, "dirty": None}  # tmp dir: not a repository
    assert [s["name"] for s in manifest["steps"]] == ["staging", "marts", "features"]
    revenue = manifest["outputs"]["customer_revenue"]
    assert len(revenue["sha256"]) == 64 and revenue["key"] == ["customer_id"]
    assert {"name": "revenue", "type": "decimal128(14, 2)"} in revenue["columns"]
    assert (tmp_path / "run" / "logs" / "features.log").read_text().startswith("country_summary")
    # Step output was streamed; the staging directory is gone.
    assert any("country_summary:" in line for line in console.lines)
    assert not (context.project_dir / STAGING_DIR).exists()

    tests = run_data_tests(context.project.pipeline, out)
    assert [t.status for t in tests] == ["passed"] * len(tests), [t.to_json() for t in tests]
    assert len(tests) == 10  # not_null gives one result per column


def test_failing_step_stops_the_run(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    pipeline = shop_pipeline()
    pipeline["steps"] = [
        *pipeline["steps"][:1],
        {"name": "check", "kind": "shell", "run": "echo checking; echo broken >&2; exit 3"},
        {
            "name": "after",
            "kind": "shell",
            "run": "touch should-not-exist",
            "depends_on": ["check"],
        },
    ]
    result, console = run(process_sandbox, tmp_path, pipeline)
    assert not result.ok and result.status == "failed"
    assert result.failed_step == "check"
    assert result.error == "Step `check` failed (exit 3)"
    by_name = {s.name: s for s in result.steps}
    assert by_name["staging"].status == "passed"
    assert by_name["check"].exit_code == 3 and by_name["check"].tail == ["checking", "broken"]
    assert by_name["after"].status == "skipped"
    context, _ = process_sandbox
    assert not (context.project_dir / "should-not-exist").exists()
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["status"] == "failed" and manifest["failed_step"] == "check"
    assert manifest["outputs"] == {}
    assert any("Step `check` failed" in line for line in console.lines)


def test_sql_error_names_file_and_line(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    context, _ = process_sandbox
    bad = context.project_dir / "pipeline" / "broken"
    bad.mkdir(exist_ok=True)
    (bad / "b.sql").write_text("select 1;\n\nselect * from no_such_table;\n")
    pipeline = {
        "dialect": "postgres",
        "steps": [{"name": "broken", "kind": "sql", "files": ["pipeline/broken/*.sql"]}],
    }
    result, _ = run(process_sandbox, tmp_path, pipeline)
    assert result.failed_step == "broken"
    tail = "\n".join(result.steps[0].tail)
    assert "pipeline/broken/b.sql:3" in tail and "no_such_table" in tail


def test_untranspilable_sql_fails_before_anything_runs(
    process_sandbox: tuple[Any, str], tmp_path: Path
) -> None:
    context, _ = process_sandbox
    locks = context.project_dir / "pipeline" / "locks"
    locks.mkdir(exist_ok=True)
    (locks / "l.sql").write_text("-- locking read\nselect id\nfrom orders\nfor update;\n")
    pipeline = {
        "dialect": "postgres",
        "steps": [
            {"name": "first", "kind": "shell", "run": "touch ran-first"},
            {"name": "locks", "kind": "sql", "files": ["pipeline/locks/*.sql"]},
        ],
    }
    with pytest.raises(TranspileError, match=r"pipeline/locks/l\.sql:2 cannot run on duckdb"):
        run(process_sandbox, tmp_path, pipeline)
    assert not (context.project_dir / "ran-first").exists()
    assert not (tmp_path / "run" / "run.json").exists()


def test_missing_table_output(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    pipeline = {
        "steps": [{"name": "noop", "kind": "shell", "run": "true"}],
        "outputs": {"ghost": {"table": "ghost_table"}},
    }
    result, _ = run(process_sandbox, tmp_path, pipeline)
    assert result.status == "failed" and result.failed_step is None
    assert result.error == "Exporting the outputs failed"


def test_stale_file_output_is_refused(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    context, _ = process_sandbox
    (context.project_dir / "old.csv").write_text("a\n1\n")
    pipeline = {
        "steps": [{"name": "noop", "kind": "shell", "run": "true"}],
        "outputs": {"old": {"file": "old.csv"}},
    }
    result, _ = run(process_sandbox, tmp_path, pipeline)
    assert result.status == "failed" and "not rewritten by this run" in (result.error or "")
    pipeline["steps"] = [
        {"name": "write", "kind": "shell", "run": "printf 'a\\n1\\n2\\n' > old.csv"}
    ]
    result, _ = run(process_sandbox, tmp_path / "again", pipeline)
    assert result.ok and result.outputs["old"].rows == 2  # CSV converted to Parquet


def test_step_timeout(process_sandbox: tuple[Any, str], tmp_path: Path) -> None:
    pipeline = {"steps": [{"name": "slow", "kind": "shell", "run": "sleep 30", "timeout": 1}]}
    result, _ = run(process_sandbox, tmp_path, pipeline)
    assert result.error == "Step `slow` timed out after 1s"


def test_code_tests(process_sandbox: tuple[Any, str]) -> None:
    context, name = process_sandbox
    ok = run_code_tests(
        context.sandboxes, name, "python3 -c 'import duckdb, os; os.environ[\"SANDBOXER_DUCKDB\"]'"
    )
    assert ok.ok and ok.name == "code_tests"
    failed = run_code_tests(context.sandboxes, name, "exit 2")
    assert failed.status == "failed" and "exited with 2" in failed.message


def test_git_state_of_a_repository() -> None:
    from sandboxer.pipeline.runner import git_state
    from tests.conftest import REPO

    state = git_state(REPO / "examples" / "shop")
    assert len(state["commit"]) == 40 and isinstance(state["dirty"], bool)
