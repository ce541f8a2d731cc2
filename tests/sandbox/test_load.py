"""Loading snapshots into DuckDB (in-process and as the container script) and PostgreSQL:
counts and checksums match, constraints exist, awkward names work, failures leave nothing."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.sandbox.engines import LoadError
from sandboxer.sandbox.engines.duckdb import (
    LOADER_MOUNT,
    LOADER_PATH,
    duckdb_loader_command,
    load_duckdb_local,
    parse_loader_output,
    verify_loaded_duckdb,
)
from sandboxer.sandbox.engines.postgres import load_postgres, verify_loaded_postgres
from sandboxer.snapshot.store import LocalStore, SnapshotInfo
from tests.factories import dataset, make_duckdb

AWKWARD_DDL = '''
create schema "we""ird sch";
create table "we""ird sch"."Pa rent ""é""" ("id ""k""" bigint primary key,
                                           "naïve name" varchar unique);
create table "we""ird sch"."chi.ld" (
  id integer primary key,
  "parent id" bigint references "we""ird sch"."Pa rent ""é""" ("id ""k"""),
  amount decimal(12,3), "at" timestamptz, day date, flag boolean, raw blob, tags varchar[],
  nums integer[], info struct(a integer, b varchar), score double, big ubigint);
create table "Sel""ect" ("ordér" integer primary key);
insert into "we""ird sch"."Pa rent ""é""" select i, 'name ' || i || ' ✓' from range(50) t(i);
insert into "we""ird sch"."chi.ld" select i, i % 50, i * 1.125,
  TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * interval 1 hour, DATE '2020-01-01' + i::int,
  i % 3 = 0, ('b' || i::varchar)::blob, ['a', 'b' || i], [i, NULL], {'a': i, 'b': 'x'},
  i / 7, 18446744073709551615 - i from range(300) t(i);
