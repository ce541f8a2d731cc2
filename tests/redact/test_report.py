"""The redaction report as a typed model: the manifest's bytes, read back by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandboxer.redact.report import GateReport, Leak, RedactionReport
from sandboxer.snapshot.manifest import ManifestError, SnapshotManifest

FIXTURES = Path(__file__).parents[1] / "fixtures/manifests"
GOLDEN = Path(__file__).parents[1] / "snapshot/golden/manifest_people_redacted.json"


@pytest.mark.parametrize("path", [FIXTURES / "snapshot-1.json", GOLDEN])
def test_a_stored_report_reads_and_writes_back_the_same(path: Path) -> None:
    # The format-1 fixture is a report written before the gate searched tokens (no
    # tokens_checked, personal_columns or notices): it still reads, and writes back as it was.
    data = json.loads(path.read_text())["stages"]["redaction"]
    if data["seconds"] == "<seconds>":  # the golden file's placeholder for a duration
        data["seconds"] = 0.25
    report = RedactionReport.from_dict(data)
    assert report.to_dict() == data
    assert report.gate is not None and report.gate.ok


def test_from_manifest_and_a_snapshot_without_redaction() -> None:
    manifest = SnapshotManifest.load(FIXTURES / "snapshot-1.json")
    report = RedactionReport.from_manifest(manifest)
    assert report is not None and report.columns["address"]["city"].strategy == "fake"
    manifest.stages.pop("redaction")
    assert RedactionReport.from_manifest(manifest) is None


def test_leaks_keep_their_json_names_and_a_bad_report_is_named() -> None:
    leak = Leak.model_validate(
        {"table": "t", "column": "c", "check": "substring", "rows": 2, "from": ["p.name"]}
    )
    assert leak.from_ == ["p.name"] and leak.to_dict()["from"] == ["p.name"]
    assert "rule" not in leak.to_dict()
    with pytest.raises(ManifestError, match="gate"):
        RedactionReport.from_dict({**_minimal(), "gate": {"ok": "maybe"}})
    assert GateReport.model_fields["notices"].default is None


def _minimal() -> dict[str, object]:
    return {
        "mode": "auto",
        "key_fingerprint": "x",
        "key_origin": "env",
        "columns": {},
        "kept_detected": [],
        "values": 0,
        "seconds": 0.0,
        "gate": None,
    }
