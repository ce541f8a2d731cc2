"""FilesSource over real Parquet and CSV files written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandboxer.errors import SourceError
from sandboxer.sources import Sample, TableName, create_source
from sandboxer.sources.files import FilesSource
from sandboxer.sources.sql import parse_where


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A directory with one table of each kind, and names that need quoting."""
    d = tmp_path / "shop"
    d.mkdir()
    pq.write_table(
        pa.table(
            {"id": pa.array(range(1000), pa.int64()), "name": [f"name {i}" for i in range(1000)]}
        ),
        d / "customers.parquet",
    )
    write_csv(
        d / "orders.csv", "id,customer_id,total", [f"{i},{i % 1000},{i * 1.5}" for i in range(3000)]
    )
    # hive-style partitioned folder
    for region in ("eu", "us"):
        part = d / "events" / f"region={region}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"id": [f"{region}-{i}" for i in range(5)]}), part / "p0.parquet")
    (d / "events" / "_SUCCESS").write_text("")
    # plain folder of part files
    (d / "lines").mkdir()
    for n in range(3):
        pq.write_table(
            pa.table({"order_id": [n * 10 + i for i in range(10)]}),
            d / "lines" / f"part-{n}.parquet",
        )
    staging = d / "lines" / "_temporary" / "0"  # a writer's leftovers: not data
    staging.mkdir(parents=True)
    pq.write_table(pa.table({"other": ["x"]}), staging / "part-9.parquet")
    write_csv(d / 'o\'q "x".csv', "my table,select,ünïcødé", ["1,a,ü", "2,b,ö"])
    write_csv(d / "a.b.csv", "id", ["1"])
    write_csv(d / "ünïcødé.csv", "id", ["1", "2"])
    write_csv(d / "empty.csv", "id,label", [])
    pq.write_table(pa.table({"id": pa.array([], pa.int32())}), d / "nothing.parquet")
    (d / ".DS_Store").write_bytes(b"\0\1")
    return d


def test_tables_from_files_and_folders(shop: Path) -> None:
    with FilesSource(str(shop)) as source:
        schema = source.introspect()
        assert sorted(schema.tables) == sorted(
            [
                "a.b",
                "customers",
                "empty",
                "events",
                "lines",
                "nothing",
                'o\'q "x"',
                "orders",
                "ünïcødé",
            ]
        )
        assert schema.table("a.b").name == TableName("a.b")
        orders = schema.table("orders")
        assert [(c.name, c.type) for c in orders.columns] == [
            ("id", "BIGINT"),
            ("customer_id", "BIGINT"),
            ("total", "DOUBLE"),
        ]
        assert orders.primary_key == () and orders.foreign_keys == []  # files declare no keys
        assert schema.table("events").column_names == ["id", "region"]
        assert source.count_rows(schema.table("events")) == 10
        assert source.count_rows(schema.table("lines")) == 30
        assert schema.table("lines").column_names == ["order_id"]
        assert source.count_rows(schema.table("empty")) == 0
        assert source.count_rows(schema.table("nothing")) == 0
        assert schema.table('o\'q "x"').column_names == ["my table", "select", "ünïcødé"]


def test_file_url(shop: Path) -> None:
    source = create_source(f"file://{shop}")
    assert isinstance(source, FilesSource)
    with source:
        assert "customers" in source.introspect().tables


def test_select_and_sample(shop: Path) -> None:
    with FilesSource(str(shop)) as source:
        schema = source.introspect()
        weird = schema.table('o\'q "x"')
        where = parse_where("\"select\" = 'b'", weird, "duckdb")
        assert source.select(weird, ["ünïcødé", "my table"], where=where).to_pylist() == [
            {"ünïcødé": "ö", "my table": 2}
        ]
        events = schema.table("events")
        where = parse_where("region = 'us'", events, "duckdb")
        got = source.select(events, ["id"], where=where, order_by=["id"], limit=2)
        assert got.column("id").to_pylist() == ["us-0", "us-1"]

        orders = schema.table("orders")
        orders.primary_key = ("id",)  # what a virtual key from config does
        a = source.select(orders, ["id"], sample=Sample(20, 5), order_by=["id"])
        assert a.equals(source.select(orders, ["id"], sample=Sample(20, 5), order_by=["id"]))
        assert 450 < a.num_rows < 750
        assert not a.equals(source.select(orders, ["id"], sample=Sample(20, 6), order_by=["id"]))

        empty = source.select(schema.table("empty"), ["id", "label"])
        assert empty.num_rows == 0 and empty.column_names == ["id", "label"]


