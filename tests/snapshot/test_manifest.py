"""The snapshot manifest as a typed model: what it reads (every format so far, byte for byte),
what it refuses (a newer format, with what to do), and that a build writes the same document
as before the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from sandboxer.build.builder import build_snapshot
from sandboxer.cli.main import cli
from sandboxer.console import NoopConsole
from sandboxer.errors import StoreError
from sandboxer.snapshot.manifest import (
    ManifestError,
    SnapshotManifest,
    UnsupportedFormat,
    VersionedManifest,
)
from sandboxer.snapshot.store import MANIFEST, LocalStore
from tests.factories import dataset, make_duckdb

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"
V1 = FIXTURES / "snapshot-1.json"
V99 = FIXTURES / "snapshot-99.json"


def keys(value: Any, at: str = "") -> set[str]:
    """Every key path of a JSON document; list items and the entries of name-keyed maps
    (tables, selected_by, stage reports) share one path: ``tables.*.columns[].name``."""
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            name = "*" if at.endswith(("tables", "selected_by", "stages")) else k
            out |= {f"{at}.{name}"} | keys(v, f"{at}.{name}")
        return out
    if isinstance(value, list):
        return set().union(*(keys(v, f"{at}[]") for v in value)) if value else set()
    return set()


# -- format 1 -------------------------------------------------------------------------------


def test_format_1_reads_and_writes_back_byte_for_byte() -> None:
    text = V1.read_text(encoding="utf-8")
    manifest = SnapshotManifest.load(V1)
    assert manifest.format == "sandboxer.snapshot/1" and manifest.dataset == "shop"
    orders = manifest.tables["orders"]
    assert orders.file == "data/orders.parquet" and orders.schema_name is None
    assert orders.rows == 637 and orders.selected_by == {"child": 617}
    assert [fk.ref_table for fk in orders.foreign_keys] == ["customer", "address", "address"]
    assert manifest.totals.tables == len(manifest.tables) == 8
    assert manifest.excluded_tables == ["audit_log"]
    assert manifest.integrity.ok and manifest.integrity.fk_orphans == 0
    fk_checks = [c for c in manifest.integrity.checks if c.check == "foreign_key"]
    assert fk_checks and all(c.references for c in fk_checks)
    assert all(c.references is None for c in manifest.integrity.checks if c not in fk_checks)
    assert manifest.source.type == "duckdb" and manifest.source.consistent_snapshot
    assert manifest.subset.tables["customer"].selected_by["root"] == 110
    assert manifest.fidelity is not None and 0 < manifest.fidelity["score"] <= 1
    assert set(manifest.stages) == {"redaction", "synthesize"}
    assert manifest.to_json() == text
    assert SnapshotManifest.from_json(manifest.to_json(), origin=V1) == manifest


def test_a_build_writes_the_shape_sandboxer_always_wrote(tmp_path: Path) -> None:
    """A new build's manifest has exactly the keys of the format-1 fixture (written before
    the model existed), the same layout, and reads back to the same bytes."""
    url = make_duckdb(tmp_path / "prod.duckdb")
    tables = {"region": "all", "audit_log": "exclude"}
    config = dataset(url, roots=[{"table": "customer", "percent": 5}], tables=tables, seed=3)
    info = build_snapshot("shop", config, LocalStore(tmp_path / "store"), NoopConsole())
    text = (info.path / MANIFEST).read_text(encoding="utf-8")
    written = json.loads(text)
    fixture = json.loads(V1.read_text(encoding="utf-8"))
    # The fixture's build ran stages (their reports are theirs to shape, as is the fidelity
    # report, which follows the columns): compare everything else.
    ignore = (".stages.", ".fidelity.")
    assert {k for k in keys(written) if not k.startswith(ignore)} == {
        k for k in keys(fixture) if not k.startswith(ignore)
    }
    assert text == json.dumps(written, indent=2, sort_keys=True) + "\n"
    assert info.manifest.to_json() == text
    assert SnapshotManifest.from_json(text) == info.manifest


def test_fidelity_is_absent_when_off(tmp_path: Path) -> None:
    url = make_duckdb(tmp_path / "prod.duckdb")
    config = dataset(url, roots=[{"table": "customer", "percent": 5}])
    config = config.model_copy(
        update={"fidelity": config.fidelity.model_copy(update={"enabled": False})}
    )
    info = build_snapshot("shop", config, LocalStore(tmp_path / "store"), NoopConsole())
    assert info.manifest.fidelity is None
    assert "fidelity" not in json.loads((info.path / MANIFEST).read_text(encoding="utf-8"))


# -- what is refused ------------------------------------------------------------------------


def test_a_newer_format_is_refused_naming_file_formats_and_what_to_do() -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        SnapshotManifest.load(V99)
    error = caught.value
    assert str(V99) in error.message
    assert "`sandboxer.snapshot/99`" in error.message
    assert "reads sandboxer.snapshot/1" in error.message
    assert error.hint is not None and "upgrade sandboxer" in error.hint
    assert isinstance(error, StoreError) and error.exit_code == 2


@pytest.mark.parametrize(
    ("document", "shown"),
    [
        ({"format": "sandboxer.baseline/1"}, "`sandboxer.baseline/1`"),
        ({"id": "x"}, "none"),
        ({"format": 1}, "none"),
    ],
)
def test_another_or_no_format_is_refused(document: dict[str, Any], shown: str) -> None:
    with pytest.raises(UnsupportedFormat, match=f"format {shown} is not supported") as caught:
        SnapshotManifest.from_dict(document, origin="m.json")
    assert caught.value.hint is not None and "not a snapshot manifest" in caught.value.hint


def test_format_1_of_the_wrong_shape_names_the_field() -> None:
    document = json.loads(V1.read_text(encoding="utf-8"))
    del document["tables"]["orders"]["sha256"]
    document["totals"]["surprise"] = 1
    with pytest.raises(ManifestError, match=r"`tables\.orders\.sha256`: Field required") as e:
        SnapshotManifest.from_dict(document, origin="m.json")
    assert not isinstance(e.value, UnsupportedFormat)
    assert "and 1 more problems" in e.value.message
    with pytest.raises(ManifestError, match="not a readable snapshot manifest"):
        SnapshotManifest.from_json("{", origin="m.json")
    with pytest.raises(ManifestError, match="JSON object was expected"):
        SnapshotManifest.from_json("[]", origin="m.json")


def store_with(tmp_path: Path, manifest: Path, snapshot_id: str = "99aa99aa99aa99aa") -> Path:
    root = tmp_path / "store"
    (root / "snapshots" / snapshot_id).mkdir(parents=True)
    shutil.copy(manifest, root / "snapshots" / snapshot_id / MANIFEST)
    return root


def test_the_store_refuses_a_newer_snapshot(tmp_path: Path) -> None:
    store = LocalStore(store_with(tmp_path, V99))
    with pytest.raises(UnsupportedFormat, match=r"snapshots/99aa99aa99aa99aa/manifest\.json"):
        store.list()


def test_the_store_reads_a_format_1_snapshot(tmp_path: Path) -> None:
    sid = json.loads(V1.read_text(encoding="utf-8"))["id"]
    store = LocalStore(store_with(tmp_path, V1, sid))
    info = store.resolve(sid[:8])
    assert info.id == sid and info.dataset == "shop" and info.manifest == SnapshotManifest.load(V1)


def test_the_store_calls_a_broken_manifest_unreadable(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "snapshots" / "abcd1234").mkdir(parents=True)
    (root / "snapshots" / "abcd1234" / MANIFEST).write_text('{"format": "sandboxer.snapshot/1"}')
    with pytest.raises(StoreError, match="Snapshot abcd1234 has an unreadable manifest: `id`"):
        LocalStore(root).list()


def test_cli_show_of_a_newer_snapshot_says_upgrade(tmp_path: Path) -> None:
    store_with(tmp_path, V99)
    (tmp_path / "sandboxer.yaml").write_text("version: 1\nstore: {path: store}\ndatasets: {}\n")
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "sandboxer.yaml"), "data", "show", "99aa99aa99aa99aa"]
    )
    assert result.exit_code == 2, result.output
    assert "sandboxer.snapshot/99" in result.stderr and "upgrade sandboxer" in result.stderr
    assert "Traceback" not in result.stderr


# -- the upgrade path a future format takes -------------------------------------------------


class Toy(VersionedManifest):
    """A manifest whose format 3 renamed ``n`` to ``count`` in format 2 and added ``unit``."""

    FORMAT: ClassVar[str] = "toy/3"
    UPGRADES: ClassVar[dict[str, Any]] = {
        "toy/1": lambda d: {"format": "toy/2", "count": d["n"]},
        "toy/2": lambda d: {**d, "format": "toy/3", "unit": "rows"},
    }
    KIND: ClassVar[str] = "toy manifest"

    count: int
    unit: str


def test_older_formats_are_upgraded_step_by_step() -> None:
    assert Toy.supported_formats() == ["toy/1", "toy/2", "toy/3"]
    assert Toy.from_dict({"format": "toy/1", "n": 4}) == Toy(format="toy/3", count=4, unit="rows")
    assert Toy.from_dict({"format": "toy/2", "count": 5}).count == 5
    with pytest.raises(UnsupportedFormat, match="reads toy/1, toy/2, toy/3"):
        Toy.from_dict({"format": "toy/4", "count": 5})
    with pytest.raises(ValidationError, match="format"):
        Toy.model_validate({"format": "toy/1", "count": 1, "unit": "rows"})
