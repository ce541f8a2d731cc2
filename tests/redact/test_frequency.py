"""Word frequencies: common words and names are common, invented names are rare."""

from __future__ import annotations

import polars as pl

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
