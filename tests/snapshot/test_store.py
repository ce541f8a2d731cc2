"""The snapshot store: atomic publish, crash leftovers, locks, verify, rm, gc, full disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.errors import StoreError
from sandboxer.snapshot.store import LocalStore
from sandboxer.snapshot.verify import verify
from tests.conftest import REPO, engine_missing
from tests.factories import dataset, make_duckdb


@pytest.fixture(scope="module")
def graph_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_duckdb(tmp_path_factory.mktemp("graph") / "prod.duckdb")


def test_publish_layout_manifest_and_latest(tmp_path: Path, graph_url: str) -> None:
    store = LocalStore(tmp_path / "store")
    ds = dataset(graph_url, roots=[{"table": "customer", "percent": 10}])
    info = build_snapshot("shop", ds, store, NoopConsole())
    m = json.loads((info.path / "manifest.json").read_text())
    assert m["id"] == info.id == info.path.name
    assert m["dataset"] == "shop" and m["seed"] == 7 and m["tool_version"]
    assert len(m["config_hash"]) == 64 and m["created_at"].endswith("+00:00")
    for meta in m["tables"].values():
        path = info.path / meta["file"]
        assert path.stat().st_size == meta["bytes"] and len(meta["sha256"]) == 64
        assert {"rows", "source_rows", "columns", "primary_key", "foreign_keys"} <= set(meta)
    assert m["source"]["type"] == "duckdb" and m["integrity"]["ok"]
    assert store.latest("shop") == info.id
    assert [i.id for i in store.list()] == [info.id]
    assert store.resolve("shop").id == info.id and store.resolve(info.id[:6]).id == info.id
    assert store.resolve("latest").id == info.id
    with pytest.raises(StoreError, match="Did you mean `shop`"):
        store.resolve("shpo")
    assert verify(info)["ok"]


def test_credentials_never_reach_the_manifest(tmp_path: Path, graph_url: str) -> None:
    from sandboxer.build.builder import config_hash

    ds = dataset("postgresql://app:hunter2-secret@db.example/prod", roots=[])
    ds2 = dataset("postgresql://app:other-secret@db.example/prod", roots=[])
    # The password does not influence (so cannot be recovered from) the config hash.
    assert config_hash(ds) == config_hash(ds2)


def test_verify_names_the_broken_file(tmp_path: Path, graph_url: str) -> None:
    store = LocalStore(tmp_path / "store")
    info = build_snapshot(
        "t", dataset(graph_url, roots=[{"table": "customer", "percent": 10}]), store, NoopConsole()
    )
    target = info.path / info.manifest.tables["orders"].file
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(target, 0o644)
    target.write_bytes(bytes(data))
    result = verify(info)
    assert not result["ok"]
    assert result["problems"][0]["file"] == info.manifest.tables["orders"].file
    assert "sha256" in result["problems"][0]["problem"]

    target.write_bytes(b"PAR1garbage")
    problems = verify(info)["problems"]
    assert {p["problem"].split(" (")[0] for p in problems if p["table"] == "orders"} >= {
        "unreadable Parquet footer"
    }
    (info.path / "data" / "stray.parquet").write_bytes(b"x")
    assert any(p["file"] == "data/stray.parquet" for p in verify(info)["problems"])


def test_verify_catches_broken_integrity(tmp_path: Path, graph_url: str) -> None:
    """A snapshot whose files are internally consistent but whose data lost a parent."""
    import polars as pl

    from sandboxer.snapshot.store import MANIFEST
    from sandboxer.snapshot.writer import sha256_file

    store = LocalStore(tmp_path / "store")
    info = build_snapshot(
        "t", dataset(graph_url, roots=[{"table": "customer", "percent": 10}]), store, NoopConsole()
    )
    path = info.path / info.manifest.tables["customer"].file
    pl.read_parquet(path).tail(-1).write_parquet(path)
    m = info.manifest.to_dict()
    m["tables"]["customer"].update(
        rows=m["tables"]["customer"]["rows"] - 1,
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
    )
    (info.path / MANIFEST).write_text(json.dumps(m))
    result = verify(store.resolve(info.id))
    assert not result["ok"]
    assert any("foreign key orphans -> customer" in p["problem"] for p in result["problems"])


KILLED_BUILD = """
import sys, time
from pathlib import Path
from sandboxer.console import NoopConsole
from sandboxer.build.builder import build_snapshot
from sandboxer.snapshot.stage import Stage
from sandboxer.snapshot.store import LocalStore
from tests.factories import dataset

