"""The identifying originals of a dataset, and a search for them in anything written.

The leak gate (``redact/gate.py``) proves that no original identifying value reaches the store.
The originals come from the source, not from the subset: every personal column of every table
(whether or not the subset kept its rows, or the table at all) is read whole, one narrow read
per column, so what is searched does not depend on which rows were selected nor on which other
columns have rules.

What is searched (all case-folded like names, ``frequency.fold_expr``, and word-bounded: text
and originals are both cut into tokens of letters and digits, and matched token for token):

- **whole values** as token sequences: ``ada.quennell7@example.com`` is ``ada quennell7
  example com`` and is found inside any text, whatever the punctuation between its tokens;
- **names in other orders**: a person's name reversed (``Quennell, Ada``) and, for names of
  three words or more, first and last word alone; a table with first- and last-name columns
  adds ``First Last`` and ``Last, First`` from the two columns of the same row;
- **rare tokens**: every token of a name, username, email local part or secret that identifies
  on its own: at least ``min_length`` characters, with a letter, and rarer than
  ``frequency.COMMON_ZIPF`` in every language of ``frequency.LANGUAGES`` (a Zipf frequency of
  3, one in a million words: "nguyen" 3.2 and "garcia" 3.9 are common words, "kowalski" 2.7,
  "quennell" and invented names are not). Tokens of addresses are not searched alone (a street
  or town name is shared by many people, and equals lookup values such as districts), nor are
  digits alone (``Customer#001234567`` holds no phone);
- **digits** of phones, cards, national ids, IBANs and account numbers written without
  separators, when they are 8 digits or more.

Whole values shared by ``common_value_rows`` rows of their column or more, shorter than
``min_length`` characters or listed in ``allow_values`` are not identifying and are left out.

The search is a join: the text is cut into tokens (polars ``str.extract_all`` + explode), the
tokens are joined with the rare tokens and with the first two tokens of every sequence, and
longer sequences are checked token by token with one more join. Nothing here prints or stores
a value: results name forms by number and columns by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

    from sandboxer.config.models import Gate
    from sandboxer.redact.detect import Finding
    from sandboxer.redact.policy import Policy
    from sandboxer.sources.base import Source
    from sandboxer.sources.schema import Schema, Table
    from sandboxer.subset.planner import SubsetPlan

TOKEN = r"[\p{L}\p{M}\p{N}]+"
"""A token: letters (with their combining marks) and digits; everything else separates."""
NOT_TOKEN = r"[^\p{L}\p{M}\p{N}]+"

IDENTIFYING = frozenset(
    {
        Entity.email, Entity.phone, Entity.person_name, Entity.first_name, Entity.last_name,
        Entity.address, Entity.street, Entity.national_id, Entity.iban, Entity.account_number,
        Entity.credit_card, Entity.ip_address, Entity.username, Entity.secret,
    }
)  # fmt: skip
"""Entities whose values point at one person. Cities, postcodes, birth dates, coordinates and
companies are quasi-identifiers or lookups: k-anonymity and their own column's check cover
them, and searching them everywhere would match lookup values (a district named like a city)."""

NAME_TOKENS = frozenset(
    {Entity.person_name, Entity.first_name, Entity.last_name, Entity.username, Entity.email,
     Entity.secret}
)  # fmt: skip
"""Entities whose rare tokens are searched alone (emails: the local part only)."""

DIGIT_ENTITIES = frozenset(
    {Entity.phone, Entity.credit_card, Entity.national_id, Entity.iban, Entity.account_number}
)
"""Entities also searched as their bare digits."""

MIN_DIGITS = 8
"""Bare digit strings shorter than this turn up by chance (postcodes, amounts, counters)."""

NAME_PARTS = {"first": "first", "given": "first", "fore": "first", "last": "last"}
NAME_PARTS |= {"family": "last", "sur": "last", "surname": "last"}


@dataclass(frozen=True)
class PersonalColumn:
    """A column whose values identify people: its originals are searched everywhere."""

    table: str
    """The table's key."""
    column: str
    entity: Entity | None
    """None when a rule redacts the column without naming an entity."""
    paths: tuple[tuple[str, Entity | None], ...] = ()
    """For a JSON column: the paths of its personal leaves (only those are originals)."""

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def personal(entity: Entity | None) -> bool:
    """Whether values of ``entity`` (None: a rule without one) are searched as originals."""
    return entity is None or entity in IDENTIFYING


