"""Redaction inside real builds: canaries never survive, keys keep joining, the gate bites."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from sandboxer.build.builder import build_snapshot
from sandboxer.cli.main import cli
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.errors import ConfigError
from sandboxer.redact.gate import LeakError
from sandboxer.redact.secret_key import RedactionKey, load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.snapshot.store import LocalStore
from tests.redact.canaries import canary_values, make_canary_duckdb, make_canary_postgres

KEY = "unit-test-redaction-key-0001"


@pytest.fixture(scope="module")
def canary_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_canary_duckdb(tmp_path_factory.mktemp("canary") / "prod.duckdb")


def redacted_build(tmp_path: Path, url: str, key: str = KEY, name: str = "c", **redact: Any) -> Any:
    ds = Dataset.model_validate(
        {
            "source": url,
            "seed": 1,
            "subset": {"roots": [{"table": "people", "percent": 100}]},
            "redact": redact,
        }
    )
    k = load_key(env="K", file=None, base=tmp_path, environ={"K": key})
    stage = RedactStage(ds.redact, k, tmp_path)
    return build_snapshot(name, ds, LocalStore(tmp_path / "store"), NoopConsole(), stages=[stage])


def all_text(info: Any) -> str:
    """Every cell of every table as text, plus the manifest."""
    parts = [(info.path / "manifest.json").read_text()]
    for meta in info.manifest.tables.values():
        frame = pl.read_parquet(info.path / meta.file)
        for column in frame.columns:
            parts.append("\n".join(frame[column].cast(pl.String).drop_nulls().to_list()))
    return "\n".join(parts)


def assert_no_canaries(text: str) -> None:
    survivors = [c for c in canary_values() if c in text]
    assert not survivors, f"{len(survivors)} canaries survived, e.g. {survivors[:3]}"


def test_no_canary_survives_and_keys_still_join(tmp_path: Path, canary_url: str) -> None:
    info = redacted_build(tmp_path, canary_url)
    assert_no_canaries(all_text(info))
    t = {k: pl.read_parquet(info.path / m.file) for k, m in info.manifest.tables.items()}
    people, orders = t["people"], t["orders"]
    assert people.height == 300 and orders.height == 900
    # Email is the people key and the orders FK: one-to-one, and still joining.
    assert people["email"].n_unique() == 300
    assert orders.join(people, left_on="person_email", right_on="email", how="anti").height == 0
    assert info.manifest.integrity.fk_orphans == 0
    # Non-PII stays.
    assert sorted(people["status"].unique()) == ["active", "closed", "paused"]
    assert people["id"].to_list() == sorted(people["id"].to_list())
    report = info.manifest.stages["redaction"]
    cols = report["columns"]["people"]
    for column in (
        "email",
        "full_name",
        "phone",
        "ssn",
        "c7",
        "ref_code",
        "card",
        "notes",
        "profile",
    ):
        assert column in cols, column
        assert cols[column]["changed"] > 0, column
    assert report["gate"]["ok"] and report["gate"]["leaks"] == []
    assert report["key_fingerprint"] and KEY not in info.manifest.to_json()


def test_same_key_same_snapshot_other_key_other_pseudonyms(tmp_path: Path, canary_url: str) -> None:
    a = redacted_build(tmp_path / "a", canary_url)
    b = redacted_build(tmp_path / "b", canary_url)
    c = redacted_build(tmp_path / "c", canary_url, key="another-key-entirely-0002")
    assert a.id == b.id
    assert {k: m.sha256 for k, m in a.manifest.tables.items()} == {
        k: m.sha256 for k, m in b.manifest.tables.items()
    }
    ea = pl.read_parquet(a.path / a.manifest.tables["people"].file)
    ec = pl.read_parquet(c.path / c.manifest.tables["people"].file)
    for column in ("email", "ssn", "c7", "ref_code", "card"):
        same = (ea[column] == ec[column]).sum()
        assert same == 0, f"{column}: {same} pseudonyms did not change with the key"
    assert (
        a.manifest.stages["redaction"]["key_fingerprint"]
        != c.manifest.stages["redaction"]["key_fingerprint"]
    )


def test_outputs_resist_a_dictionary_attack(tmp_path: Path, canary_url: str) -> None:
    info = redacted_build(tmp_path, canary_url)
    text = all_text(info)
    for value in canary_values()[:200]:
        for algo in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algo, value.encode()).hexdigest()
            assert digest not in text and digest[:16] not in text


def test_strict_mode_lists_columns_without_rules(tmp_path: Path, canary_url: str) -> None:
    with pytest.raises(ConfigError, match="strict") as e:
        redacted_build(tmp_path, canary_url, mode="strict", columns={"people": {"email": "fake"}})
    assert "people.full_name" in str(e.value) and "orders.comment" in str(e.value)
    assert "people.email" not in str(e.value).split("rule:")[1].split(",")[0]


def test_gate_refuses_a_kept_pii_column(tmp_path: Path, canary_url: str) -> None:
    with pytest.raises(LeakError) as e:
        redacted_build(tmp_path, canary_url, columns={"people": {"c7": "keep"}})
    message = str(e.value)
    assert "people.c7" in message and "Nothing was published" in message
    assert_no_canaries(message)
    assert LocalStore(tmp_path / "store").list() == []
    # Reviewed and allowlisted: it builds (and the value is knowingly kept).
    info = redacted_build(
        tmp_path,
        canary_url,
        columns={"people": {"c7": "keep"}},
        gate={"allow_findings": ["people.c7"], "allow_values": []},
    )
    report = info.manifest.stages["redaction"]
    assert report["gate"]["ok"] and "people.c7" in report["kept_detected"]


def test_k_anonymity_enforced(tmp_path: Path, canary_url: str) -> None:
    with pytest.raises(LeakError, match="groups smaller than k=5"):
        redacted_build(
            tmp_path,
            canary_url,
            gate={"quasi_identifiers": {"people": ["birth_date", "status"]}, "min_k": 5},
        )


def test_missing_key_stops_the_build_with_instructions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$SANDBOXER_REDACTION_KEY is not set") as e:
        load_key(env="SANDBOXER_REDACTION_KEY", file=None, base=tmp_path, environ={})
    assert "export SANDBOXER_REDACTION_KEY=" in str(e.value) and "--throwaway-key" in str(e.value)
    with pytest.raises(ConfigError, match="too short"):
        load_key(env="K", file=None, base=tmp_path, environ={"K": "short"})
    key = load_key(env="K", file=None, base=tmp_path, environ={"K": KEY})
    assert KEY not in repr(key) and KEY not in str(key) and isinstance(key, RedactionKey)
    assert load_key(env="K", file=None, base=tmp_path, throwaway=True).origin == "throwaway"


def test_cli_output_and_logs_hold_no_canary(
    tmp_path: Path, canary_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sandboxer.yaml").write_text(
        textwrap.dedent(f"""
        version: 1
        datasets:
          c:
            source: {json.dumps(canary_url)}
            subset:
              roots: [{{table: people, percent: 50}}]
    """)
    )
    monkeypatch.setenv("SANDBOXER_REDACTION_KEY", KEY)
    runner = CliRunner()
    outputs = []
    for args in (
        ["-v", "data", "build"],
        ["data", "show"],
        ["--json", "data", "show"],
        ["data", "verify"],
        ["-v", "data", "scan", "--pii"],
    ):
        result = runner.invoke(cli, ["--config", str(tmp_path / "sandboxer.yaml"), *args])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)
    assert_no_canaries("\n".join(outputs))
    assert KEY not in "\n".join(outputs)


def test_redaction_from_postgres(tmp_path: Path, pg_url: str) -> None:
    url = make_canary_postgres(pg_url)
    info = redacted_build(tmp_path, url)
    assert_no_canaries(all_text(info))
    people = pl.read_parquet(info.path / info.manifest.tables["public.people"].file)
    orders = pl.read_parquet(info.path / info.manifest.tables["public.orders"].file)
    assert orders.join(people, left_on="person_email", right_on="email", how="anti").height == 0
    duck = redacted_build(tmp_path / "duck", make_canary_duckdb(tmp_path / "c.duckdb"))
    duck_people = pl.read_parquet(duck.path / duck.manifest.tables["people"].file)
    # Same key, same values: the same pseudonyms whatever the source.
    assert sorted(duck_people["email"]) == sorted(people["email"])


def test_allowlisted_finding_does_not_bypass_the_original_value_check(
    tmp_path: Path, canary_url: str
) -> None:
    # orders.comment quotes people's emails. Kept by rule and its span findings allowlisted,
    # the emails are still originals of the redacted people.email: the gate refuses.
    with pytest.raises(LeakError) as e:
        redacted_build(
            tmp_path,
            canary_url,
            columns={"orders": {"comment": "keep"}},
            gate={"allow_findings": ["orders.comment"]},
        )
    assert "orders.comment" in str(e.value) and "substring" in str(e.value)
    assert_no_canaries(str(e.value))
