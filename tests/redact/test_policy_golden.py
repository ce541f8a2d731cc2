"""Golden policy file: what `sandboxer data scan --pii --write-policy FILE` writes for people to
review, on a fixed database with personal data in plain columns, free text and JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sandboxer.cli.main import cli
from tests.factories import PEOPLE_DDL, make_duckdb
from tests.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.golden
def test_written_policy(tmp_path: Path) -> None:
    url = make_duckdb(tmp_path / "prod.duckdb", PEOPLE_DDL)
    policy = tmp_path / "policy.yaml"
    args = ["--config", str(tmp_path / "sandboxer.yaml"), "data", "scan", url, "--pii",
            "--write-policy", str(policy)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # The header names the source, an absolute path into this test's temporary directory.
    text = policy.read_text(encoding="utf-8").replace(str(tmp_path), "<tmp>")
    assert_golden(GOLDEN / "policy_people.yaml", text)
