"""PII spans inside free text: counted (``find_spans``) and replaced (``scrub_expr``).

Both run one ordered list of span rules, entirely as polars expressions, because they run on every
row of every kept text column (the scrub strategy and the leak gate), not on a sample. Rules are
applied in order on the text left by the previous ones, and counts are taken the same way, so
what ``find_spans`` counts is exactly what ``scrub_expr`` replaces. The order matters: an IBAN
goes before phones (its digit groups look like ``0044 0532 ...``), a card before phones, national
ids before phones (``012-34-5678`` also has a trunk-0 phone shape).

A rule with a validator (Luhn, mod-97, digit count, surname list) cannot be a plain
``replace_all``: candidates are wrapped in NUL markers, the text is split on them (odd pieces are
candidates), each candidate is validated with an expression inside ``list.eval`` and replaced
only if valid, and the pieces are joined back. NUL cannot occur in PostgreSQL text; a NUL that
does occur in the input is turned into U+FFFD first so it cannot shift the pieces.

The stages, in order: identifiers (secrets, emails, IBANs, cards, national ids, phones, IPs),
replaced whole; then person names (``persons.py``: the dataset's originals and recognition
without name lists); then the extra literals. Identifiers go first so that no later stage can
cut an email or a phone into pieces that no longer read as one (``anna.[NAME]@x.org``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandboxer.redact.detect import patterns as P
from sandboxer.redact.detect import persons
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

OPEN, CLOSE = "\x01", "\x00"
MIN_LITERAL_CHARS = 4
"""Shorter literals (``"Li"``, ``"12"``) would scrub ordinary words and numbers."""

FREE_TEXT_MIN_FRACTION = 0.01
"""A text column is reported when at least this fraction of sampled rows holds a PII span."""
FREE_TEXT_MIN_CHARS = 30.0
FREE_TEXT_MIN_WORDS = 4.0
FREE_TEXT_MIN_WORDY_SHARE = 0.1
"""Short texts count too when this share of values has several words ("Follow up with x@y.z")."""


@dataclass(frozen=True)
class SpanRule:
    entity: Entity
    token: str
    pattern: str
    validator: Callable[[pl.Expr], pl.Expr] | None = None


def _phone_ok(e: pl.Expr) -> pl.Expr:
    return P.digit_count_between(e, P.PHONE_MIN_DIGITS, P.PHONE_MAX_DIGITS)


@functools.cache
def span_rules() -> tuple[SpanRule, ...]:
    """The identifier rules, in the order they are applied (names come after them)."""
    return (
        SpanRule(Entity.secret, "[SECRET]", P.SECRET_SPAN),
        SpanRule(Entity.email, "[EMAIL]", P.EMAIL_SPAN),
        SpanRule(Entity.iban, "[IBAN]", P.IBAN_SPAN, P.iban_valid),
        SpanRule(Entity.credit_card, "[CARD]", P.CARD_SPAN, P.luhn_valid),
        SpanRule(Entity.national_id, "[NATIONAL_ID]", P.NATIONAL_ID_SPAN),
        SpanRule(Entity.phone, "[PHONE]", P.PHONE_SPAN, _phone_ok),
        SpanRule(Entity.ip_address, "[IP]", P.IP_SPAN),
    )


def _pieces(text: pl.Expr, rule: SpanRule) -> pl.Expr:
    """Split so that every piece but the last is ``prefix OPEN candidate``.

    Null for rows without a candidate: ``list.eval`` with a validator runs once per non-null
    list, so it must only see the few rows that hold a candidate.
    """
    import polars as pl

    marked = text.str.replace_all(rule.pattern, f"{OPEN}${{0}}{CLOSE}")
    return pl.when(text.str.contains(rule.pattern)).then(marked).str.split(CLOSE)


def _candidate(piece: pl.Expr) -> pl.Expr:
    return piece.str.extract(f"{OPEN}([\\s\\S]*)$", 1)


def _valid_candidate(rule: SpanRule, piece: pl.Expr) -> pl.Expr:
    assert rule.validator is not None
    return rule.validator(_candidate(piece)).fill_null(False)


def _rebuilt(rule: SpanRule, piece: pl.Expr) -> pl.Expr:
    import polars as pl

    prefix = piece.str.replace(f"{OPEN}[\\s\\S]*$", "")
    return (
        pl.when(_valid_candidate(rule, piece))
        .then(pl.concat_str([prefix, pl.lit(rule.token)]))
        .otherwise(piece.str.replace(OPEN, "", literal=True))
    )


def _literals(extra_literals: Sequence[str] | None) -> list[str]:
    kept = {s for s in (extra_literals or ()) if s and len(s.strip()) >= MIN_LITERAL_CHARS}
    # Longest first: with leftmost-first matching, "Anna-Lena Schmidt" beats "Anna".
    return sorted(kept, key=lambda s: (-len(s), s))


@functools.cache
def _any_span() -> str:
    """One pattern that matches wherever any rule's pattern matches."""
    return "|".join(f"(?:{rule.pattern})" for rule in span_rules())


