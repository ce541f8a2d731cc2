"""Golden manifests: ``manifest.json`` of a small redacted build and ``baseline.json``.

Each golden file is the file exactly as written, byte for byte, except for the values that
depend on the clock, the machine or the release, which are replaced by ``<placeholders>``
(see ``normalise``). A change to any other field, to the key order or to the layout fails
here: on-disk manifests are read back by older and newer versions of the tool.

The table checksums (``sha256``, ``bytes``) and the snapshot content are pinned too, so the
build must stay reproducible; they depend on the pinned pyarrow (Parquet writer), DuckDB and
Faker (vocabularies of ``fake``): upgrading one of those may need `make golden`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from sandboxer.build.builder import config_hash
from sandboxer.context import Context
from sandboxer.snapshot.store import SnapshotInfo
from tests.factories import PEOPLE_DDL, make_duckdb
from tests.golden import assert_golden

pytestmark = pytest.mark.golden

GOLDEN = Path(__file__).parent / "golden"
KEY_ENV = "GOLDEN_REDACTION_KEY"
KEY = "golden-file-redaction-key-0001"  # a fixed key: pseudonyms, and so checksums, follow it

# Values that differ between two runs of the same build: when it ran, how long it took.
TIMESTAMPS = ("created_at", "profiled_at")
DURATIONS = ("build_seconds", "seconds")


def normalise(text: str, replace: dict[str, str]) -> str:
    """``text`` with run-dependent values replaced by placeholders.

    Timestamps and durations are matched by key and by the shape of their value (an ISO
    timestamp, a float), so a value of another type is left alone and shows up in the diff.
    ``replace`` maps other literal strings (paths, path-derived hashes) to placeholders.
    """
    for old, new in replace.items():
        text = text.replace(old, new)
    keys = "|".join(TIMESTAMPS)
    text = re.sub(rf'^(\s*"(?:{keys})": )"\d{{4}}-\d\d-\d\dT[^"]+"', r'\1"<timestamp>"', text,
                  flags=re.M)  # fmt: skip
    keys = "|".join(DURATIONS)
    text = re.sub(rf'^(\s*"(?:{keys})": )\d+\.\d+', r'\1"<seconds>"', text, flags=re.M)
    # The release that wrote the file: a new version must not need new golden files.
    return re.sub(r'^(  "tool_version": )"[^"]+"', r'\1"<version>"', text, flags=re.M)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, SnapshotInfo]]:
    """A project over the people database, built once: half the people, tickets excluded,
    redaction and fidelity at their defaults (mode auto, fidelity on), a fixed key."""
    project = tmp_path_factory.mktemp("golden") / "project"
    project.mkdir()
    make_duckdb(project / "prod.duckdb", PEOPLE_DDL)
    config = {
        "version": 1,
        "store": {"path": "store"},
        "datasets": {
            "people": {
                "source": "duckdb:///prod.duckdb",
                "seed": 42,
                "subset": {
                    "roots": [{"table": "people", "percent": 50}],
                    "tables": {"tickets": "exclude"},
                },
                "redact": {"key_env": KEY_ENV},
            }
        },
    }
    path = project / "sandboxer.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    context = Context(path)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_ENV, KEY)
        yield context, context.build("people")


def test_snapshot_manifest(people: tuple[Context, SnapshotInfo]) -> None:
    context, info = people
    text = (info.path / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    # The source URL is absolute, so the config hash, and the id derived from it, change with
    # the directory the test runs in: check how they are derived, then replace them. The id
    # is recomputed here from its definition (docs/config.md), not with sandboxer's helper:
    # a store holds ids written by older versions, so the derivation must not change.
    _, dataset = context.dataset("people")
    assert manifest["config_hash"] == config_hash(dataset)
    content = {
        "dataset": "people",
        "config": manifest["config_hash"],
        "tables": {
            k: {"sha256": t["sha256"], "rows": t["rows"]}
            for k, t in sorted(manifest["tables"].items())
        },
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    assert manifest["id"] == digest[:16]
    text = normalise(
        text,
        {
            manifest["config_hash"]: "<config hash (depends on the project path)>",
            manifest["id"]: "<snapshot id (depends on the config hash)>",
            str(context.project_dir): "<project>",
        },
    )
    assert_golden(GOLDEN / "manifest_people_redacted.json", text)


def test_baseline_manifest(people: tuple[Context, SnapshotInfo], tmp_path: Path) -> None:
    """``baseline.json`` as `sandboxer baseline capture --from DIR` stores outputs produced
    elsewhere (a pipeline run needs a sandbox; its baseline differs only in commit, dirty,
    origin and run, which are plain values)."""
    context, snapshot = people
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    revenue = {"customer_id": [1, 2, 3], "revenue": [10.5, 0.0, 99.25]}
    pq.write_table(pa.table(revenue), outputs / "customer_revenue.parquet")
    summary = {"country_code": ["DE", "FR"], "customers": [2, 1]}
    pq.write_table(pa.table(summary), outputs / "country_summary.parquet")
    info = context.flow.capture_baseline(from_dir=outputs)
    text = (info.path / "baseline.json").read_text(encoding="utf-8")
    # The baseline id is derived from the outputs and the snapshot id, which depends on the
    # project path (see above): check it is derived from content, then replace it. The
    # origin names the imported directory.
    assert context.flow.capture_baseline(from_dir=outputs).id == info.id
    replace = {
        info.id: "<baseline id (depends on the snapshot id)>",
        snapshot.id: "<snapshot id>",
        str(tmp_path): "<tmp>",
    }
    assert_golden(GOLDEN / "baseline_imported.json", normalise(text, replace))
