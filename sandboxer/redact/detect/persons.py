"""Person names inside free text: found without name lists, replaced by keyed pseudonyms.

Names in notes come from three places: a column of the same table, a column of another table,
or nowhere in the database (a relative mentioned in a note). Lists of names cannot find the
last kind, nor invented, foreign or misspelt names of the first two. Two mechanisms together:

1. **The dataset's own originals** (``NameLexicon``): every token of the values of personal
   columns (names, but also the words of emails, usernames, streets) that is *rare* (below
   ``frequency.COMMON_ZIPF``: identifying on its own) is replaced wherever it occurs, in any
   case, word-bounded. Common tokens of those values ("John", "Baker") are treated as names
   when capitalised next to another name, like given names and surnames of the name lists.
2. **Recognition without lists, in the spirit of Philter** (Norgeot et al., 2020: an allowlist
   of safe words, everything else is suspect): a capitalised word that is in no word-frequency
   list of the name locales' languages (``frequency.zipf`` below ``NAME_ZIPF``) is a name.
   Words that are in the lists are names only with a cue: an honorific before ("Mr", "Dr",
   "Frau"), a relation or verb before ("daughter", "called", "spoke with", "approved by"), a
   verb or "family" after ("said", "wrote"), a possessive, a sign-off at the end ("Thanks,
   Mora"), or a neighbouring name ("Mora Quennell", "Quennell, Mora", a listed given name
   before a listed surname). A label (every content word capitalised: a catalogue title, a
   product, a country) gives capitalisation no meaning: there only the dataset's originals,
   honorifics and pairs of listed names count.

How, vectorised: each text is cut into alternating pieces, words and separators
(``str.extract_all``), the pieces of all candidate rows are exploded into one frame, the rules
are columns over it (neighbours by ``shift`` within a row), and the texts are joined back. No
Python runs per row. What a piece is (a capitalised word, a cue word, a listed name, a ", "
between names ...) is worked out once per distinct piece: words looked up by a binary search
on 64-bit hashes in the frequency table and in a static table of cue words, separators by their
shapes, the booleans packed into one ``bits`` column, so that only four narrow columns are
joined onto the pieces and shifted to the neighbours. Rows with neither a capitalised word nor
a dataset token (most TPC-H comments, codes, numbers) are never exploded, and only the rows
that hold a name are rebuilt.

What a name becomes: with a key, each name word is replaced by a keyed pseudonym, a given name
or surname of the locale's fake vocabulary (same key + same word = same pseudonym, in every
row, column and table; never the word itself); without a key (counting, previews), each span
becomes ``[NAME]``. The counts are spans: consecutive name words joined by a space, hyphen or
"Last, First" comma are one span.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandboxer.redact.detect import frequency, wordlists

if TYPE_CHECKING:
    import polars as pl

WORD = r"\p{L}[\p{L}\p{M}]*(?:['\u2019][\p{L}\p{M}]{2,})*"
"""A word: letters, with inner apostrophes ("O'Brien"); "Anna's" is "Anna" + "'" + "s"."""
PIECE = rf"{WORD}|[^\p{{L}}]+"
"""Words and the runs of other characters between them: joined back they are the text."""
CAPITALISED = r"^\p{Lu}(?:\p{Ll}|['\u2019]\p{Lu})"
"""Upper then lower case ("Anna", "McKay", "O'Brien"); not "USB" nor "AFRICA"."""
CANDIDATE_ROW = r"\p{Lu}\p{Ll}"

STOP_ZIPF = 5.5
"""Words this common ("The", "With", "Called", and so "Will") are never names, nor are the
cue words themselves; rarer listed names ("John" 5.4) still are, next to another name."""
CUE_ZIPF = 5.0
"""A common capitalised word next to a name, or before a verb cue, is a name below this
("Mora Quennell": mora is 4.7), but not "Yesterday" (4.9 and a stop word) or "Customer"."""
NAME_ZIPF = frequency.MIN_ZIPF
"""Without a cue, a capitalised word is a name when it is in no frequency list at all (below
this in every language): "Quennell" and invented names are, and so are "Valgrind" or "Dpkg";
rare words that are in the lists are not ("Tiresias" 2.2 in TPC-H comments, "Kerberos" 2.1,
"Switchable" 2.1), nor are rare real surnames ("Wojtaszek" 2.4) unless a cue, a listed given
name or the dataset's own values point at them. ``frequency.COMMON_ZIPF`` (3) is what makes a
word of the dataset's values identifying; this lower bar is for words that come from nowhere."""
MIN_LEXICON_CHARS = 3
"""Tokens of originals shorter than this ("de", "li") are left to recognition."""

