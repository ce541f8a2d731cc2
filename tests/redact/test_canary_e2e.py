"""Issue 11's acceptance check, end to end through the real CLI: a canary database of invented
identities in a real PostgreSQL, `init` then `data build` with no hand-written rules, and a
scanner that must find no canary (and no unkeyed digest of one) in any file under the project,
nor in a sandbox's database.

The identities are built from random syllables with a fixed seed and checked against Faker's
name lists and the word-frequency lists, so no detector can find them by looking them up. They
are planted in typed columns, misleadingly named columns, a person-name column, free text
(people of other tables, of no table, a relative), nested JSON, arrays, a key column with a
foreign key on it, and bytea. The scanner reports files, tables and counts, never a value.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

KEY = "canary-e2e-key-0123456789abcdef"
OTHER_KEY = "canary-e2e-other-key-fedcba9876543210"
SEED = 11
PEOPLE = 40
STAFF = 12
NOTES = 90

# Letter shapes no language's name list or dictionary uses together.
ONSETS = ("zv", "qu", "kr", "vr", "xh", "br", "dw", "gj", "thr", "sk", "pf", "zl")
VOWELS = ("a", "e", "i", "o", "u", "y", "ae", "ou")
CODAS = ("x", "q", "vk", "rz", "lt", "mb", "sh", "th", "k", "zn")


def _word(rng: random.Random, syllables: int) -> str:
    parts = [rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)]
    return "".join(parts).capitalize()


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    handle: str
    email: str
    phone: str
    national_id: str
    street: str
    town: str
    relative: str  # a sibling's first name, only ever mentioned in a note

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Canaries:
    people: list[Person]
    staff: list[tuple[str, str]]  # invented names of a person-name column
    nowhere: list[tuple[str, str]]  # people named in notes and in no column
    domains: list[str]
    words: set[str] = field(default_factory=set)  # name-like words, for the list checks

    def tokens(self) -> list[str]:
        """Every identifying piece planted, whole and in parts."""
        out: set[str] = set()
        for p in self.people:
            out |= {p.first, p.last, p.full, f"{p.last}, {p.first}", p.handle, p.email}
            out |= {p.email.split("@")[0], p.phone, re.sub(r"\D", "", p.phone), p.national_id}
            out |= {p.street, p.street.split()[0], p.town, p.relative}
        for first, last in self.staff + self.nowhere:
            out |= {first, last, f"{first} {last}"}
        return sorted(out)

    def values(self) -> list[str]:
        """The whole values as planted: what an unkeyed digest would be taken of."""
        out: set[str] = set()
        for p in self.people:
            out |= {p.first, p.last, p.full, p.handle, p.email, p.phone, p.national_id}
            out |= {p.street, p.town}
        out |= {f"{f} {last}" for f, last in self.staff}
        return sorted(out)


def make_canaries() -> Canaries:
    rng = random.Random(SEED)
    seen: set[str] = set()

    def fresh(syllables: int) -> str:
        while True:
            w = _word(rng, syllables)
            if w.lower() not in seen:
                seen.add(w.lower())
                return w

    domains = [f"{fresh(2).lower()}.example" for _ in range(3)]
    towns = [fresh(3) for _ in range(4)]
    people = []
    for i in range(PEOPLE):
        first, last = fresh(2), fresh(3)
        handle = f"{first.lower()}.{last.lower()}{i}"
        people.append(
            Person(
                first=first,
                last=last,
                handle=handle,
                email=f"{handle}@{domains[i % 3]}",
                phone=f"+44 7700 {rng.randrange(100000, 999999)}",
                # The shape of a UK National Insurance number, as a real register holds.
                national_id=f"{rng.choice('JKLMNPRSTW')}{rng.choice('ABCEHJKLMNPRSTWXYZ')}"
                f"{rng.randrange(10**5, 10**6)}{rng.choice('ABCD')}",
                street=f"{fresh(2)} Row",
                town=towns[i % 4],
                relative=fresh(2),
            )
        )
    staff = [(fresh(2), fresh(3)) for _ in range(STAFF)]
    nowhere = [(fresh(2), fresh(2)) for _ in range(20)]
    c = Canaries(people, staff, nowhere, domains)
    for p in people:
        c.words |= {p.first, p.last, p.street.split()[0], p.town, p.relative}
    for first, last in staff + nowhere:
        c.words |= {first, last}
    c.words |= {d.split(".")[0] for d in domains}
    return c


def note(c: Canaries, i: int) -> str:
    p = c.people[i % PEOPLE]
    q = c.people[(i * 7 + 3) % PEOPLE]
    s = c.staff[i % STAFF]
    n = c.nowhere[i % len(c.nowhere)]
    forms = (
        f"Met {q.first} {q.last} at the branch in {q.town}; {s[0]} {s[1]} took notes.",
        f"Callback requested by {q.last.upper()}, {q.first}. Reach her on {q.phone}.",
        f"{p.first}'s brother {p.relative} {p.last} called about the invoice.",
        f"Spoke with {n[0]} {n[1]}, a neighbour of {p.first}, who wrote from {q.email}.",
        f"ID {q.national_id} checked by {s[1]}; address {q.street}, {q.town}.",
        f"Dr. {n[1]} said {q.first} should rest. Escalated to {s[0]} {s[1]}.",
    )
    return forms[i % len(forms)]


DDL = """
CREATE TABLE person (
  id integer PRIMARY KEY, handle text NOT NULL UNIQUE, given_name text NOT NULL,
  family_name text NOT NULL, email text, phone varchar(32), national_id text,
  street text, town text, birth_date date, last_ip inet, token uuid, photo bytea,
  aliases text[], profile jsonb
);
CREATE TABLE staff (id integer PRIMARY KEY, name text NOT NULL, team text);
CREATE TABLE account (
  id integer PRIMARY KEY, owner text NOT NULL REFERENCES person(handle),
  label text, ref_code text, manager_id integer REFERENCES staff(id), balance numeric(12, 2)
);
CREATE TABLE notes (
  id integer PRIMARY KEY, person_id integer NOT NULL REFERENCES person(id),
  author_id integer REFERENCES staff(id), body text, created date
);
"""


def load(url: str, c: Canaries) -> None:
    import datetime as dt

    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(DDL)
        for i, (first, last) in enumerate(c.staff):
            con.execute(
                "INSERT INTO staff VALUES (%s, %s, %s)",
                (i, f"{first} {last}", ["ops", "care"][i % 2]),
            )
        for i, p in enumerate(c.people):
            q = c.people[(i + 1) % PEOPLE]
            profile = {
                "contact": {"emails": [p.email], "phone": p.phone},
                "home": {"street": p.street, "town": p.town},
                "kin": [{"name": f"{p.relative} {p.last}", "relation": "brother"}],
                "referrer": {"handle": q.handle, "score": i},
            }
            con.execute(
                "INSERT INTO person VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "md5(%s::text)::uuid, %s, %s, %s)",
                (
                    i, p.handle, p.first, p.last, p.email, p.phone, p.national_id, p.street,
                    p.town, dt.date(1950, 1, 1) + dt.timedelta(days=i * 401), f"10.1.{i}.7",
                    p.handle, f"FN:{p.full}\nEMAIL:{p.email}".encode(),
                    [p.first.lower(), f"{p.first[0]}. {p.last}"], json.dumps(profile),
                ),
            )  # fmt: skip
        for i, p in enumerate(c.people):
            # `label` and `ref_code`: names that do not say they hold a person's name and id.
            con.execute(
                "INSERT INTO account VALUES (%s, %s, %s, %s, %s, %s)",
                (i, p.handle, p.full, p.national_id, i % STAFF, f"{i * 13}.50"),
            )
        for i in range(NOTES):
            con.execute(
                "INSERT INTO notes VALUES (%s, %s, %s, %s, %s)",
                (i, i % PEOPLE, i % STAFF, note(c, i), dt.date(2024, 1, 1) + dt.timedelta(i)),
            )


# The scanner -------------------------------------------------------------------------------


@dataclass
class Scanner:
    """Case-folded, word-bounded search for every canary and every hex digest of one."""

    tokens: list[str]
    values: list[str]

    def __post_init__(self) -> None:
        folded = sorted({t.casefold() for t in self.tokens}, key=len, reverse=True)
        self.pattern = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(t) for t in folded) + r")(?!\w)"
        )
        digests = set()
        for v in self.values:
            for form in {v, v.casefold()}:
                for algo in ("md5", "sha1", "sha256"):
                    digests.add(hashlib.new(algo, form.encode()).hexdigest())
        self.digests = re.compile(
            r"(?<![0-9a-f])(?:" + "|".join(sorted(digests)) + r")(?![0-9a-f])"
        )

    def count(self, text: str) -> tuple[int, int]:
        folded = text.casefold()
        return len(self.pattern.findall(folded)), len(self.digests.findall(folded))


def _cells(value: Any) -> Iterator[str]:
    """Every leaf of a (nested) cell as text; bytes both as UTF-8 and as hex."""
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _cells(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _cells(v)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        yield raw.decode("utf-8", "replace")
        yield raw.hex()
    else:
        yield str(value)


def _arrow_texts(table: Any) -> Iterator[tuple[str, str]]:
    for name in table.column_names:
        yield name, "\n".join(t for v in table.column(name).to_pylist() for t in _cells(v))


def _file_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(part, text) pairs of a file: Parquet and Arrow cell by cell, DuckDB by query,
    compressed files decompressed, anything else as its raw bytes."""
    raw = path.read_bytes()
    try:
        yield "raw", raw.decode("utf-8")
    except UnicodeDecodeError:  # binary: both readings, a string may be in either
        yield "raw", raw.decode("utf-8", "replace") + "\n" + raw.decode("latin-1")
    if raw[:4] == b"PAR1":
        import pyarrow.parquet as pq

        yield from _arrow_texts(pq.read_table(path))
    elif raw[:6] == b"ARROW1" or path.suffix in {".arrow", ".feather", ".ipc"}:
        import pyarrow.feather as feather

        yield from _arrow_texts(feather.read_table(path))
    elif raw[8:12] == b"DUCK":
        yield from duckdb_texts(path)
    elif raw[:2] == b"\x1f\x8b" or raw[:4] == b"\x28\xb5\x2f\xfd":
        import pyarrow as pa

        codec = "gzip" if raw[:2] == b"\x1f\x8b" else "zstd"
        with pa.input_stream(str(path), compression=codec) as stream:
            yield codec, stream.read().decode("utf-8", "replace")


