"""FK closure on a real DuckDB database: integrity, determinism, children, caps, cycles."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.errors import SchemaError, SubsetError
from sandboxer.snapshot.store import LocalStore
from tests.factories import dataset, make_duckdb, read_snapshot


@pytest.fixture(scope="module")
def graph_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_duckdb(tmp_path_factory.mktemp("graph") / "prod.duckdb")


def build(tmp_path: Path, url: str, name: str = "t", **subset: object):  # type: ignore[no-untyped-def]
    return build_snapshot(
        name, dataset(url, **subset), LocalStore(tmp_path / "store"), NoopConsole()
    )


def fk_orphans(child: pl.DataFrame, cols: list[str], parent: pl.DataFrame, ref: list[str]) -> int:
    values = child.select(cols).drop_nulls()
    keys = parent.select(ref).rename(dict(zip(ref, cols, strict=True)))
    return values.join(keys, on=cols, how="anti").height


def test_closure_resolves_every_foreign_key(tmp_path: Path, graph_url: str) -> None:
    info = build(tmp_path, graph_url, roots=[{"table": "customer", "percent": 10}])
    t = read_snapshot(info)
    assert info.manifest.integrity.ok and info.manifest.integrity.fk_orphans == 0
    # Independently of the tool's own check:
    assert fk_orphans(t["customer"], ["nation_id"], t["nation"], ["id"]) == 0
    assert fk_orphans(t["nation"], ["region_id"], t["region"], ["id"]) == 0
    assert fk_orphans(t["customer"], ["referred_by"], t["customer"], ["id"]) == 0
    assert fk_orphans(t["orders"], ["billing_address_id"], t["address"], ["id"]) == 0
    assert fk_orphans(t["orders"], ["shipping_address_id"], t["address"], ["id"]) == 0
    assert fk_orphans(t["items"], ["product_sku"], t["product"], ["sku"]) == 0
    assert fk_orphans(t["items"], ["order_id"], t["orders"], ["id"]) == 0
    roots = info.manifest.tables["customer"].selected_by["root"]
    assert 120 <= roots <= 280, roots  # ~10% of 2000
    # Children of root customers are complete: every order of a root customer is present.
    assert t["orders"].height > 0 and t["items"].height == 3 * t["orders"].height
    assert t["empty_table"].height == 0


def test_percent_is_deterministic_and_seeded(tmp_path: Path, graph_url: str) -> None:
    a = build(tmp_path / "a", graph_url, roots=[{"table": "customer", "percent": 5}])
    b = build(tmp_path / "b", graph_url, roots=[{"table": "customer", "percent": 5}])
    c = build(tmp_path / "c", graph_url, seed=8, roots=[{"table": "customer", "percent": 5}])
    hashes = {k: m.sha256 for k, m in a.manifest.tables.items()}
    assert hashes == {k: m.sha256 for k, m in b.manifest.tables.items()}
    assert a.id == b.id
    ids_a = set(read_snapshot(a)["customer"]["id"])
    ids_c = set(read_snapshot(c)["customer"]["id"])
    assert ids_a != ids_c and a.id != c.id


def test_children_only_follow_downward(tmp_path: Path, graph_url: str) -> None:
    # Customers 3 and 6 were referred by 2 and 5, which are pulled in as parents only.
    info = build(tmp_path, graph_url, roots=[{"table": "customer", "where": "id in (3, 6)"}])
    t = read_snapshot(info)
    by = info.manifest.tables["customer"].selected_by
    assert by == {"root": 2, "parent": 2}
    assert sorted(t["customer"]["id"]) == [2, 3, 5, 6]
    # Roots bring all their orders; parents bring none (no children from parents), and the
    # parents' nation does not drag in its other customers.
    assert set(t["orders"]["customer_id"]) == {3, 6}
    assert t["orders"].height == 9000 // 2000 * 2 + sum(
        1 for i in range(9000 % 2000) if (i * 7) % 2000 in (3, 6)
    )
    assert set(t["address"]["customer_id"]) == {3, 6}


def test_no_children_when_disabled(tmp_path: Path, graph_url: str) -> None:
    info = build(
        tmp_path, graph_url, roots=[{"table": "customer", "percent": 10}], follow_children=False
    )
    t = read_snapshot(info)
    assert t["orders"].height == 0 and t["items"].height == 0 and t["address"].height == 0


def test_fan_out_cap_and_budget(tmp_path: Path, graph_url: str) -> None:
    # The cap is per parent and per relation: orders are also children of addresses, so
    # that path is switched off to make "orders per customer" the capped quantity.
    no_address_children = [
        {"table": "orders", "columns": [c], "follow_children": False}
        for c in ("billing_address_id", "shipping_address_id")
    ]
    info = build(
        tmp_path,
        graph_url,
        roots=[{"table": "customer", "percent": 20}],
        max_children_per_parent=2,
        budgets={"items": 50},
        relations=no_address_children,
    )
    t = read_snapshot(info)
    per_customer = t["orders"].group_by("customer_id").len()["len"].max()
    assert per_customer is not None and per_customer <= 2
    assert t["items"].height == 50
    assert info.manifest.tables["items"].capped > 0
    assert info.manifest.integrity.fk_orphans == 0


def test_self_reference_set_null(tmp_path: Path, graph_url: str) -> None:
    info = build(
        tmp_path,
        graph_url,
        roots=[{"table": "customer", "percent": 10}],
        relations=[
            {
                "table": "customer",
                "columns": ["referred_by"],
                "on_missing_parent": "set_null",
                "follow_children": False,
            }
        ],
    )
    t = read_snapshot(info)
    by = info.manifest.tables["customer"].selected_by
    assert "parent" not in by  # no referrer was pulled
    ids = set(t["customer"]["id"])
    refs = t["customer"]["referred_by"].drop_nulls()
    assert set(refs) <= ids
    # Some referrers were outside the sample, so values were nulled, not kept dangling.
    assert t["customer"]["referred_by"].null_count() > t["customer"].height * 0.6


def test_two_table_cycle_terminates(tmp_path: Path) -> None:
    url = make_duckdb(
        tmp_path / "cycle.duckdb",
        """
        create table a (id integer primary key, b_id integer);
        create table b (id integer primary key, a_id integer);
        insert into a select i, (i + 1) % 100 from range(100) t(i);
        insert into b select i, (i + 2) % 100 from range(100) t(i);
    """,
    )
    keys = {
        "foreign": [
            {"table": "a", "columns": ["b_id"], "references": "b"},
            {"table": "b", "columns": ["a_id"], "references": "a"},
        ]
    }
    info = build(
        tmp_path, url, keys=keys, roots=[{"table": "a", "where": "id = 0"}], follow_children=False
    )
    t = read_snapshot(info)
    # a0 -> b1 -> a3 -> b4 -> a6 ... the chain closes over the whole ring of 100.
    assert t["a"].height == 100 and t["b"].height == 100
    assert info.manifest.integrity.fk_orphans == 0


def test_excluded_parent_nulls_nullable_fk_and_rejects_not_null(tmp_path: Path) -> None:
    url = make_duckdb(
        tmp_path / "ex.duckdb",
        """
        create table secret (id integer primary key);
        create table t (id integer primary key, s integer references secret(id),
                        req integer);
        create table u (id integer primary key, s integer not null references secret(id));
        insert into secret select i from range(10) t(i);
        insert into t select i, i % 10, 1 from range(20) t(i);
        insert into u select i, i % 10 from range(5) t(i);
    """,
    )
    info = build(
        tmp_path,
        url,
        keys={},
        roots=[{"table": "t", "percent": 100}],
        tables={"secret": "exclude", "u": "exclude"},
    )
    t = read_snapshot(info)
    assert "secret" not in t and t["t"]["s"].null_count() == 20
    assert info.manifest.excluded_tables == ["secret", "u"]
    with pytest.raises(SubsetError, match=r"`secret` is excluded, but u\(s\)"):
        build(
            tmp_path / "2",
            url,
            keys={},
            roots=[{"table": "t", "percent": 100}],
            tables={"secret": "exclude"},
        )


def test_root_that_selects_nothing_is_an_error(tmp_path: Path, graph_url: str) -> None:
    with pytest.raises(SubsetError, match=r"selects no rows of `customer`.*2000 rows"):
        build(tmp_path, graph_url, roots=[{"table": "customer", "where": "id < 0"}])
    assert not (tmp_path / "store" / "snapshots").exists() or not any(
        (tmp_path / "store" / "snapshots").iterdir()
    )


def test_empty_root_table_builds_empty(tmp_path: Path, graph_url: str) -> None:
    info = build(tmp_path, graph_url, roots=[{"table": "empty_table", "percent": 50}])
    assert info.manifest.tables["empty_table"].rows == 0
    assert info.manifest.tables["customer"].rows == 0


def test_unknown_names_suggest(tmp_path: Path, graph_url: str) -> None:
    with pytest.raises(SchemaError, match="Unknown table `customr`") as e:
        build(tmp_path, graph_url, roots=[{"table": "customr", "percent": 1}])
    assert "Did you mean `customer`?" in str(e.value)
    with pytest.raises(SchemaError, match="Did you mean `nation_id`"):
        build(tmp_path, graph_url, roots=[{"table": "customer", "where": "nation_idd = 1"}])
    with pytest.raises(SubsetError, match=r"Invalid subset.roots\[0\].where"):
        build(tmp_path, graph_url, roots=[{"table": "customer", "where": "id = = 1"}])
    with pytest.raises(SubsetError, match="only one condition"):
        build(
            tmp_path,
            graph_url,
            roots=[{"table": "customer", "where": "id = 1; drop table customer"}],
        )


def test_limit_takes_lowest_keys(tmp_path: Path, graph_url: str) -> None:
    info = build(
        tmp_path,
        graph_url,
        roots=[{"table": "customer", "where": "nation_id = 3", "limit": 5}],
        follow_children=False,
    )
    t = read_snapshot(info)
    roots = sorted(t["customer"].filter(pl.col("nation_id") == 3)["id"])[:5]
    assert roots == [3, 15, 27, 39, 51]


def test_awkward_identifiers(tmp_path: Path) -> None:
    url = make_duckdb(
        tmp_path / "odd.duckdb",
        """
        create table "my table" ("select" integer primary key, "o""q" varchar,
                                 "ünïcødé" varchar, "a.b" integer);
        create table "Child Rows" (id integer primary key,
                                   "parent ref" integer references "my table"("select"));
        insert into "my table" select i, 'v' || i, 'ü' || i, i from range(50) t(i);
        insert into "Child Rows" select i, i % 50 from range(200) t(i);
    """,
    )
    info = build(
        tmp_path,
        url,
        keys={},
        roots=[{"table": "my table", "where": '"select" < 5 and "a.b" >= 0'}],
    )
    t = read_snapshot(info)
    assert t["my table"].height == 5 and t["Child Rows"].height == 20
    assert list(t["my table"].columns) == ["select", 'o"q', "ünïcødé", "a.b"]
    files = [m.file for m in info.manifest.tables.values()]
    assert all(" " not in f and '"' not in f for f in files)
