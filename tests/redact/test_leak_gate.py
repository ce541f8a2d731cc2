"""The leak gate as a proof: every identifying original of the dataset, searched everywhere the
build writes, whichever rows the subset kept; a hit names the column and the rule to add."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from sandboxer.build.builder import build_snapshot
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.redact.dtypes import as_text
from sandboxer.redact.gate import LeakError
from sandboxer.redact.report import RedactionReport
from sandboxer.redact.secret_key import load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.snapshot.store import LocalStore
from tests.redact.gate_canaries import (
    ADMINS,
    N,
    canary_tokens,
    first_name,
    last_name,
    make_gate_duckdb,
)

KEY = "leak-gate-test-key-000000001"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_gate_duckdb(tmp_path_factory.mktemp("gate") / "prod.duckdb")


def build(
    tmp_path: Path,
    url: str,
    *,
    percent: float = 50,
    store: Path | None = None,
    fidelity: bool = False,
    **redact: Any,
) -> Any:
    ds = Dataset.model_validate(
        {
            "source": url,
            "seed": 7,
            "subset": {"roots": [{"table": "people", "percent": percent}]},
            "redact": redact,
            "fidelity": {"enabled": fidelity},
        }
    )
    key = load_key(env="K", file=None, base=tmp_path, environ={"K": KEY})
    stage = RedactStage(ds.redact, key, tmp_path)
    store_ = LocalStore(store or tmp_path / "store")
    return build_snapshot("people", ds, store_, NoopConsole(), stages=[stage])


def refusal(tmp_path: Path, url: str, **kwargs: Any) -> str:
    with pytest.raises(LeakError) as e:
        build(tmp_path, url, **kwargs)
    message = str(e.value)
    assert not [t for t in canary_tokens() if t.lower() in message.lower()], "a value leaked"
    return message


def test_default_build_publishes_and_the_gate_searched_every_personal_column(
    tmp_path: Path, url: str
) -> None:
    info = build(tmp_path, url)
    report = RedactionReport.from_manifest(info.manifest)
    assert report is not None and report.gate is not None and report.gate.ok
    # The audit table (no subset row reaches it) is personal too, read from the source.
    assert report.gate.personal_columns is not None
    assert {"people.first_name", "people.last_name", "people.email", "audit.actor_email"} <= set(
        report.gate.personal_columns
    )
    assert report.gate.originals_checked >= 3 * N + len(ADMINS)


@pytest.mark.parametrize("percent", [50, 5])
def test_names_from_another_table_inside_kept_text_are_refused(
    tmp_path: Path, url: str, percent: float
) -> None:
    # Notes name people of other rows ("First Last", "LAST, First", a surname alone, an email
    # cut apart by a scrub, a phone); with 5 % of people, most named people are not in the
    # snapshot at all: their originals still come from the source.
    message = refusal(tmp_path, url, percent=percent, columns={"notes": {"body": "keep"}})
    assert "notes.body" in message
    assert re.search(r"notes\.body: \d+ row\(s\) hold original values of [a-z_., ]*people", message)
    assert "{redact: {columns: {notes: {body: scrub_text}}}}" in message


def test_the_rule_the_gate_names_makes_the_build_publish(tmp_path: Path, url: str) -> None:
    message = refusal(tmp_path, url, columns={"notes": {"body": "keep"}})
    rule = yaml.safe_load(re.search(r"add (\{redact: [^;\n]*)", message).group(1))  # type: ignore[union-attr]
    info = build(tmp_path, url, **rule["redact"])
    assert info.manifest.stages["redaction"]["gate"]["ok"]


def test_coverage_does_not_depend_on_other_rules(tmp_path: Path, url: str) -> None:
    plain = build(tmp_path / "a", url)
    more = build(
        tmp_path / "b",
        url,
        columns={"people": {"status": "hash", "town": {"strategy": "fake", "entity": "city"}}},
    )
    personal = [
        RedactionReport.from_manifest(i.manifest).gate.personal_columns  # type: ignore[union-attr]
        for i in (plain, more)
    ]
    # A hashed status is personal by rule; everything personal before still is.
    assert set(personal[0]) <= set(personal[1])
    message = refusal(
        tmp_path / "c",
        url,
        columns={"notes": {"body": "keep"}, "people": {"status": "hash"}},
    )
    assert "notes.body" in message


def test_lookups_identifiers_and_generalised_dates_are_not_leaks(tmp_path: Path, url: str) -> None:
    # districts.name equals the people's towns; accounts.code is Customer#001234567; birth
    # dates on 1 January are their own year. None of these is refused.
    info = build(
        tmp_path,
        url,
        columns={
            "districts": {"name": "keep"},
            "accounts": {"code": "keep"},
            "people": {"birth_date": {"strategy": "generalize", "to": "year"}},
        },
    )
    gate = info.manifest.stages["redaction"]["gate"]
    assert gate["ok"] and gate["leaks"] == [] and gate["findings"] == []


def _store_text(path: Path) -> str:
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return "\n".join("\n".join(as_text(frame[c]).drop_nulls().to_list()) for c in frame.columns)
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_file_under_the_store_holds_a_canary(tmp_path: Path, url: str) -> None:
    """Every file a default build writes (snapshot tables, manifest, refs, locks, the source
    profile cache), Parquet decoded: not one canary token, in any case."""
    store = tmp_path / "store"
    info = build(tmp_path, url, fidelity=True)
    assert info.manifest.fidelity and "error" not in info.manifest.fidelity
    files = sorted(p for p in store.rglob("*") if p.is_file())
    assert any("cache/profiles" in str(p) for p in files), "no profile was cached"
    assert any(p.suffix == ".parquet" for p in files)
    tokens = [t.lower() for t in canary_tokens()]
    for path in files:
        text = _store_text(path).lower()
        found = [t for t in tokens if t in text]
        assert not found, f"{path.relative_to(store)} holds {len(found)} canary token(s)"
    # The audit table was left empty by the subset, yet its emails are personal: the cached
    # source profile lists no category of them.
    (entry,) = (store / "cache/profiles").glob("*.json")
    cached = json.loads(entry.read_text())
    assert cached["gate"] is True
    actor = cached["profile"]["tables"]["audit"]["columns"]["actor_email"]
    assert actor["pii"] is True and "categories" not in actor


def test_a_cache_entry_holding_originals_is_refused_and_removed(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make the profile forget that the audit emails are personal (as the cache did when the
    # subset left the table empty): the gate refuses the entry, which is never kept.
    import sandboxer.profile.cache as cache

    real = cache.profile_source

    def forgetful(*args: Any, **kwargs: Any) -> Any:
        kwargs["pii_columns"] = [p for p in kwargs["pii_columns"] if p[0] != "audit"]
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "profile_source", forgetful)
    message = refusal(tmp_path, url, fidelity=True)
    assert "audit" in message and "actor_email" in message
    assert not list((tmp_path / "store/cache").rglob("*.json*"))
    assert LocalStore(tmp_path / "store").list() == []


def test_gc_prunes_caches_the_gate_did_not_check_and_unused_ones(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    profiles = tmp_path / "store/cache/profiles"
    profiles.mkdir(parents=True)
    checked, older, unused = profiles / "a.json", profiles / "b.json", profiles / "c.json"
    checked.write_text(json.dumps({"gate": True, "profile": {}}))
    older.write_text(json.dumps({"profile": {}}))  # written before the gate checked caches
    unused.write_text(json.dumps({"gate": True, "profile": {}}))
    long_ago = time.time() - 31 * 86_400
    os.utime(unused, (long_ago, long_ago))
    assert store.gc() == ["cache/profiles/b.json", "cache/profiles/c.json"]
    assert checked.exists()


def test_names_of_people_the_subset_left_out_are_originals(tmp_path: Path, url: str) -> None:
    info = build(tmp_path, url, percent=5)
    people = pl.read_parquet(info.path / info.manifest.tables["people"].file)
    assert people.height < N // 4
    gate = RedactionReport.from_manifest(info.manifest).gate  # type: ignore[union-attr]
    # Originals are every person of the source (first, last, email, phone, pairs), not the
    # few the subset kept.
    assert gate is not None and gate.originals_checked >= 3 * N
    assert first_name(0) and last_name(0)


def test_a_pseudonym_equal_to_another_persons_original_is_a_coincidence(
    tmp_path: Path, url: str
) -> None:
    first = build(tmp_path / "a", url, percent=5)
    kept = set(pl.read_parquet(first.path / first.manifest.tables["people"].file)["id"])
    absent, present = (next(i for i in range(N) if (i in kept) is want) for want in (False, True))

    def constant(i: int) -> dict[str, str]:
        # Every phone becomes one person's phone, computed so the rule itself (recorded in
        # the manifest) does not spell it out.
        return {"strategy": "expr", "sql": f"'+1 415 555 ' || CAST({1000 + 17 * i} AS VARCHAR)"}

    # Someone the subset left out: an original of the source, but no row carried it over.
    info = build(tmp_path / "b", url, percent=5, columns={"people": {"phone": constant(absent)}})
    gate = info.manifest.stages["redaction"]["gate"]
    assert gate["ok"] and gate["leaks"] == []
    assert [(c["column"], c["check"], c["rows"]) for c in gate["coincidences"]] == [
        ("phone", "generated", len(kept))
    ]
    # Someone in the snapshot: in that person's own row the phone is kept.
    message = refusal(
        tmp_path / "c", url, percent=5, columns={"people": {"phone": constant(present)}}
    )
    assert "people.phone: 1 row(s) hold original values" in message


def test_a_production_value_in_the_manifest_is_refused(tmp_path: Path, url: str) -> None:
    from tests.redact.gate_canaries import phone

    # A rule that spells out a phone number puts it into the manifest (the rule's params).
    rule = {"strategy": "expr", "sql": f"'{phone(3)}'"}
    message = refusal(tmp_path, url, columns={"people": {"phone": rule}})
    assert "manifest.json at .stages.redaction.columns.people.phone.params.sql" in message
    assert LocalStore(tmp_path / "store").list() == []


def test_copies_in_other_types_get_a_rule_that_fits_the_type(tmp_path: Path) -> None:
    url = make_gate_duckdb(tmp_path / "extras.duckdb", extras=True)
    # A reviewed keep of a verbatim email column, bytes holding a name and an email, an array
    # of name parts: all hold originals; each refusal names a rule its type takes.
    kept = {"extras": {"contact": "keep", "photo": "keep", "aliases": "keep"}}
    allow = {"allow_findings": ["extras.contact", "extras.photo", "extras.aliases"]}
    message = refusal(tmp_path, url, percent=100, columns=kept, gate=allow)
    rules = {
        m.group(1): yaml.safe_load(m.group(2))["redact"]["columns"]["extras"][m.group(1)]
        for m in re.finditer(r"extras\.(\w+): [^;]*; add (\{redact: [^;\n]*)", message)
    }
    assert rules == {
        "contact": {"strategy": "fake", "entity": "email"},
        "photo": "hash",
        "aliases": "hash",
    }
    info = build(tmp_path / "fixed", url, percent=100, columns={"extras": rules}, gate=allow)
    assert info.manifest.stages["redaction"]["gate"]["ok"]