@functools.cache
def _any_span_or_capital() -> str:
    """``_any_span`` or a capitalised word (``persons.CANDIDATE_ROW``): rows worth a look."""
    return f"{_any_span()}|{persons.CANDIDATE_ROW}"


def _pipeline(
    texts: pl.Series,
    literals: tuple[str, ...],
    *,
    count: bool,
    lexicon: persons.NameLexicon | None = None,
    pseudonyms: persons.Pseudonyms | None = None,
    skip_fakes_of: str | None = None,
) -> pl.DataFrame:
    """Apply every stage in order; the scrubbed text in ``_t`` and, if asked, per-rule counts
    (``_n{i}`` per identifier rule, ``_names`` for name spans).

    Most rows of a text column hold no identifier at all. One pass of the union of the rule
    patterns finds the rows where some rule matches; the rules run on those rows only. A row
    where no pattern matches is left unchanged by every rule (each rule sees the text the
    previous ones left, which is then the original), so it keeps its text and counts zero.
    Names are replaced (``pseudonyms``) or only counted (None).
    """
    import polars as pl

    t = pl.col("_t")
    prepared = pl.DataFrame({"_t": texts.cast(pl.String)})
    if prepared.get_column("_t").str.contains(f"[{OPEN}{CLOSE}]").any():
        prepared = prepared.with_columns(t.str.replace_all(f"[{OPEN}{CLOSE}]", "\ufffd"))
    # One scan of every row finds the rows that any rule or a capitalised word could concern;
    # the rest (most rows of TPC-H-like comments) are read again only by the lexicon's search.
    text = prepared.get_column("_t")
    suspects = text.str.contains(_any_span_or_capital()).fill_null(False)
    if suspects.all():
        hit = text.str.contains(_any_span()).fill_null(False)
    else:
        rows = suspects.arg_true()
        found = text.gather(rows).str.contains(_any_span()).fill_null(False)
        hit = pl.repeat(False, text.len(), eager=True).scatter(rows.filter(found), True)
    if hit.all():
        done = _apply_rules(prepared, count=count)
    elif not hit.any():
        none = pl.zeros(text.len(), dtype=pl.UInt32, eager=True)
        counts = [none.alias(f"_n{i}") for i in range(len(span_rules()))] if count else []
        done = pl.DataFrame([text, *counts])
    else:
        found_rows = _apply_rules(prepared.filter(hit), count=count)
        rows = hit.arg_true()
        columns = [text.scatter(rows, found_rows.get_column("_t"))]
        for name in found_rows.columns[1:] if count else ():
            zeros = pl.zeros(text.len(), dtype=found_rows.schema[name], eager=True).alias(name)
            columns.append(zeros.scatter(rows, found_rows.get_column(name)))
        done = pl.DataFrame(columns)
    # A row that no rule touched and that had no capitalised word still has none.
    named, spans = persons.replace_names(
        done.get_column("_t"),
        lexicon or persons.NameLexicon(),
        pseudonyms,
        count=count,
        skip_fakes_of=skip_fakes_of,
        suspects=suspects,
    )
    done = done.with_columns(named.alias("_t"))
    if spans is not None:
        done = done.with_columns(spans.alias("_names"))
    if literals:
        done = done.with_columns(
            t.str.replace_many(
                list(literals),
                ["[REDACTED]"] * len(literals),
                ascii_case_insensitive=True,
                leftmost=True,
            )
        )
    return done