HONORIFICS = """mr mrs ms miss mx dr prof sir madam dame lady lord herr frau fraulein mme mlle
monsieur madame sr sra srta dona sig signor signora signorina dott dottssa pan pani heer
mevrouw mevr dhr fru rev fr sgt capt det insp"""
CUE_BEFORE = """called named name daughter son wife husband mother father mom mum dad brother
sister partner spouse fiance fiancee girlfriend boyfriend aunt uncle grandmother grandfather
grandma grandpa grandson granddaughter nephew niece cousin friend neighbour neighbor colleague
coworker manager boss assistant caregiver carer guardian child baby dear hi hello hey cc attn
contact contacted ask asked tell told visit visited thanks regards cheers signed tochter sohn
ehefrau ehemann mutter vater bruder schwester genannt fille fils femme mari mere pere frere
soeur hija hijo esposa esposo madre padre hermano hermana figlia figlio moglie marito dochter
zoon vrouw echtgenoot moeder vader broer zus dotter hustru syster corka syn zona maz"""
CUE_AFTER = """said says called calls rang phoned emailed wrote writes asked asks wants wanted
agreed confirmed mentioned replied told complained requested explained reported visited signed
approved promised insisted noted stated prefers family household"""
CUE_WITH = """spoke speak speaking talked talk talking met meeting chatted left married
referred transferred forwarded escalated assigned handed sent approved signed handled reported
reviewed requested written raised opened closed created submitted placed authorised authorized
confirmed checked"""
"""Verbs that make a following "with", "to" or "by" a cue: "spoke with Mora", "handed to
Mora", "approved by Mora"."""
SIGN_OFFS = """thanks thank regards cheers best sincerely yours love cordially br kr rgds
gruss grusse cordialement saludos saluti groeten hälsningar pozdrawiam signed from"""
FUNCTION_WORDS = """a an the and or nor but of in on at to for from by with into onto upon as
vs von van der den de la le les des du di da del dos y e et und en och i z w"""
"""Words Title Case leaves in lower case ("Saint Vincent and the Grenadines")."""
NEVER = """the a an and or but if when then this that these those there here it he she they we
you i his her their our your my its mon tue wed thu fri sat sun monday tuesday wednesday
thursday friday saturday sunday january february march april june july august september
october november december jan feb mar apr jun jul aug sep sept oct nov dec today tomorrow
yesterday please note customer client order invoice ticket team support re fw fwd ok okay yes
no not per via ps nb"""

# Flags of the static word table.
FIRST, LAST, HONORIFIC, BEFORE, AFTER, WITH, SIGN_OFF, STOP, FUNCTION, LEXICON = (
    1 << i for i in range(10)
)
"""``LEXICON`` is set per batch on words of the dataset's originals (never in the table)."""


def _words(text: str) -> set[str]:
    return {wordlists.fold(w) for w in text.split()}