insert into "we""ird sch"."chi.ld" (id) values (1000);
insert into "Sel""ect" values (1), (2);
'''
AWKWARD_TABLES = ['Sel"ect', 'we"ird sch.Pa rent "é"', 'we"ird sch.chi.ld']


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> SnapshotInfo:
    """10 % of the graph's customers with their closure (PKs, composite PK, FKs, a UNIQUE)."""
    base = tmp_path_factory.mktemp("graph")
    url = make_duckdb(base / "prod.duckdb")
    config = dataset(url, roots=[{"table": "customer", "percent": 10}])
    return build_snapshot("graph", config, LocalStore(base / "store"), NoopConsole())


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> SnapshotInfo:
    """Quotes, spaces, dots and unicode in schema, table and column names; many types."""
    base = tmp_path_factory.mktemp("awkward")
    url = make_duckdb(base / "prod.duckdb", AWKWARD_DDL)
    config = dataset(url, keys={}, tables={t: "all" for t in AWKWARD_TABLES})
    return build_snapshot("awkward", config, LocalStore(base / "store"), NoopConsole())


def copy_snapshot(info: SnapshotInfo, to: Path) -> SnapshotInfo:
    shutil.copytree(info.path, to)
    return dataclasses.replace(info, path=to)


def corrupt(info: SnapshotInfo, key: str) -> str:
    """Flip one byte in the middle of a table's file; return its relative path."""
    rel: str = info.manifest.tables[key].file
    path = info.path / rel
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return rel


def checksums(report: Any) -> dict[str, tuple[int, str]]:
    return {k: (t["rows"], t["checksum"]) for k, t in report.tables.items()}


def run_loader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LOADER_PATH), *args], capture_output=True, text=True, check=False
    )


# -- DuckDB ---------------------------------------------------------------------------------


def test_duckdb_local_load_verifies_and_keeps_keys(tmp_path: Path, graph: SnapshotInfo) -> None:
    db = tmp_path / "sandbox.duckdb"
    report = load_duckdb_local(graph, db)
    assert report.ok and report.engine == "duckdb"
    tables = graph.manifest.tables
    assert set(report.tables) == set(tables)
    for key, t in report.tables.items():
        assert t["rows"] == t["expected"] == tables[key].rows and t["checksum_ok"]
    assert not db.with_name(db.name + ".tmp").exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        pks = dict(
            con.execute(
                "select table_name, constraint_column_names from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        )
        unique = con.execute("select table_name from duckdb_indexes() where is_unique").fetchall()
        assert con.execute("select count(*) from items").fetchone() == (tables["items"].rows,)
    finally:
        con.close()
    assert pks["items"] == ["order_id", "line"] and pks["customer"] == ["id"]
    assert ("product",) in unique
    assert verify_loaded_duckdb(graph, db).ok


def test_duckdb_loader_script_matches_in_process(tmp_path: Path, graph: SnapshotInfo) -> None:
    local = load_duckdb_local(graph, tmp_path / "local.duckdb")
    db = tmp_path / "script.duckdb"
    proc = run_loader(str(graph.path), str(db))
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1
    script = parse_loader_output(proc.stdout)
    assert checksums(script) == checksums(local)
    # A second load refuses to overwrite, unless told to.
    again = run_loader(str(graph.path), str(db))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert json.loads(again.stdout)["ok"] is False
    assert run_loader(str(graph.path), str(db), "--replace").returncode == 0


def test_loader_command_for_the_container() -> None:
    assert LOADER_PATH.is_file() and LOADER_PATH.name == "loader_duckdb.py"
    argv = duckdb_loader_command("/snapshot", "/data/sandbox.duckdb")
    assert argv == ["python3", LOADER_MOUNT, "/snapshot", "/data/sandbox.duckdb"]
    assert duckdb_loader_command("/s", "/d", replace=True)[-1] == "--replace"
    # Self-contained: the script imports nothing from sandboxer (it runs without it).
    source = LOADER_PATH.read_text()
    assert "import sandboxer" not in source and "from sandboxer" not in source


def test_duckdb_awkward_identifiers(tmp_path: Path, awkward: SnapshotInfo) -> None:
    db = tmp_path / "awk.duckdb"
    report = load_duckdb_local(awkward, db)
    assert report.ok and set(report.tables) == set(AWKWARD_TABLES)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute('select count(*) from "we""ird sch"."chi.ld"').fetchone() == (301,)
        assert con.execute('select sum("ordér") from "Sel""ect"').fetchone() == (3,)
    finally:
        con.close()


def test_duckdb_corrupted_file_fails_naming_it(tmp_path: Path, graph: SnapshotInfo) -> None:
    snap = copy_snapshot(graph, tmp_path / "snap")
    rel = corrupt(snap, "orders")
    db = tmp_path / "sandbox.duckdb"
    proc = run_loader(str(snap.path), str(db))
    assert proc.returncode == 1
    assert rel in proc.stderr and "sha256" in proc.stderr
    assert not db.exists() and not db.with_name(db.name + ".tmp").exists()
    with pytest.raises(LoadError, match="orders"):
        load_duckdb_local(snap, db)


def test_duckdb_failed_load_leaves_no_file(tmp_path: Path, graph: SnapshotInfo) -> None:
    # The last table's row count is wrong in the manifest: everything else loads first.
    snap = copy_snapshot(graph, tmp_path / "snap")
    manifest = json.loads((snap.path / "manifest.json").read_text())
    last = sorted(manifest["tables"])[-1]
    manifest["tables"][last]["rows"] += 1
    (snap.path / "manifest.json").write_text(json.dumps(manifest))
    db = tmp_path / "sandbox.duckdb"
    proc = run_loader(str(snap.path), str(db))
    assert proc.returncode == 1 and f"`{last}`" in proc.stderr and "rows" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]


def test_duckdb_killed_load_never_looks_complete(tmp_path: Path, graph: SnapshotInfo) -> None:
    for delay in (0.05, 0.2, 0.4):
        db = tmp_path / f"k{delay}.duckdb"
        proc = subprocess.Popen([sys.executable, str(LOADER_PATH), str(graph.path), str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Either absent, or complete and verified (the load finished before the kill).
        assert not db.exists() or verify_loaded_duckdb(graph, db).ok


# -- PostgreSQL -----------------------------------------------------------------------------


def pg_tables(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select schemaname::text, tablename::text from pg_catalog.pg_tables "
            "where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2"
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def pg_constraints(url: str) -> set[tuple[str, str, str]]:
    """(table, kind p/u/f, columns joined by ',') for every constraint."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select c.conrelid::regclass::text, c.contype::text,
                   string_agg(a.attname, ',' order by k.ord)
            from pg_catalog.pg_constraint c
            cross join lateral unnest(c.conkey) with ordinality k(attnum, ord)
            join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
            join pg_catalog.pg_namespace n on n.oid = c.connamespace
            where n.nspname not in ('pg_catalog', 'information_schema')
            group by c.oid, c.conrelid, c.contype
            """
        ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def test_postgres_load_matches_duckdb_and_constrains(
    tmp_path: Path, graph: SnapshotInfo, pg_url: str
) -> None:
    report = load_postgres(graph, pg_url)
    assert report.ok and report.engine == "postgres"
    assert "postgres" in (report.target or "") and set(report.steps) >= {"copy", "verify"}
    duck = load_duckdb_local(graph, tmp_path / "d.duckdb")
    assert checksums(report) == checksums(duck)  # one checksum, two engines
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select count(*) from items").fetchone() == (
            graph.manifest.tables["items"].rows,
        )
    cons = pg_constraints(pg_url)
    assert ("items", "p", "order_id,line") in cons
    assert ("product", "u", "sku") in cons
    assert ("items", "f", "product_sku") in cons and ("orders", "f", "customer_id") in cons
    # customer.referred_by is a virtual key (dataset config only): not created by default.
    assert ("customer", "f", "referred_by") not in cons
    assert verify_loaded_postgres(graph, pg_url).ok
    # Loading again over loaded tables is refused; replace reloads.
    with pytest.raises(LoadError, match="already exists"):
        load_postgres(graph, pg_url)
    again = load_postgres(graph, pg_url, replace=True, virtual_foreign_keys=True)
    assert again.ok and ("customer", "f", "referred_by") in pg_constraints(pg_url)


def test_postgres_awkward_identifiers_and_types(awkward: SnapshotInfo, pg_url: str) -> None:
    report = load_postgres(awkward, pg_url, schema_prefix="sb_")
    assert report.ok and all(t["checksum_ok"] for t in report.tables.values())
    assert pg_tables(pg_url) == [
        ("sb_public", 'Sel"ect'),
        ('sb_we"ird sch', 'Pa rent "é"'),
        ('sb_we"ird sch', "chi.ld"),
    ]
    cons = pg_constraints(pg_url)
    assert ('"sb_we""ird sch"."chi.ld"', "f", "parent id") in cons
    assert ('"sb_we""ird sch"."Pa rent ""é"""', "u", "naïve name") in cons
    with psycopg.connect(pg_url) as conn:
        types = dict(
            conn.execute(
                "select column_name::text, format_type(atttypid, atttypmod) "
                "from information_schema.columns c join pg_attribute a "
                "on a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass "
                "and a.attname = c.column_name where c.table_name = 'chi.ld'"
            ).fetchall()
        )
    assert types["amount"] == "numeric(12,3)" and types["at"] == "timestamp with time zone"
    assert types["tags"] == "text[]" and types["nums"] == "integer[]"
    assert types["info"] == "jsonb" and types["big"] == "numeric(20,0)"
    assert types["raw"] == "bytea" and types["day"] == "date"


def test_postgres_corrupted_file_fails_naming_it(
    tmp_path: Path, graph: SnapshotInfo, pg_url: str
) -> None:
    snap = copy_snapshot(graph, tmp_path / "snap")
    rel = corrupt(snap, "customer")
    with pytest.raises(LoadError, match=rel):
        load_postgres(snap, pg_url)
    assert pg_tables(pg_url) == []


def test_postgres_failed_load_rolls_back(graph: SnapshotInfo, pg_url: str) -> None:
    # Fails at the very end (verification of the last table): everything was created,
    # loaded and constrained in the transaction, and all of it must be gone.
    manifest = graph.manifest.model_copy(deep=True)
    last = sorted(manifest.tables)[-1]
    manifest.tables[last].rows += 1
    with pytest.raises(LoadError, match=f"`{last}`"):
        load_postgres(dataclasses.replace(graph, manifest=manifest), pg_url)
    assert pg_tables(pg_url) == []


def test_postgres_killed_load_leaves_nothing_loaded(graph: SnapshotInfo, pg_url: str) -> None:
    code = (
        "import sys; from sandboxer.snapshot.store import LocalStore; "
        "from sandboxer.sandbox.engines.postgres import load_postgres; "
        "load_postgres(LocalStore(__import__('pathlib').Path(sys.argv[1])).resolve(sys.argv[2]), "
        "sys.argv[3])"
    )
    store = graph.path.parent.parent
    for delay in (0.3, 0.8, 1.5):
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for schema, table in pg_tables(pg_url):
                conn.execute(
                    psycopg.sql.SQL("DROP TABLE {} CASCADE").format(
                        psycopg.sql.Identifier(schema, table)
                    )
                )
        proc = subprocess.Popen([sys.executable, "-c", code, str(store), graph.id, pg_url])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # the server notices the dropped connection and rolls back
        tables = pg_tables(pg_url)
        # Either nothing, or everything (committed before the kill) and verified.
        assert tables == [] or verify_loaded_postgres(graph, pg_url).ok
