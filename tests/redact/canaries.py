"""A small production database full of canary identities, planted everywhere PII hides:
typed columns, key columns, misleadingly named columns, free text, nested JSON."""

from __future__ import annotations

import json
from typing import Any

N = 300
FIRST = [
    "Maria",
    "Jonas",
    "Amelie",
    "Lukas",
    "Sophie",
    "Elias",
    "Hannah",
    "Noah",
    "Lena",
    "Felix",
    "Clara",
    "Paul",
    "Emma",
    "Leon",
    "Mia",
]
LAST = [
    "Schneider",
    "Fischer",
    "Weber",
    "Becker",
    "Hoffmann",
    "Richter",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Hartmann",
    "Kruger",
    "Lange",
    "Werner",
    "Krause",
    "Lehmann",
    "Koehler",
    "Maier",
    "Frank",
]


def person(i: int) -> dict[str, Any]:
    email = f"canary{i:03d}.quokka@leakcheck.example"
    phone = f"+1 415 555 {1000 + i:04d}"
    ssn = f"{123 + i % 600:03d}-{10 + i % 89:02d}-{1000 + i:04d}"
    card = luhn_complete(f"4539{i:011d}")
    return {
        "id": 1000 + i,
        "email": email,
        "full_name": f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}-{chr(65 + i % 26)}"
        f"{chr(65 + (i // 26) % 26)}",
        "phone": phone,
        "ssn": ssn,
        "birth_date": f"19{50 + i % 45}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "c7": f"alt{i:03d}.wombat@leakcheck.example",
        "ref_code": f"{200 + i % 600:03d}-{11 + i % 80:02d}-{2000 + i:04d}",
        "card": card,
        "status": ["active", "paused", "closed"][i % 3],
        "notes": (
            f"Customer asked to be called at {phone} or mailed at {email}; paid with {card}."
            if i % 3 == 0
            else "Prefers delivery in the morning, no special requests."
        ),
        "profile": json.dumps(
            {
                "contact": {"email": email, "phones": [phone]},
                "newsletter": i % 2 == 0,
                "segment": "B2C",
            }
        ),
    }


def luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for idx, d in enumerate(reversed(digits)):
        if idx % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def canary_values() -> list[str]:
    """Every identifying value planted: none may survive into a snapshot, report or log."""
    out = []
    for i in range(N):
        p = person(i)
        out += [p["email"], p["phone"], p["ssn"], p["c7"], p["ref_code"], p["card"], p["full_name"]]
    return out


DDL = """
create table people (
  id integer primary key, email varchar not null unique, full_name varchar, phone varchar,
  ssn varchar, birth_date date, c7 varchar, ref_code varchar, card varchar, status varchar,
  notes varchar, profile varchar);
create table orders (
  id integer primary key, person_email varchar not null references people(email),
  amount double precision, comment varchar);
"""


def rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    people = [person(i) for i in range(N)]
    orders = [
        {
            "id": j,
            "person_email": people[(j * 7) % N]["email"],
            "amount": j * 1.5,
            "comment": (
                f"Follow up with {people[(j * 7) % N]['email']}"
                if j % 4 == 0
                else "Standard shipping"
            ),
        }
        for j in range(900)
    ]
    return people, orders


def make_canary_duckdb(path: Any) -> str:
    import duckdb
    import pyarrow as pa

    people, orders = rows()
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        p, o = pa.Table.from_pylist(people), pa.Table.from_pylist(orders)  # noqa: F841
        con.execute(
            "insert into people select id, email, full_name, phone, ssn, "
            "cast(birth_date as date), c7, ref_code, card, status, notes, profile from p"
        )
        con.execute("insert into orders select * from o")
    finally:
        con.close()
    return f"duckdb:///{path}"


def make_canary_postgres(url: str) -> str:
    import psycopg

    people, orders = rows()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(DDL)
        with con.cursor() as cur:
            with cur.copy(
                "COPY people (id, email, full_name, phone, ssn, birth_date, c7, "
                "ref_code, card, status, notes, profile) FROM STDIN"
            ) as copy:
                for r in people:
                    copy.write_row(
                        [
                            r[k]
                            for k in (
                                "id",
                                "email",
                                "full_name",
                                "phone",
                                "ssn",
                                "birth_date",
                                "c7",
                                "ref_code",
                                "card",
                                "status",
                                "notes",
                                "profile",
                            )
                        ]
                    )
            with cur.copy("COPY orders (id, person_email, amount, comment) FROM STDIN") as copy:
                for r in orders:
                    copy.write_row([r["id"], r["person_email"], r["amount"], r["comment"]])
    return url
