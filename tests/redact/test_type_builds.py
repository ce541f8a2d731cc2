"""Default builds (auto mode, a key, no hand-written rules) of databases holding every column
type their engine has: they publish, personal values inside lists, structs, maps, JSON and text
dates are redacted, and a rule that does not fit a type stops the build with a named error."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from sandboxer.build.builder import build_snapshot
from sandboxer.cli.main import cli
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.redact.dtypes import as_text
from sandboxer.redact.secret_key import load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.redact.strategies import ColumnTypeError
from sandboxer.snapshot.store import LocalStore

KEY = "type-builds-redaction-key-0001"
ROWS = 120
SURNAMES = ["Zorblaxen", "Quenthorpe", "Mivellari", "Draskovic"]


def _people(i: int) -> tuple[str, str]:
    first = ["Anna", "Bert", "Carla", "Dieter"][i % 4]
    return first, SURNAMES[(i // 4) % 4]


def make_duckdb(path: Path) -> str:
    """Every DuckDB type family in one table, personal values hidden in the nested ones."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    con.execute(
        """CREATE TABLE people (
            id INTEGER PRIMARY KEY, full_name VARCHAR, email VARCHAR, phone VARCHAR,
            birth_date DATE, emails VARCHAR[], phones VARCHAR[], nicknames VARCHAR[][],
            contacts STRUCT(email VARCHAR, phone VARCHAR)[],
            profile STRUCT(email VARCHAR, age INTEGER, photo BLOB), prefs MAP(VARCHAR, VARCHAR),
            photo BLOB, token UUID, salary DECIMAL(38, 10), small DECIMAL(4, 1),
            wait INTERVAL, wake TIME, created TIMESTAMP, created_tz TIMESTAMPTZ,
            created_ns TIMESTAMP_NS, doc JSON, active BOOLEAN, mood mood, nothing VARCHAR,
            no_list INTEGER[], empty_list INTEGER[], fixed INTEGER[2], big HUGEINT,
            choice UNION(num INTEGER, str VARCHAR), bits BIT, password VARCHAR NOT NULL,
            notes VARCHAR
        )"""
    )
    con.execute(
        f"""INSERT INTO people SELECT i,
            ['Anna', 'Bert', 'Carla', 'Dieter'][1 + i % 4] || ' '
                || {SURNAMES!r}[1 + (i // 4) % 4],
            'user' || i || '@mail' || (i % 7) || '.example',
            '+49 30 ' || lpad((1000000 + i * 7919 % 9000000)::VARCHAR, 7, '0'),
            DATE '1950-01-01' + (i * 37 % 20000)::INTEGER,
            ['u' || i || '@list.example', 'v' || i || '@list.example'],
            ['+49 151 ' || lpad((2000000 + i * 13)::VARCHAR, 7, '0')],
            [['nick' || i], []],
            [{{'email': 'c' || i || '@contacts.example',
               'phone': '+44 20 7946 ' || lpad((i % 10000)::VARCHAR, 4, '0')}}],
            {{'email': 'p' || i || '@profile.example', 'age': 20 + i % 50,
              'photo': '\\xff\\x00'::BLOB}},
            MAP(['home'], ['h' || i || '@map.example']),
            ('\\xff\\x00\\xfe' || i)::BLOB, md5(i::VARCHAR)::UUID, i * 1234.5678,
            (i % 999)::DECIMAL(4, 1), INTERVAL (i) DAY, TIME '08:00:00',
            TIMESTAMP '2020-01-01' + INTERVAL (i) HOUR,
            TIMESTAMPTZ '2020-01-01 00:00+00' + INTERVAL (i) HOUR,
            TIMESTAMP_NS '2020-01-01 00:00:00.123456789',
            ('{{"contact": {{"email": "j' || i || '@json.example", "phone": "+33 1 23 45 '
                || lpad((i % 100)::VARCHAR, 2, '0') || ' 67", "mobile": '
                || (4915112345000 + i * 7919) || '}}, "n": ' || i || '}}')::JSON,
            i % 2 = 0, ['sad', 'ok', 'happy'][1 + i % 3]::mood, NULL, NULL, [], [i, i + 1],
            i::HUGEINT, union_value(num := i), '101'::BIT, 'pw-' || md5(i::VARCHAR),
            'Customer asked us to write to user' || i || '@mail.example about the invoice.'
        FROM range({ROWS}) t(i)"""
    )
    con.close()
    return f"duckdb:///{path}"