@functools.cache
def word_flags() -> pl.DataFrame:
    """``word`` (folded, sorted) -> ``flags``: name lists, cue words and stop words.

    Stop words: the explicit ``NEVER`` list and every word at or above ``STOP_ZIPF`` in some
    language that no name list holds.
    """
    import polars as pl

    firsts, lasts = wordlists.first_names(), wordlists.last_names()
    flags: dict[str, int] = {}

    def add(words: Iterable[str], flag: int) -> None:
        for w in words:
            flags[w] = flags.get(w, 0) | flag

    add(firsts, FIRST)
    add(lasts, LAST)
    add(_words(HONORIFICS), HONORIFIC)
    add(_words(CUE_BEFORE), BEFORE)
    add(_words(CUE_AFTER), AFTER)
    add(_words(CUE_WITH), WITH)
    add(_words(SIGN_OFFS), SIGN_OFF)
    add(_words(FUNCTION_WORDS), FUNCTION)
    cues = _words(HONORIFICS + CUE_BEFORE + CUE_AFTER + SIGN_OFFS + NEVER)
    frequent = frequency.frequency_table().filter(pl.col("zipf") >= STOP_ZIPF)["word"]
    add(frequent.to_list(), STOP)
    add(cues, STOP)
    return pl.DataFrame(
        {"word": list(flags), "flags": list(flags.values())},
        schema={"word": pl.String, "flags": pl.UInt16},
    ).sort("word")


def _flags_of(folded: pl.Series) -> pl.Series:
    """The flags of each folded word (0 for words in no list), by binary search."""
    import polars as pl

    words, flags = _flag_lookup()
    at, found = frequency.sorted_lookup(words, folded)
    return flags.gather(at).zip_with(found, pl.Series([0], dtype=pl.UInt16))


@functools.cache
def _flag_lookup() -> tuple[frequency.SortedWords, pl.Series]:
    words, ordered = frequency.SortedWords.order(word_flags())
    return words, ordered.get_column("flags")


@dataclass(frozen=True)
class NameLexicon:
    """Folded tokens of the dataset's identifying originals: ``rare`` ones are replaced
    anywhere, ``common`` ones count as names next to other names (like listed names)."""

    rare: tuple[str, ...] = ()
    common: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()
    """The rare tokens as written and upper-cased too: a cheap prefilter of candidate rows."""

    def __bool__(self) -> bool:
        return bool(self.rare or self.common)


@functools.lru_cache(maxsize=8)
def lexicon(originals: tuple[str, ...]) -> NameLexicon:
    """The lexicon of ``originals`` (values of personal columns, any entity): their words of
    at least ``MIN_LEXICON_CHARS`` letters, split by ``frequency.COMMON_ZIPF``."""
    import polars as pl

    if not originals:
        return NameLexicon()
    raw = pl.Series(originals, dtype=pl.String).drop_nulls().str.extract_all(WORD).explode()
    raw = raw.drop_nulls().unique()
    raw = raw.filter(raw.str.len_chars() >= MIN_LEXICON_CHARS)
    frame = pl.DataFrame({"form": raw}).with_columns(word=frequency.fold_expr(pl.col("form")))
    words = frame.get_column("word").unique().sort()
    scores = frequency.zipf(words)
    rare = words.filter(scores < frequency.COMMON_ZIPF)
    common = words.filter(scores >= frequency.COMMON_ZIPF)
    forms = frame.filter(pl.col("word").is_in(rare.implode()))["form"]
    variants = pl.concat([forms, forms.str.to_lowercase(), forms.str.to_uppercase(), rare])
    return NameLexicon(
        tuple(rare.to_list()), tuple(common.to_list()), tuple(variants.unique().sort().to_list())
    )


@dataclass(frozen=True)
class Pseudonyms:
    """How name words are replaced: keyed fakes of ``locale``, or ``[NAME]`` without a key."""

    key: bytes | None = None
    locale: str = "en_US"


