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
from dataclasses import dataclass
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


def fold(words: pl.Series) -> pl.Series:
    """``fold_expr`` of a Series; ASCII words only lower-cased (all the rest does nothing to
    them), so the Unicode passes run on the few others."""
    import polars as pl

    lower = words.str.to_lowercase()
    other = words.str.contains(r"[^\x00-\x7f]").fill_null(False)
    if not other.any():
        return lower
    at = other.arg_true()
    return lower.scatter(at, pl.select(fold_expr(pl.lit(words.gather(at)))).to_series())


def zipf(tokens: pl.Series, languages: tuple[str, ...] = LANGUAGES) -> pl.Series:
    """The Zipf frequency of every (already folded) token, 0.0 for words in no list; same
    length and order as ``tokens``.

    A binary search, not a join: a join would hash the table's million words on every call,
    and the free-text scrub calls this once per batch. The search runs on the words' 64-bit
    hashes (``sorted_lookup``), then the word found is compared with the token.
    """
    import polars as pl

    words, scores = _sorted_table(languages)
    text = tokens.cast(pl.String)
    if words.words.len() == 0 or text.len() == 0:
        return pl.repeat(0.0, text.len(), dtype=pl.Float32, eager=True).rename(tokens.name)
    at, found = sorted_lookup(words, text)
    scores = scores.gather(at)
    return scores.zip_with(found, pl.Series([0.0], dtype=scores.dtype)).rename(tokens.name)


def sorted_lookup(words: SortedWords, tokens: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Where each token is in ``words`` (any index where it is not) and whether it is there.

    Integers are searched, not strings: ``words`` is ordered by the words' hashes, unique in
    the table (else by the words themselves), and each token's hash is looked up.
    """
    import polars as pl

    text = tokens.fill_null("")
    if words.hashes is None:
        at = words.words.search_sorted(text)
    else:
        # In ascending order the searches walk the table forwards: far fewer cache misses.
        queries = pl.DataFrame({"h": text.hash()}).with_row_index("i").sort("h")
        found_at = words.hashes.search_sorted(queries.get_column("h"))
        at = found_at.scatter(queries.get_column("i"), found_at)
    at = at.clip(upper_bound=words.words.len() - 1)
    found = (words.words.gather(at) == tokens).fill_null(False)
    return at, found


@dataclass(frozen=True)
class SortedWords:
    """Distinct words ordered for ``sorted_lookup``: by ``hashes`` when those are unique (then
    ``hashes`` is sorted and ``words`` follows it), else by ``words`` (``hashes`` None)."""

    words: pl.Series
    hashes: pl.Series | None

    @classmethod
    def order(cls, frame: pl.DataFrame, column: str = "word") -> tuple[SortedWords, pl.DataFrame]:
        """``frame`` (distinct ``column``) reordered for lookups, and the words to look in."""
        import polars as pl

        hashed = frame.with_columns(_h=pl.col(column).hash()).sort("_h")
        if hashed.get_column("_h").n_unique() == hashed.height:
            words = cls(hashed.get_column(column), hashed.get_column("_h"))
            return words, hashed.drop("_h")
        ordered = frame.sort(column)
        return cls(ordered.get_column(column), None), ordered


@functools.cache
def _sorted_table(languages: tuple[str, ...]) -> tuple[SortedWords, pl.Series]:
    """``frequency_table`` ordered for ``sorted_lookup``: the words and their Zipf scores."""
    words, ordered = SortedWords.order(frequency_table(languages))
    return words, ordered.get_column("zipf")


def is_common(tokens: pl.Series, threshold: float = COMMON_ZIPF) -> pl.Series:
    """Whether every (folded) token is a common word in one of ``LANGUAGES``."""
    return zipf(tokens) >= threshold
