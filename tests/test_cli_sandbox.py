"""The sandbox commands end to end through the CLI: create, exec, list, reset, destroy, gc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.factories import make_duckdb

KEY = "cli-sandbox-key-0123456789"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_duckdb(tmp_path / "prod.duckdb")
    (tmp_path / "sandboxer.yaml").write_text(
        textwrap.dedent("""
        version: 1
        datasets:
          shop:
            source: duckdb:///prod.duckdb
            keys:
              foreign:
                - {table: customer, columns: [referred_by], references: customer}
            subset:
              roots: [{table: customer, percent: 10}]
              tables: {region: all}
    """)
    )
    monkeypatch.setenv("SANDBOXER_REDACTION_KEY", KEY)
    monkeypatch.setenv("SANDBOXER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv(
        "SANDBOXER_BASE_IMAGE", os.environ.get("SANDBOXER_BASE_IMAGE", "sandboxer-base:bookworm")
    )
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str, str]:
    """The real command in a subprocess: `exec` streams to the process's own stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "sandboxer", "--config", str(project / "sandboxer.yaml"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return result.returncode, result.stdout, result.stderr


def lifecycle(project: Path, backend: str) -> None:
    # No snapshot yet: create builds one first, then loads it.
    code, out, err = run(project, "--json", "create", "s1", "--backend", backend)
    assert code == 0, err
    info = json.loads(out.strip().splitlines()[-1])
    assert info["state"] == "ready" and info["backend"] == backend
    assert info["isolated"] is (backend == "docker")
    assert info["load"]["ok"] is True
    code, _, err = run(project, "create", "s1", "--backend", backend)
    assert code == 1 and "--replace" in err and "Traceback" not in err
    query = (
        "import os, duckdb; con = duckdb.connect(os.environ['SANDBOXER_DUCKDB']); "
        "print(con.execute('select count(*) from orders').fetchone()[0]); "
        "con.execute('delete from orders where true')"
    )
    code, out, err = run(project, "exec", "s1", "--", "python3", "-c", query)
    assert code == 0, err
    loaded = int(out.strip().splitlines()[-1])
    assert loaded == info["load"]["tables"]["orders"]["rows"] > 0
    code, out, _ = run(project, "exec", "s1", "--", "python3", "-c", "import sys; sys.exit(3)")
    assert code == 3
    # Reset reloads the data the exec just deleted.
    code, _, err = run(project, "reset", "s1")
    assert code == 0, err
    code, out, _ = run(project, "exec", "s1", "--", "python3", "-c", query.split("; con.exec")[0])
    assert int(out.strip().splitlines()[-1]) == loaded
    code, out, _ = run(project, "--json", "list")
    assert [s["name"] for s in json.loads(out)["sandboxes"]] == ["s1"]
    code, _, err = run(project, "destroy", "s1")
    assert code == 0, err
    code, out, _ = run(project, "--json", "list")
    assert json.loads(out)["sandboxes"] == []
    code, _, err = run(project, "status", "s1")
    assert code == 1 and "No sandbox `s1`" in err


def test_process_backend_lifecycle(project: Path) -> None:
    lifecycle(project, "process")


def test_docker_backend_lifecycle(project: Path, docker_client: object) -> None:
    try:
        lifecycle(project, "docker")
    finally:
        run(project, "destroy", "s1")


def test_bad_input(project: Path) -> None:
    code, _, err = run(project, "create", "Bad Name!", "--backend", "process")
    assert code == 1 and "Bad Name!" in err
    code, _, err = run(
        project, "create", "s2", "--template", "pyhton-duckdb", "--backend", "process"
    )
    assert code == 1 and "python-duckdb" in err
    code, _, err = run(project, "create", "s2", "--ttl", "soon", "--backend", "process")
    assert code == 1 and "duration" in err
    code, _, err = run(project, "create", "s2", "--backend", "kubernetes")
    assert code == 2
    code, _, err = run(project, "create", "s2", "--template", "postgres", "--backend", "process")
    assert code == 1 and "docker" in err
