"""The process backend: a venv and a DuckDB file, not isolated; same lifecycle as docker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.errors import SandboxerError
from sandboxer.sandbox import create_backend
from sandboxer.sandbox.base import SandboxSpec
from sandboxer.sandbox.process import ProcessBackend
from sandboxer.sandbox.state import StateStore, project_id
from sandboxer.sandbox.templates import load_template
from sandboxer.snapshot.store import LocalStore, SnapshotInfo
from tests.factories import dataset, make_duckdb


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> SnapshotInfo:
    d = tmp_path_factory.mktemp("snap")
    url = make_duckdb(d / "prod.duckdb")
    ds = dataset(url, roots=[{"table": "customer", "percent": 5}])
    return build_snapshot("shop", ds, LocalStore(d / "store"), NoopConsole())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    d = tmp_path / "proj"
    d.mkdir()
    return d


@pytest.fixture
def backend(tmp_path: Path) -> ProcessBackend:
    b = create_backend("process", store_root=tmp_path / "store")
    assert isinstance(b, ProcessBackend)
    return b


def spec(
    name: str, project: Path, snapshot: SnapshotInfo, template: str = "python-duckdb", **kw: Any
) -> SandboxSpec:
    return SandboxSpec(
        name=name,
        project=project_id(project),
        project_dir=project,
        template=load_template(template, project),
        snapshot=snapshot,
        **kw,
    )


COUNTS = (
    "import duckdb, json, os; con = duckdb.connect(os.environ['SANDBOXER_DUCKDB'], "
    "read_only=True); print(json.dumps({t: con.execute(f'select count(*) from \"{t}\"')"
    ".fetchone()[0] for (t,) in con.execute('select table_name from information_schema"
    ".tables').fetchall()}))"
)


def counts(backend: ProcessBackend, name: str, pid: str, capfd: Any) -> dict[str, int]:
    capfd.readouterr()
    assert backend.exec(name, pid, ["python", "-c", COUNTS]) == 0
    return dict(json.loads(capfd.readouterr().out.strip().splitlines()[-1]))


def manifest_rows(snapshot: SnapshotInfo) -> dict[str, int]:
    return {meta.name: meta.rows for meta in snapshot.manifest.tables.values()}


def test_create_exec_reset_destroy(
    backend: ProcessBackend, snapshot: SnapshotInfo, project: Path, capfd: Any
) -> None:
    pid = project_id(project)
    info = backend.create(spec("local", project, snapshot))
    assert info.state == "ready" and info.backend == "process"
    assert info.isolated is False and "not isolated" in (info.enter or "")
    assert info.load["ok"] and set(info.load["tables"]) == set(snapshot.manifest.tables)
    # The current interpreter has duckdb, polars and pyarrow: reused, nothing installed.
    assert info.resources["packages_installed"] == []
    assert sorted(info.resources["packages_reused"]) == ["duckdb", "polars", "pyarrow"]
    db = Path(info.connections["duckdb"])
    assert db.is_file() and db.is_relative_to(backend.states.sandbox_dir(pid, "local"))
    assert [(i.name, i.state) for i in backend.list(pid)] == [("local", "ready")]

    # exec: the venv's python, cwd the project, SANDBOXER_DUCKDB set.
    assert counts(backend, "local", pid, capfd) == manifest_rows(snapshot)
    probe = "import os, sys; print(sys.prefix); print(os.getcwd())"
    capfd.readouterr()
    assert backend.exec("local", pid, ["python", "-c", probe]) == 0
    prefix, cwd = capfd.readouterr().out.split()
    assert Path(prefix) == Path(info.resources["venv"]) and Path(cwd) == project.resolve()
    assert backend.exec("local", pid, ["sh", "-c", "exit 5"]) == 5

    change = "import duckdb, os; duckdb.connect(os.environ['SANDBOXER_DUCKDB']).execute(%r)"
    assert backend.exec("local", pid, ["python", "-c", change % "create table scratch(x int)"]) == 0
    backend.stop("local", pid)
    assert backend.status("local", pid).state == "stopped"
    with pytest.raises(SandboxerError, match="stopped"):
        backend.exec("local", pid, ["true"])
    backend.start("local", pid)
    assert "scratch" in counts(backend, "local", pid, capfd)
    assert backend.reset("local", pid, snapshot).load["ok"]
    assert counts(backend, "local", pid, capfd) == manifest_rows(snapshot)

    backend.destroy("local", pid)
    assert backend.list(pid) == []
    assert not backend.states.sandbox_dir(pid, "local").exists()
    assert not backend.states.path(pid, "local").exists()


def test_collision_replace_and_postgres_refused(
    backend: ProcessBackend, snapshot: SnapshotInfo, project: Path
) -> None:
    pid = project_id(project)
    backend.create(spec("a", project, snapshot))
    with pytest.raises(SandboxerError, match="already exists") as e:
        backend.create(spec("a", project, snapshot))
    assert "--replace" in str(e.value)
    assert backend.create(spec("a", project, snapshot, replace=True)).state == "ready"
    with pytest.raises(SandboxerError, match="process backend cannot run") as e:
        backend.create(spec("pg", project, snapshot, template="postgres"))
    assert "--backend docker" in str(e.value)
    with pytest.raises(SandboxerError, match="No sandbox `b`"):
        backend.status("b", pid)
    backend.destroy("a", pid)


def test_hooks_run_in_the_project_with_the_venv(
    backend: ProcessBackend, snapshot: SnapshotInfo, project: Path
) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "hooked.yaml").write_text(
        "extends: python-duckdb\n"
        "hooks:\n"
        "  on_create:\n"
        "    - python -c 'import duckdb, os; print(os.environ[\"SANDBOXER_DUCKDB\"])'"
        " > created.txt\n"
        "  post_start:\n"
        "    - echo started >> started.txt\n"
    )
    backend.create(spec("h", project, snapshot, template="hooked"))
    assert (project / "created.txt").read_text().strip().endswith("sandbox.duckdb")
    assert (project / "started.txt").read_text() == "started\n"
    backend.start("h", project_id(project))
    assert (project / "started.txt").read_text() == "started\nstarted\n"
    backend.destroy("h", project_id(project))


def test_partial_create_is_never_ready_and_gc_removes_it(
    backend: ProcessBackend, snapshot: SnapshotInfo, project: Path, tmp_path: Path
) -> None:
    pid = project_id(project)
    # What a create killed after making its directory leaves: no state file.
    info = backend.create(spec("half", project, snapshot))
    backend.states.path(pid, "half").unlink()
    assert [(i.name, i.state) for i in backend.list(pid)] == [("half", "partial")]
    with pytest.raises(SandboxerError, match="interrupted create"):
        backend.create(spec("half", project, snapshot))
    # A docker sandbox's state file in the same store is not the process backend's business.
    StateStore(tmp_path / "store").write(
        pid, "other", {"backend": "docker", "name": "other", "project": pid}
    )
    assert backend.gc() == [f"{pid}/half"]
    assert not Path(info.resources["dir"]).exists()
    assert StateStore(tmp_path / "store").read(pid, "other") is not None
    # TTL
    backend.create(spec("old", project, snapshot, ttl_seconds=3600))
    assert backend.gc() == []
    state = backend.states.read(pid, "old")
    assert state is not None
    state["created_at"] = "2000-01-01T00:00:00+00:00"
    backend.states.write(pid, "old", {k: v for k, v in state.items() if k != "format"})
    assert backend.gc() == [f"{pid}/old"]


def test_project_id_and_state_files(tmp_path: Path) -> None:
    a = project_id(tmp_path / "My Project")
    assert a.startswith("my-project-") and len(a.split("-")[-1]) == 8
    assert project_id(tmp_path / "My Project") == a
    assert project_id(tmp_path / "x" / "My Project") != a
    states = StateStore(tmp_path / "store")
    path = states.write("p-1", "n", {"backend": "process", "name": "n", "project": "p-1"})
    assert path == tmp_path / "store" / "sandboxes" / "p-1" / "n.json"
    assert states.read("p-1", "n") == {
        "format": "sandboxer.sandbox/1",
        "backend": "process",
        "name": "n",
        "project": "p-1",
    }
    assert [s["name"] for s in states.list()] == ["n"]
    assert not list(path.parent.glob(".*.tmp"))
    states.delete("p-1", "n")
    assert states.read("p-1", "n") is None and not path.parent.exists()
    for bad in ("../x", "A", "", "a/b", "x" * 60):
        with pytest.raises(SandboxerError, match="Invalid sandbox name"):
            states.path("p-1", bad)
