"""`sandboxer test`, `baseline`, `compare`, `run` through the real CLI: exit codes 0/1/2/3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from examples.shop.generate import generate_shop, write_duckdb
from tests.conftest import REPO

KEY = "cli-pipeline-key-0123456789"
MART = Path("pipeline/sql/marts/customer_revenue.sql")


@pytest.fixture
def shop_project(tmp_path: Path) -> Path:
    """A git repository holding a copy of the shop example's pipeline and config."""
    project = tmp_path / "shop"
    shutil.copytree(
        REPO / "examples/shop/pipeline",
        project / "pipeline",
        ignore=shutil.ignore_patterns("out", "__pycache__"),
    )
    write_duckdb(generate_shop(customers=400, seed=3), project / "prod.duckdb")
    config = yaml.safe_load((REPO / "examples/shop/sandboxer.yaml").read_text())
    config["store"] = {"path": ".sandboxer"}
    config["datasets"] = {"shop": config["datasets"]["shop"]}
    config["datasets"]["shop"]["source"] = "duckdb:///prod.duckdb"
    config["datasets"]["shop"]["redact"]["key_env"] = "SANDBOXER_REDACTION_KEY"
    config["sandbox"] = {"dataset": "shop", "backend": "process"}
    (project / "sandboxer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / ".gitignore").write_text(".sandboxer/\n.sandboxer-run/\npipeline/out/\n*.duckdb\n")
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "v1"],
    ):
        subprocess.run(["git", *args], cwd=project, check=True)
    return project


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "SANDBOXER_REDACTION_KEY": KEY, **(env or {})}
    out = subprocess.run(
        [sys.executable, "-m", "sandboxer", "--config", str(project / "sandboxer.yaml"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env=env,
    )
    return out.returncode, out.stdout, out.stderr


def change_revenue(project: Path) -> None:
    mart = project / MART
    text = mart.read_text()
    assert "coalesce(sum(s.total), 0)::numeric(14, 2) AS revenue" in text
    mart.write_text(
        text.replace(
            "coalesce(sum(s.total), 0)::numeric(14, 2) AS revenue",
            "(coalesce(sum(s.total), 0) + 1)::numeric(14, 2) AS revenue",
        )
    )


def test_baseline_from_git_ref_then_test_passes_and_catches_a_change(shop_project: Path) -> None:
    code, out, err = run(shop_project, "--json", "baseline", "capture", "--ref", "HEAD")
    assert code == 0, err
    base = json.loads(out.strip().splitlines()[-1])
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=shop_project, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert base["commit"] == head and base["origin"] == "git ref HEAD"
    assert set(base["outputs"]) == {"customer_revenue", "product_sales", "country_summary"}

    code, out, err = run(shop_project, "--json", "test")
    assert code == 0, err
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["passed"] and outcome["compare"]["passed"]
    assert all(t["passed"] for t in outcome["tests"]) and len(outcome["tests"]) >= 5
    reports = {Path(p).name for p in outcome["reports"].values()}
    assert reports == {"compare.json", "compare.md", "compare.junit.xml", "compare.html"}

    # An unintended change in the working tree: the test fails (1), and the diff says where.
    change_revenue(shop_project)
    code, out, err = run(shop_project, "--json", "test")
    assert code == 1, err
    outcome = json.loads(out.strip().splitlines()[-1])
    table = {t["name"]: t for t in outcome["compare"]["tables"]}
    assert table["customer_revenue"]["status"] == "fail"
    modified = table["customer_revenue"]["rows"]["modified"]
    assert modified > 0 and table["product_sales"]["status"] == "pass"
    junit = (
        Path(outcome["reports"]["junit"]).read_text()
        if "junit" in outcome["reports"]
        else next(Path(p) for p in outcome["reports"].values() if p.endswith(".xml")).read_text()
    )
    assert "<failure" in junit and "customer_revenue" in junit
    # `compare` on the latest run agrees.
    code, out, _ = run(shop_project, "compare")
    assert code == 1 and "customer_revenue" in out

    # Declared as intended: it passes.
    config = yaml.safe_load((shop_project / "sandboxer.yaml").read_text())
    cmp = config["pipeline"]["outputs"]["customer_revenue"].setdefault("compare", {})
    cmp["expected"] = [{"column": "revenue", "kind": "values", "reason": "revenue + 1"}]
    country = config["pipeline"]["outputs"]["country_summary"].setdefault("compare", {})
    country["expected"] = [
        {"column": "revenue", "kind": "values"},
        {"column": "revenue_per_customer", "kind": "values"},
    ]
    (shop_project / "sandboxer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, out, err = run(shop_project, "test")
    assert code == 0, out + err


def test_usage_and_infrastructure_exit_codes(shop_project: Path) -> None:
    config = yaml.safe_load((shop_project / "sandboxer.yaml").read_text())
    config["pipeline"]["steps"][0]["knd"] = "sql"
    (shop_project / "sandboxer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, _, err = run(shop_project, "test")
    assert code == 2 and "knd" in err
    del config["pipeline"]["steps"][0]["knd"]
    (shop_project / "sandboxer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    code, _, err = run(shop_project, "test")  # no baseline yet: a usage problem, said so
    assert code == 2 and "baseline capture" in err

    # A template whose base image does not exist: infrastructure (3), sandbox cleaned up.
    templates = shop_project / "templates"
    templates.mkdir()
    (templates / "broken.yaml").write_text(
        "name: broken\nextends: python-duckdb\nimage: {base: 'sandboxer-no-such-image:0'}\n"
    )
    code, _, err = run(shop_project, "test", "--backend", "docker", "--template", "broken")
    if code == 3:
        assert "Traceback" not in err
        code, out, _ = run(shop_project, "--json", "list")
        assert json.loads(out)["sandboxes"] == []
    else:
        pytest.fail(f"expected exit 3, got {code}: {err[-500:]}")


def test_run_failure_names_the_step(shop_project: Path) -> None:
    (shop_project / MART).write_text("SELECT * FROM no_such_table;\n")
    code, _, err = run(shop_project, "run")
    assert code == 1 and "marts" in err


def test_key_rotation_flags_baselines_and_sandboxes_of_the_old_key(shop_project: Path) -> None:
    # Key 1: a baseline and a sandbox on its snapshot.
    code, out, err = run(shop_project, "--json", "baseline", "capture", "--ref", "HEAD")
    assert code == 0, err
    old = json.loads(out.strip().splitlines()[-1])
    code, _, err = run(shop_project, "create", "sb", "--dataset", "shop")
    assert code == 0, err
    # Rotate: a build with a new key records the new fingerprint.
    new_key = KEY + "-rotated"
    code, out, err = run(
        shop_project, "--json", "data", "build", env={"SANDBOXER_REDACTION_KEY": new_key}
    )
    assert code == 0, err
    built = json.loads(out.strip().splitlines()[-1])
    code, out, _ = run(shop_project, "--json", "data", "show", built["id"])
    assert new_key not in out
    try:
        # The sandbox still holds the old key's pseudonyms: status and list say so.
        code, out, err = run(shop_project, "status", "sb")
        assert code == 0 and "older key" in err and "sandboxer create sb --dataset shop" in err
        assert old["snapshot_id"] in err
        code, out, err = run(shop_project, "list")
        assert code == 0 and "(older key)" in out and "older key" in err
        # `test` against the old baseline warns that keyed outputs will drift.
        code, out, err = run(
            shop_project, "--json", "test", "--baseline", old["id"],
            env={"SANDBOXER_REDACTION_KEY": new_key},
        )  # fmt: skip
        assert code in (0, 1), err
        assert "Pseudonyms differ between keys" in err and old["id"] in err
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["warnings"] and built["id"] in outcome["warnings"][0]
        # After recreating the sandbox nothing is flagged; the keys never reach the output.
        code, _, err = run(shop_project, "create", "sb", "--dataset", "shop", "--replace")
        assert code == 0, err
        code, out, err = run(shop_project, "status", "sb")
        assert code == 0 and "older key" not in err and built["id"] in out
        assert KEY not in out + err and new_key not in out + err
    finally:
        run(shop_project, "destroy", "sb")
