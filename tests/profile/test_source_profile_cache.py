"""Fan-out computed by each source, and source profiles cached while the source is unchanged."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sandboxer.build.builder import build_snapshot, load_schema
from sandboxer.config.models import Dataset
from sandboxer.console import NoopConsole
from sandboxer.profile.profile import fanout
from sandboxer.snapshot.store import LocalStore
from sandboxer.sources import create_source

DDL = [
    "create table parent (id integer primary key, a integer not null, b varchar(10) not null, "
    "unique (a, b))",
    "create table child (id integer primary key, pid integer, pa integer, pb varchar(10))",
    # Parent 3 and 5 have no children; 99 is no parent (orphans); a null key is a null child.
    "insert into parent values (1, 10, 'x'), (2, 20, 'y'), (3, 30, 'x'), (4, 40, 'y'), "
    "(5, 50, 'x')",
    "insert into child values (1, 1, 10, 'x'), (2, 1, 10, 'x'), (3, 1, 10, 'x'), "
    "(4, 2, 20, 'y'), (5, 4, 40, 'y'), (6, 4, 40, 'zz'), (7, 99, 99, 'x'), (8, 99, 10, null), "
    "(9, null, null, 'y')",
]


def _duckdb(tmp_path: Path) -> str:
    import duckdb

    path = tmp_path / "fan.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in DDL:
            con.execute(statement)
    return f"duckdb:///{path}"


def _sqlite(tmp_path: Path) -> str:
    path = tmp_path / "fan.sqlite"
    con = sqlite3.connect(path)
    for statement in DDL:
        con.execute(statement)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def _files(tmp_path: Path) -> str:
    import duckdb

    folder = tmp_path / "files"
    folder.mkdir()
    with duckdb.connect() as con:
        for statement in DDL:
            con.execute(statement)
        for table in ("parent", "child"):
            con.execute(f"copy {table} to '{folder / table}.parquet' (format parquet)")
    return str(folder)


def _postgres(pg_url: str) -> str:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        for statement in DDL:
            con.execute(statement)
    return pg_url


@pytest.fixture(params=["duckdb", "sqlite", "files", "postgres"])
def fan_source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return _postgres(request.getfixturevalue("pg_url"))
    maker = {"duckdb": _duckdb, "sqlite": _sqlite, "files": _files}[request.param]
    return maker(tmp_path)


@pytest.mark.parametrize(
    ("columns", "ref_columns", "expected"),
    [
        # parents 1,2,3,4,5: 3, 1, 0, 2, 0 children; child 7 and 8 point at 99; 9 is null.
        (["pid"], ["id"], ({"children": [0, 1, 2, 3], "parents": [2, 1, 1, 1]}, 2, 1)),
        # (10,x) x3, (20,y) x1, (40,y) x1; (40,zz) and (99,x) match nothing; (10,null) and
        # (null,y) have a null part.
        (["pa", "pb"], ["a", "b"], ({"children": [0, 1, 3], "parents": [2, 2, 1]}, 2, 2)),
    ],
)
def test_fanout_of_a_sampled_table_counts_all_its_rows(
    fan_source: str, columns: list[str], ref_columns: list[str], expected: Any
) -> None:
    """The child table (9 rows) is sampled, its parent (5 rows) is not: fan-out still counts
    every child row, exactly as polars does on the whole tables."""
    from sandboxer.profile import profile_source
    from sandboxer.sources.schema import ForeignKey

    source = create_source(fan_source)
    with source:
        schema = source.introspect()
        child, parent = schema.table("child"), schema.table("parent")
        child.foreign_keys[:] = [
            ForeignKey(child.name, tuple(columns), parent.name, tuple(ref_columns))
        ]
        profile = profile_source(source, schema, sample_rows=7, detect=False)
        whole = fanout(
            pl.from_arrow(source.select(child, columns)).lazy(),  # type: ignore[union-attr]
            pl.from_arrow(source.select(parent, ref_columns)).lazy(),  # type: ignore[union-attr]
            columns,
            ref_columns,
        )
        sparse = profile_source(source, schema, sample_rows=3, seed=1, detect=False)
    tables = profile["tables"]
    assert tables[child.key]["sampled"] and not tables[parent.key]["sampled"]
    assert tables[child.key]["profiled_rows"] < 9
    (fk,) = tables[child.key]["foreign_keys"]
    counts, orphans, nulls = expected
    assert fk["children_per_parent"] == whole
    assert whole["counts"] == counts
    assert (whole["orphans"], whole["null_children"]) == (orphans, nulls)
    # Both sampled: the sampled parents' children, no orphan count.
    (fk,) = sparse["tables"][child.key]["foreign_keys"]
    sampled_parents = sparse["tables"][parent.key]["profiled_rows"]
    assert sparse["tables"][parent.key]["sampled"]
    assert fk["children_per_parent"]["orphans"] is None
    assert fk["children_per_parent"]["parents"] == sampled_parents
    assert fk["children_per_parent"]["null_children"] == nulls


def _shop_files(folder: Path, customers: int, seed: int) -> Path:
    import pyarrow.parquet as pq

    from examples.shop.generate import generate_shop

    folder.mkdir(parents=True, exist_ok=True)
    for name, table in generate_shop(customers=customers, seed=seed).items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def _shop_dataset(url: str, **fidelity: Any) -> Dataset:
    from tests.snapshot.test_build_sources import SHOP_KEYS, SUBSET

    return Dataset.model_validate(
        {"source": url, "keys": SHOP_KEYS, "seed": 3, "subset": SUBSET, "fidelity": fidelity}
    )


def _build(store: LocalStore, ds: Dataset, name: str = "shop") -> dict[str, Any]:
    info = build_snapshot(name, ds, store, NoopConsole())
    manifest = info.manifest.to_dict()
    store.remove(info.id)  # the next build of the same content must do the work again
    return manifest


def test_fidelity_is_on_by_default_and_the_source_profile_is_cached(tmp_path: Path) -> None:
    folder = _shop_files(tmp_path / "prod", customers=400, seed=1)
    store = LocalStore(tmp_path / "store")
    ds = _shop_dataset(str(folder))
    assert ds.fidelity.enabled

    first = _build(store, ds)["fidelity"]
    assert first["reference"]["cached"] is False
    assert 0.5 < first["score"] <= 1.0
    assert first["compared"]["foreign_keys"] > 0
    cached = list((tmp_path / "store/cache/profiles").glob("*.json"))
    assert len(cached) == 1

    second = _build(store, ds)["fidelity"]
    assert second["reference"] == first["reference"] | {"cached": True}
    assert second["score"] == first["score"]

    # New production data in one file: the cached profile no longer describes the source.
    time.sleep(0.01)
    _shop_files(tmp_path / "other", customers=400, seed=2)
    os.replace(tmp_path / "other/orders.parquet", folder / "orders.parquet")
    third = _build(store, ds)["fidelity"]
    assert third["reference"]["cached"] is False
    assert len(list((tmp_path / "store/cache/profiles").glob("*.json"))) == 1  # replaced

    off = _build(store, _shop_dataset(str(folder), cache=False))["fidelity"]
    assert off["reference"]["cached"] is False
    assert "fidelity" not in _build(store, _shop_dataset(str(folder), enabled=False))


def test_excluded_tables_are_not_profiled_and_redacted_columns_not_by_value(
    tmp_path: Path,
) -> None:
    from sandboxer.redact.secret_key import load_key
    from sandboxer.redact.stage import RedactStage
    from tests.snapshot.test_build_sources import SHOP_KEYS

    key = load_key(env="K", file=None, base=tmp_path, environ={"K": "cache-test-key-0123456789"})
    folder = _shop_files(tmp_path / "prod", customers=300, seed=4)
    ds = Dataset.model_validate(
        {
            "source": str(folder),
            "keys": SHOP_KEYS,
            "subset": {
                "roots": [{"table": "customers", "percent": 50}],
                "tables": {"payments": "exclude"},
            },
            "redact": {
                "columns": {"customers": {"email": {"strategy": "fake", "entity": "email"}}}
            },
        }
    )
    store = LocalStore(tmp_path / "store")
    stages = [RedactStage(ds.redact, key, tmp_path)]
    info = build_snapshot("shop", ds, store, NoopConsole(), stages=stages)
    assert "payments" in info.manifest.excluded_tables
    (entry,) = (tmp_path / "store/cache/profiles").glob("*.json")
    profile = json.loads(entry.read_text())["profile"]
    assert "payments" not in profile["tables"]
    email = profile["tables"]["customers"]["columns"]["email"]
    assert email["pii"] is True
    assert "categories" not in email and "quantiles" not in email
    emails = pl.read_parquet(folder / "customers.parquet").get_column("email").to_list()
    text = entry.read_text()
    assert not [e for e in emails if e in text]


def test_postgres_state_follows_writes(pg_url: str) -> None:
    import psycopg

    _postgres(pg_url)
    source = create_source(pg_url)
    with source:
        schema = load_schema(source, Dataset.model_validate({"source": pg_url}))
        before = source.state(schema)
    with source:
        assert source.state(schema) == before  # nothing written: the same token
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("insert into child values (100, 1, 10, 'x')")
    # Counters reach the statistics system when the writer's session ends or idles.
    deadline = time.monotonic() + 15
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.2)
        with source:
            after = source.state(schema)
    assert after != before
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("truncate child")
    with source:
        assert source.state(schema) != after  # a new file node at once


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_profile_samples_are_native_repeatable_and_sized(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from sandboxer.profile import profile_source
    from sandboxer.sources.base import Sample

    ddl = [
        "create table big (id integer primary key, v integer, g varchar(4))",
        "insert into big select i, i % 97, 'g' || (i % 7) from generate_series(1, 50000) s(i)",
    ]
    if engine == "duckdb":
        import duckdb

        url = f"duckdb:///{tmp_path / 'big.duckdb'}"
        with duckdb.connect(str(tmp_path / "big.duckdb")) as con:
            for statement in ddl:
                con.execute(statement)
    else:
        import psycopg

        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as con:
            for statement in ddl:
                con.execute(statement)
    source = create_source(url)
    with source:
        first = profile_source(source, sample_rows=5000, seed=9, detect=False)
        again = profile_source(source, sample_rows=5000, seed=9, detect=False)
        other = profile_source(source, sample_rows=5000, seed=10, detect=False)
        table = source.introspect().table("big")
        sql = source.select(table, ["id"], sample=Sample(10, 9, method="native"))
        md5 = source.select(table, ["id"], sample=Sample(10, 9))
    big = first["tables"][next(iter(first["tables"]))]
    assert big["rows"] == 50000 and big["sampled"]
    assert 4000 < big["profiled_rows"] < 6000
    assert first == again  # the same rows while the table is unchanged
    assert other != first
    assert 4000 < sql.num_rows < 6000 and 4000 < md5.num_rows < 6000
    assert sorted(sql.column("id").to_pylist()) != sorted(md5.column("id").to_pylist())


def test_virtual_keys_of_other_types_and_a_fidelity_that_cannot_be_measured(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text column referencing an integer key (a virtual key): fan-out casts like the
    subsetter, and a value that does not convert counts as a null key. When the source fails
    while fidelity is measured (here: the server ends the connection), the build still
    publishes, records why, and ``verify --min-fidelity`` fails."""
    import psycopg
    from click.testing import CliRunner

    import sandboxer.profile.cache as cache_module
    from sandboxer.cli.main import cli

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("create table parent (id integer primary key, v integer)")
        con.execute("create table child (id integer primary key, parent_ref text)")
        con.execute("insert into parent select i, i % 10 from generate_series(1, 3000) i")
        con.execute(
            "insert into child select i, (i % 3000 + 1)::text from generate_series(1, 3000) i"
        )
        con.execute("insert into child values (5001, 'Zelda Quux-7731')")
    config = tmp_path / "sandboxer.yaml"
    dataset: dict[str, Any] = {
        "source": pg_url,
        "keys": {
            "foreign": [{"table": "child", "columns": ["parent_ref"], "references": "parent"}]
        },
        "subset": {"roots": [{"table": "parent", "percent": 10}]},
        "redact": {"mode": "off"},
        "fidelity": {"sample_rows": 1000},
    }
    config.write_text(json.dumps({"version": 1, "datasets": {"d": dataset}}))

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    def manifest(result: Any) -> dict[str, Any]:
        sid = json.loads(result.stdout.strip().splitlines()[-1])["id"]
        return json.loads((tmp_path / ".sandboxer/snapshots" / sid / "manifest.json").read_text())

    result = run("--json", "data", "build")
    assert result.exit_code == 0, result.stderr
    fidelity = manifest(result)["fidelity"]
    (fk,) = fidelity["tables"]["public.child"]["foreign_keys"]
    assert fk["metric"] == "ks_counts" and fidelity["score"] > 0.5
    assert run("data", "verify", "--min-fidelity", "0.5").exit_code == 0

    real = cache_module.profile_source

    def server_ends_the_session(source: Any, *args: Any, **kwargs: Any) -> Any:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid()"
            )
        return real(source, *args, **kwargs)

    monkeypatch.setattr(cache_module, "profile_source", server_ends_the_session)
    dataset["seed"] = 1  # another snapshot: the same content would be the published one
    config.write_text(json.dumps({"version": 1, "datasets": {"d": dataset}}))
    result = run("--json", "data", "build")
    assert result.exit_code == 0, result.stderr
    assert "Fidelity was not measured" in result.stderr
    stored = manifest(result)
    assert "PostgreSQL error" in stored["fidelity"]["error"]
    assert "Zelda" not in json.dumps(stored) and "Zelda" not in result.stderr
    result = run("data", "verify", "--min-fidelity", "0.5")
    assert result.exit_code == 1 and "fidelity was not measured" in result.stderr