@dataclass
class Originals:
    """The searchable forms of every original, and the columns they came from.

    ``forms``: ``form`` (a u64 hash of ``key``), ``key`` (the folded tokens, space-separated),
    ``n`` (tokens) and, for two tokens or more, ``h``/``nh`` (the hashes of the first two);
    ``origins``: ``form`` -> ``origin`` (an index into ``columns``), several per form when two
    columns hold the same value (a key and its foreign key)."""

    columns: list[PersonalColumn]
    forms: pl.DataFrame
    origins: pl.DataFrame
    values: int
    """Distinct whole values collected (after the filters)."""
    tokens: int
    """Forms that are single rare tokens or bare digits."""
    sequences: int
    """Forms of two tokens or more (whole values, name orders)."""

    def __post_init__(self) -> None:
        import polars as pl

        one = self.forms.filter(pl.col("n") == 1)
        self._unigrams = one.select(h="form", form="form")
        self._anchors = self.forms.filter(pl.col("n") >= 2).select(
            k=_pair_key(pl.col("h"), pl.col("nh")), form="form", n="n"
        )
        # Bare digit forms, for numeric columns compared whole.
        self._exact = one.filter(pl.col("key").str.contains(r"^\d+$")).select(
            v=pl.col("key"), form="form"
        )

    @property
    def empty(self) -> bool:
        return self.forms.height == 0

    def search(self, values: pl.Series) -> pl.DataFrame:
        """``vid`` (the index of a value in ``values``) and ``form`` for every original form
        found in a value, once per pair.

        Single tokens join the value's tokens; longer forms join its pairs of adjacent tokens
        on their first two, and those of three tokens or more are then confirmed in the
        value's text (few: an anchor pair alone rarely matches)."""
        import polars as pl

        if self.empty or values.len() == 0:
            return _no_hits()
        toks = tokens(values).select("vid", "h")
        found = [toks.join(self._unigrams, on="h").select("vid", "form")]
        if self._anchors.height:
            pairs = toks.select(
                "vid", k=_pair_key(pl.col("h"), pl.col("h").shift(-1)), nvid=pl.col("vid").shift(-1)
            ).filter(pl.col("nvid") == pl.col("vid"))
            cand = pairs.join(self._anchors, on="k").select("vid", "form", "n").unique()
            found.append(cand.filter(pl.col("n") == 2).select("vid", "form"))
            long = cand.filter(pl.col("n") >= 3)
            if long.height:
                ok = self.present(values.gather(long["vid"]), long["form"])
                found.append(long.filter(ok).select("vid", "form"))
        return pl.concat(found).unique()

    def search_exact(self, values: pl.Series) -> pl.DataFrame:
        """For numeric columns: values (as text) equal to a bare digit form."""
        import polars as pl

        if self._exact.height == 0 or values.len() == 0:
            return _no_hits()
        frame = pl.DataFrame({"v": values.cast(pl.String)}).with_row_index("vid")
        return frame.join(self._exact, on="v").select("vid", "form").unique()

    def present(self, texts: pl.Series, forms: pl.Series) -> pl.Series:
        """Row by row, whether form ``forms[i]`` occurs in ``texts[i]`` (word-bounded)."""
        import polars as pl

        keys = (
            pl.DataFrame({"form": forms.cast(pl.UInt64)})
            .join(self.forms.select("form", "key"), on="form", how="left", maintain_order="left")
            .get_column("key")
        )
        norm = normalised(texts)
        hit = pl.col("norm").str.contains(pl.lit(" ") + pl.col("key") + pl.lit(" "), literal=True)
        frame = pl.DataFrame({"norm": norm, "key": keys})
        return frame.select(hit.fill_null(False)).to_series()

    def origin_names(self, forms: Iterable[int]) -> list[str]:
        """The personal columns the given forms came from, by name, sorted."""
        import polars as pl

        wanted = pl.Series("form", list(forms), dtype=pl.UInt64)
        idx = self.origins.filter(pl.col("form").is_in(wanted.implode()))["origin"].unique()
        return sorted({self.columns[i].name for i in idx.to_list()})