def duckdb_texts(path: Path) -> Iterator[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall()
        for schema, table in tables:
            name = ".".join('"' + n.replace('"', '""') + '"' for n in (schema, table))
            rows = con.execute(f"SELECT * FROM {name}").fetchall()
            yield f"{schema}.{table}", "\n".join(t for row in rows for t in _cells(list(row)))
    finally:
        con.close()


def scan_tree(scanner: Scanner, root: Path) -> tuple[int, dict[str, tuple[int, int]]]:
    """Files scanned and, per file part with a hit, (canaries, digests)."""
    hits: dict[str, tuple[int, int]] = {}
    files = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        files += 1
        for part, text in _file_texts(path):
            found = scanner.count(text)
            if any(found):
                hits[f"{path.relative_to(root)}::{part}"] = found
    return files, hits


# Driving the CLI --------------------------------------------------------------------------


TRANSCRIPTS: dict[Path, list[str]] = {}
"""Everything the CLI printed, per project: its output is a log a user keeps too."""


def sandboxer(project: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOXER_REDACTION_KEY": key}
    env.setdefault("SANDBOXER_BASE_IMAGE", "sandboxer-base:bookworm")
    env.setdefault("SANDBOXER_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    done = subprocess.run(
        [sys.executable, "-m", "sandboxer", "--config", str(project / "sandboxer.yaml"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    TRANSCRIPTS.setdefault(project, []).extend([done.stdout, done.stderr])
    return done


def init_project(tmp_path: Path, url: str, *, every_table_all: bool) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    done = sandboxer(project, "init", "--source", url)
    assert done.returncode == 0, done.stderr
    if every_table_all:
        import yaml

        path = project / "sandboxer.yaml"
        config = yaml.safe_load(path.read_text())
        for dataset in config["datasets"].values():
            subset = dataset.setdefault("subset", {}) or {}
            subset.pop("roots", None)
            subset["tables"] = {
                f"public.{t}": "all" for t in ("person", "staff", "account", "notes")
            }
            dataset["subset"] = subset
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return project


def build(project: Path, key: str = KEY) -> tuple[dict[str, Any] | None, str]:
    """The build's result, or None and why it did not publish (the CLI's error line: it names
    tables and columns, never values)."""
    done = sandboxer(project, "--json", "data", "build", key=key)
    if done.returncode == 0:
        return json.loads(done.stdout.strip().splitlines()[-1]), ""
    errors = [line for line in done.stderr.splitlines() if line.startswith(("Error", "  "))]
    return None, f"exit {done.returncode}: " + " | ".join(errors)[-2000:]


def snapshot_tables(path: Path) -> dict[str, Any]:
    import polars as pl

    manifest = json.loads((path / "manifest.json").read_text())
    return {name: pl.read_parquet(path / t["file"]) for name, t in manifest["tables"].items()} | {
        "__manifest__": manifest
    }


def check_keys(tables: dict[str, Any]) -> None:
    """Keys unique and non-null, every FK resolves: by the manifest's integrity checks and by
    our own joins. Counts only in messages (a frame in an assertion would print values)."""
    person, account, notes = (tables[f"public.{t}"] for t in ("person", "account", "notes"))
    for name, frame, column in (
        ("person", person, "id"),
        ("person", person, "handle"),
        ("account", account, "id"),
        ("notes", notes, "id"),
    ):
        rows, distinct, nulls = frame.height, frame[column].n_unique(), frame[column].null_count()
        assert (distinct, nulls) == (rows, 0), f"{name}.{column}: {distinct} distinct, {nulls} null"
    staff_ids = set(tables["public.staff"]["id"])
    dangling = {
        "account.owner": len(set(account["owner"]) - set(person["handle"])),
        "notes.person_id": len(set(notes["person_id"]) - set(person["id"])),
        "account.manager_id": len(set(account["manager_id"].drop_nulls()) - staff_ids),
        "notes.author_id": len(set(notes["author_id"].drop_nulls()) - staff_ids),
    }
    assert not any(dangling.values()), dangling
    checks = tables["__manifest__"]["integrity"]["checks"]
    kinds = {c["check"] for c in checks}
    assert {"primary_key_unique", "foreign_key"} <= kinds, kinds
    failed = [(c["table"], c["check"], c["failures"]) for c in checks if c["failures"]]
    assert not failed, failed


PERSONAL = {
    "public.person": ("handle", "given_name", "family_name", "email", "phone", "national_id"),
    "public.staff": ("name",),
    "public.account": ("owner", "label", "ref_code"),
}


def changed_pseudonyms(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per personal column: (rows whose pseudonym is the same under both keys, rows compared)."""
    out = {}
    for table, columns in PERSONAL.items():
        joined = a[table].join(b[table], on="id", suffix="_b")
        for column in columns:
            pairs = joined.select(column, f"{column}_b").drop_nulls()
            same = int((pairs[column].cast(str) == pairs[f"{column}_b"].cast(str)).sum())
            out[f"{table}.{column}"] = (same, pairs.height)
    return out


def report(hits: dict[str, tuple[int, int]]) -> str:
    if not hits:
        return "none"
    return "; ".join(f"{where}: {n} canaries, {d} digests" for where, (n, d) in hits.items())


@pytest.fixture(scope="module")
def canaries() -> Canaries:
    return make_canaries()


def test_canaries_are_invented(canaries: Canaries) -> None:
    import polars as pl

    from sandboxer.redact.detect.frequency import is_common
    from sandboxer.redact.detect.wordlists import first_names, fold, last_names

    words = sorted({fold(w) for w in canaries.words})
    assert len(words) == len(canaries.words) > 150
    listed = (first_names() | last_names()) & set(words)
    assert not listed, f"{len(listed)} canary words are in Faker's name lists"
    common = is_common(pl.Series(words))
    assert not common.any(), f"{int(common.sum())} canary words are common words"


def _scan_project(project: Path, canaries: Canaries) -> tuple[int, dict[str, tuple[int, int]]]:
    """Every file under the project, and what the CLI printed."""
    scanner = Scanner(canaries.tokens(), canaries.values())
    files, hits = scan_tree(scanner, project)
    printed = scanner.count("\n".join(TRANSCRIPTS.get(project, [])))
    if any(printed):
        hits["<cli output>"] = printed
    return files, hits


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("every_table_all", [False, True], ids=["default", "all"])
def test_default_build_publishes_with_no_canary(
    tmp_path: Path, pg_url: str, canaries: Canaries, every_table_all: bool
) -> None:
    load(pg_url, canaries)
    project = init_project(tmp_path, pg_url, every_table_all=every_table_all)
    published, refused = build(project)
    # Whether or not it published, nothing the build left under the project may hold a canary.
    files, hits = _scan_project(project, canaries)
    print(f"\n[{'all' if every_table_all else 'default'}] files scanned: {files}; {report(hits)}")
    assert published is not None, (
        f"build refused: {refused}; canaries under the project: " + report(hits)
    )
    assert files >= 7  # config, manifest, 4 tables, refs at least
    assert not hits, report(hits)
    tables = snapshot_tables(Path(published["path"]))
    rows = {t: tables[f"public.{t}"].height for t in ("person", "staff", "account", "notes")}
    if every_table_all:
        assert rows == {"person": PEOPLE, "staff": STAFF, "account": PEOPLE, "notes": NOTES}
    else:
        assert rows["person"] > 0 and rows["notes"] > 0, rows
    check_keys(tables)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_new_key_changes_every_pseudonym(tmp_path: Path, pg_url: str, canaries: Canaries) -> None:
    load(pg_url, canaries)
    project = init_project(tmp_path, pg_url, every_table_all=True)
    builds = [build(project, key=key) for key in (KEY, OTHER_KEY)]
    refusals = [f"key {i}: {why}" for i, (published, why) in enumerate(builds) if not published]
    assert not refusals, f"build refused: {refusals}"
    a, b = (snapshot_tables(Path(published["path"])) for published, _ in builds)  # type: ignore[index]
    check_keys(b)
    same = changed_pseudonyms(a, b)
    assert all(n > 0 for _, n in same.values()), same
    unchanged = {c: s for c, s in same.items() if s[0]}
    assert not unchanged, f"pseudonyms equal under two keys (same, of rows): {unchanged}"
    _, hits = _scan_project(project, canaries)
    assert not hits, report(hits)


# Run inside the sandbox: every cell of every table, one text per column (bytes as hex and as
# UTF-8), printed as one JSON line the test reads back. The values stay in the test's memory.
DUMP = """
import json, os, duckdb
con = duckdb.connect(os.environ["SANDBOXER_DUCKDB"], read_only=True)
q = "select schema_name, table_name from duckdb_tables() where not internal"
def text(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex() + " " + bytes(v).decode("utf-8", "replace")
    return json.dumps(v, default=str) if isinstance(v, (list, dict)) else str(v)
out = {}
for s, t in con.execute(q).fetchall():
    cur = con.execute(f'select * from "{s}"."{t}"')
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    out[f"{s}.{t}#rows"] = str(len(rows))
    for i, n in enumerate(names):
        out[f"{s}.{t}.{n}"] = "\\n".join(text(r[i]) for r in rows if r[i] is not None)
print(json.dumps(out))
"""


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.docker
def test_sandbox_database_holds_no_canary(
    tmp_path: Path, pg_url: str, canaries: Canaries, docker_client: object
) -> None:
    load(pg_url, canaries)
    project = init_project(tmp_path, pg_url, every_table_all=True)
    published, refused = build(project)
    assert published is not None, f"build refused: {refused}"
    try:
        done = sandboxer(project, "--json", "create", "canary", "--backend", "docker")
        assert done.returncode == 0, done.stderr[-3000:]
        done = sandboxer(project, "exec", "canary", "--", "python3", "-c", DUMP)
        assert done.returncode == 0, done.stderr[-3000:]
        dumped = json.loads(done.stdout.strip().splitlines()[-1])
        rows = {k[: -len("#rows")]: int(v) for k, v in dumped.items() if k.endswith("#rows")}
        assert {"person", "staff", "account", "notes"} <= {t.split(".")[-1] for t in rows}, rows
        assert sum(rows.values()) == PEOPLE + STAFF + PEOPLE + NOTES
        scanner = Scanner(canaries.tokens(), canaries.values())
        hits = {c: scanner.count(text) for c, text in dumped.items() if "#" not in c}
        hits = {t: h for t, h in hits.items() if any(h)}
        assert not hits, report(hits)
        sandboxer(project, "logs", "canary")  # scanned with the rest of the CLI's output
        files, hits = _scan_project(project, canaries)
        print(f"\n[sandbox] files scanned: {files}; {report(hits)}")
        assert not hits, report(hits)
    finally:
        sandboxer(project, "destroy", "canary")


def test_scanner_finds_what_it_looks_for(tmp_path: Path, canaries: Canaries) -> None:
    """The scanner itself: a planted token in Parquet (nested), raw text and a digest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = canaries.people[0]
    pq.write_table(
        pa.table({"x": [[{"a": f"see {p.last.lower()}."}]], "b": [p.email.encode()]}),
        tmp_path / "t.parquet",
        compression="zstd",
    )
    (tmp_path / "log.txt").write_text(hashlib.sha256(p.national_id.encode()).hexdigest())
    with pa.output_stream(str(tmp_path / "cache.zst"), compression="zstd") as out:
        out.write(f"{p.phone}".encode())
    import duckdb

    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    con.execute("create table t (v varchar[])")
    con.execute("insert into t values (?)", [["x", p.full.upper()]])
    con.close()
    files, hits = scan_tree(Scanner(canaries.tokens(), canaries.values()), tmp_path)
    assert files == 4
    assert hits["t.parquet::x"][0] == 1 and hits["t.parquet::b"][0] >= 1
    assert hits["log.txt::raw"] == (0, 1)
    assert hits["cache.zst::zstd"] == (1, 0)
    assert hits["s.duckdb::main.t"] == (1, 0)
    assert all(t.strip() for t in canaries.tokens())
