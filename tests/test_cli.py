"""The CLI: commands, exit codes (0 ok, 1 failure, 2 usage), messages, --json, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandboxer.cli.main import cli
from tests.factories import make_duckdb


@pytest.fixture(autouse=True)
def redaction_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "test-key-0123456789abcdef"
    monkeypatch.setenv("SANDBOXER_REDACTION_KEY", key)
    return key


@pytest.fixture
def project(tmp_path: Path) -> Path:
    make_duckdb(tmp_path / "prod.duckdb")
    (tmp_path / "sandboxer.yaml").write_text(
        textwrap.dedent("""
        version: 1
        datasets:
          shop:
            source: duckdb:///prod.duckdb
            seed: 3
            keys:
              foreign:
                - {table: customer, columns: [referred_by], references: customer}
            subset:
              roots:
                - table: customer
                  percent: 10
              tables:
                region: all
    """)
    )
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(project / "sandboxer.yaml"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_build_list_show_verify_rm_gc(project: Path) -> None:
    code, out, err = run(project, "data", "build")
    assert code == 0, err
    assert "integrity ok" in out
    code, out, _ = run(project, "--json", "data", "build")
    result = json.loads(out.strip().splitlines()[-1])
    sid = result["id"]
    assert code == 0 and result["dataset"] == "shop" and result["totals"]["rows"] > 0
    code, out, _ = run(project, "--json", "data", "list")
    listed = json.loads(out)["snapshots"]
    assert [s["id"] for s in listed] == [sid] and listed[0]["latest"]
    code, out, _ = run(project, "data", "show", "latest")
    assert code == 0 and sid in out and "0 FK orphans" in out
    code, out, _ = run(project, "data", "verify", sid[:8])
    assert code == 0 and "intact" in out
    # Break a file: verify exits 1 and names it.
    manifest = json.loads((project / ".sandboxer/snapshots" / sid / "manifest.json").read_text())
    bad = manifest["tables"]["orders"]["file"]
    (project / ".sandboxer/snapshots" / sid / bad).write_bytes(b"corrupt")
    code, _, err = run(project, "data", "verify", sid)
    assert code == 1 and bad in err and "Traceback" not in err
    code, out, _ = run(project, "data", "rm", sid)
    assert code == 0 and sid in out
    (project / ".sandboxer/tmp/build-shop-dead").mkdir(parents=True)
    code, out, _ = run(project, "data", "gc")
    assert code == 0 and "tmp/build-shop-dead" in out


def test_scan_prints_graph(project: Path) -> None:
    code, out, err = run(project, "data", "scan", "--dataset", "shop")
    assert code == 0, err
    assert "customer" in out and "Cycle: customer" in out
    assert "Unreachable from the roots" in out and "audit_log" not in out.split("Unreachable")[1]
    code, out, _ = run(
        project, "--json", "data", "scan", str(project / "prod.duckdb").join(["duckdb:///", ""])
    )
    report = json.loads(out)
    assert report["tables"]["items"]["primary_key"] == ["order_id", "line"]
    assert report["tables"]["items"]["foreign_keys"][1]["ref_columns"] == ["sku"] or report[
        "tables"
    ]["items"]["foreign_keys"][0]["ref_columns"] == ["sku"]
    assert report["suggested_root"] == "customer"


def test_errors_are_one_line_with_exit_codes(project: Path, tmp_path: Path) -> None:
    code, _, err = run(project, "data", "build", "shpo")
    assert code == 1 and "Error: Unknown dataset `shpo`" in err and "Did you mean `shop`" in err
    code, _, err = run(project, "data", "show", "nope")
    assert code == 1 and "No snapshot or dataset `nope`" in err
    code, _, err = run(project, "data", "frobnicate")
    assert code == 2 and "No such command" in err
    code, _, err = run(tmp_path / "missing", "data", "build")
    assert code == 1 and "sandboxer init" in err
    (project / "sandboxer.yaml").write_text("version: 1\ndatasets:\n  shop:\n    sorce: x\n")
    code, _, err = run(project, "data", "build")
    assert code == 1 and "sorce" in err and "Traceback" not in err


def test_unreachable_database_is_a_clear_error(project: Path) -> None:
    (project / "sandboxer.yaml").write_text(
        "version: 1\ndatasets:\n  x:\n    source: postgresql://app:s3cr3t@127.0.0.1:1/db\n"
    )
    code, _, err = run(project, "data", "build")
    assert code == 1 and "127.0.0.1" in err
    assert "s3cr3t" not in err and "Traceback" not in err


def test_init_writes_a_config_that_builds(tmp_path: Path) -> None:
    url = make_duckdb(tmp_path / "prod.duckdb")
    code, _, err = run(tmp_path, "init", "--source", url)
    assert code == 0, err
    text = (tmp_path / "sandboxer.yaml").read_text()
    assert "table: customer" in text and "region: all" in text
    code, _, err = run(tmp_path, "init", "--source", url)
    assert code == 1 and "--force" in err
    code, _out, err = run(tmp_path, "data", "build")
    assert code == 0, err


def test_init_on_a_tiny_source_writes_a_config_that_builds(tmp_path: Path) -> None:
    """A root of a few rows: a hashed 10 % of it selected nothing and the build stopped."""
    url = make_duckdb(
        tmp_path / "tiny.duckdb",
        "CREATE TABLE owner (id INTEGER PRIMARY KEY, label VARCHAR);"
        "CREATE TABLE item (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owner(id));"
        "INSERT INTO owner VALUES (1, 'x');"
        "INSERT INTO item VALUES (1, 1), (2, 1);",
    )
    code, _, err = run(tmp_path, "init", "--source", url)
    assert code == 0, err
    assert "percent: 100" in (tmp_path / "sandboxer.yaml").read_text()
    code, _out, err = run(tmp_path, "data", "build", "--throwaway-key")
    assert code == 0, err


def test_init_keeps_passwords_out_of_the_file(tmp_path: Path) -> None:
    from sandboxer.build.starter import starter_config

    text = starter_config("postgresql://app:hunter2@db:5432/prod", None)
    assert "hunter2" not in text and "${SANDBOXER_SOURCE_PASSWORD}" in text


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, sandboxer.cli.main as m\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(m.cli, ['--help'])\n"
        "heavy = {'polars', 'pyarrow', 'duckdb', 'docker'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "sandboxer, version" in result.stdout