def _apply_rules(prepared: pl.DataFrame, *, count: bool) -> pl.DataFrame:
    """The rules in order over ``prepared`` (``_t``), then the per-rule counts ``_n{i}``.

    Each step materialises its text before the next one reads it. Written as one nested
    expression, a step that reads its input twice (the candidate test and the marking) would
    evaluate all steps before it twice over, 2**rules times in all.
    """
    import polars as pl

    t = pl.col("_t")
    frame = prepared.lazy()
    names: list[str] = []
    for i, rule in enumerate(span_rules()):
        name = f"_n{i}"
        names.append(name)
        if rule.validator is None:
            if count:
                frame = frame.with_columns(t.str.count_matches(rule.pattern).alias(name))
            frame = frame.with_columns(t.str.replace_all(rule.pattern, rule.token))
            continue
        piece = pl.element()
        frame = frame.with_columns(_pieces(t, rule).alias("_p"))
        if count:
            frame = frame.with_columns(
                pl.col("_p").list.eval(_valid_candidate(rule, piece)).list.sum().alias(name)
            )
        frame = frame.with_columns(
            pl.coalesce(pl.col("_p").list.eval(_rebuilt(rule, piece)).list.join(""), t).alias("_t")
        ).drop("_p")
    result = frame.collect()
    if count:
        result = result.with_columns(pl.col(n).fill_null(0) for n in names)
    return result


def scrub_series(
    texts: pl.Series,
    *,
    extra_literals: Sequence[str] | None = None,
    names: Sequence[str] = (),
    key: bytes | None = None,
    locale: str = "en_US",
) -> pl.Series:
    """``texts`` with every PII span replaced (see ``scrub_expr``)."""
    return _scrub_batch(_Scrub.of(extra_literals, names, key, locale), texts)


@dataclass(frozen=True)
class _Scrub:
    """What one scrub needs besides the texts (built once per expression, not per batch)."""

    literals: tuple[str, ...]
    lexicon: persons.NameLexicon
    pseudonyms: persons.Pseudonyms

    @classmethod
    def of(
        cls,
        extra_literals: Sequence[str] | None,
        names: Sequence[str],
        key: bytes | None,
        locale: str,
    ) -> _Scrub:
        literals = tuple(_literals(list(extra_literals or ())))
        originals = tuple(sorted({n for n in (*names, *literals) if n}))
        return cls(literals, persons.lexicon(originals), persons.Pseudonyms(key, locale))


def _scrub_batch(scrub: _Scrub, texts: pl.Series) -> pl.Series:
    out = _pipeline(
        texts, scrub.literals, count=False, lexicon=scrub.lexicon, pseudonyms=scrub.pseudonyms
    )
    return out["_t"].alias(texts.name)


def scrub_expr(
    column: str,
    *,
    extra_literals: Sequence[str] | None = None,
    names: Sequence[str] = (),
    key: bytes | None = None,
    locale: str = "en_US",
) -> pl.Expr:
    """A polars expression: ``column`` with every PII span replaced.

    Identifiers become tokens: ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``,
    ``[NATIONAL_ID]``, ``[IP]``, ``[SECRET]``. Person names (``persons.py``) become keyed
    pseudonyms from the ``locale``'s fake vocabulary when ``key`` is given, ``[NAME]``
    otherwise. ``names`` are identifying originals of the dataset (values of personal columns
    of any table): their rare words are names wherever they occur. ``extra_literals`` (for
    instance the original values of the columns redacted in the same table) count as such
    originals too, and what is left of them after names is replaced by ``[REDACTED]``,
    case-insensitively (Aho-Corasick); literals shorter than four characters are ignored.

    The stages run as polars kernels over whole batches (``map_batches``, elementwise, so the
    streaming engine may feed it slices): no Python runs per row.
    """
    import polars as pl

    scrub = _Scrub.of(extra_literals, names, key, locale)
    return (
        pl.col(column)
        .cast(pl.String)
        .map_batches(
            functools.partial(_scrub_batch, scrub),
            return_dtype=pl.String,
            is_elementwise=True,
        )
        .alias(column)
    )


