"""``run.json`` as a typed model: format 1 read byte for byte, a newer format refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxer.pipeline.manifest import RunManifest, StepResult
from sandboxer.snapshot.manifest import UnsupportedFormat

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def test_format_1_reads_and_writes_back_byte_for_byte() -> None:
    path = FIXTURES / "run-1.json"
    manifest = RunManifest.load(path)
    assert manifest.status == "passed" and manifest.snapshot_id == "0f31264e30cd03be"
    assert manifest.git.commit is not None and manifest.git.dirty
    assert [s.name for s in manifest.steps] == ["staging", "marts", "features"]
    assert isinstance(manifest.steps[0], StepResult) and manifest.steps[0].status == "passed"
    assert manifest.outputs["country_summary"].rows == 19
    assert manifest.to_json() == path.read_text(encoding="utf-8")


def test_a_newer_run_manifest_is_refused() -> None:
    path = FIXTURES / "run-99.json"
    with pytest.raises(UnsupportedFormat, match=r"`sandboxer\.run/99`") as caught:
        RunManifest.load(path)
    assert str(path) in caught.value.message and "reads sandboxer.run/1" in caught.value.message
    assert caught.value.hint is not None and "upgrade sandboxer" in caught.value.hint
