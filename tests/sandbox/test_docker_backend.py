"""The Docker backend on a real engine: hardening read back from `docker inspect`, data loaded
and queried inside the sandbox, lifecycle, name collisions, kill -9 mid-create and gc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.errors import SandboxerError
from sandboxer.sandbox.base import SandboxSpec
from sandboxer.sandbox.docker import L_PROJECT, L_SANDBOX, DockerBackend
from sandboxer.sandbox.state import project_id
from sandboxer.snapshot.store import LocalStore, SnapshotInfo
from tests.factories import dataset, make_duckdb

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("SANDBOXER_BASE_IMAGE", "sandboxer-base:bookworm")
CA_BUNDLE = os.environ.get("SANDBOXER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
LABELS = (
    "io.sandboxer.sandbox",
    "io.sandboxer.project",
    "io.sandboxer.template",
    "io.sandboxer.created",
    "io.sandboxer.version",
    "io.sandboxer.role",
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOXER_BASE_IMAGE", BASE_IMAGE)
    if Path(CA_BUNDLE).is_file():
        monkeypatch.setenv("SANDBOXER_CA_BUNDLE", CA_BUNDLE)


@pytest.fixture(scope="module")
def source_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_duckdb(tmp_path_factory.mktemp("prod") / "prod.duckdb")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, source_url: str) -> SnapshotInfo:
    ds = dataset(source_url, roots=[{"table": "customer", "percent": 5}])
    store = LocalStore(tmp_path_factory.mktemp("snap") / "store")
    return build_snapshot("shop", ds, store, NoopConsole())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    d = tmp_path / "proj"
    d.mkdir()
    (d / "README.md").write_text("a project\n")
    return d


@pytest.fixture
def backend(docker_client: Any, snapshot: SnapshotInfo, project: Path) -> Iterator[DockerBackend]:
    store_root = snapshot.path.parent.parent
    b = DockerBackend(NoopConsole(), store_root=store_root, client=docker_client)
    try:
        yield b
    finally:
        cleanup(docker_client, project_id(project))
        for state in b.states.list(project_id(project)):
            b.states.delete(state["project"], state["name"])


def cleanup(client: Any, project: str) -> None:
    """Remove whatever a test of this project left, whatever the backend's state."""
    f = {"label": [f"{L_PROJECT}={project}"]}
    for c in client.containers.list(all=True, filters=f):
        c.remove(force=True, v=True)
    for n in client.networks.list(filters=f):
        n.remove()
    for v in client.volumes.list(filters=f):
        v.remove(force=True)


def labelled(client: Any, project: str) -> dict[str, list[Any]]:
    f = {"label": [f"{L_PROJECT}={project}"]}
    return {
        "containers": client.containers.list(all=True, filters=f),
        "networks": client.networks.list(filters=f),
        "volumes": client.volumes.list(filters=f),
    }


def spec(name: str, template: str, project: Path, snapshot: SnapshotInfo, **kw: Any) -> SandboxSpec:
    from sandboxer.sandbox.templates import load_template

    return SandboxSpec(
        name=name,
        project=project_id(project),
        project_dir=project,
        template=load_template(template, project),
        snapshot=snapshot,
        **kw,
    )


def assert_hardened(client: Any, project: str, secrets: list[str]) -> None:
    """Every container sandboxer made, read back from the engine."""
    containers = client.containers.list(all=True, filters={"label": [f"{L_PROJECT}={project}"]})
    assert containers
    for c in containers:
        a = client.api.inspect_container(c.id)
        host, config = a["HostConfig"], a["Config"]
        role = config["Labels"]["io.sandboxer.role"]
        user = config["User"]
        assert user and user.split(":")[0] not in ("", "0", "root"), (role, user)
        assert host["CapDrop"] == ["ALL"], role
        assert not host["CapAdd"], (role, host["CapAdd"])  # no shipped service needs any
        assert "no-new-privileges" in host["SecurityOpt"], role
        assert host["ReadonlyRootfs"] is True, role
        assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0, role
        assert not host["Privileged"], role
        assert host["NetworkMode"] not in ("host", "default", "bridge"), role
        assert host["PidMode"] in ("", "private"), role
        assert host["IpcMode"] in ("private", "none"), role
        assert not host.get("Devices"), role
        for m in a["Mounts"]:
            assert "docker.sock" not in (m.get("Source") or ""), role
            assert m["Destination"] != "/var/run/docker.sock", role
        for binding in (host.get("PortBindings") or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in binding), (role, binding)
        for port_bindings in (a["NetworkSettings"]["Ports"] or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in port_bindings or []), role
        for label in LABELS:
            assert config["Labels"].get(label), (role, label)
        blob = json.dumps(config["Env"]) + json.dumps(config["Labels"]) + json.dumps(config["Cmd"])
        for secret in secrets:
            assert secret not in blob, role
        nets = a["NetworkSettings"]["Networks"]
        for net_name in nets:
            net = client.networks.get(net_name)
            assert net.attrs["Labels"].get(L_SANDBOX), net_name
            internal = net.attrs["Internal"]
            no_nat = (
                net.attrs["Options"].get("com.docker.network.bridge.enable_ip_masquerade")
                == "false"
            )
            assert internal or no_nat, f"{role} is on {net_name}, which has egress"


