"""Detection of personal data in bytes that are text and in lists of strings, and the rules auto
mode fits to their types (issue 11: a bytea contact card, a text[] of invented name parts)."""

from __future__ import annotations

import random

import polars as pl

from sandboxer.redact.detect import detect_column, detect_frame
from sandboxer.redact.detect.values import NAME_SHAPE
from sandboxer.redact.entities import Entity
from sandboxer.redact.policy import fit_to_type
from sandboxer.redact.strategies import strategies_for

SYLLABLES = ["zor", "vex", "quil", "brak", "thue", "mox", "dree", "skaw", "plon", "gryth"]


def invented(n: int, seed: int = 11) -> list[tuple[str, str]]:
    """(first, last) pairs of invented words, in no name list."""
    rng = random.Random(seed)

    def word(parts: int) -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()

    return [(word(2), word(3)) for _ in range(n)]


def test_bytes_holding_a_name_and_an_email_are_personal_and_get_hash() -> None:
    people = invented(40)
    cards = pl.Series(
        "photo",
        [f"FN:{a} {b}\nEMAIL:{a.lower()}.{b.lower()}{i}@example.org".encode() for i, (a, b) in
         enumerate(people)],
        dtype=pl.Binary,
    )  # fmt: skip
    found = detect_column("photo", cards)
    assert found, "text inside bytes is detected like text"
    assert found[0].entity == Entity.free_text
    assert found[0].evidence["email"] == 40
    strategy, _params, evidence = fit_to_type(found[0], cards)
    assert strategy == "hash" and strategy in strategies_for(pl.Binary)
    assert evidence["fitted_for"] == "type"


def test_bytes_that_are_not_text_are_not_detected() -> None:
    rng = random.Random(3)
    blobs = pl.Series("photo", [bytes([0xFF, 0xD8, *rng.randbytes(30)]) for _ in range(40)])
    assert blobs.dtype == pl.Binary
    assert detect_column("photo", blobs) == []


def test_a_list_of_invented_name_parts_shares_words_with_a_name_column() -> None:
    people = invented(40)
    frame = pl.DataFrame(
        {
            "given_name": [a for a, _ in people],
            "family_name": [b for _, b in people],
            "aliases": [[a.lower(), f"{a[0]}. {b}"] for a, b in people],
        }
    )
    found = detect_frame(frame, table="person")["aliases"]
    assert found and found[0].entity == Entity.person_name
    assert found[0].evidence["element_of"] == "list"
    strategy, _params, _evidence = fit_to_type(found[0], frame["aliases"])
    assert strategy == found[0].suggested_strategy == "fake"
    assert strategy in strategies_for(frame["aliases"].dtype)


def test_a_list_of_words_that_are_no_names_stays_kept() -> None:
    people = invented(40)
    frame = pl.DataFrame(
        {
            "given_name": [a for a, _ in people],
            "family_name": [b for _, b in people],
            "tags": [["Red Widget", f"Size {i}"] for i in range(40)],
        }
    )
    assert detect_frame(frame, table="person")["tags"] == []


def test_name_shape_allows_leading_initials_but_needs_a_name_word() -> None:
    values = pl.Series(["J. R. Quennell", "S. Quaxvroxg", "Tamsin Quennell", "A. B.", "Quennell"])
    assert values.str.contains(NAME_SHAPE).to_list() == [True, True, True, False, False]
