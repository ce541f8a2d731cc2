"""`data profile`, fidelity in builds, and `data verify --min-fidelity` through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandboxer.cli.main import cli
from tests.redact.canaries import canary_values, make_canary_duckdb


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_canary_duckdb(tmp_path / "prod.duckdb")
    (tmp_path / "sandboxer.yaml").write_text(
        textwrap.dedent("""
        version: 1
        datasets:
          c:
            source: duckdb:///prod.duckdb
            subset:
              roots: [{table: people, percent: 40}]
    """)
    )
    monkeypatch.setenv("SANDBOXER_REDACTION_KEY", "profile-cli-key-0123456789")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(project / "sandboxer.yaml"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_profile_of_source_and_snapshot_hold_no_personal_value(project: Path) -> None:
    code, out, err = run(project, "--json", "data", "profile", "-o", str(project / "p.json"))
    assert code == 0, err
    profile = json.loads(out)
    assert profile["format"] == "sandboxer.profile/1"
    assert profile["tables"]["people"]["rows"] == 300
    written = (project / "p.json").read_text()
    assert not [c for c in canary_values() if c in written or c in out]
    code, _, err = run(project, "data", "build")
    assert code == 0, err
    code, out, err = run(project, "--json", "data", "profile", "latest")
    assert code == 0, err
    assert not [c for c in canary_values() if c in out]


def test_fidelity_in_manifest_show_and_verify(project: Path) -> None:
    code, out, err = run(project, "--json", "data", "build")
    assert code == 0, err
    sid = json.loads(out.strip().splitlines()[-1])["id"]
    manifest = json.loads((project / ".sandboxer/snapshots" / sid / "manifest.json").read_text())
    score = manifest["fidelity"]["score"]
    assert 0.0 < score < 1.0  # a 40 % sample with redacted columns is not a perfect copy
    assert not [c for c in canary_values() if c in json.dumps(manifest)]
    (cached,) = (project / ".sandboxer/cache/profiles").glob("*.json")  # fidelity is on by default
    assert not [c for c in canary_values() if c in cached.read_text()]
    code, out, _ = run(project, "data", "show")
    assert code == 0 and "Fidelity" in out
    code, _, _ = run(project, "data", "verify", "--min-fidelity", f"{score - 0.01:.3f}")
    assert code == 0
    code, _, err = run(project, "data", "verify", "--min-fidelity", f"{min(score + 0.01, 1):.3f}")
    assert code == 1 and "fidelity" in err
