"""Person names inside free text: invented names found without lists, keyed pseudonyms, and the
floor of ``bench/free_text_names.py`` (recall of planted invented names)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sandboxer.redact.detect import find_spans, scrub_series
from sandboxer.redact.detect.wordlists import first_names, fold, last_names

BENCH = Path(__file__).resolve().parents[2] / "bench"
KEY = b"unit-test-free-text-key-0001"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    sys.path.insert(0, str(BENCH))
    try:
        import free_text_names

        yield free_text_names
    finally:
        sys.path.remove(str(BENCH))


def test_planted_names_are_invented(bench: Any) -> None:
    names = bench.invented_names(500)
    listed = first_names() | last_names()
    assert len(set(names)) == 500
    assert not [n for n in names if fold(n) in listed]


def test_recall_of_planted_invented_names_meets_the_floor(bench: Any) -> None:
    recall = bench.measure_recall(600)
    assert recall["recall"] >= bench.RECALL_FLOOR, recall["missed_by_shape"]


def test_names_from_another_table_and_from_nowhere() -> None:
    texts = pl.Series(
        [
            "Spoke with Tamsin Quennell about the invoice.",  # in a column of another table
            "quennell asked again, QUENNELL is upset",  # any case, no capital to go by
            "Her daughter Zorvatha will pick it up.",  # in no column at all
            "Thanks for waiting, the parcel is on its way.",
        ]
    )
    out = scrub_series(texts, names=["Tamsin Quennell"], key=KEY).to_list()
    for word in ("Tamsin", "Quennell", "Zorvatha"):
        assert not any(word.lower() in t.lower() for t in out), (word, out)
    assert out[3] == texts[3]
    assert out[1].split()[0].islower() and out[1].split()[3].isupper()  # case shape kept


def test_pseudonyms_are_keyed_and_consistent() -> None:
    texts = pl.Series(["Call Mr Quennell today.", "Mr Quennell called back.", "Dr Zorvatha left."])
    one = scrub_series(texts, key=KEY).to_list()
    again = scrub_series(texts.reverse(), key=KEY).reverse().to_list()
    other = scrub_series(texts, key=b"another-unit-test-key-000000002").to_list()
    assert one == again
    assert one[0].split()[2] == one[1].split()[1] != "Quennell"
    assert one != other
    assert scrub_series(texts).to_list()[1] == "Mr [NAME] called back."


def test_identifiers_are_replaced_whole_before_names() -> None:
    # The literal "Quennell" used to be replaced first, leaving "tamsin.[REDACTED]@..." that
    # no email rule could read any more.
    texts = pl.Series(["Write to tamsin.quennell@leakcheck.example or call +44 20 7946 0123."])
    out = scrub_series(texts, extra_literals=["Quennell"], key=KEY).item()
    assert out == "Write to [EMAIL] or call [PHONE]."


def test_find_spans_counts_what_scrub_replaces() -> None:
    texts = pl.Series(
        [
            "Dear Anna Schmidt, Mr. Bean says hi",
            "Quennell, Mora (billing) and J. Zorvatha",
            "furiously regular deposits",
            None,
            "",
        ]
    )
    spans = find_spans(texts)["person_name"].to_list()
    scrubbed = scrub_series(texts).to_list()
    assert spans == [0 if t is None else t.count("[NAME]") for t in scrubbed]
    assert spans[:3] == [2, 2, 0]


def test_labels_and_lowercase_text_are_left_alone() -> None:
    texts = pl.Series(
        [
            "For Those About To Rock We Salute You",
            "Saint Vincent and the Grenadines",
            "Customer#000000001",
            "carefully final deposits detect slyly agai",
            "Persevering user-facing artificial intelligence",
        ]
    )
    assert scrub_series(texts, key=KEY).to_list() == texts.to_list()


def test_keyed_pseudonyms_are_not_counted_when_rescanning_with_the_locale() -> None:
    # What a gate re-scan of scrubbed text needs: the names left are the scrub's pseudonyms.
    texts = pl.Series(["Spoke with Tamsin Quennell; her daughter Zorvatha called. Thanks, Anna"])
    out = scrub_series(texts, key=KEY)
    assert find_spans(out)["person_name"].item() > 0
    assert find_spans(out, skip_fakes_of="en_US")["person_name"].item() == 0
    assert find_spans(texts, skip_fakes_of="en_US")["person_name"].item() > 0


PINNED = [
    "Spoke with Tamsin Quennell about the late invoice, she will call back tomorrow.",
    "Mrs. Zorvatha called to change the delivery address for order 4471.",
    "Billing contact: Quennell, Mora (accounts payable).",
    "Please call back after 5pm about the damaged item. Thanks, Brailo",
    "Customer asked that Threnda's account be merged; QUENNELL is upset, quennell too.",
    "Escalated to J. Vorstrom in the returns team -- Ada Ostrava",
    "Met with the Krendle family. Email ana.k@example.org, call +44 20 7946 0123.",
    "For Those About To Rock We Salute You",
    "carefully final deposits detect slyly. Tiresias sleeps",
    None,
    "",
]


def test_pseudonyms_are_pinned() -> None:
    # Same key and input, same output, whatever the implementation: snapshots built before a
    # change of the scrub's internals must match snapshots built after it.
    texts = pl.Series("t", PINNED, dtype=pl.String)
    keyed = scrub_series(texts, names=["Tamsin Quennell"], key=KEY).to_list()
    assert keyed == [
        "Spoke with Perez Wallace about the late invoice, she will call back tomorrow.",
        "Mrs. Cameron called to change the delivery address for order 4471.",
        "Billing contact: Wallace, Ferrell (accounts payable).",
        "Please call back after 5pm about the damaged item. Thanks, Glenn",
        "Customer asked that Sandoval's account be merged; WALLACE is upset, wallace too.",
        "Escalated to O. Fuller in the returns team -- Katie Brennan",
        "Met with the Abbott family. Email [EMAIL], call [PHONE].",
        "For Those About To Rock We Salute You",
        "carefully final deposits detect slyly. Tiresias sleeps",
        None,
        "",
    ]
    unkeyed = scrub_series(texts, names=["Tamsin Quennell"]).to_list()
    assert unkeyed[:7] == [
        "Spoke with [NAME] about the late invoice, she will call back tomorrow.",
        "Mrs. [NAME] called to change the delivery address for order 4471.",
        "Billing contact: [NAME] (accounts payable).",
        "Please call back after 5pm about the damaged item. Thanks, [NAME]",
        "Customer asked that [NAME]'s account be merged; [NAME] is upset, [NAME] too.",
        "Escalated to [NAME] in the returns team -- [NAME]",
        "Met with the [NAME] family. Email [EMAIL], call [PHONE].",
    ]
    spans = find_spans(texts, names=["Tamsin Quennell"])["person_name"].to_list()
    assert spans == [1, 1, 1, 1, 3, 2, 1, 0, 0, 0, 0]