def query_counts(backend: DockerBackend, name: str, project: str, capfd: Any) -> dict[str, int]:
    code = (
        "import duckdb, json, os; con = duckdb.connect(os.environ['SANDBOXER_DUCKDB'], "
        "read_only=True); print(json.dumps({t: con.execute(f'select count(*) from \"{t}\"')"
        ".fetchone()[0] for (t,) in con.execute('select table_name from information_schema"
        ".tables').fetchall()}))"
    )
    capfd.readouterr()
    assert backend.exec(name, project, ["python", "-c", code]) == 0
    out = capfd.readouterr().out
    return dict(json.loads(out.strip().splitlines()[-1]))


def manifest_rows(snapshot: SnapshotInfo) -> dict[str, int]:
    return {meta.name: meta.rows for meta in snapshot.manifest.tables.values()}


def test_duckdb_sandbox_hardened_loaded_and_lifecycle(
    backend: DockerBackend,
    docker_client: Any,
    snapshot: SnapshotInfo,
    source_url: str,
    project: Path,
    capfd: Any,
) -> None:
    pid = project_id(project)
    started = time.perf_counter()
    info = backend.create(spec("dev", "python-duckdb", project, snapshot))
    took = time.perf_counter() - started
    assert info.state == "ready" and info.isolated and info.snapshot_id == snapshot.id
    assert info.connections == {"duckdb": "/data/sandbox.duckdb"}
    assert info.enter == "sandboxer shell dev"
    assert info.load["ok"] and set(info.load["tables"]) == set(snapshot.manifest.tables)
    assert took < 60
    assert_hardened(docker_client, pid, [])
    internal = docker_client.networks.get(info.resources["networks"][0])
    assert internal.attrs["Internal"] is True
    assert [s.name for s in backend.list(pid) if s.state == "ready"] == ["dev"]

    # The data, queried inside the sandbox, matches the manifest.
    assert query_counts(backend, "dev", pid, capfd) == manifest_rows(snapshot)
    # The project is mounted at the workdir; the root filesystem is read-only.
    capfd.readouterr()
    assert backend.exec("dev", pid, ["cat", "README.md"]) == 0
    assert capfd.readouterr().out == "a project\n"
    assert backend.exec("dev", pid, ["touch", "/etc/x"]) != 0
    assert backend.exec("dev", pid, ["sh", "-c", "exit 7"]) == 7

    # A change to the data, then stop/start keeps it and reset removes it.
    change = "import duckdb, os; duckdb.connect(os.environ['SANDBOXER_DUCKDB']).execute(%r)"
    assert backend.exec("dev", pid, ["python", "-c", change % "create table scratch(x int)"]) == 0
    backend.stop("dev", pid)
    assert backend.status("dev", pid).state == "stopped"
    with pytest.raises(SandboxerError, match="stopped"):
        backend.exec("dev", pid, ["true"])
    assert backend.start("dev", pid).state == "ready"
    assert "scratch" in query_counts(backend, "dev", pid, capfd)
    reset = backend.reset("dev", pid, snapshot)
    assert reset.load["ok"]
    assert query_counts(backend, "dev", pid, capfd) == manifest_rows(snapshot)
    # Reset to another snapshot: the workspace is recreated with the new one mounted.
    other = build_snapshot(
        "shop",
        dataset(source_url, roots=[{"table": "customer", "percent": 20}]),
        LocalStore(snapshot.path.parent.parent),
        NoopConsole(),
    )
    assert other.id != snapshot.id
    moved = backend.reset("dev", pid, other)
    assert (
        moved.snapshot_id == other.id
        and moved.resources["workspace"] != info.resources["workspace"]
    )
    assert query_counts(backend, "dev", pid, capfd) == manifest_rows(other)
    capfd.readouterr()
    assert backend.exec("dev", pid, ["cat", "/snapshot/manifest.json"]) == 0
    assert json.loads(capfd.readouterr().out)["tables"] == other.manifest.to_dict()["tables"]
    assert_hardened(docker_client, pid, [])
    capfd.readouterr()
    backend.logs("dev", pid)

    backend.destroy("dev", pid)
    assert not any(labelled(docker_client, pid).values())
    assert backend.list(pid) == []
    assert not backend.states.path(pid, "dev").exists()
    assert not backend.states.sandbox_dir(pid, "dev").exists()
    with pytest.raises(SandboxerError, match="No sandbox `dev`"):
        backend.status("dev", pid)


