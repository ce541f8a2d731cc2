"""The invented-identity canary database of the labelled set: people no name list contains.

Given names and surnames are built from random syllables with a fixed seed (``SEED``), so no
first-name list, surname list or Faker locale holds them; towns and streets are invented the
same way. Contact points have real formats (validated by the detectors): e-mail addresses on
``.example`` domains, phone numbers in ranges reserved for drama (UK 07700 900xxx, US 555-01xx),
Luhn-valid card numbers, mod-97-valid German IBANs, well-formed US SSNs. Personal data sits
where real schemas put it and where they hide it:

- ``member``: typed columns with plain names; ``aliases`` (a list of names); ``profile`` (a
  JSON document with contact leaves); ``avatar`` (bytes); ``label`` (full names under a
  misleading column name); ``ref`` (e-mail addresses under a misleading name).
- ``support_ticket.body``: free text naming members, staff and people found nowhere else.
- ``staff``: invented names, work e-mail, a login, a hashed password.
- Lookups and catalogues with capitalised values that are not personal: ``plan``, ``region``,
  ``language``, ``genre``, ``product`` (invented brand words + common nouns), plus the orders.

The labels of every column are in ``precision_labels.yaml`` (database ``canary``).
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20240611
MEMBERS = 600
STAFF = 24
ORDERS = 3000
TICKETS = 900

_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "q",
           "r", "s", "sk", "t", "tr", "v", "vr", "z", "zh", "x")  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ia", "ou", "y")
_CODAS = ("", "", "", "n", "r", "sh", "k", "l", "x", "th", "v", "m")


def _word(rng: random.Random, syllables: int) -> str:
    parts = [
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
    ]
    return "".join(parts).capitalize()


def _unique_words(rng: random.Random, n: int, syllables: tuple[int, ...]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        w = _word(rng, rng.choice(syllables))
        if len(w) >= 4 and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _luhn(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return prefix + str((10 - total % 10) % 10)


def _iban_de(rng: random.Random) -> str:
    bban = "".join(str(rng.randrange(10)) for _ in range(18))
    numeric = int(bban + "1314" + "00")  # D=13, E=14, check digits 00
    check = 98 - numeric % 97
    return f"DE{check:02d}{bban}"


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _phone(rng: random.Random, i: int) -> str:
    if i % 2:
        return f"+44 7700 900{rng.randrange(1000):03d}"
    return f"+1 (415) 555-01{rng.randrange(100):02d}"


def build(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """Every table as a list of rows (deterministic for ``seed``)."""
    rng = random.Random(seed)
    given = _unique_words(rng, 220, (2, 2, 3))
    family = _unique_words(rng, 320, (2, 3, 3))
    towns = _unique_words(rng, 40, (2, 3))
    streets = _unique_words(rng, 60, (2, 3))
    brands = _unique_words(rng, 30, (2, 3))
    domains = [w.lower() for w in _unique_words(rng, 12, (2, 3))]
    outsiders = [f"{g} {f}" for g, f in zip(rng.sample(given, 40), rng.sample(family, 40),
                                            strict=True)]  # fmt: skip

    regions = ["North Coast", "Inland Valley", "Harbour District", "Upper Plateau", "South Bay"]
    plans = [("basic", "Basic"), ("plus", "Plus"), ("family", "Family"), ("pro", "Professional")]
    languages = [("en", "English"), ("fr", "French"), ("de", "German"), ("es", "Spanish"),
                 ("pt", "Portuguese"), ("it", "Italian"), ("nl", "Dutch")]  # fmt: skip
    genres = ["Rock", "Jazz", "Classical", "Hip Hop", "Folk", "Blues", "Electronic", "Soundtrack"]
    nouns = ["Kettle", "Lamp", "Backpack", "Headphones", "Blender", "Desk", "Jacket", "Bottle",
             "Speaker", "Chair", "Notebook", "Tent"]  # fmt: skip

    tables: dict[str, list[dict[str, Any]]] = {
        "region": [{"region_id": i + 1, "region_name": n} for i, n in enumerate(regions)],
        "plan": [
            {"plan_code": c, "plan_name": n, "monthly_fee": 5.0 * (i + 1)}
            for i, (c, n) in enumerate(plans)
        ],
        "language": [{"language_code": c, "language_name": n} for c, n in languages],
        "genre": [{"genre_id": i + 1, "genre_name": n} for i, n in enumerate(genres)],
    }
    tables["product"] = [
        {
            "product_id": i + 1,
            "product_name": f"{brands[i % len(brands)]} {nouns[(i * 7) % len(nouns)]}",
            "genre_id": 1 + i % len(genres),
            "list_price": round(rng.uniform(4, 400), 2),
        }
        for i in range(90)
    ]

    members = []
    for i in range(MEMBERS):
        first, last = rng.choice(given), rng.choice(family)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 62))
        domain = rng.choice(domains)
        email = f"{first.lower()}.{last.lower()}{i % 7 or ''}@{domain}.example"
        phone = _phone(rng, i)
        members.append(
            {
                "member_id": 10_000 + i,
                "given_name": first,
                "family_name": last,
                "label": f"{first} {last}",
                "ref": email,
                "email": email,
                "phone": phone,
                "birth_date": born,
                "street_address": f"{rng.randrange(1, 400)} {rng.choice(streets)} "
                + rng.choice(["Street", "Road", "Lane", "Avenue"]),
                "town": rng.choice(towns),
                "postcode": f"{rng.randrange(10000, 99999)}",
                "region_id": 1 + i % len(regions),
                "ssn": _ssn(rng),
                "iban": _iban_de(rng),
                "card_number": _luhn("4" + "".join(str(rng.randrange(10)) for _ in range(14))),
                "username": f"{first.lower()[:3]}{last.lower()[:4]}{rng.randrange(100)}",
                "last_login_ip": _ip(rng),
                "plan_code": plans[i % len(plans)][0],
                "language_code": languages[i % len(languages)][0],
                "joined_at": datetime(2019, 1, 1) + timedelta(minutes=rng.randrange(2_500_000)),
                "is_active": i % 9 != 0,
                "aliases": [f"{rng.choice(given)} {last}" for _ in range(rng.randrange(0, 3))],
                "profile": json.dumps(
                    {
                        "contact": {"email": email, "phone": phone},
                        "emergency": {"name": f"{rng.choice(given)} {rng.choice(family)}"},
                        "prefs": {"newsletter": i % 2 == 0, "theme": "dark" if i % 3 else "light"},
                    }
                ),
                "avatar": hashlib.sha256(f"avatar-{i}".encode()).digest() * 4,
            }
        )
    tables["member"] = members

    staff = []
    for i in range(STAFF):
        first, last = rng.choice(given), rng.choice(family)
        staff.append(
            {
                "staff_id": i + 1,
                "first_name": first,
                "last_name": last,
                "work_email": f"{first.lower()}.{last.lower()}@support.example",
                "login": f"{first.lower()}{i}",
                "password_hash": hashlib.sha256(f"pw-{i}".encode()).hexdigest(),
                "team": ["Billing", "Shipping", "Accounts"][i % 3],
            }
        )
    tables["staff"] = staff

    tables["purchase"] = [
        {
            "purchase_id": 500_000 + i,
            "member_id": rng.choice(members)["member_id"],
            "product_id": rng.randrange(1, 91),
            "quantity": rng.randrange(1, 5),
            "amount": round(rng.uniform(5, 900), 2),
            "status": rng.choice(["paid", "shipped", "returned", "cancelled"]),
            "ordered_at": datetime(2021, 1, 1) + timedelta(minutes=rng.randrange(1_500_000)),
            "ship_town": rng.choice(towns),
            "ship_postcode": f"{rng.randrange(10000, 99999)}",
        }
        for i in range(ORDERS)
    ]

    openers = ["Called", "Wrote to", "Spoke with", "Emailed", "Met"]
    issues = ["about a late parcel", "about a double charge", "regarding the refund",
              "about the broken lamp", "to update the plan"]  # fmt: skip
    tickets = []
    for i in range(TICKETS):
        m = rng.choice(members)
        s = rng.choice(staff)
        kind = i % 4
        if kind == 0:
            body = f"{rng.choice(openers)} {m['label']} {rng.choice(issues)}; resolved."
        elif kind == 1:
            body = (
                f"Customer says {rng.choice(outsiders)} will collect the order for "
                f"{m['given_name']}. Agent {s['first_name']} approved."
            )
        elif kind == 2:
            body = (
                f"Reply sent to {m['email']} and a callback booked on {m['phone']} "
                f"{rng.choice(issues)}."
            )
        else:
            body = f"Parcel returned to sender {rng.choice(issues)}. No action needed."
        tickets.append(
            {
                "ticket_id": 70_000 + i,
                "member_id": m["member_id"],
                "staff_id": s["staff_id"],
                "opened_at": datetime(2022, 1, 1) + timedelta(minutes=rng.randrange(700_000)),
                "priority": rng.choice(["low", "normal", "high"]),
                "body": body,
            }
        )
    tables["support_ticket"] = tickets
    return tables


_TYPES: dict[str, dict[str, str]] = {
    "region": {"region_id": "INTEGER", "region_name": "VARCHAR"},
    "plan": {"plan_code": "VARCHAR", "plan_name": "VARCHAR", "monthly_fee": "DECIMAL(8,2)"},
    "language": {"language_code": "VARCHAR", "language_name": "VARCHAR"},
    "genre": {"genre_id": "INTEGER", "genre_name": "VARCHAR"},
    "product": {"product_id": "INTEGER", "product_name": "VARCHAR", "genre_id": "INTEGER",
                "list_price": "DECIMAL(8,2)"},
    "member": {
        "member_id": "INTEGER", "given_name": "VARCHAR", "family_name": "VARCHAR",
        "label": "VARCHAR", "ref": "VARCHAR", "email": "VARCHAR", "phone": "VARCHAR",
        "birth_date": "DATE", "street_address": "VARCHAR", "town": "VARCHAR",
        "postcode": "VARCHAR", "region_id": "INTEGER", "ssn": "VARCHAR", "iban": "VARCHAR",
        "card_number": "VARCHAR", "username": "VARCHAR", "last_login_ip": "VARCHAR",
        "plan_code": "VARCHAR", "language_code": "VARCHAR", "joined_at": "TIMESTAMP",
        "is_active": "BOOLEAN", "aliases": "VARCHAR[]", "profile": "JSON", "avatar": "BLOB",
    },
    "staff": {"staff_id": "INTEGER", "first_name": "VARCHAR", "last_name": "VARCHAR",
              "work_email": "VARCHAR", "login": "VARCHAR", "password_hash": "VARCHAR",
              "team": "VARCHAR"},
    "purchase": {"purchase_id": "INTEGER", "member_id": "INTEGER", "product_id": "INTEGER",
                 "quantity": "INTEGER", "amount": "DECIMAL(10,2)", "status": "VARCHAR",
                 "ordered_at": "TIMESTAMP", "ship_town": "VARCHAR", "ship_postcode": "VARCHAR"},
    "support_ticket": {"ticket_id": "INTEGER", "member_id": "INTEGER", "staff_id": "INTEGER",
                       "opened_at": "TIMESTAMP", "priority": "VARCHAR", "body": "VARCHAR"},
}  # fmt: skip

_KEYS: dict[str, str] = {
    "region": "region_id", "plan": "plan_code", "language": "language_code",
    "genre": "genre_id", "product": "product_id", "member": "member_id", "staff": "staff_id",
    "purchase": "purchase_id", "support_ticket": "ticket_id",
}  # fmt: skip

_FOREIGN: dict[str, list[tuple[str, str]]] = {
    "product": [("genre_id", "genre")],
    "member": [("region_id", "region"), ("plan_code", "plan"), ("language_code", "language")],
    "purchase": [("member_id", "member"), ("product_id", "product")],
    "support_ticket": [("member_id", "member"), ("staff_id", "staff")],
}


def write_canary(path: Path, seed: int = SEED) -> None:
    """The canary database as a DuckDB file at ``path``, with primary and foreign keys."""
    import duckdb
    import pyarrow as pa

    tables = build(seed)
    conn = duckdb.connect(str(path))
    try:
        for name in _TYPES:  # parents first: the FKs are declared at creation
            columns = _TYPES[name]
            defs = [f'"{c}" {t}' for c, t in columns.items()]
            defs.append(f'PRIMARY KEY ("{_KEYS[name]}")')
            defs += [
                f'FOREIGN KEY ("{c}") REFERENCES "{ref}" ("{_KEYS[ref]}")'
                for c, ref in _FOREIGN.get(name, [])
            ]
            conn.execute(f'CREATE TABLE "{name}" ({", ".join(defs)})')
            frame = pa.Table.from_pylist(tables[name])
            conn.register("frame", frame)
            select = ", ".join(f'CAST("{c}" AS {t})' for c, t in columns.items())
            conn.execute(f'INSERT INTO "{name}" SELECT {select} FROM frame')
            conn.unregister("frame")
    finally:
        conn.close()