def candidate_rows(
    texts: pl.Series, lex: NameLexicon, suspects: pl.Series | None = None
) -> pl.Series:
    """Rows worth cutting into words: a capitalised word, or a token of the lexicon.

    ``suspects`` (optional) holds every row that may have a capitalised word: the others are
    not searched for one. The lexicon's forms are searched only in the rows without a
    capitalised word (in notes about people, none), with as few patterns as match the same:
    building the Aho-Corasick automaton of tens of thousands of forms costs more than the
    search.
    """
    import polars as pl

    if suspects is None or suspects.all():
        hit = texts.str.contains(CANDIDATE_ROW).fill_null(False)
    else:
        rows = suspects.arg_true()
        found = texts.gather(rows).str.contains(CANDIDATE_ROW).fill_null(False)
        hit = pl.repeat(False, texts.len(), eager=True).scatter(rows.filter(found), True)
    if lex.forms and not hit.all():
        rest = (~hit).arg_true()
        found = texts.gather(rest).str.contains_any(
            _search_forms(lex.forms), ascii_case_insensitive=True
        )
        hit = hit.scatter(rest.filter(found.fill_null(False)), True)
    return hit


@functools.lru_cache(maxsize=8)
def _search_forms(forms: tuple[str, ...]) -> list[str]:
    """``forms`` for an ASCII-case-insensitive search: ASCII forms lower-cased once (their
    case variants match the same), the others as they are."""
    import polars as pl

    series = pl.Series(forms, dtype=pl.String)
    ascii_ = series.str.contains(r"^[\x00-\x7f]*$")
    folded = series.str.to_lowercase().zip_with(ascii_, series)
    return folded.unique().sort().to_list()


def pieces(texts: pl.Series) -> pl.DataFrame:
    """One row per piece: ``r`` (row of ``texts``), ``p`` (the piece).

    Every row has at least one piece (an empty or null text has one null piece), in order, so
    the texts can be rebuilt from the pieces by their row offsets (``join_pieces``). Whether a
    piece is a word is a feature of the distinct piece (``_piece_features``).
    """
    import polars as pl

    return pl.DataFrame({"p": texts.str.extract_all(PIECE)}).with_row_index("r").explode("p")