def test_name_collision_fails_with_hint_and_replace_recreates(
    backend: DockerBackend, docker_client: Any, snapshot: SnapshotInfo, project: Path
) -> None:
    pid = project_id(project)
    first = backend.create(spec("same", "python-duckdb", project, snapshot))
    with pytest.raises(SandboxerError, match="already exists") as e:
        backend.create(spec("same", "python-duckdb", project, snapshot))
    assert "--replace" in str(e.value)
    # The failed create removed nothing of the existing sandbox.
    assert backend.status("same", pid).state == "ready"
    second = backend.create(spec("same", "python-duckdb", project, snapshot, replace=True))
    assert second.resources["workspace"] != first.resources["workspace"]
    assert [s.state for s in backend.list(pid)] == ["ready"]
    with pytest.raises(SandboxerError, match="Invalid sandbox name"):
        backend.create(spec("../evil", "python-duckdb", project, snapshot))
    backend.destroy("same", pid)
    assert not any(labelled(docker_client, pid).values())


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from sandboxer.console import NoopConsole
from sandboxer.sandbox.base import SandboxSpec
from sandboxer.sandbox.docker import DockerBackend
from sandboxer.sandbox.templates import load_template
from sandboxer.snapshot.store import LocalStore

store_root, project_dir, project, snapshot_id = sys.argv[1:5]

def slow_load(self, *args, **kwargs):
    print("LOADING", flush=True)
    time.sleep(120)

DockerBackend._load = slow_load
snapshot = LocalStore(Path(store_root)).resolve(snapshot_id)
spec = SandboxSpec(name="doomed", project=project, project_dir=Path(project_dir),
                   template=load_template("python-duckdb", Path(project_dir)), snapshot=snapshot)