HASH_SEED = 0x5A4D
"""Tokens are compared by ``polars`` hash under this seed (64 bits: a chance collision among
millions of tokens is below one in a billion, and would only ever refuse a build)."""


def _pair_key(h: pl.Expr, nh: pl.Expr) -> pl.Expr:
    """One u64 for a pair of adjacent token hashes (one join column instead of two)."""
    return h.hash(HASH_SEED) ^ nh


def _no_hits() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(schema={"vid": pl.UInt32, "form": pl.UInt64})


def folded(values: pl.Series) -> pl.Series:
    """Values folded like names (``frequency.fold_expr``: lower case, no accents, "ß" as
    "ss"); plain ASCII values, most of them, only need lower case."""
    import polars as pl

    from sandboxer.redact.detect.frequency import fold_expr

    text = values.cast(pl.String)
    lowered = text.str.to_lowercase()
    odd = (text.str.len_bytes() != text.str.len_chars()).fill_null(False)
    if not odd.any():
        return lowered
    at = odd.arg_true()
    rest = pl.DataFrame({"v": text.gather(at)}).select(fold_expr(pl.col("v"))).to_series()
    return lowered.scatter(at, rest)


def keys(values: pl.Series) -> pl.Series:
    """Each value as its folded tokens joined by single spaces ("" when it has none): the
    ``key`` of a form, and what ``tokens`` cuts."""
    text = folded(values)
    plain = bool((text.str.len_bytes() == text.str.len_chars()).fill_null(True).all())
    # Plain ASCII (most data) takes a byte class, several times faster than Unicode classes.
    return text.str.replace_all(r"[^a-z0-9]+" if plain else NOT_TOKEN, " ").str.strip_chars(" ")


def tokens(values: pl.Series) -> pl.DataFrame:
    """``r`` (running position), ``vid`` (index of the value), ``tok`` (folded) and ``h`` (its
    hash) for every token of every value, in order."""
    import polars as pl

    text = folded(values)
    plain = bool((text.str.len_bytes() == text.str.len_chars()).fill_null(True).all())
    return (
        pl.DataFrame({"v": text})
        .with_row_index("vid")
        .lazy()
        .select("vid", tok=pl.col("v").str.extract_all(r"[a-z0-9]+" if plain else TOKEN))
        .explode("tok")
        .drop_nulls("tok")
        .with_columns(h=pl.col("tok").hash(HASH_SEED))
        .collect(engine="streaming")
        .with_row_index("r")
    )


def normalised(values: pl.Series) -> pl.Series:
    """Each value's ``keys`` with a space at each end, so that ``" " + key + " "`` is a
    word-bounded search; null when it has no token."""
    import polars as pl

    key = keys(values)
    return pl.select(pl.when(key != "").then(pl.lit(" ") + key + pl.lit(" "))).to_series()


# -- which columns are personal --------------------------------------------------------------


