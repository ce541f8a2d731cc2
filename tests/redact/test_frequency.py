"""Word frequencies: common words and names are common, invented names are rare."""

from __future__ import annotations

import polars as pl

from sandboxer.redact.detect import frequency
from sandboxer.redact.detect.frequency import COMMON_ZIPF, fold_expr, is_common, zipf
from sandboxer.redact.detect.wordlists import fold


def test_fold_expr_matches_fold() -> None:
    words = ["Müller", "ÉCOLE", "Quennell", "straße", "Łukasz", "O'Brien"]
    folded = pl.select(fold_expr(pl.lit(pl.Series(words)))).to_series().to_list()
    assert folded == [fold(w) for w in words]


def test_common_words_and_names_are_common_invented_names_are_not() -> None:
    tokens = pl.Series(["the", "london", "deposits", "garcia", "quennell", "zwyrtanek", "xqvb"])
    scores = zipf(tokens)
    assert scores.len() == tokens.len()
    assert is_common(tokens).to_list() == [True, True, True, True, False, False, False]
    # Order is kept and unknown words read as 0.0, not null.
    assert scores[-1] == 0.0 and scores[0] > scores[2] > COMMON_ZIPF


def test_fold_of_a_series_matches_fold_expr() -> None:
    words = pl.Series(["Müller", "ÉCOLE", "Quennell", "straße", "ﬁne", None, "O'Brien", "abc"])
    expected = pl.select(fold_expr(pl.lit(words))).to_series()
    assert frequency.fold(words).to_list() == expected.to_list()


def test_lookups_by_hash_and_by_word_agree() -> None:
    table = pl.DataFrame({"word": ["anna", "baker", "quennell", "zork", "the"]})
    by_hash, _ = frequency.SortedWords.order(table)
    assert by_hash.hashes is not None  # five words, five hashes
    by_word = frequency.SortedWords(table.get_column("word").sort(), None)
    tokens = pl.Series(["zork", None, "anna", "nobody", "the", "", "zork"])
    for words in (by_hash, by_word):
        at, found = frequency.sorted_lookup(words, tokens)
        assert found.to_list() == [True, False, True, False, True, False, True]
        assert words.words.gather(at).filter(found).to_list() == ["zork", "anna", "the", "zork"]
