"""Baselines in the store: the typed ``baseline.json`` (format 1 read byte for byte, a newer one
refused), publishing through the snapshot store (atomic, idempotent, full disk)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandboxer.errors import StoreError
from sandboxer.snapshot.baselines import MANIFEST, BaselineManifest, BaselineStore
from sandboxer.snapshot.manifest import UnsupportedFormat
from sandboxer.snapshot.store import LocalStore
from tests.conftest import engine_missing

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def outputs(tmp_path: Path, rows: int = 3) -> Path:
    out = tmp_path / "outputs"
    out.mkdir(exist_ok=True)
    revenue = {"customer_id": list(range(rows)), "revenue": [i * 1.5 for i in range(rows)]}
    pq.write_table(pa.table(revenue), out / "customer_revenue.parquet")
    pq.write_table(pa.table({"country_code": ["DE", "FR"]}), out / "country_summary.parquet")
    return out


def test_format_1_reads_and_writes_back_byte_for_byte() -> None:
    path = FIXTURES / "baseline-1.json"
    manifest = BaselineManifest.load(path)
    assert manifest.snapshot_id == "0f31264e30cd03be" and manifest.dirty
    assert manifest.outputs["customer_revenue"].rows == 171
    assert manifest.run == {"run_id": "20261205T192144-2ab2c5"}
    assert manifest.to_json() == path.read_text(encoding="utf-8")


def test_a_newer_baseline_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    target = store.layout.baselines / "99bb99bb99bb99bb"
    target.mkdir(parents=True)
    shutil.copy(FIXTURES / "baseline-99.json", target / MANIFEST)
    with pytest.raises(UnsupportedFormat, match=r"`sandboxer\.baseline/99`") as caught:
        BaselineStore(store).list()
    assert str(target / MANIFEST) in caught.value.message
    assert "reads sandboxer.baseline/1" in caught.value.message
    assert caught.value.hint is not None and "upgrade sandboxer" in caught.value.hint


def test_publish_goes_through_the_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    baselines = BaselineStore(store)
    info = baselines.publish(
        outputs(tmp_path), snapshot_id="s1", commit="abc1234def", dirty=False, origin="working tree"
    )
    assert info.path == store.layout.baselines / info.id
    assert info.manifest.outputs["customer_revenue"].rows == 3
    assert info.manifest.run == {} and info.manifest.origin == "working tree"
    text = (info.path / MANIFEST).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert baselines.verify(info) == []
    # The id is a content hash: the same outputs again keep the published copy.
    again = baselines.publish(
        outputs(tmp_path), snapshot_id="s1", commit="abc1234def", dirty=True, origin="elsewhere"
    )
    assert again.id == info.id and again.manifest.origin == "working tree"
    assert [i.id for i in baselines.list()] == [info.id]
    assert not any(store.layout.tmp.iterdir())
    assert baselines.resolve("abc1234", snapshot_id="s1").id == info.id


def test_a_full_disk_publishes_no_baseline(tmp_path: Path) -> None:
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
            BaselineStore(store).publish(
                outputs(tmp_path, rows=50_000),
                snapshot_id="s1",
                commit=None,
                dirty=None,
                origin="imported",
            )
        assert "while publishing a baseline; nothing was published" in e.value.message
        assert BaselineStore(store).list() == []
        assert not any(store.layout.tmp.iterdir())
    finally:
        subprocess.run(["umount", str(mount)], check=False)