def source_samples(
    source: Source,
    schema: Schema,
    plan: SubsetPlan,
    samples: dict[str, pl.DataFrame],
    rows: int,
    *,
    inside: bool = True,
) -> dict[str, pl.DataFrame]:
    """Detection samples read from the source for the tables whose subset sample cannot
    decide for them: tables outside the plan, and (with ``inside``) tables whose subset kept
    fewer than ``rows`` rows and fewer than the source holds (an audit table the subset left
    empty is still full of emails). Their first ``rows`` rows in row-identity order, one read
    each."""
    import polars as pl

    out: dict[str, pl.DataFrame] = {}
    for key, table in sorted(schema.tables.items()):
        tp = plan.tables.get(key)
        if tp is not None and not inside:
            continue
        if tp is not None:
            have = samples[key].height if key in samples else 0
            whole = tp.source_rows is not None and tp.rows >= tp.source_rows
            if have >= rows or whole:
                continue
        # In key order, so the same source state gives the same sample (and rules); a table
        # without a key is read as the source returns it (its columns may not sort: JSON).
        identity = list(table.row_identity)
        order = identity if identity != list(table.column_names) else None
        arrow = source.select(table, table.column_names, limit=rows, order_by=order)
        columns = []
        for name in arrow.column_names:
            try:
                columns.append(pl.Series(name, arrow.column(name)))
            except Exception:  # a type polars cannot hold: detection cannot look at it
                continue
        frame = pl.DataFrame(columns, height=arrow.num_rows)
        if tp is None or frame.height > (samples[key].height if key in samples else 0):
            out[key] = frame
    return out


def personal_columns(
    policy: Policy, outside: dict[str, dict[str, list[Finding]]], threshold: float
) -> list[PersonalColumn]:
    """Every column whose originals the gate searches: those the policy redacts with an
    identifying entity (or none), and those detection finds in tables outside the plan. A
    column kept by an explicit rule is not personal (a reviewed decision); free text is not
    either (its cells are not identifying values: their names and emails are found through
    the columns they belong to, and by the detectors' re-scan)."""
    found: dict[tuple[str, str], PersonalColumn] = {}
    for (table, column), rule in sorted(policy.rules.items()):
        if not rule.redacts or rule.strategy == "scrub_text":
            continue
        if rule.strategy == "json":
            paths = tuple(
                (path, _leaf_entity(leaf)) for path, leaf in sorted(rule.params["paths"].items())
            )
            paths = tuple(p for p in paths if personal(p[1]))
            if paths:
                found[(table, column)] = PersonalColumn(table, column, None, paths)
            continue
        if personal(rule.entity):
            found[(table, column)] = PersonalColumn(table, column, rule.entity)
    for table, columns in sorted(outside.items()):
        for column, results in sorted(columns.items()):
            if not results or results[0].confidence < threshold:
                continue
            best = results[0]
            if best.entity is Entity.json:
                leaves = [(p, Entity(str(best.evidence[p]))) for p in best.json_paths]
                paths = tuple((p, e) for p, e in leaves if personal(e))
                if paths:
                    found[(table, column)] = PersonalColumn(table, column, None, paths)
            elif best.entity is not Entity.free_text and personal(best.entity):
                found[(table, column)] = PersonalColumn(table, column, best.entity)
    return list(found.values())


def _leaf_entity(leaf: Any) -> Entity | None:
    """The entity of a JSON leaf rule (a strategy name, a dict or a ``JsonLeaf``)."""
    if isinstance(leaf, str):
        return None
    entity = leaf.get("entity") if isinstance(leaf, dict) else getattr(leaf, "entity", None)
    if entity is None:
        return None
    return entity if isinstance(entity, Entity) else Entity(str(entity))


# -- collection ------------------------------------------------------------------------------


@dataclass
class Collected:
    """The raw originals read from the source (memory only): ``values`` (``value``,
    ``origin``, ``entity``) and first/last-name ``pairs`` (``first``, ``last``, ``fo``,
    ``lo``)."""

    columns: list[PersonalColumn]
    values: list[pl.DataFrame]
    pairs: list[pl.DataFrame]

    def names(self) -> tuple[str, ...]:
        """The words of the originals of names, usernames and emails, distinct: what
        ``scrub_text`` replaces wherever it occurs (``RedactionContext.dataset_names``). Its
        lexicon is made of these words (``persons.WORD``), so passing them instead of the
        values (150,000 customers, a few thousand words) builds the same one, faster."""
        import polars as pl

        from sandboxer.redact.detect.persons import WORD

        wanted = [e.value for e in NAME_TOKENS - {Entity.secret}]
        found = [
            v.filter(pl.col("entity").is_null() | pl.col("entity").is_in(wanted))["value"]
            for v in self.values
        ]
        if not found:
            return ()
        words = pl.concat(found).drop_nulls().str.extract_all(WORD).explode().drop_nulls()
        return tuple(words.unique().sort().to_list())

    def build(self, cfg: Gate) -> Originals:
        return build(self.columns, self.values, self.pairs, cfg)