def find_spans(
    texts: pl.Series, *, names: Sequence[str] = (), skip_fakes_of: str | None = None
) -> pl.DataFrame:
    """Per row, the number of PII spans of each entity (one ``UInt32`` column per entity).

    Columns are named by entity value (``secret``, ``email``, ``iban``, ``credit_card``,
    ``national_id``, ``phone``, ``ip_address``, ``person_name``); a null text counts zero. The
    counts are taken the way ``scrub_expr`` replaces (with the same ``names``): a span counted
    here is a span it removes.

    ``skip_fakes_of`` (a locale) does not count name spans made only of that locale's fake
    given names and surnames: on text that a keyed ``scrub_expr`` wrote, the names left are
    its pseudonyms, and only a word outside the vocabulary can be an original.
    """
    import polars as pl

    lexicon = persons.lexicon(tuple(sorted({n for n in names if n})))
    out = _pipeline(texts, (), count=True, lexicon=lexicon, skip_fakes_of=skip_fakes_of)
    by_entity: dict[Entity, list[str]] = {}
    for i, rule in enumerate(span_rules()):
        by_entity.setdefault(rule.entity, []).append(f"_n{i}")
    by_entity[Entity.person_name] = ["_names"]
    return out.select(
        pl.sum_horizontal(*cols).cast(pl.UInt32).alias(entity.value)
        for entity, cols in by_entity.items()
    )


def is_free_form(values: pl.Series) -> bool:
    """Long or wordy strings: worth scanning for spans rather than matching whole values.

    Single-token values (codes, ids, version strings) are left to the whole-value rules.
    """
    import polars as pl

    if values.len() == 0:
        return False
    words = pl.col("v").str.count_matches(r"\s+") + 1
    stats = (
        pl.DataFrame({"v": values})
        .select(
            chars=pl.col("v").str.len_chars().mean(),
            words=words.mean(),
            wordy=(words >= 3).mean(),
        )
        .row(0, named=True)
    )
    return bool(
        stats["chars"] >= FREE_TEXT_MIN_CHARS
        or stats["words"] >= FREE_TEXT_MIN_WORDS
        or stats["wordy"] >= FREE_TEXT_MIN_WORDY_SHARE
    )


def rows_with_spans_by_column(values: Mapping[str, pl.Series]) -> dict[str, dict[str, int]]:
    """Per column of ``values``: per entity, how many values hold at least one span, plus
    ``rows_with_spans``; found in one ``find_spans`` pass over every column's values."""
    import polars as pl

    names = list(values)
    tags = pl.concat(
        [pl.repeat(i, values[n].len(), dtype=pl.UInt32, eager=True) for i, n in enumerate(names)]
    )
    texts = pl.concat([values[n].cast(pl.String) for n in names])
    spans = find_spans(texts)
    entities = spans.columns
    per = (
        spans.with_columns(tag=tags)
        .group_by("tag")
        .agg(
            *((pl.col(e) > 0).sum().alias(e) for e in entities),
            pl.any_horizontal(pl.col(e) > 0 for e in entities).sum().alias("rows_with_spans")
            if entities
            else pl.lit(0, dtype=pl.UInt32).alias("rows_with_spans"),
        )
    )
    out: dict[str, dict[str, int]] = {n: {"rows_with_spans": 0} for n in names}
    for row in per.iter_rows(named=True):
        counts = {e: int(row[e]) for e in entities if row[e]}
        counts["rows_with_spans"] = int(row["rows_with_spans"])
        out[names[row["tag"]]] = counts
    return out