class Slow(Stage):
    name = "slow"
    def process(self, table, batches):
        for b in batches:
            yield b
            if table.key == "items":
                print("WRITING", flush=True)
                time.sleep(60)

build_snapshot("t", dataset(sys.argv[1], roots=[{"table": "customer", "percent": 10}]),
               LocalStore(Path(sys.argv[2])), NoopConsole(), stages=[Slow()])
"""


def test_killed_build_publishes_nothing_and_gc_cleans(tmp_path: Path, graph_url: str) -> None:
    store_dir = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_BUILD), graph_url, str(store_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "WRITING"
        store = LocalStore(store_dir)
        # While it runs, the lock is held: a second build of the dataset is refused.
        with pytest.raises(StoreError, match="Another build of dataset `t` is running"):
            build_snapshot(
                "t",
                dataset(graph_url, roots=[{"table": "customer", "percent": 1}]),
                store,
                NoopConsole(),
            )
        assert store.gc() == []  # the live build's staging dir is not touched
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert store.list() == []
    leftovers = list((store_dir / "tmp").iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith("build-t-")
    assert any(leftovers[0].rglob("*.parquet"))
    removed = store.gc()
    assert removed == [f"tmp/{leftovers[0].name}"]
    assert not any((store_dir / "tmp").iterdir())
    # And the dataset builds again normally.
    info = build_snapshot(
        "t", dataset(graph_url, roots=[{"table": "customer", "percent": 10}]), store, NoopConsole()
    )
    assert store.list()[0].id == info.id


def test_rm_moves_latest_back(tmp_path: Path, graph_url: str) -> None:
    store = LocalStore(tmp_path / "store")
    a = build_snapshot(
        "t", dataset(graph_url, roots=[{"table": "customer", "percent": 5}]), store, NoopConsole()
    )
    time.sleep(1.1)  # created_at has second resolution
    b = build_snapshot(
        "t", dataset(graph_url, roots=[{"table": "customer", "percent": 6}]), store, NoopConsole()
    )
    assert store.latest("t") == b.id and a.id != b.id
    store.remove(b.id)
    assert store.latest("t") == a.id and [i.id for i in store.list()] == [a.id]
    store.remove(a.id)
    assert store.latest("t") is None and store.list() == []
    with pytest.raises(StoreError):
        store.remove(a.id)


def test_full_disk_publishes_nothing(tmp_path: Path, graph_url: str) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        engine_missing("cannot mount a small tmpfs (needs root) to simulate a full disk")
    try:
        store = LocalStore(mount / "store")
        with pytest.raises(StoreError, match="No space left in the snapshot store") as e:
            build_snapshot(
                "t",
                dataset(graph_url, roots=[{"table": "customer", "percent": 50}]),
                store,
                NoopConsole(),
            )
        assert "nothing was published" in str(e.value)
        assert store.list() == []
        assert not any((mount / "store" / "tmp").iterdir())
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_gc_removes_stale_partial_cache_entries_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    profiles = tmp_path / "store/cache/profiles"
    profiles.mkdir(parents=True)
    kept = profiles / "abc.json"
    stale = profiles / ".abc.json.1a2b3c4d.tmp"
    fresh = profiles / ".abc.json.5e6f7a8b.tmp"  # a live build is about to rename it
    for path in (kept, stale, fresh):
        # A complete entry the leak gate checked (entries it did not check are pruned).
        path.write_text('{"gate": true}')
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    assert store.gc() == ["cache/profiles/.abc.json.1a2b3c4d.tmp"]
    assert kept.exists() and fresh.exists() and not stale.exists()