def collect(source: Source, schema: Schema, columns: Sequence[PersonalColumn]) -> Collected:
    """Read every column of ``columns`` from the source: all rows, one narrow read each (a
    table's first- and last-name columns in one read of the two)."""
    import polars as pl

    values: list[pl.DataFrame] = []
    pairs: list[pl.DataFrame] = []
    by_table: dict[str, list[int]] = defaultdict(list)
    for i, col in enumerate(columns):
        by_table[col.table].append(i)
    for key, members in sorted(by_table.items()):
        table = schema.tables[key]
        paired = _name_pairs([columns[i] for i in members])
        done: set[str] = set()
        for first, last in paired:
            read = _read(source, table, [first.column, last.column])
            fi, li = columns.index(first), columns.index(last)
            pairs.append(
                pl.DataFrame(
                    {
                        "first": _strings(read.get_column(first.column), first.entity),
                        "last": _strings(read.get_column(last.column), last.entity),
                    }
                ).with_columns(fo=pl.lit(fi, pl.UInt32), lo=pl.lit(li, pl.UInt32))
            )
            for i, col in ((fi, first), (li, last)):
                values.append(_values(read.get_column(col.column), col, i))
            done |= {first.column, last.column}
        for i in members:
            col = columns[i]
            if col.column in done:
                continue
            read = _read(source, table, [col.column])
            values.append(_values(read.get_column(col.column), col, i))
    return Collected(list(columns), values, pairs)


def _read(source: Source, table: Table, names: list[str]) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(source.select(table, names))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _name_pairs(cols: list[PersonalColumn]) -> list[tuple[PersonalColumn, PersonalColumn]]:
    """First- and last-name columns of one table that belong together: by what is left of
    their names without the first/last words (``billing_first_name`` and
    ``billing_last_name``), or the only two there are."""
    firsts = [c for c in cols if c.entity is Entity.first_name]
    lasts = [c for c in cols if c.entity is Entity.last_name]
    if len(firsts) == 1 and len(lasts) == 1:
        return [(firsts[0], lasts[0])]

    def stem(name: str) -> str:
        import re

        words = [w for w in re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", name.lower()) if w]
        return " ".join(w for w in words if w not in NAME_PARTS and w != "name")

    by_stem = {stem(c.column): c for c in lasts}
    return [(f, by_stem[stem(f.column)]) for f in firsts if stem(f.column) in by_stem]


def _strings(series: pl.Series, entity: Entity | None) -> pl.Series:
    """A column's values as text (``dtypes.as_text``: lists joined, structs and maps as
    JSON, binary as UTF-8 or hex). Numbers, dates and flags are no originals, unless the
    column holds phones, cards or ids as numbers."""
    import polars as pl

    from sandboxer.redact.dtypes import as_text

    dtype = series.dtype
    numeric = dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.Boolean, pl.Null)
    if numeric and not (dtype.is_integer() and entity in DIGIT_ENTITIES):
        return pl.Series(series.name, [None] * len(series), dtype=pl.String)
    return as_text(series)


def _values(series: pl.Series, col: PersonalColumn, origin: int) -> pl.DataFrame:
    """``value``, ``origin`` and ``entity`` of one column's originals: every element of a
    list and every field of a struct (at any depth), every string leaf at a personal JSON
    path, else the value."""
    import polars as pl

    if col.paths:
        return _json_leaves(series, col, origin)
    if isinstance(series.dtype, pl.List | pl.Array):
        return _values(series.explode(), col, origin)
    if isinstance(series.dtype, pl.Struct):
        fields = series.struct.unnest()
        return pl.concat(
            [_values(fields.get_column(f), col, origin) for f in fields.columns]
            or [_frame(pl.Series([], dtype=pl.String), col.entity, origin)]
        )
    return _frame(_strings(series, col.entity), col.entity, origin)