def make_sqlite(path: Path) -> str:
    """SQLite's loose types: dates and timestamps as text, blobs, an all-null column."""
    con = sqlite3.connect(path)
    con.execute(
        """CREATE TABLE people (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT,
            birth_date TEXT, date_of_birth DATE, created_at DATETIME, photo BLOB, profile TEXT,
            empty_col TEXT, amount NUMERIC, flag BOOLEAN, phone TEXT, notes TEXT,
            password TEXT NOT NULL)"""
    )
    rows = []
    for i in range(ROWS):
        first, last = _people(i)
        born = dt.date(1950 + i % 40, 1 + i % 12, 2 + i % 27)  # no Jan 1: see item 8
        rows.append(
            (
                i, f"{first} {last}", f"user{i}@mail.example",
                f"{born} 00:00:00", str(born), f"2020-01-0{1 + i % 9}T10:00:00",
                bytes([255, 0, i % 256]) + b"blob",
                json.dumps({"contact": {"email": f"j{i}@json.example"}}),
                None, i * 1.5, i % 2, "" if i % 5 == 0 else None,
                f"Customer asked us to write to user{i}@mail.example about the invoice.",
                f"pw-{i}",
            )
        )  # fmt: skip
    con.executemany(f"INSERT INTO people VALUES ({', '.join('?' * 14)})", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def build(tmp_path: Path, url: str, **redact: Any) -> Any:
    ds = Dataset.model_validate(
        {
            "source": url,
            "seed": 1,
            "subset": {"roots": [{"table": "people", "percent": 100}]},
            "redact": redact,
        }
    )
    key = load_key(env="K", file=None, base=tmp_path, environ={"K": KEY})
    stage = RedactStage(ds.redact, key, tmp_path)
    store = LocalStore(tmp_path / "store")
    return build_snapshot("t", ds, store, NoopConsole(), stages=[stage])


def people(info: Any) -> pl.DataFrame:
    return pl.read_parquet(info.path / info.manifest.tables["people"].file)


def every_text(frame: pl.DataFrame) -> str:
    return "\n".join("\n".join(as_text(frame[c]).drop_nulls().to_list()) for c in frame.columns)


@pytest.fixture(scope="module")
def duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_duckdb(tmp_path_factory.mktemp("types") / "prod.duckdb")


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_sqlite(tmp_path_factory.mktemp("types") / "prod.sqlite")


def test_default_build_of_every_duckdb_type(tmp_path: Path, duckdb_url: str) -> None:
    info = build(tmp_path, duckdb_url)
    out = people(info)
    assert out.height == ROWS
    text = every_text(out)
    for domain in ("@mail", "@list.", "@contacts.", "@profile.", "@map.", "@json."):
        assert domain not in text, domain
    for surname in SURNAMES:
        assert surname not in text, surname
    schema = out.schema
    # Types survive redaction: lists stay lists, structs structs, maps maps, bytes bytes.
    assert schema["emails"] == pl.List(pl.String)
    assert schema["nicknames"] == pl.List(pl.List(pl.String))
    assert isinstance(schema["contacts"], pl.List) and isinstance(schema["profile"], pl.Struct)
    assert isinstance(schema["prefs"], pl.Map) and schema["photo"] == pl.Binary
    assert schema["wait"] == pl.String and schema["choice"] == pl.String  # no Parquet type
    assert out["fixed"].to_list()[:2] == [[0, 1], [1, 2]]
    assert out["profile"].struct.field("age").to_list()[:2] == [20, 21]
    docs = [json.loads(d) for d in out["doc"].to_list()]
    assert all(d["contact"]["email"].endswith(("example.com", "example.org", "example.net"))
               for d in docs)  # fmt: skip
    # A phone held as a JSON number is redacted too (patched, not replaced as text).
    mobiles = [str(d["contact"]["mobile"]) for d in docs]
    assert not {str(4915112345000 + i * 7919) for i in range(ROWS)} & set(mobiles)
    report = info.manifest.stages["redaction"]
    columns = report["columns"]["people"]
    for column in ("emails", "phones", "contacts", "profile", "prefs", "doc", "birth_date"):
        assert columns[column]["changed"] == ROWS, column
    # A secret in a NOT NULL column is hashed, not nulled (null would break the column).
    assert columns["password"]["strategy"] == "hash"
    assert columns["password"]["evidence"]["fitted_from"] == "null"
    assert report["gate"]["ok"]


def test_default_build_of_sqlite_text_dates(tmp_path: Path, sqlite_url: str) -> None:
    info = build(tmp_path, sqlite_url)
    out = people(info)
    src = pl.read_database("SELECT * FROM people ORDER BY id", sqlite3.connect(sqlite_url[10:]))
    columns = info.manifest.stages["redaction"]["columns"]["people"]
    assert columns["birth_date"]["strategy"] == "date_shift"
    for column, fmt in (("birth_date", "%Y-%m-%d %H:%M:%S"), ("date_of_birth", "%Y-%m-%d")):
        before = src[column].str.to_date(fmt)
        after = out[column].str.to_date(fmt)  # written back in the same format
        days = (after - before).dt.total_days().abs()
        assert days.min() >= 1 and days.max() <= 30, column
    assert out["photo"].dtype == pl.Binary and out["photo"].to_list() == src["photo"].to_list()
    assert out["empty_col"].null_count() == ROWS
    assert "@mail.example" not in every_text(out)


def test_generalize_on_text_dates_keeps_the_format(tmp_path: Path, sqlite_url: str) -> None:
    rule = {"strategy": "generalize", "to": "year"}
    info = build(tmp_path, sqlite_url, columns={"people": {"birth_date": rule}})
    years = people(info)["birth_date"].to_list()
    assert years[0] == "1950-01-01 00:00:00" and all(y.endswith("-01-01 00:00:00") for y in years)


@pytest.mark.parametrize("rule", [None, "keep", "null", "drop", "hash"])
def test_binary_columns_build_whatever_their_rule(
    tmp_path: Path, duckdb_url: str, rule: Any
) -> None:
    columns = {"people": {"photo": rule}} if rule else {}
    out = people(build(tmp_path, duckdb_url, columns=columns))
    if rule == "drop":
        assert "photo" not in out.columns
    elif rule == "null":
        assert out["photo"].null_count() == ROWS
    else:
        assert out["photo"].dtype == pl.Binary
        assert (out["photo"][0] == b"\xff\x00\xfe0") == (rule in (None, "keep"))


def test_a_rule_that_does_not_fit_the_type_names_column_type_and_rule(
    tmp_path: Path, duckdb_url: str
) -> None:
    with pytest.raises(ColumnTypeError) as info:
        build(tmp_path, duckdb_url, columns={"people": {"contacts": "mask"}})
    text = str(info.value)
    assert "`people.contacts`" in text and "List(Struct(" in text
    assert 'redact: {columns: {"people": {"contacts": {strategy: hash}}}}' in text
    assert "@contacts.example" not in text


def test_cli_reports_a_type_refusal_without_a_traceback(tmp_path: Path, duckdb_url: str) -> None:
    (tmp_path / "sandboxer.yaml").write_text(
        "version: 1\n"
        "store: {path: .sandboxer}\n"
        "datasets:\n"
        "  prod:\n"
        f'    source: "{duckdb_url}"\n'
        "    subset: {roots: [{table: people, percent: 100}]}\n"
        "    redact: {columns: {people: {wake: date_shift}}}\n"
    )
    result = CliRunner().invoke(
        cli,
        ["--config", str(tmp_path / "sandboxer.yaml"), "data", "build"],
        env={"SANDBOXER_REDACTION_KEY": KEY},
    )
    assert result.exit_code == 1, result.output
    assert "Error: Cannot redact `people.wake` with `date_shift`: the column is Time" in (
        result.output
    )
    assert 'redact: {columns: {"people": {"wake": {strategy: hash}}}}' in result.output
    assert "Traceback" not in result.output and "a bug in sandboxer" not in result.output


PG_DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (
    id integer PRIMARY KEY, full_name text, email text, birth_date date, emails text[],
    phones varchar(40)[], scores integer[], nested text[][], photo bytea, profile jsonb,
    doc json, token uuid, wait interval, salary numeric(12, 2), huge numeric(50, 5),
    free numeric, addr inet, mood mood, wake time, created timestamptz,
    nothing text, note text
)
"""


def test_default_build_of_postgres_types(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(PG_DDL)
        for i in range(ROWS):
            first, last = _people(i)
            con.execute(
                "INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "md5(%s::text)::uuid, make_interval(days => %s), %s, %s, %s, %s, %s, "
                "'08:00', now(), NULL, %s)",
                (
                    i, f"{first} {last}", f"user{i}@mail.example", dt.date(1960, 1, 1)
                    + dt.timedelta(days=i * 37), [f"u{i}@list.example", f"v{i}@list.example"],
                    [f"+49 151 {2000000 + i * 13:07d}"], [i, i + 1], [["a", "b"], ["c", "d"]],
                    bytes([255, 0, 254, i % 256]),
                    json.dumps({"contact": {"email": f"j{i}@json.example"}, "n": i}),
                    json.dumps({"who": {"email": f"w{i}@doc.example"}}), i, i, f"{i}.25",
                    f"123456789012345678901234567890.{i:05d}", f"{i}.125", f"10.0.{i % 256}.1",
                    ["sad", "ok", "happy"][i % 3],
                    f"Customer asked us to write to user{i}@mail.example about the invoice.",
                ),
            )  # fmt: skip
    info = build(tmp_path, pg_url)
    out = pl.read_parquet(info.path / info.manifest.tables["public.people"].file)
    assert out.height == ROWS
    text = every_text(out)
    for domain in ("@mail.", "@list.", "@json.", "@doc."):
        assert domain not in text, domain
    assert out.schema["emails"] == pl.List(pl.String) and out.schema["photo"] == pl.Binary
    assert out.schema["huge"] == pl.String  # wider than 38 digits: its exact text
    assert out["huge"][0] == "123456789012345678901234567890.00000"
    assert info.manifest.stages["redaction"]["gate"]["ok"]