def test_fetch_matching(shop: Path) -> None:
    with FilesSource(str(shop)) as source:
        orders = source.introspect().table("orders")
        keys = pa.table({"customer_id": pa.array(range(0, 100_000, 7), pa.int64())})
        rows = pa.Table.from_batches(
            list(source.fetch_matching(orders, ["id"], ["customer_id"], keys, order_by=["id"]))
        )
        assert rows.column("id").to_pylist() == [i for i in range(3000) if (i % 1000) % 7 == 0]


def test_csv_types_detected_from_the_whole_file(tmp_path: Path) -> None:
    rows = [f"{i},{i * 0.5}" for i in range(50_000)] + ["50000,unknown"]
    write_csv(tmp_path / "late.csv", "id,score", rows)
    with FilesSource(str(tmp_path)) as source:
        table = source.introspect().table("late")
        assert table.column("score").type == "VARCHAR"  # not DOUBLE from the first rows
        assert source.select(table, ["score"]).num_rows == 50_001


# -- errors ----------------------------------------------------------------------------------
def test_malformed_csv_line_small_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "people.csv", "id,name", ["1,ann", "2,bob,SECRET-VALUE", "3,cy"])
    with pytest.raises(SourceError) as e:
        FilesSource(str(tmp_path)).open()
    message = str(e.value)
    assert "people.csv" in message and "line 3" in message
    assert "Fix or remove line 3" in message
    assert "SECRET" not in message  # never a cell value


def test_malformed_csv_line_found_while_reading(tmp_path: Path) -> None:
    rows = [f"{i},n{i}" for i in range(60_000)]
    rows[55_000] = '55000,"SECRET-VALUE'
    write_csv(tmp_path / "big.csv", "id,name", rows)
    with pytest.raises(SourceError) as e, FilesSource(str(tmp_path)) as source:
        table = source.introspect().table("big")
        source.select(table, ["id", "name"])
    message = str(e.value)
    assert "big.csv" in message and "line 55002" in message
    assert "SECRET" not in message


def test_csv_with_too_many_fields_far_down(tmp_path: Path) -> None:
    rows = [f"{i},n{i}" for i in range(60_000)]
    rows[59_000] = "59000,n,SECRET-VALUE"
    write_csv(tmp_path / "wide.csv", "id,name", rows)
    with (
        pytest.raises(SourceError, match=r"wide\.csv`, line 59002") as e,
        FilesSource(str(tmp_path)) as source,
    ):
        source.count_rows(source.introspect().table("wide"))
    assert "SECRET" not in str(e.value)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"does not exist"):
        FilesSource(str(tmp_path / "nope")).open()
    assert not (tmp_path / "nope").exists()


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / ".hidden").write_text("x")
    with pytest.raises(SourceError, match=r"holds no tables") as e:
        FilesSource(str(tmp_path)).open()
    assert "*.parquet" in str(e.value)


def test_path_is_a_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", "id", ["1"])
    with pytest.raises(SourceError, match=r"is not a directory"):
        FilesSource(str(path)).open()


def test_unsupported_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "ok.csv", "id", ["1"])
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "csvs").mkdir()
    write_csv(tmp_path / "csvs" / "a.csv", "id", ["1"])
    with pytest.raises(SourceError, match=r"cannot read: `csvs/`, `notes.txt`"):
        FilesSource(str(tmp_path)).open()


def test_zero_byte_csv(tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(SourceError, match=r"blank\.csv` is empty: it has no header line"):
        FilesSource(str(tmp_path)).open()


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(SourceError, match=r"Cannot read Parquet .*broken\.parquet"):
        FilesSource(str(tmp_path)).open()


def test_two_files_one_table_name(tmp_path: Path) -> None:
    write_csv(tmp_path / "orders.csv", "id", ["1"])
    pq.write_table(pa.table({"id": [1]}), tmp_path / "orders.parquet")
    with pytest.raises(SourceError, match=r"would both be table `orders`"):
        FilesSource(str(tmp_path)).open()


def test_glob_characters_in_names(tmp_path: Path) -> None:
    write_csv(tmp_path / "a*.csv", "id", ["1"])
    with pytest.raises(SourceError, match=r"Rename"):
        FilesSource(str(tmp_path)).open()