def _frame(values: pl.Series, entity: Entity | None, origin: int) -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame(
        {"value": values.cast(pl.String).rename("value")},
    ).with_columns(
        origin=pl.lit(origin, pl.UInt32), entity=pl.lit(entity.value if entity else None, pl.String)
    )


def _json_leaves(series: pl.Series, col: PersonalColumn, origin: int) -> pl.DataFrame:
    """String leaves at the column's personal JSON paths (DuckDB's ``json_extract_string``;
    a ``[*]`` path yields every item), each with its leaf's entity."""
    import duckdb
    import polars as pl

    docs = _strings(series, None)
    frames = []
    con = duckdb.connect(":memory:")
    try:
        con.register("src", pl.DataFrame({"doc": docs}).to_arrow())
        for path, entity in col.paths:
            many = "*" in path
            leaf = (
                "unnest(json_extract_string(doc, $p))" if many else "json_extract_string(doc, $p)"
            )
            table = con.sql(
                f"SELECT {leaf} AS leaf FROM src WHERE json_valid(doc)", params={"p": path}
            ).to_arrow_table()
            leaves = pl.from_arrow(table)
            assert isinstance(leaves, pl.DataFrame)
            frames.append(_frame(leaves.get_column("leaf"), entity or col.entity, origin))
    finally:
        con.close()
    return pl.concat(frames) if frames else _frame(pl.Series([], dtype=pl.String), None, origin)


