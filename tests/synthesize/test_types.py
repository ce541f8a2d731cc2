"""Synthesis of every column type a source yields: synthetic columns have the real columns'
Arrow types (lists, structs, maps, times, durations...), JSON columns hold valid JSON and UUID
columns UUIDs, in whole synthetic tables and in rows added to a subset, with redaction off or
on."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.redact.secret_key import load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.snapshot.stage import Stage
from sandboxer.snapshot.store import LocalStore
from sandboxer.synthesize.stage import SynthesizeStage
from sandboxer.synthesize.values import ValueContext, json_documents, typed_values, uuids

ROWS = 1500


@pytest.fixture(scope="module")
def typed_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("typed") / "prod.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """CREATE TABLE c (id INTEGER PRIMARY KEY, tags VARCHAR[], nums INTEGER[],
            pair INTEGER[2], doc JSON, st STRUCT(a INTEGER, b VARCHAR, l DATE[]),
            m MAP(VARCHAR, INTEGER), bl BLOB, u UUID, t TIME, iv INTERVAL, d DECIMAL(18, 3),
            nothing VARCHAR[])"""
    )
    con.execute(
        f"""INSERT INTO c SELECT i, ['x' || (i % 7), 'y'], [i, i + 1], [i, 2 * i],
            ('{{"a": {{"b": "v' || i || '"}}, "n": ' || i || '}}')::JSON,
            {{'a': i, 'b': 'q' || i, 'l': [DATE '2020-01-01' + i::INTEGER]}},
            MAP(['k' || (i % 3)], [i]),
            ('\\xff' || i)::BLOB, md5(i::VARCHAR)::UUID, TIME '10:00:00', INTERVAL (i) DAY,
            i * 1.5, NULL
            FROM range({ROWS}) t(i)"""
    )
    con.execute(
        "CREATE TABLE o (id INTEGER PRIMARY KEY, cid INTEGER REFERENCES c(id), v VARCHAR[])"
    )
    con.execute(f"INSERT INTO o SELECT i, i % {ROWS}, ['z' || i] FROM range(3000) t(i)")
    con.close()
    return f"duckdb:///{path}"


def build(tmp_path: Path, url: str, synthesize: dict[str, Any], redact: bool) -> Any:
    ds = Dataset.model_validate(
        {
            "source": url,
            "seed": 3,
            "subset": {"roots": [{"table": "c", "percent": 20}]},
            "synthesize": synthesize,
            # Digit runs inside random UUIDs can read as phone numbers to the re-scan: hashed.
            "redact": {"mode": "auto", "columns": {"c": {"u": "hash"}}}
            if redact
            else {"mode": "off"},
        }
    )
    assert ds.synthesize is not None
    stages: list[Stage] = [SynthesizeStage(ds.synthesize, tmp_path)]
    if redact:
        key = load_key(env="K", file=None, base=tmp_path, environ={"K": "synth-types-key-0123"})
        stages.append(RedactStage(ds.redact, key, tmp_path))
    return build_snapshot("s", ds, LocalStore(tmp_path / "store"), NoopConsole(), stages=stages)


def read(info: Any, name: str) -> pl.DataFrame:
    return pl.read_parquet(info.path / info.manifest.tables[name].file)


def source_schema(url: str, table: str) -> pa.Schema:
    con = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
    try:
        return con.sql(f"SELECT * EXCLUDE (iv) FROM {table} LIMIT 0").to_arrow_table().schema
    finally:
        con.close()


MODES = {
    "tables": {"mode": "tables", "scale": 0.5},
    "fill_in": {
        "mode": "fill_in",
        "fill": [{"table": "c", "rows": 80}, {"table": "o", "rows": 40}],
    },
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_redaction_off_keeps_every_type(tmp_path: Path, typed_url: str, mode: str) -> None:
    info = build(tmp_path, typed_url, MODES[mode], redact=False)
    assert info.manifest.integrity.ok
    c = read(info, "c")
    real = pl.from_arrow(source_schema(typed_url, "c").empty_table())
    assert isinstance(real, pl.DataFrame)
    for name, dtype in real.schema.items():
        assert c.schema[name] == dtype, name
    assert c.schema["iv"] == pl.String  # an interval has no Parquet type: its text
    for doc in c["doc"].drop_nulls():
        json.loads(doc)
    for value in c["u"].drop_nulls():
        uuid.UUID(value)
    assert read(info, "o").schema["v"] == pl.List(pl.String)
    added = info.manifest.stages["synthesize"]["rows"]
    assert added["c"] == (80 if mode == "fill_in" else c.height)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_synthesis_then_redaction_on_every_type(tmp_path: Path, typed_url: str, mode: str) -> None:
    info = build(tmp_path, typed_url, MODES[mode], redact=True)
    c = read(info, "c")
    assert c.schema["tags"] == pl.List(pl.String) and isinstance(c.schema["m"], pl.Map)
    for doc in c["doc"].drop_nulls():
        json.loads(doc)


TYPES = [
    pa.null(), pa.time64("us"), pa.time32("s"), pa.duration("ms"), pa.binary(16),
    pa.list_(pa.string()), pa.large_list(pa.int64()), pa.list_(pa.list_(pa.date32())),
    pa.list_(pa.int16(), 3), pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))]),
    pa.map_(pa.string(), pa.float64()), pa.list_(pa.struct([("x", pa.bool_())])),
    pa.dictionary(pa.int8(), pa.string()), pa.decimal128(10, 2), pa.timestamp("ns", "UTC"),
]  # fmt: skip


@pytest.mark.parametrize("t", TYPES, ids=[str(t) for t in TYPES])
@pytest.mark.parametrize("n", [0, 1, 500])
def test_typed_values_have_the_type_and_length(t: pa.DataType, n: int) -> None:
    out = typed_values(t, n, np.random.default_rng(0), ValueContext("t", 1))
    assert out.type == t and len(out) == n
    out.validate(full=True)


def test_json_documents_and_uuids_are_valid() -> None:
    texts = pa.array(["quick brown", "", "fox"], pa.large_string())
    docs = [json.loads(d) for d in json_documents(texts).to_pylist()]
    assert docs == [{"text": "quick brown"}, {"text": ""}, {"text": "fox"}]
    for value in uuids(100, np.random.default_rng(1)).to_pylist():
        assert uuid.UUID(value).version == 4
