"""What the leak gate searches for: the forms of originals, and where they are found."""

from __future__ import annotations

import polars as pl
import pytest

from sandboxer.config.models import Gate
from sandboxer.redact.entities import Entity
from sandboxer.redact.originals import Originals, PersonalColumn, _frame, build, personal

FULL = PersonalColumn("people", "full_name", Entity.person_name)
FIRST = PersonalColumn("people", "first_name", Entity.first_name)
LAST = PersonalColumn("people", "last_name", Entity.last_name)
EMAIL = PersonalColumn("people", "email", Entity.email)
PHONE = PersonalColumn("people", "phone", Entity.phone)
ADDRESS = PersonalColumn("people", "address", Entity.address)
CITY = PersonalColumn("people", "city", Entity.city)


def originals(**columns: list[str | None]) -> Originals:
    cols = {c.column: c for c in (FULL, FIRST, LAST, EMAIL, PHONE, ADDRESS, CITY)}
    chosen = [cols[name] for name in columns]
    values = [
        _frame(pl.Series(v, dtype=pl.String), cols[name].entity, i)
        for i, (name, v) in enumerate(columns.items())
    ]
    pairs = []
    if "first_name" in columns and "last_name" in columns:
        pairs.append(
            pl.DataFrame(
                {"first": columns["first_name"], "last": columns["last_name"]},
                schema={"first": pl.String, "last": pl.String},
            ).with_columns(
                fo=pl.lit(list(columns).index("first_name"), pl.UInt32),
                lo=pl.lit(list(columns).index("last_name"), pl.UInt32),
            )
        )
    return build(chosen, values, pairs, Gate())


def found(o: Originals, *texts: str) -> list[bool]:
    hits = o.search(pl.Series(texts, dtype=pl.String))
    return [i in set(hits["vid"].to_list()) for i in range(len(texts))]


def test_names_in_any_order_case_and_punctuation() -> None:
    o = originals(full_name=["Ada Quennell", "Hugo Marrowby-Vantis"])
    assert (
        found(
            o,
            "Spoke to Ada Quennell today",
            "QUENNELL, ADA called back",
            "ada quennell",
            "quennell",  # a rare surname identifies on its own
            "Mr. Marrowby was here",  # a part of a double-barrelled name, rare alone
            "Hugo Vantis",  # first and last word of a longer name
        )
        == [True] * 6
    )
    assert found(o, "Ada Lovelace", "Hugo Boss", "ada", "Quennellish", "Ada-Quen") == [False] * 5


def test_first_and_last_name_columns_pair_up_row_by_row() -> None:
    # "Anna" and "Smith" are common: alone they identify nobody, together (same row) they do.
    o = originals(first_name=["Anna", "Bert"], last_name=["Smith", "Jones"])
    assert found(o, "Anna Smith paid", "Smith, Anna", "Jones Bert") == [True, True, True]
    assert found(o, "Anna Jones", "Bert Smith", "Anna", "Smith") == [False] * 4


def test_emails_phones_and_their_parts() -> None:
    o = originals(email=["zorvath.quillberry7@leakcheck.example"], phone=["+1 415 555 0117"])
    assert (
        found(
            o,
            "write to zorvath.quillberry7@leakcheck.example",
            "write to ZORVATH.QUILLBERRY7@[EMAIL]",  # scrubbed apart: the local part still leaks
            "zorvath",
            "call +1 415 555 0117 or 1-415-555-0117",
            "call 14155550117",
        )
        == [True] * 5
    )
    # The email's domain is shared by many people; the phone's groups are too short alone.
    assert found(o, "see leakcheck.example", "room 0117", "555 0117") == [False] * 3


def test_numbers_inside_identifiers_and_addresses_are_not_originals() -> None:
    o = originals(full_name=["Customer#001234567"], address=["12 Wojtaszka Street"])
    # The name's digits are a counter, the street a street: neither identifies alone.
    assert found(o, "Supplier#001234567", "Clerk#001234567", "Wojtaszka") == [False] * 3
    assert found(o, "Customer#001234567", "at 12 wojtaszka street.") == [True, True]


def test_lookups_are_not_searched_and_common_values_are_left_out() -> None:
    # A city, a company, a birth date: quasi-identifiers or lookups, not searched as originals
    # (a district named like a town is no leak); a rule without an entity is.
    assert [personal(e) for e in (Entity.city, Entity.company, Entity.birth_date)] == [False] * 3
    assert personal(Entity.address) and personal(None)
    many = originals(email=[f"zorvath{i % 3}@leakcheck.example" for i in range(30)])
    # Each address is shared by 10 rows: not identifying (common_value_rows).
    assert many.values == 0 and found(many, "zorvath1@leakcheck.example") == [False]


@pytest.mark.parametrize(
    "text",
    ["Ada Quennell", "Quennell Ada", "x ada  quennell y", "ÁDA QUENNÉLL"],
)
def test_present_is_word_bounded_and_folded(text: str) -> None:
    o = originals(full_name=["Ada Quennell"])
    hits = o.search(pl.Series([text]))
    assert hits.height
    assert o.present(pl.Series([text] * hits.height), hits["form"]).all()
    assert not o.present(pl.Series(["adaquennell"] * hits.height), hits["form"]).any()