def build(
    columns: list[PersonalColumn],
    values: list[pl.DataFrame],
    pairs: list[pl.DataFrame],
    cfg: Gate,
) -> Originals:
    """The forms of the collected ``values`` (``value``, ``origin``, ``entity``) and first/last
    ``pairs`` (``first``, ``last``, ``fo``, ``lo``)."""
    import polars as pl

    from sandboxer.redact.detect.frequency import COMMON_ZIPF, zipf

    schema = pl.Schema({"value": pl.String(), "origin": pl.UInt32(), "entity": pl.String()})
    raw = pl.concat([v.cast(schema) for v in values]) if values else pl.DataFrame(schema=schema)
    raw = raw.filter(pl.col("value").str.len_chars() >= cfg.min_length)
    if cfg.allow_values:
        allow = pl.Series(cfg.allow_values, dtype=pl.String).implode()
        raw = raw.filter(~pl.col("value").is_in(allow))
    entity = pl.col("entity")
    form = pl.col("key").hash(HASH_SEED)
    # Not identifying: a value many rows of its column share (compared folded).
    counted = (
        raw.with_columns(key=keys(raw.get_column("value")))
        .filter(pl.col("key") != "")
        .with_columns(form=form)
    )
    if counted["form"].n_unique() < counted.height:  # skipped when every value is distinct
        counted = counted.filter(pl.len().over("form", "origin") < cfg.common_value_rows).unique(
            ["form", "origin"]
        )
    counted = counted.with_columns(n=(pl.col("key").str.count_matches(" ") + 1).cast(pl.UInt32))
    parts = [counted.filter(pl.col("n") >= 2).select("key", "n", "origin")]
    # A person's name in other orders: "Quennell, Ada"; "Mary Smith" for "Mary Ann Smith".
    words_of = pl.col("key").str.split(" ")
    names = (
        counted.filter((entity == Entity.person_name.value) & (pl.col("n") >= 2))
        .select(first=words_of.list.first(), last=words_of.list.last(), n="n", origin="origin")
        # "Customer#000012345" is no name to turn around.
        .filter(pl.col("first").str.contains(r"\D") & pl.col("last").str.contains(r"\D"))
    )
    first, last, two = pl.col("first"), pl.col("last"), pl.lit(2, pl.UInt32)
    parts.append(names.select(key=last + " " + first, n=two, origin="origin"))
    parts.append(
        names.filter(pl.col("n") >= 3).select(key=first + " " + last, n=two, origin="origin")
    )
    for pair in pairs:
        parts.extend(_pair_forms(pair, cfg))
    many = pl.concat(parts)
    # Tokens alone: of names, usernames and secrets, and of an email's local part only.
    name_tokens = entity.is_null() | entity.is_in([e.value for e in NAME_TOKENS])
    words = [counted.filter(name_tokens & (entity != Entity.email.value)).select("key", "origin")]
    emails = counted.filter(entity == Entity.email.value)
    if emails.height:
        local = keys(emails.get_column("value").str.replace(r"@.*$", ""))
        words.append(emails.select(key=local, origin="origin"))
    whole = counted.filter(pl.col("n") == 1).select(t="key", origin="origin")
    lettered = pl.concat(
        [
            pl.concat(words).select(t=pl.col("key").str.split(" "), origin="origin").explode("t"),
            whole,
        ]
    ).filter((pl.col("t").str.len_chars() >= cfg.min_length) & pl.col("t").str.contains(r"\D"))
    distinct = lettered.select(pl.col("t").unique())
    rare = distinct.filter(zipf(distinct.get_column("t")) < COMMON_ZIPF).get_column("t")
    # Digits alone only as a whole value, or as a phone's, card's or id's bare digits: inside
    # a name or an address they are a counter or a house number.
    digits = pl.concat(
        [
            whole.filter(pl.col("t").str.contains(r"^\d+$")),
            counted.filter(entity.is_in([e.value for e in DIGIT_ENTITIES])).select(
                t=pl.col("value").str.replace_all(r"\D", ""), origin="origin"
            ),
        ]
    ).filter(pl.col("t").str.len_chars() >= MIN_DIGITS)
    one = pl.concat([lettered.filter(pl.col("t").is_in(rare.implode())), digits]).select(
        key="t", n=pl.lit(1, pl.UInt32), origin="origin"
    )
    forms = pl.concat([many, one]).with_columns(form=form)
    repeated = forms["form"].n_unique() < forms.height  # a value in two columns, mostly
    forms_once = forms.unique("form") if repeated else forms
    origins = forms.select("form", "origin")
    two_first = pl.col("key").str.split_exact(" ", 1)
    anchored = forms_once.filter(pl.col("n") >= 2).select(
        "form",
        "key",
        "n",
        h=two_first.struct.field("field_0").hash(HASH_SEED),
        nh=two_first.struct.field("field_1").hash(HASH_SEED),
    )
    alone = forms_once.filter(pl.col("n") == 1).select(
        "form", "key", "n", h=pl.lit(None, pl.UInt64), nh=pl.lit(None, pl.UInt64)
    )
    return Originals(
        columns=columns,
        forms=pl.concat([alone, anchored]),
        origins=origins.unique() if repeated else origins,
        values=counted.height,
        tokens=alone.height,
        sequences=anchored.height,
    )


def _pair_forms(pair: pl.DataFrame, cfg: Gate) -> list[pl.DataFrame]:
    """ "First Last" and "Last, First" from a first- and a last-name column of the same row."""
    import polars as pl

    rows = (
        pair.drop_nulls(["first", "last"])
        .with_columns(f=keys(pair.get_column("first")), l=keys(pair.get_column("last")))
        .filter((pl.col("f") != "") & (pl.col("l") != ""))
        .group_by("f", "l", "fo", "lo")
        .len()
        .filter(pl.col("len") < cfg.common_value_rows)
    )
    n = (pl.col("f").str.count_matches(" ") + pl.col("l").str.count_matches(" ") + 2).cast(
        pl.UInt32
    )
    out = []
    for a, b in (("f", "l"), ("l", "f")):
        for origin in ("fo", "lo"):
            out.append(rows.select(key=pl.col(a) + " " + pl.col(b), n=n, origin=pl.col(origin)))
    return out