def join_pieces(r: pl.Series, new: pl.Series) -> pl.Series:
    """The texts rebuilt from their pieces (``r`` the row of each piece, in order)."""
    import numpy as np
    import polars as pl
    import pyarrow as pa

    lengths = r.value_counts(sort=False).sort("r")["count"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = new.fill_null("").cast(pl.String).to_arrow().cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    rebuilt = pl.Series(lists).list.join("")
    return rebuilt


SEPARATORS = {
    "s_title": r"^[ \t]*\.?[ \t]+$|^\.[ \t]*$",  # after an honorific: "Mr ", "Mr. "
    "s_join": r"^(?:[ \t]+|-|,[ \t]+)$",  # inside a name: "Mora Quennell", "Quennell, Mora"
    "s_pair": r"^[ \t\-]+$",
    "s_cue": r"^[ \t,:]+$",
    "s_space": r"^[ \t]+$",
    "s_sign": r"^[ \t]*,?[ \t\n]+$",
    "s_break": r"\n[ \t]*$|--[ \t]*$|—[ \t]*$",
    "s_initial": r"[.!?:;\n\"“(\[•]",
    "s_stop": r"[.!?;]",
    "s_apos": r"^['\u2019]$",
    "s_end": r"^[\s.!]*$",
    "s_dot": r"^\.[ \t]*$",
}
"""Shapes of the separators between words, one boolean feature each."""


BITS = ("w", "lexr", "with_", "cap", "lower", "camel", "is_s", "upper1", *SEPARATORS)
"""The boolean features of a piece, packed into one ``bits`` column (``_bit``): one narrow
column to join onto the pieces and to shift to the neighbours, not twenty."""


def _bit(name: str, column: str = "bits") -> pl.Expr:
    """Whether the piece (or the neighbour whose bits are in ``column``) has feature ``name``."""
    import polars as pl

    return (pl.col(column) & (1 << BITS.index(name))) > 0


def _piece_features(distinct: pl.Series, lex: NameLexicon) -> pl.DataFrame:
    """Everything about a piece that does not depend on its neighbours, computed once per
    distinct piece (``distinct``, no nulls): ``fl`` (list flags), ``z`` (frequency), ``len``
    and ``bits`` (``BITS``: a word?, case, the shape of a separator ...). Words and separators
    are looked at apart: no separator regex runs on a word, no word list is searched for a
    separator."""
    import polars as pl

    p = pl.col("p")
    is_word = distinct.str.contains(r"^\p{L}")
    words = distinct.filter(is_word)
    seps = distinct.filter(~is_word)
    folded = frequency.fold(words)
    flags = _flags_of(folded)
    if lex:
        in_lex = folded.is_in(pl.Series([*lex.rare, *lex.common], dtype=pl.String).implode())
        rare_lex = folded.is_in(pl.Series(lex.rare, dtype=pl.String).implode())
        flags = (flags | pl.Series([LEXICON], dtype=pl.UInt16)).zip_with(in_lex, flags)
    else:
        rare_lex = pl.repeat(False, words.len(), eager=True)
    word_bits = {
        "w": pl.lit(True),
        "lexr": pl.lit(rare_lex),
        "with_": pl.lit(folded.is_in(["with", "to", "by", "mit", "avec", "con", "met", "med"])),
        "cap": p.str.contains(CAPITALISED),
        "lower": p.str.contains(r"^\p{Ll}\p{L}"),
        "camel": p.str.contains(r"\p{Ll}\p{Lu}") & ~p.str.contains(r"^(?:Mc|Mac|O'|D')"),
        "is_s": p == "s",
        "upper1": p.str.contains(r"^\p{Lu}$"),
    }
    word_part = pl.DataFrame({"p": words, "fl": flags}).with_columns(
        len=p.str.len_chars(), bits=_pack(word_bits)
    )
    # The frequency only matters for capitalised words (every rule reading it asks for one):
    # one binary search in the million-word table for those alone.
    cap = word_part.select(_bit("cap")).to_series()
    z = pl.zeros(words.len(), dtype=pl.Float32, eager=True)
    if cap.any():
        at = cap.arg_true()
        z = z.scatter(at, frequency.zipf(folded.gather(at)))
    word_part = word_part.with_columns(z=z)
    sep_bits = {name: p.str.contains(pattern) for name, pattern in SEPARATORS.items()}
    sep_part = pl.DataFrame({"p": seps}).with_columns(
        fl=pl.lit(0, dtype=pl.UInt16),
        len=p.str.len_chars(),
        bits=_pack(sep_bits),
        z=pl.lit(0.0, dtype=pl.Float32),
    )
    return pl.concat([word_part, sep_part])


def _pack(bits: dict[str, pl.Expr]) -> pl.Expr:
    import polars as pl

    return pl.sum_horizontal(
        pl.when(e)
        .then(pl.lit(1 << BITS.index(name), dtype=pl.UInt32))
        .otherwise(pl.lit(0, dtype=pl.UInt32))
        for name, e in bits.items()
    ).cast(pl.UInt32)


def mark_names(frame: pl.DataFrame, lex: NameLexicon) -> pl.DataFrame:
    """``frame`` (from ``pieces``) with ``w`` (a word?), ``name`` (the word is part of a
    person's name), ``start`` (it begins a span) and ``inner`` (a separator inside a span).

    The pieces' features are joined on as four narrow columns; the rules read the packed bits
    of the piece and of its neighbours (``shift`` within a row: words are 2 pieces apart)."""
    import polars as pl

    r = pl.col("r")
    features = _piece_features(frame.get_column("p").drop_nulls().unique(), lex)
    hashes = features.get_column("p").hash()
    if hashes.n_unique() == hashes.len():
        # Distinct pieces with distinct hashes: joining on the hash is joining on the piece,
        # and integers join faster than strings. (A null piece has a null key: no match.)
        key = pl.when(pl.col("p").is_not_null()).then(pl.col("p").hash()).alias("p")
        features = features.with_columns(p=hashes)
        f = frame.with_columns(key).join(features, on="p", how="left", maintain_order="left")
        f = f.with_columns(frame.get_column("p"))
    else:
        f = frame.join(features, on="p", how="left", maintain_order="left")
    f = f.with_columns(
        pl.col("fl").fill_null(0),
        pl.col("z").fill_null(0.0),
        pl.col("len").fill_null(0),
        pl.col("bits").fill_null(0),
    )

    # Whether the piece k places away is in the same row: computed once, read by every rule.
    steps = (1, 2, 4, -1, -2)
    f = f.with_columns((r.shift(k) == r).fill_null(False).alias(f"_same{k}") for k in steps)

    def same(k: int) -> pl.Expr:
        return pl.col(f"_same{k}")

    def near(name: str, k: int, default: object) -> pl.Expr:
        """Column ``name`` of the piece ``k`` places away in the same row (words are 2 apart)."""
        return pl.when(same(k)).then(pl.col(name).shift(k)).otherwise(pl.lit(default))

    def has(flag: int, column: str = "fl") -> pl.Expr:
        return (pl.col(column) & flag) > 0

    f = f.with_columns(
        same_next=same(-2),
        prev_fl=near("fl", 2, 0).cast(pl.UInt16),
        prev2_fl=near("fl", 4, 0).cast(pl.UInt16),
        next_fl=near("fl", -2, 0).cast(pl.UInt16),
        b_prev=near("bits", 1, 0).cast(pl.UInt32),
        b_prev2=near("bits", 2, 0).cast(pl.UInt32),
        b_next=near("bits", -1, 0).cast(pl.UInt32),
        b_next2=near("bits", -2, 0).cast(pl.UInt32),
        next_piece=same(-1),
    )
    w, cap, prev, nxt = _bit("w"), _bit("cap"), "b_prev", "b_next"
    # A label (a product, a country, a title, a bare name: every content word capitalised, no
    # sentence inside) gives capitalisation no meaning: there only cues and lists count.
    # Rows are contiguous runs of pieces: the rows with a sentence are looked up, not grouped.
    lower_content = _bit("lower") & ~has(FUNCTION)
    inner_stop = _bit("s_stop") & pl.col("next_piece")
    sentences = f.filter(lower_content | inner_stop).get_column("r").unique()
    z = pl.col("z")
    f = f.with_columns(
        label=~r.is_in(sentences.implode()),
        initial=~_bit("w", "b_prev2") | _bit("s_initial", prev),
        stop=has(STOP),
        listed=has(FIRST) | has(LAST) | has(LEXICON),
        honorific=has(HONORIFIC, "prev_fl") & _bit("s_title", prev),
        cue_before=(has(BEFORE, "prev_fl") | (has(WITH, "prev2_fl") & _bit("with_", "b_prev2")))
        & _bit("s_cue", prev),
        cue_after=(has(AFTER, "next_fl") & _bit("s_space", nxt))
        | (_bit("s_apos", nxt) & _bit("is_s", "b_next2")),
        sign_off=~pl.col("same_next")
        & (~pl.col("next_piece") | _bit("s_end", nxt))
        & ((has(SIGN_OFF, "prev_fl") & _bit("s_sign", prev)) | _bit("s_break", prev)),
    )
    usable = cap & ~pl.col("stop") & (pl.col("len") >= 2)
    rare = z < NAME_ZIPF
    f = f.with_columns(usable=usable, rare=rare)
    usable, rare, label, listed = (pl.col(c) for c in ("usable", "rare", "label", "listed"))
    strong = (
        _bit("lexr")
        | (usable & pl.col("honorific") & (~label | listed | rare))
        | (usable & ~label & ~_bit("camel") & rare)
        | (usable & ~label & (pl.col("cue_before") | pl.col("sign_off")) & (z < STOP_ZIPF))
        # At a sentence start a verb after a common word says little ("Refund approved").
        | (
            usable
            & ~label
            & pl.col("cue_after")
            & (listed | (z < frequency.COMMON_ZIPF) | ((z < CUE_ZIPF) & ~pl.col("initial")))
        )
    )
    # A listed given name next to a listed surname ("Anna Schmidt"): a pair, even in a label.
    candidate = usable & listed
    pair = (
        candidate
        & has(FIRST)
        & near("candidate", -2, False)
        & has(LAST | LEXICON, "next_fl")
        & _bit("s_pair", nxt)
    ) | (
        candidate
        & has(LAST | LEXICON)
        & near("candidate", 2, False)
        & has(FIRST, "prev_fl")
        & _bit("s_title", prev)
    )
    # After a listed given name, any capitalised word that is not very common: "Ada Ostrava".
    after_first = (
        usable
        & ~label
        & (z < CUE_ZIPF)
        & near("candidate", 2, False)
        & has(FIRST, "prev_fl")
        & _bit("s_title", prev)
    )
    f = f.with_columns(candidate=candidate).with_columns(
        name=(strong | pair | after_first).fill_null(False),
        pull=usable & ~label & ((z < CUE_ZIPF) | listed),
    )
    # Neighbours of names, twice (three-word names): "Mora Quennell", "Quennell, Mora".
    for _ in range(2):
        neighbour = (near("name", 2, False) & _bit("s_join", prev)) | (
            near("name", -2, False) & _bit("s_join", nxt)
        )
        f = f.with_columns(name=pl.col("name") | (pl.col("pull") & neighbour))
    # Initials before a name: "J. Quennell".
    initial = w & ~cap & (pl.col("len") == 1) & _bit("upper1")
    next_dot = _bit("s_dot", nxt) | _bit("s_space", nxt)
    f = f.with_columns(name=pl.col("name") | (initial & next_dot & near("name", -2, False)))
    after_initial = near("len", 1, 0).eq(1) & _bit("s_dot")
    inner_sep = (
        ~w & near("name", 1, False) & near("name", -1, False) & (_bit("s_join") | after_initial)
    )
    f = f.with_columns(w=w, inner=inner_sep.fill_null(False))
    start = pl.col("name") & ~(near("name", 2, False) & near("inner", 1, False))
    return f.with_columns(start=start.fill_null(False)).select(
        "r", "p", "w", "name", "start", "inner"
    )


def replace_names(
    texts: pl.Series,
    lex: NameLexicon,
    pseudonyms: Pseudonyms | None,
    *,
    count: bool,
    skip_fakes_of: str | None = None,
    suspects: pl.Series | None = None,
) -> tuple[pl.Series, pl.Series | None]:
    """``texts`` with person names replaced (left as they are if ``pseudonyms`` is None), and
    (if ``count``) the number of name spans per row (UInt32, 0 for null). ``skip_fakes_of``
    (a locale) leaves out of the counts the spans made only of that locale's fake given names
    and surnames: what a keyed scrub writes. ``suspects``: see ``candidate_rows``."""
    import polars as pl

    texts = texts.cast(pl.String)
    hit = candidate_rows(texts, lex, suspects)
    counts = pl.zeros(texts.len(), dtype=pl.UInt32, eager=True) if count else None
    if not hit.any():
        return texts, counts
    rows = hit.arg_true()
    marked = mark_names(pieces(texts.gather(rows)), lex)
    if count and counts is not None:
        starts = marked.filter(pl.col("name"))
        if skip_fakes_of is not None:
            starts = _without_fakes(starts, skip_fakes_of)
        per = starts.group_by("r").agg(pl.col("start").sum().cast(pl.UInt32))
        counts = counts.scatter(rows.gather(per["r"]), per["start"])
    if pseudonyms is None or not marked["name"].any():
        return texts, counts
    # Only the rows holding a name are rebuilt from their pieces.
    named = marked.filter(pl.col("name")).get_column("r").unique().sort()
    if named.len() < rows.len():
        marked = marked.filter(pl.col("r").is_in(named.implode()))
    new = join_pieces(marked["r"], _replacement(marked, pseudonyms))
    out = texts.scatter(rows.gather(named), new).zip_with(texts.is_not_null(), texts)
    return out, counts


def _without_fakes(names: pl.DataFrame, locale: str) -> pl.DataFrame:
    """The name words (``names``) of spans with at least one word outside the fake vocabulary
    of ``locale``."""
    import polars as pl

    from sandboxer.redact.fake_vocab import vocab

    v = vocab(locale)
    fakes = pl.Series([*v.first_names, *v.last_names], dtype=pl.String)
    fakes = pl.select(frequency.fold_expr(pl.lit(fakes))).to_series().implode()
    real = ~frequency.fold_expr(pl.col("p")).is_in(fakes) & (pl.col("p").str.len_chars() > 1)
    return names.with_columns(span=pl.col("start").cum_sum(), real=real).filter(
        pl.col("real").any().over("span")
    )


def _replacement(marked: pl.DataFrame, pseudonyms: Pseudonyms) -> pl.Series:
    import polars as pl

    name, p = pl.col("name"), pl.col("p")
    if pseudonyms.key is None:
        expr = (
            pl.when(pl.col("start"))
            .then(pl.lit("[NAME]"))
            .when(name | pl.col("inner"))
            .then(pl.lit(""))
            .otherwise(p)
        )
        return marked.select(expr).to_series()
    words = marked.filter(name).get_column("p")
    fakes = fake_words(words, pseudonyms.key, pseudonyms.locale)
    mask = marked.get_column("name")
    return marked.get_column("p").scatter(mask.arg_true(), fakes)


@functools.lru_cache(maxsize=16)
def _fake_vocab(locale: str) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """The given names and surnames of ``locale``'s fake vocabulary, each with its folds."""
    import polars as pl

    from sandboxer.redact.fake_vocab import vocab

    v = vocab(locale)
    firsts = pl.Series(v.first_names, dtype=pl.String)
    lasts = pl.Series(v.last_names, dtype=pl.String)
    first_folds = pl.select(frequency.fold_expr(pl.lit(firsts))).to_series()
    last_folds = pl.select(frequency.fold_expr(pl.lit(lasts))).to_series()
    return firsts, first_folds, lasts, last_folds


def fake_words(words: pl.Series, key: bytes, locale: str) -> pl.Series:
    """A keyed pseudonym per name word: a given name for words of the given-name list, a
    surname otherwise; the word's case shape kept (``QUENNELL`` -> ``WEBER``); never the word
    itself. Same key, locale and word (case-folded) give the same pseudonym everywhere."""
    import polars as pl

    from sandboxer.redact.prf import keyed_frame

    firsts, first_folds, lasts, last_folds = _fake_vocab(locale)
    frame = pl.DataFrame({"p": words, "word": frequency.fold(words)})
    distinct = frame.get_column("word").unique()
    first = (_flags_of(distinct) & FIRST) > 0
    w0 = keyed_frame(distinct, key, "scrub/name")["w0"]

    def pick(names: pl.Series, offset: int) -> pl.Series:
        return ((w0 + offset) % names.len()).cast(pl.Int64)

    i, j, k, m = pick(firsts, 0), pick(lasts, 0), pick(firsts, 1), pick(lasts, 1)
    picked = firsts.gather(i).zip_with(first, lasts.gather(j))
    picked_fold = first_folds.gather(i).zip_with(first, last_folds.gather(j))
    alt = firsts.gather(k).zip_with(first, lasts.gather(m))
    # Never the word itself: then the next name of the list.
    table = pl.DataFrame({"word": distinct, "fake": picked.zip_with(picked_fold != distinct, alt)})
    out = frame.join(table, on="word", how="left", maintain_order="left")
    p, fake = pl.col("p"), pl.col("fake")
    shaped = (
        pl.when(p.str.len_chars() == 1)
        .then(fake.str.slice(0, 1).str.to_uppercase())  # an initial stays an initial
        .when(p.str.contains(r"^\P{Ll}+$"))
        .then(fake.str.to_uppercase())
        .when(p.str.contains(r"^\p{Ll}"))
        .then(fake.str.to_lowercase())
        .otherwise(fake)
    )
    return out.select(shaped).to_series().alias(words.name)
