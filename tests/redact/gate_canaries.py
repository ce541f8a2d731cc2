"""A production database of invented identities (in no word list, no fake-data library), for
the leak gate: names split over first/last columns, emails, phones, a low-cardinality audit
table no subset reaches, notes that name people in every order, lookup values equal to
towns, identifiers with long digit runs."""

from __future__ import annotations

import re
from pathlib import Path

N = 60
SYLLABLES = ("zor", "quil", "brax", "vel", "mor", "thal", "yss", "kren", "dro", "vash")
ENDINGS = ("vath", "lindra", "berry", "moth", "quelle", "marrow", "olde", "vanik")
TOWNS = ("Wojtaszkowo", "Brindlecombe", "Esterhollow")


def first_name(i: int) -> str:
    return (SYLLABLES[i % 10] + ENDINGS[(i // 10) % 8]).capitalize()


def last_name(i: int) -> str:
    return (SYLLABLES[(i * 3 + 1) % 10] + SYLLABLES[(i * 7 + 2) % 10] + ENDINGS[i % 8]).capitalize()


def email(i: int) -> str:
    return f"{first_name(i).lower()}.{last_name(i).lower()}{i}@leakcheck.example"


def phone(i: int) -> str:
    return f"+1 415 555 {1000 + i * 17:04d}"


ADMINS = [f"admin.{first_name(50 + k).lower()}@leakcheck.example" for k in range(3)]
"""The audit table's actors: three addresses over many rows (low cardinality)."""


def note(i: int) -> str:
    """A note about a person of another row, in every order the gate must recognise."""
    j = (i * 7 + 3) % N
    forms = (
        f"Met {first_name(j)} {last_name(j)} at the branch.",
        f"Callback requested by {last_name(j).upper()}, {first_name(j)}.",
        f"{last_name(j)} asked about the invoice.",
        f"Forwarded to {email(j).split('@')[0]}@[EMAIL] for review.",
        f"Phone {phone(j)} is switched off.",
    )
    return forms[i % len(forms)]


DDL = """
create table people (id integer primary key, first_name varchar not null,
  last_name varchar not null, email varchar not null unique, phone varchar,
  birth_date date, town varchar, status varchar);
create table notes (id integer primary key, person_id integer not null references people(id),
  body varchar);
create table accounts (id integer primary key, person_id integer not null references people(id),
  code varchar);
create table districts (id integer primary key, name varchar);
create table audit (id integer primary key, actor_email varchar, action varchar);
"""


EXTRAS_DDL = """
create table extras (id integer primary key, person_id integer not null references people(id),
  contact varchar, photo blob, aliases varchar[]);
"""
"""Copies of personal values in other types: an email kept verbatim, a name and email inside
bytes, name parts in an array."""


def make_gate_duckdb(path: Path, *, extras: bool = False) -> str:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        con.executemany(
            "insert into people values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    first_name(i),
                    last_name(i),
                    email(i),
                    phone(i),
                    # Every fourth person born on 1 January: its own year under generalize.
                    f"19{50 + i % 40}-{'01-01' if i % 4 == 0 else f'06-{1 + i % 28:02d}'}",
                    TOWNS[i % 3],
                    ["active", "paused"][i % 2],
                )
                for i in range(N)
            ],
        )
        if extras:
            con.execute(EXTRAS_DDL)
            con.executemany(
                "insert into extras values (?, ?, ?, ?, ?)",
                [
                    (
                        i,
                        i,
                        email(i),
                        f"{first_name(i)} {last_name(i)} <{email(i)}>".encode(),
                        [first_name(i), last_name(i)],
                    )
                    for i in range(N)
                ],
            )
        con.executemany(
            "insert into notes values (?, ?, ?)", [(i, i % N, note(i)) for i in range(2 * N)]
        )
        con.executemany(
            "insert into accounts values (?, ?, ?)",
            [(i, i, f"Customer#{1234567 + i * 1000:09d}") for i in range(N)],
        )
        con.executemany(
            "insert into districts values (?, ?)", [(k, t) for k, t in enumerate(TOWNS)]
        )
        con.executemany(
            "insert into audit values (?, ?, ?)",
            [(k, ADMINS[k % 3], ["login", "export"][k % 2]) for k in range(90)],
        )
    finally:
        con.close()
    return f"duckdb:///{path}"


def canary_tokens() -> list[str]:
    """Every identifying piece planted: invented name words, email local parts and
    addresses, phone numbers and their bare digits. None may reach any file in the store."""
    out: set[str] = set()
    for i in range(N):
        out |= {first_name(i), last_name(i), email(i), email(i).split("@")[0], phone(i)}
        out.add(re.sub(r"\D", "", phone(i)))
    for admin in ADMINS:
        out |= {admin, admin.split("@")[0]}
    return sorted(out)
