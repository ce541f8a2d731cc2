"""How common a word is, from real word-frequency lists: what makes a token identifying.

A token identifies a person on its own when it is rare: "Quennell" or "Wojtaszek" inside a
note points at one person, "John", "Paris" or "deposits" does not. Name lists cannot tell
this for names nobody listed (invented, foreign, misspelt), so rarity is measured, not looked
up: ``wordfreq`` (Robyn Speer et al., frequencies of 40+ languages from subtitles, Wikipedia,
books, web text and social media; MIT code, CC-BY-SA data) gives a word's Zipf frequency, the
base-10 log of its occurrences per billion words: 7 is "the", 5 "london", 4 "deposits", 3
"furiously", below 2 is rare, and a word absent from the lists (most invented names) is 0.

The frequency of a token is the highest over the languages in ``LANGUAGES`` (a word common in
any of them is not identifying), folded like names are (lower case, no accents). Lookups are
vectorised: one polars join of the tokens against the table, built once per process.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl")
"""The languages of the name locales of ``wordlists.NAME_LOCALES``."""

COMMON_ZIPF = 3.0
"""At or above this, a word is common (about 1 in a million words or more): not identifying
alone. Examples just above: "garcia" 3.9, "nguyen" 3.2, "furiously" 3.2; just below:
"kowalski" 2.7, "zork" 1.8; invented names are near 0."""


MIN_ZIPF = 1.5
"""Words rarer than this are left out of the table (they read as 0.0): below any threshold
that matters, and it keeps the table small."""


@functools.cache
def frequency_table(languages: tuple[str, ...] = LANGUAGES) -> pl.DataFrame:
    """``word`` (folded) -> ``zipf`` (highest over ``languages``), one row per word.

    Reading wordfreq's lists takes seconds; the table is kept on disk (a Parquet file in the
    user's cache, keyed by the wordfreq version and the languages) and read in milliseconds.
    """
    import os
    import secrets
    from importlib.metadata import version

    import polars as pl

    from sandboxer.redact.cache import cache_dir

    path = (
        cache_dir() / "wordfreq" / f"{version('wordfreq')}-{'-'.join(languages)}-{MIN_ZIPF}.parquet"
    )
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError):
        pass
    table = _build_table(languages)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        table.write_parquet(tmp)
        os.replace(tmp, path)
    except OSError:
        pass  # read-only home, full disk: building each time is only slower
    return table


def _build_table(languages: tuple[str, ...]) -> pl.DataFrame:
    import polars as pl
    from wordfreq import get_frequency_dict

    frames = []
    for lang in languages:
        freqs = get_frequency_dict(lang, wordlist="best")
        frames.append(
            pl.DataFrame(
                {"word": list(freqs), "freq": list(freqs.values())},
                schema={"word": pl.String, "freq": pl.Float64},
            )
        )
    return (
        pl.concat(frames)
        .with_columns(zipf=((pl.col("freq") * 1e9).log10()).cast(pl.Float32))
        .filter(pl.col("zipf") >= MIN_ZIPF)
        .with_columns(word=fold_expr(pl.col("word")))
        .group_by("word")
        .agg(pl.col("zipf").max())
        .sort("word")
    )


def fold_expr(words: pl.Expr) -> pl.Expr:
    """``wordlists.fold`` as an expression: lower case without accents (``casefold`` also
    turns "ß" into "ss", which ``to_lowercase`` does not)."""
    return (
        words.str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
    )


def zipf(tokens: pl.Series, languages: tuple[str, ...] = LANGUAGES) -> pl.Series:
    """The Zipf frequency of every (already folded) token, 0.0 for words in no list; same
    length and order as ``tokens``.

    A binary search in the sorted table (``search_sorted``), not a join: a join would hash the
    table's million words on every call, and the free-text scrub calls this once per batch.
    """
    import polars as pl

    table = _sorted_table(languages)
    words = table.get_column("word")
    text = tokens.cast(pl.String)
    if words.len() == 0 or text.len() == 0:
        return pl.repeat(0.0, text.len(), dtype=pl.Float32, eager=True).rename(tokens.name)
    at = words.search_sorted(text.fill_null("")).clip(upper_bound=words.len() - 1)
    found = (words.gather(at) == text).fill_null(False)
    scores = table.get_column("zipf").gather(at)
    return scores.zip_with(found, pl.Series([0.0], dtype=scores.dtype)).rename(tokens.name)


@functools.cache
def _sorted_table(languages: tuple[str, ...]) -> pl.DataFrame:
    """``frequency_table`` sorted by word, as ``search_sorted`` needs (the cached file may come
    from an older version that did not sort)."""
    return frequency_table(languages).sort("word")


def is_common(tokens: pl.Series, threshold: float = COMMON_ZIPF) -> pl.Series:
    """Whether every (folded) token is a common word in one of ``LANGUAGES``."""
    return zipf(tokens) >= threshold