DockerBackend(NoopConsole(), store_root=Path(store_root)).create(spec)
"""


def test_kill_9_mid_create_leaves_nothing_ready_and_gc_removes_it(
    backend: DockerBackend, docker_client: Any, snapshot: SnapshotInfo, project: Path
) -> None:
    pid = project_id(project)
    store_root = snapshot.path.parent.parent
    # A container sandboxer did not create, with look-alike (but not sandboxer's) labels.
    bystander = docker_client.containers.run(
        BASE_IMAGE,
        ["sleep", "300"],
        detach=True,
        labels={"io.other.sandbox": "doomed"},
        name=f"not-sandboxer-{pid}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(store_root), str(project), pid, snapshot.id],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the network, volume and workspace exist by now
        assert line.strip() == b"LOADING", line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        left = labelled(docker_client, pid)
        assert left["containers"] and left["networks"] and left["volumes"]

        infos = backend.list(pid)
        assert [(i.name, i.state) for i in infos] == [("doomed", "partial")]
        assert not backend.states.path(pid, "doomed").exists()
        with pytest.raises(SandboxerError, match="interrupted create"):
            backend.create(spec("doomed", "python-duckdb", project, snapshot))

        removed = backend.gc()
        assert f"{pid}/doomed" in removed
        assert not any(labelled(docker_client, pid).values())
        assert backend.list(pid) == []
        assert not backend.states.sandbox_dir(pid, "doomed").exists()
        bystander.reload()
        assert bystander.status == "running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
        bystander.remove(force=True)


def test_gc_removes_sandboxes_whose_resources_are_gone_or_ttl_passed(
    backend: DockerBackend, docker_client: Any, snapshot: SnapshotInfo, project: Path
) -> None:
    pid = project_id(project)
    a = backend.create(spec("gone", "python-duckdb", project, snapshot))
    backend.create(spec("kept", "python-duckdb", project, snapshot, ttl_seconds=3600))
    docker_client.containers.get(a.resources["workspace"]).remove(force=True)
    assert {i.name: i.state for i in backend.list(pid)} == {"gone": "failed", "kept": "ready"}
    assert backend.gc() == [f"{pid}/gone"]
    assert [i.name for i in backend.list(pid)] == ["kept"]
    assert backend.gc(ttl_seconds=3600) == []
    time.sleep(1.1)
    assert backend.gc(ttl_seconds=1) == [f"{pid}/kept"]
    assert not any(labelled(docker_client, pid).values())


def test_postgres_template_end_to_end(
    backend: DockerBackend,
    docker_client: Any,
    snapshot: SnapshotInfo,
    project: Path,
    capfd: Any,
) -> None:
    import psycopg

    pid = project_id(project)
    info = backend.create(spec("pg", "postgres", project, snapshot))
    assert info.state == "ready" and info.load["ok"]
    url = info.connections["postgres"]
    assert url.startswith("postgresql://sandbox@127.0.0.1:") and ":" not in url.split("@")[0][13:]
    secret_file = Path(info.connections["postgres_password_file"])
    assert secret_file.stat().st_mode & 0o777 == 0o440
    assert secret_file.parent.stat().st_mode & 0o777 == 0o700
    password = secret_file.read_text().strip()
    assert_hardened(docker_client, pid, [password])
    service = docker_client.containers.get(info.resources["services"]["postgres"])
    assert service.attrs["State"]["Health"]["Status"] in ("healthy", "starting")
    assert service.attrs["Config"]["User"] == "postgres"

    # From the host, through the 127.0.0.1 port, with the password from the secret file.
    with psycopg.connect(url, password=password) as con:
        for name, rows in manifest_rows(snapshot).items():
            got = con.execute(f'select count(*) from "{name}"').fetchone()
            assert got is not None and got[0] == rows, name
        fks = con.execute(
            "select count(*) from information_schema.table_constraints "
            "where constraint_type = 'FOREIGN KEY'"
        ).fetchone()
        assert fks is not None and fks[0] >= 5
        con.execute("create table scratch(x int)")
        con.commit()
    # Without the password: refused.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, password="wrong", connect_timeout=5).close()

    # From the workspace, over the internal network, with the mounted secret (libpq env).
    capfd.readouterr()
    rows = manifest_rows(snapshot)["customer"]
    sql = "select count(*) from customer"
    assert backend.exec("pg", pid, ["psql", "-tAc", sql]) == 0
    assert capfd.readouterr().out.strip() == str(rows)

    # stop/start keeps the data (volume) and may move the port; reset drops and reloads.
    backend.stop("pg", pid)
    started = backend.start("pg", pid)
    url = started.connections["postgres"]
    with psycopg.connect(url, password=password) as con:
        assert con.execute("select to_regclass('scratch') is not null").fetchone() == (True,)
    assert backend.reset("pg", pid, snapshot).load["ok"]
    with psycopg.connect(url, password=password) as con:
        assert con.execute("select to_regclass('scratch') is null").fetchone() == (True,)
        got = con.execute("select count(*) from customer").fetchone()
        assert got is not None and got[0] == rows

    backend.destroy("pg", pid)
    assert not any(labelled(docker_client, pid).values())
    assert not secret_file.exists()


def test_interrupted_create_removes_what_it_made(
    backend: DockerBackend,
    docker_client: Any,
    snapshot: SnapshotInfo,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = project_id(project)

    def interrupted(*args: Any, **kwargs: Any) -> None:
        assert labelled(docker_client, pid)["containers"]  # mid-way: the workspace exists
        raise KeyboardInterrupt

    monkeypatch.setattr(DockerBackend, "_load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backend.create(spec("ctrl-c", "python-duckdb", project, snapshot))
    assert not any(labelled(docker_client, pid).values())
    assert backend.list(pid) == []
    assert not backend.states.sandbox_dir(pid, "ctrl-c").exists()


def test_unhealthy_service_fails_naming_it_with_its_logs(
    docker_client: Any, snapshot: SnapshotInfo, project: Path
) -> None:
    pid = project_id(project)
    # Same name as the shipped template, so the cached images are reused.
    (project / "templates").mkdir()
    (project / "templates" / "postgres.yaml").write_text(
        "extends: postgres\n"
        "services:\n"
        "  postgres:\n"
        "    kind: postgres\n"
        "    healthcheck: {command: ['false'], interval: 1, retries: 1}\n"
    )
    store_root = snapshot.path.parent.parent
    b = DockerBackend(NoopConsole(), store_root=store_root, client=docker_client, health_timeout=8)
    try:
        with pytest.raises(SandboxerError, match="Service `postgres` of sandbox `sick`") as e:
            b.create(spec("sick", "postgres", project, snapshot))
        assert "did not become healthy within 8 s" in str(e.value)
        assert "Last log lines" in str(e.value) and "sandboxer-postgres" in str(e.value)
        assert not any(labelled(docker_client, pid).values())
    finally:
        cleanup(docker_client, pid)
