"""Every redaction strategy over every Arrow type a source yields, through the build stage.

For each strategy of ``STRATEGIES`` and each type, three batches go through
``RedactStage.process`` (a normal one with a repeated value and a null, an empty one, an all-null
one). The outcome is either correct output (same rows, nulls where they were, equal inputs give
equal outputs, the same type whatever the batch, a file the snapshot writer writes and polars
reads back) or a ``RedactionError`` that names `table.column`, never a cell value, and for a
type the strategy does not take, the type and the YAML of a rule that works. Which combinations
must work is written out below, independently of the strategies' own ``accepts``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from sandboxer.config.models import Redact
from sandboxer.errors import SandboxerError
from sandboxer.redact.dtypes import as_text
from sandboxer.redact.entities import Entity
from sandboxer.redact.policy import ColumnRule, Policy
from sandboxer.redact.secret_key import load_key
from sandboxer.redact.stage import RedactStage
from sandboxer.redact.strategies import STRATEGIES, ColumnTypeError, RedactionError
from sandboxer.snapshot.writer import TableWriter
from sandboxer.sources.schema import Column, Table, TableName

CANARIES = ("Zorblax", "Quenth", "zq@x.example", "ZORBLAX")
"""Words of the normal batches that no message may quote."""

D = dt.date(1962, 2, 18)
T = dt.datetime(1962, 2, 18, 10, 30, 15)
EMAIL_DOC = {"contact": {"email": "zq@x.example"}, "n": 1}


def _a(values: list[Any], t: pa.DataType) -> pa.Array:
    return pa.array(values, t)


def _same(first: Any, second: Any, t: pa.DataType) -> pa.Array:
    """[first, second, null, first]: row 3 repeats row 0, row 2 is null."""
    return _a([first, second, None, first], t)


LIST_STRUCT = pa.list_(pa.struct([("name", pa.string()), ("n", pa.int32())]))
NESTED_STRUCT = pa.struct(
    [("bin", pa.binary()), ("tags", pa.list_(pa.string())), ("when", pa.date32())]
)
JSON_STRUCT = pa.struct([("contact", pa.struct([("email", pa.string())])), ("n", pa.int64())])

TYPES: dict[str, pa.Array] = {
    "bool": _same(True, False, pa.bool_()),
    "int8": _same(7, -8, pa.int8()),
    "int32": _same(7, 8, pa.int32()),
    "int64": _same(7, 2**40, pa.int64()),
    "uint64": _same(7, 2**63, pa.uint64()),
    "float32": _same(1.5, -2.0, pa.float32()),
    "float64": _same(1.5, -2.0, pa.float64()),
    "decimal(4,1)": _same(decimal.Decimal("1.5"), decimal.Decimal("-999.9"), pa.decimal128(4, 1)),
    "decimal(18,0)": _same(decimal.Decimal(12), decimal.Decimal(10**17), pa.decimal128(18, 0)),
    "decimal(38,10)": _same(
        decimal.Decimal("1.5"),
        decimal.Decimal("1234567890123456789012345678.1234567891"),
        pa.decimal128(38, 10),
    ),
    "string": _same("Zorblax Quenth", "zq@x.example", pa.string()),
    "large_string": _same("Zorblax Quenth", "zq@x.example", pa.large_string()),
    "string_view": _same("Zorblax Quenth", "zq@x.example", pa.string_view()),
    "enum": pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 0], pa.int8()), pa.array(["Zorblax", "Quenth"])
    ),
    "binary": _same(b"\xff\x00Zorblax", b"Quenth", pa.binary()),
    "large_binary": _same(b"\xff\x00Zorblax", b"Quenth", pa.large_binary()),
    "uuid_bytes": _same(b"0123456789abcdef", b"fedcba9876543210", pa.binary(16)),
    "uuid_text": _same(
        "6f1c1c52-3d5e-4f0e-9a55-9b2d2b3c7e10", "7f1c1c52-3d5e-4f0e-9a55-9b2d2b3c7e10", pa.string()
    ),
    "date": _same(D, dt.date(2000, 2, 29), pa.date32()),
    "timestamp_us": _same(T, dt.datetime(2000, 2, 29, 23, 59), pa.timestamp("us")),
    "timestamp_ns": _same(T, dt.datetime(2000, 2, 29, 23, 59), pa.timestamp("ns")),
    "timestamp_ms": _same(T, dt.datetime(2000, 2, 29, 23, 59), pa.timestamp("ms")),
    "timestamptz_utc": _same(T, T, pa.timestamp("us", tz="UTC")),
    "timestamptz_berlin": _same(T, T, pa.timestamp("ms", tz="Europe/Berlin")),
    "time": _same(dt.time(10, 30), dt.time(1, 2), pa.time64("us")),
    "duration": _same(dt.timedelta(days=3), dt.timedelta(seconds=5), pa.duration("us")),
    "interval_text": _same("3 days", "1 mon 02:00:00", pa.string()),
    "inet_text": _same("10.0.0.1/32", "192.168.1.7/32", pa.string()),
    "text_date": _same("1962-02-18", "2000-02-29", pa.string()),
    "text_datetime": _same("1962-02-18 00:00:00", "2000-02-29 23:59:59.123", pa.string()),
    "text_datetime_tz": _same("1962-02-18T10:00:00+02:00", "2000-02-29T23:59:59Z", pa.string()),
    "json_text": _same(json.dumps(EMAIL_DOC), "{}", pa.string()),
    "list_string": _same(["Zorblax", "zq@x.example"], [], pa.list_(pa.string())),
    "large_list_string": _same(["Zorblax", None], [], pa.large_list(pa.string())),
    "list_int": _same([1, 2], [], pa.list_(pa.int64())),
    "list_list_string": _same([["Zorblax"], None], [[]], pa.list_(pa.list_(pa.string()))),
    "list_struct": _same([{"name": "Zorblax", "n": 1}], [None], LIST_STRUCT),
    "list_date": _same([D], [None], pa.large_list(pa.date32())),
    "list_text_date": _same(["1962-02-18"], [], pa.list_(pa.string())),
    "list_binary": _same([b"\xffZorblax"], [], pa.list_(pa.binary())),
    "list_null": _same([None], [], pa.list_(pa.null())),
    "fixed_list_int": _same([1, 2], [3, None], pa.list_(pa.int32(), 2)),
    "struct": _same(
        {"a": 1, "b": "Zorblax"},
        {"a": None, "b": None},
        pa.struct([("a", pa.int32()), ("b", pa.string())]),
    ),
    "struct_nested": _same(
        {"bin": b"\xffZorblax", "tags": ["Zorblax"], "when": D},
        {"bin": None, "tags": None, "when": None},
        NESTED_STRUCT,
    ),
    "json_struct": _same(EMAIL_DOC, {"contact": None, "n": 2}, JSON_STRUCT),
    "map": _same([("Zorblax", 1)], [], pa.map_(pa.string(), pa.int32())),
    "null": pa.nulls(4),
}

RULES: dict[str, tuple[Entity | None, dict[str, Any]]] = {
    "fake": (Entity.email, {}),
    "json": (None, {"paths": {"$.contact.email": {"strategy": "fake", "entity": "email"}}}),
    "expr": (None, {"sql": "value"}),
}

TEXT = {
    "string", "large_string", "string_view", "enum", "uuid_text", "interval_text", "inet_text",
    "text_date", "text_datetime", "text_datetime_tz", "json_text",
}  # fmt: skip
TEXT_LISTS = {"list_string", "large_list_string", "list_list_string", "list_text_date"}
INTS = {"int8", "int32", "int64", "uint64"}
NUMBERS = INTS | {"float32", "float64", "decimal(4,1)", "decimal(18,0)", "decimal(38,10)"}
DATES = {"date", "timestamp_us", "timestamp_ns", "timestamp_ms", "timestamptz_utc"}
DATES |= {"timestamptz_berlin", "text_date", "text_datetime", "text_datetime_tz"}
EVERY = set(TYPES)

MUST_WORK: dict[str, set[str]] = {
    "keep": EVERY,
    "null": EVERY,
    "drop": EVERY,
    "hash": EVERY,
    "expr": EVERY,
    "mask": TEXT | TEXT_LISTS | {"list_null", "null"},
    "scrub_text": TEXT | TEXT_LISTS | {"list_null", "null"},
    "fake": TEXT | TEXT_LISTS | {"list_null", "null"},
    "format": TEXT | TEXT_LISTS | INTS | {"list_int", "fixed_list_int", "list_null", "null"},
    "date_shift": DATES | {"list_date", "list_text_date", "list_null", "null"},
    "generalize": TEXT
    | TEXT_LISTS
    | NUMBERS
    | DATES
    | {"list_int", "fixed_list_int", "list_date", "list_null", "null"},
    "noise": NUMBERS | {"list_int", "fixed_list_int", "list_null", "null"},
    "json": {"json_text", "json_struct", "struct", "struct_nested", "list_struct", "map"}
    | {"list_null", "null"},
}
"""(strategy -> types) that must give output; every other pair must give a RedactionError."""

REDACTING = {"hash": CANARIES, "fake": CANARIES, "null": CANARIES, "format": CANARIES}
REDACTING["scrub_text"] = ("zq@x.example",)  # invented names in text: the detectors' matter
"""Strategies after which no canary may be left in a text-bearing value."""


def _stage(tmp_path: Path, strategy: str, entity: Entity | None, params: dict[str, Any]) -> Any:
    key = load_key(env="K", file=None, base=tmp_path, environ={"K": "type-matrix-key-0123456789"})
    stage = RedactStage(Redact(), key, tmp_path)
    rule = ColumnRule("t", "c", strategy, entity, dict(params), "config")
    stage.policy = Policy({("t", "c"): rule})
    return stage


TABLE = Table(name=TableName("t"), columns=[Column("id", "BIGINT"), Column("c", "ANY")])


def _run(stage: Any, column: pa.Array) -> pa.RecordBatch:
    batch = pa.record_batch({"id": pa.array(range(len(column)), pa.int64()), "c": column})
    out = list(stage.process(TABLE, iter([batch])))
    assert len(out) == 1
    result: pa.RecordBatch = out[0]
    return result


def _written(tmp_path: Path, batch: pa.RecordBatch) -> pl.DataFrame:
    """What the snapshot writer makes of ``batch``, read back as the gate reads it."""
    path = tmp_path / "t.parquet"
    writer = TableWriter(path, batch.schema)
    writer.write(batch)
    writer.close()
    frame = pl.read_parquet(path)
    for column in frame.columns:
        as_text(frame[column])
    return frame


def _assert_named(error: SandboxerError, dtype: pa.DataType) -> None:
    text = str(error)
    assert isinstance(error, RedactionError), type(error)
    assert "`t.c" in text, text
    for canary in CANARIES:
        assert canary not in text, text
    assert "a bug in sandboxer" not in text
    if isinstance(error, ColumnTypeError):
        assert 'redact: {columns: {"t": {"c": {strategy: ' in text, text


CASES = [(s, t) for s in STRATEGIES for t in TYPES]


@pytest.mark.parametrize(("strategy", "type_name"), CASES, ids=[f"{s}-{t}" for s, t in CASES])
def test_strategy_on_type(tmp_path: Path, strategy: str, type_name: str) -> None:
    entity, params = RULES.get(strategy, (None, {}))
    stage = _stage(tmp_path, strategy, entity, params)
    normal = TYPES[type_name]
    batches = {
        "normal": normal,
        "empty": normal.slice(0, 0),
        "nulls": pa.nulls(3, normal.type),
    }
    outputs: dict[str, pa.RecordBatch] = {}
    errors: dict[str, SandboxerError] = {}
    for kind, column in batches.items():
        try:
            outputs[kind] = _run(stage, column)
        except SandboxerError as e:
            _assert_named(e, column.type)
            errors[kind] = e
    if type_name in MUST_WORK[strategy]:
        assert not errors, f"{strategy} on {type_name}: {next(iter(errors.values()))}"
    else:
        assert "normal" in errors, f"{strategy} on {type_name} should be refused"
    if any(isinstance(e, ColumnTypeError) for e in errors.values()):
        # A type refusal does not depend on the values: every batch gets it.
        assert set(errors) == set(batches)

    types = set()
    for kind, out in outputs.items():
        column = batches[kind]
        assert out.num_rows == len(column)
        frame = _written(tmp_path, out)
        if strategy == "drop":
            assert frame.columns == ["id"]
            continue
        types.add(out.schema.field("c").type)
        got = out.column("c")
        nulls_in = column.is_null().to_pylist()
        nulls_out = got.is_null().to_pylist()
        if strategy == "null":
            assert all(nulls_out)
        else:
            assert nulls_out == nulls_in, f"{strategy} on {type_name} ({kind}) moved nulls"
        if kind == "normal":
            text = as_text(frame["c"]).to_list()
            assert text[0] == text[3], f"{strategy} on {type_name}: equal inputs differ"
            if strategy == "keep":
                assert got.equals(column)
            if strategy in REDACTING:
                for canary in REDACTING[strategy]:
                    assert not any(canary in (t or "") for t in text), (strategy, type_name, text)
    # The writer takes a table's batches in any order: one output type per column.
    assert len(types) <= 1, f"{strategy} on {type_name} gives types {types}"


def test_every_strategy_and_type_is_in_the_matrix() -> None:
    assert set(MUST_WORK) == set(STRATEGIES)
    assert len(CASES) == len(STRATEGIES) * len(TYPES)


# --- what the outputs are, for the types the issue names --------------------------------------

KEY = b"k" * 32


def _apply(strategy: str, values: pl.Series, entity: Entity | None = None, **params: Any) -> Any:
    from sandboxer.redact.strategies import RedactionContext, apply

    ctx = RedactionContext(key=KEY, entity=entity, table="t", column="c")
    return apply(strategy, values, ctx, params)


def test_lists_of_strings_are_pseudonymised_per_element() -> None:
    emails = pl.Series("c", [["a@x.example", "b@y.example"], None, [], ["b@y.example"]])
    out = _apply("fake", emails, Entity.email)
    flat = _apply("fake", pl.Series("c", ["a@x.example", "b@y.example"]), Entity.email)
    assert out.dtype == pl.List(pl.String)
    assert out.to_list() == [flat.to_list(), None, [], [flat[1]]]


def test_binary_is_hashed_as_bytes() -> None:
    values = pl.Series("c", [b"\xff\x00secret", None, b"", b"\xff\x00secret"])
    out = _apply("hash", values)
    assert out.dtype == pl.Binary
    assert out[0] == out[3] and out[1] is None and len(out[0]) == 8
    assert b"secret" not in out[0]


def test_text_dates_are_shifted_and_generalised_in_their_own_format() -> None:
    texts = pl.Series("c", ["1962-02-18 00:00:00", "1962-02-18", "18.02.1962", None, ""])
    shifted = _apply("date_shift", texts, days=30).to_list()
    assert shifted[3] is None and shifted[4] == ""
    assert shifted[0].endswith(" 00:00:00") and len(shifted[0]) == 19
    assert shifted[0][:10] == shifted[1] != "1962-02-18"  # keyed by the date, not the text
    parsed = dt.date.fromisoformat(shifted[1])
    assert 1 <= abs((parsed - D).days) <= 30
    assert dt.datetime.strptime(shifted[2], "%d.%m.%Y").date() == parsed
    general = _apply("generalize", texts, Entity.birth_date).to_list()
    assert general[:3] == ["1962-01-01 00:00:00", "1962-01-01", "01.01.1962"]
    with pytest.raises(RedactionError, match="1 of its values are not dates") as info:
        _apply("date_shift", pl.Series("c", ["1962-02-18", "Zorblax"]))
    assert "Zorblax" not in str(info.value)


def test_struct_json_paths_redact_typed_leaves() -> None:
    docs = pl.Series("c", [EMAIL_DOC, None, {"contact": None, "n": 2}], dtype=pl.from_arrow(
        pa.array([], JSON_STRUCT)).dtype)  # fmt: skip
    out = _apply("json", docs, paths={"$.contact.email": {"strategy": "fake", "entity": "email"}})
    assert out.dtype == docs.dtype
    rows = out.to_list()
    assert rows[1] is None and rows[2] == {"contact": None, "n": 2}
    assert rows[0]["n"] == 1 and rows[0]["contact"]["email"] not in (None, "zq@x.example")
    with pytest.raises(RedactionError, match=r"paths: \{\"\$\.n\": \{strategy: hash\}\}"):
        _apply("json", docs, paths={"$.n": {"strategy": "fake", "entity": "email"}})


def test_json_text_that_is_not_json_is_scrubbed_when_asked() -> None:
    docs = pl.Series("c", [json.dumps(EMAIL_DOC), "call zq@x.example", "", None])
    paths = {"$.contact.email": {"strategy": "fake", "entity": "email"}}
    with pytest.raises(RedactionError, match="1 values are not valid JSON"):
        _apply("json", docs, paths=paths)
    out = _apply("json", docs, paths=paths, not_json="scrub_text").to_list()
    assert json.loads(out[0])["contact"]["email"] != "zq@x.example"
    assert "zq@x.example" not in out[1] and out[2] == "" and out[3] is None


def test_type_refusals_name_the_column_the_type_and_the_rule() -> None:
    with pytest.raises(ColumnTypeError) as info:
        _apply("mask", pl.Series("c", [[{"a": 1}]]))
    text = str(info.value)
    assert "`t.c`" in text and "List(Struct" in text and "`mask` takes text" in text
    assert 'redact: {columns: {"t": {"c": {strategy: hash}}}}' in text
    assert "Strategies for List(Struct" in text and "hash" in text


def test_fake_phone_on_empty_and_null_batches() -> None:
    for values in ([None, None], ["", ""], [], ["", None]):
        out = _apply("fake", pl.Series("c", values, dtype=pl.String), Entity.phone)
        assert out.to_list() == values


def test_decimals_keep_their_type_at_its_limits() -> None:
    values = pl.Series("c", [decimal.Decimal("-999.9"), decimal.Decimal("999.9"), None])
    values = values.cast(pl.Decimal(4, 1))
    for strategy, params in (("noise", {"relative": 1.0}), ("generalize", {"width": 10})):
        out = _apply(strategy, values, **params)
        assert out.dtype == pl.Decimal(4, 1) and out.null_count() == 1


def test_json_text_numbers_at_key_paths_are_patched() -> None:
    docs = pl.Series("c", [
        json.dumps({"contact": {"phone": 4915112345000 + i, "email": f"p{i}@x.example"}, "n": i})
        for i in range(50)
    ] + [None, "{}"])  # fmt: skip
    paths = {"$.contact.phone": {"strategy": "fake", "entity": "phone"}, "$.n": "hash"}
    out = _apply("json", docs, paths=paths).to_list()
    assert out[-2:] == [None, "{}"]
    parsed = [json.loads(d) for d in out[:-2]]
    phones = [d["contact"]["phone"] for d in parsed]
    assert all(p != 4915112345000 + i for i, p in enumerate(phones))
    # Still numbers where the fake is a JSON number; as text where it starts with a zero.
    assert all(isinstance(p, int) or (isinstance(p, str) and p.isdigit()) for p in phones)
    assert all(isinstance(d["n"], str) and len(d["n"]) == 16 for d in parsed)  # hex
    assert [d["contact"]["email"] for d in parsed] == [f"p{i}@x.example" for i in range(50)]
    with pytest.raises(RedactionError, match="not strings or numbers under a key path"):
        _apply("json", pl.Series("c", ['{"a": [1, 2]}']), paths={"$.a[*]": "hash"})
