"""Detection by value: validators run over a column sample, vectorised with polars.

Each rule counts two things among the non-null sampled values:

- ``matched``: values that pass the validator (Luhn, mod-97, a known phone country code and a
  possible length, a national-id check letter ...). This is the evidence that makes a column PII
  on its own, whatever its name.
- ``shaped``: values that merely have the entity's shape (digits for a phone, an ``@`` for an
  email). It only confirms a column whose *name* already says what it is, so a ``phone`` column
  of bare national numbers is not contradicted by its values.

Checksums and patterns are polars expressions; the few checks that need a library (phone number
metadata, IP address parsing, national-id check digits) run in Python on at most
``PYTHON_SAMPLE`` values.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandboxer.redact.detect import patterns as P
from sandboxer.redact.detect import wordlists
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl

PYTHON_SAMPLE = 2000
"""At most this many values go through per-value Python checks (phones, IPs, national ids)."""

MIN_BIRTH_YEAR = 1900
ADULT_YEARS = 10
"""Birth dates are at least this many years before today."""


@dataclass(frozen=True)
class ValueScore:
    entity: Entity
    rule: str
    matched: int
    shaped: int
    weight: float
    """What a value-only match is worth: 1.0 for validated formats, less for heuristics."""


def string_values(series: pl.Series) -> pl.Series:
    """Non-null, stripped, non-empty values as strings."""
    import polars as pl

    s = series.cast(pl.String, strict=False).drop_nulls().str.strip_chars()
    return s.filter(s.str.len_chars() > 0)


def score_strings(values: pl.Series) -> list[ValueScore]:
    """Score a string sample (already stripped, no nulls, no empty strings) for every entity.

    The sample is read in stages, each materialised before the next: polars does not share a
    subexpression between the rules of one ``select``, so the digits of each value are extracted
    once into a column instead of once per rule. Checksums (Luhn, mod-97) run only on the rows
    that have the shape they validate, and a sample without a digit skips every rule that needs
    one.
    """
    import polars as pl

    if values.len() == 0:
        return []
    v = pl.col("v")
    frame = pl.DataFrame({"v": values}).with_columns(
        # "+1-562-421-7787x9224": the extension is not part of the number.
        phone=v.str.replace(r"\s*(?:x|ext\.?|#)\s*\d{1,6}$", ""),
        has_digit=v.str.contains(r"\d"),
    )
    exprs: dict[str, pl.Expr] = {
        "email": v.str.contains(P.EMAIL_VALUE),
        "email_shape": v.str.contains("@", literal=True),
        "ip_candidate": v.str.contains(r"^[0-9A-Fa-f:.]{2,45}$") & v.str.contains(r"[.:]"),
        "secret": v.str.contains("^(?:" + P.SECRET_SPAN + ")"),
    }
    any_digit = bool(frame["has_digit"].any())
    if any_digit:
        frame = frame.with_columns(
            n_digits=P.digits(v).str.len_chars(),
            n_phone_digits=P.digits(pl.col("phone")).str.len_chars(),
        )
        n_digits, n_phone_digits, phone = (
            pl.col("n_digits"),
            pl.col("n_phone_digits"),
            pl.col("phone"),
        )
        exprs |= {
            "card_candidate": v.str.contains(P.CARD_VALUE),
            "card_shape": v.str.contains(r"^[\d \-]{12,23}$") & n_digits.is_between(12, 19),
            "iban_candidate": v.str.replace_all(" ", "", literal=True)
            .str.to_uppercase()
            .str.contains(P.IBAN_VALUE),
            "iban_shape": v.str.replace_all(r"[ \-]", "")
            .str.to_uppercase()
            .str.contains(P.IBAN_VALUE),
            "phone_shape": phone.str.contains(r"^\+?[\d \-().\/]{7,24}$")
            & n_phone_digits.is_between(7, 15),
            "phone_candidate": (
                phone.str.contains(r"^(?:\+|00)[1-9][\d \-().\/]{6,24}$")
                | phone.str.contains(r"^\(?\d{3}\)?[ .\-]?\d{3}[ .\-]\d{4}$")
                | phone.str.contains(r"^\(?0[1-9][\d \-().\/]{7,18}$")
            )
            & n_phone_digits.is_between(P.PHONE_MIN_DIGITS, P.PHONE_MAX_DIGITS),
            "national_id_shape": v.str.contains(r"^[A-Za-z0-9][A-Za-z0-9 .\-/]{5,19}$")
            & (n_digits >= 4),
            "national_id_candidate": v.str.contains(
                "^(?:" + "|".join(f"(?:{p})" for p in _NATIONAL_ID_VALUES.values()) + ")$"
            ),
            "geo_pair": v.str.contains(r"^\(?-?\d{1,2}\.\d{3,}\s*[,;]\s*-?\d{1,3}\.\d{3,}\)?$"),
        }
    frame = frame.with_columns(**exprs)
    counts: dict[str, int] = dict.fromkeys(_DIGIT_RULES, 0)
    counts |= frame.select(pl.col(*exprs).sum()).row(0, named=True)
    if any_digit:
        checked = frame.filter(pl.col("card_candidate") | pl.col("iban_candidate")).select(
            card=(
                pl.col("card_candidate") & P.luhn_valid(v, min_digits=P.CARD_VALUE_MIN_DIGITS)
            ).sum(),
            iban=(pl.col("iban_candidate") & P.iban_valid(v)).sum(),
        )
        counts |= checked.row(0, named=True)

    scores = [
        ValueScore(Entity.email, "email_format", counts["email"], counts["email_shape"], 1.0),
        ValueScore(Entity.credit_card, "luhn", counts["card"], counts["card_shape"], 1.0),
        ValueScore(Entity.iban, "iban_mod97", counts["iban"], counts["iban_shape"], 1.0),
        ValueScore(Entity.secret, "secret_format", counts["secret"], counts["secret"], 1.0),
        ValueScore(Entity.geo, "lat_lon_pair", counts["geo_pair"], counts["geo_pair"], 0.9),
    ]
    phones = _candidates(frame, "phone_candidate", "phone")
    scores.append(
        ValueScore(
            Entity.phone,
            "phonenumbers_possible",
            _scaled(_count_phones(phones.to_list()), phones.len(), counts["phone_candidate"]),
            counts["phone_shape"],
            1.0,
        )
    )
    ids = _candidates(frame, "national_id_candidate", "v")
    scores.append(
        ValueScore(
            Entity.national_id,
            "national_id_format",
            _scaled(_count_national_ids(ids.to_list()), ids.len(), counts["national_id_candidate"]),
            counts["national_id_shape"],
            1.0,
        )
    )
    ips = _candidates(frame, "ip_candidate", "v")
    n_ips = _scaled(_count_ips(ips.to_list()), ips.len(), counts["ip_candidate"])
    scores.append(ValueScore(Entity.ip_address, "ip_parse", n_ips, n_ips, 1.0))

    folded = frame.select(v, folded=_folded(v), has_digit="has_digit")
    no_digits = folded.filter(~pl.col("has_digit"))
    scores.extend(_score_person_names(no_digits))
    scores.append(_score_name_shape(no_digits, values.len()))
    scores.extend(_score_addresses(folded))
    scores.append(_score_companies(no_digits))
    if any_digit:  # every birth-date shape has digits
        scores.append(_score_birth_strings(values))
    return [s for s in scores if s.matched or s.shaped]


_DIGIT_RULES = (
    "card", "card_shape", "iban", "iban_shape", "phone_shape", "phone_candidate",
    "national_id_shape", "national_id_candidate", "geo_pair",
)  # fmt: skip
"""Rules that need a digit in the value: all zero for a sample without one."""


def _candidates(frame: pl.DataFrame, flag: str, column: str) -> pl.Series:
    """The first ``PYTHON_SAMPLE`` values of ``column`` where ``flag`` holds (none if no flag)."""
    import polars as pl

    if flag not in frame.columns:
        return pl.Series(column, [], dtype=pl.String)
    return frame.filter(pl.col(flag))[column].head(PYTHON_SAMPLE)


def score_integers(values: pl.Series) -> list[ValueScore]:
    """Integers can hold card numbers, phone numbers, postcodes and birth years."""
    import polars as pl

    as_text = values.cast(pl.String)
    frame = pl.DataFrame({"v": as_text})
    v = pl.col("v")
    counts = frame.select(
        card_shape=v.str.contains(r"^\d{12,19}$").sum(),
        phone_shape=v.str.contains(r"^\d{7,15}$").sum(),
        year=v.str.contains(r"^(?:19|20)\d\d$").sum(),
    ).row(0, named=True)
    # Luhn only on the card-shaped values (ids and amounts rarely are).
    cards = frame.filter(v.str.contains(r"^[2-6]\d{12,18}$"))
    counts["card"] = int(cards.select(P.luhn_valid(v).sum()).item()) if cards.height else 0
    year_max = dt.date.today().year - ADULT_YEARS
    in_range = int(values.is_between(MIN_BIRTH_YEAR, year_max).sum())
    return [
        s
        for s in (
            ValueScore(Entity.credit_card, "luhn", counts["card"], counts["card_shape"], 1.0),
            ValueScore(Entity.phone, "digits", 0, counts["phone_shape"], 1.0),
            ValueScore(Entity.birth_date, "year_range", 0, min(in_range, counts["year"]), 0.5),
        )
        if s.matched or s.shaped
    ]


def score_temporal(values: pl.Series) -> list[ValueScore]:
    """Dates and timestamps between 1900 and ten years ago look like birth dates.

    Worth half a match on their own: order and sign-up dates of a long-lived business fall in
    the same range, so a date column needs a name (``dob``, ``born``) to be reported by default.
    """
    import polars as pl

    dates = values.cast(pl.Date, strict=False) if values.dtype != pl.Date else values
    low = dt.date(MIN_BIRTH_YEAR, 1, 1)
    high = _years_ago(ADULT_YEARS)
    n = int(dates.is_between(low, high).sum())
    return [ValueScore(Entity.birth_date, "birth_date_range", n, n, 0.5)] if n else []


def _years_ago(years: int) -> dt.date:
    today = dt.date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _scaled(hits: int, checked: int, candidates: int) -> int:
    """Extrapolate hits among the checked candidates to all candidates."""
    if checked == 0:
        return 0
    return round(hits * candidates / checked)


# National numbers (trunk prefix 0, no country code) are tried against these regions.
NATIONAL_PHONE_REGIONS = ("DE", "FR", "GB", "IT", "ES", "NL", "BE", "AT", "CH", "BR", "PT", "SE")


def _possible_phone(text: str, region: str | None) -> bool:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    code = number.country_code
    if code is None or phonenumbers.region_code_for_country_code(code) == "ZZ":
        return False
    return bool(phonenumbers.is_possible_number(number))


def _count_phones(values: list[str]) -> int:
    """Values that parse as possible numbers: international, North American or national."""
    hits = 0
    for raw in values:
        text = "+" + raw[2:] if raw.startswith("00") else raw
        if text.startswith("+"):
            hits += _possible_phone(text, None)
        elif text.lstrip("(").startswith("0"):
            hits += any(_possible_phone(text, r) for r in NATIONAL_PHONE_REGIONS)
        else:
            hits += _possible_phone(text, "US")
    return hits


def _count_ips(values: list[str]) -> int:
    hits = 0
    for raw in values:
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            continue
        hits += 1
    return hits


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# In a column (not in text) a bare 11-digit CPF is specific enough: two check digits.
_NATIONAL_ID_VALUES = {**P.NATIONAL_ID_SPANS, "br_cpf_digits": r"\d{11}"}
_NATIONAL_ID_RES = {name: re.compile(f"^(?:{p})$") for name, p in _NATIONAL_ID_VALUES.items()}


def _national_id_ok(kind: str, raw: str) -> bool:
    """Check digits where the format has them; the pattern alone otherwise."""
    d = re.sub(r"\D", "", raw)
    if kind == "es_dni":
        return _DNI_LETTERS[int(d) % 23] == raw[-1]
    if kind == "es_nie":
        prefix = "XYZ".index(raw[0])
        return _DNI_LETTERS[int(f"{prefix}{d}") % 23] == raw[-1]
    if kind in ("br_cpf", "br_cpf_digits"):
        nums = [int(c) for c in d]
        if len(set(nums)) == 1:
            return False
        for k in (9, 10):
            total = sum(nums[i] * (k + 1 - i) for i in range(k))
            if (total * 10 % 11) % 10 != nums[k]:
                return False
        return True
    if kind == "fr_nir":
        compact = raw.replace(" ", "").upper().replace("2A", "19").replace("2B", "18")
        body, key = compact[:13], compact[13:]
        return body.isdigit() and key.isdigit() and 97 - int(body) % 97 == int(key)
    return True


def _count_national_ids(values: list[str]) -> int:
    hits = 0
    for raw in values:
        for kind, regex in _NATIONAL_ID_RES.items():
            if regex.match(raw) and _national_id_ok(kind, raw):
                hits += 1
                break
    return hits


def _folded(expr: pl.Expr) -> pl.Expr:
    return expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()


@functools.cache
def _name_lists() -> tuple[pl.Series, pl.Series]:
    """(first names, last names), folded, as list literals for ``is_in``."""
    import polars as pl

    firsts = pl.Series(sorted(wordlists.first_names()), dtype=pl.String).implode()
    lasts = pl.Series(sorted(wordlists.last_names()), dtype=pl.String).implode()
    return firsts, lasts


def _score_person_names(frame: pl.DataFrame) -> list[ValueScore]:
    """First, last and full names, against the name lists of several Faker locales.

    ``frame`` has the values (``v``) and their folded form (``folded``). Every count needs a
    name-like value of one to five words, so only those rows are split into words and looked up,
    and each lookup runs once per row.
    """
    import polars as pl

    if frame.height == 0:
        return []
    firsts, lasts = _name_lists()
    words = pl.col("words")
    n = pl.col("n")
    rows = (
        frame.filter(pl.col("v").str.contains(r"^[\p{L}'\-., ]+$"))
        .with_columns(words=pl.col("folded").str.extract_all(r"[\p{L}']+"))
        .with_columns(n=words.list.len(), first=words.list.first(), last=words.list.last())
        .filter(n.is_between(1, 5))
        .select(
            "v",
            "n",
            first_first=pl.col("first").is_in(firsts),
            first_last=pl.col("first").is_in(lasts),
            last_first=pl.col("last").is_in(firsts),
            last_last=pl.col("last").is_in(lasts),
        )
    )
    ff, fl, lf, ll = (pl.col(c) for c in ("first_first", "first_last", "last_first", "last_last"))
    counts = rows.select(
        # One or two words, all first names.
        first=(n.is_between(1, 2) & ff & ((n == 1) | lf)).sum(),
        last=(n.is_between(1, 3) & ll & ((n == 1) | ~ff)).sum(),
        full=(
            n.is_between(2, 4)
            & ((ff & ll) | (pl.col("v").str.contains(",", literal=True) & fl & lf))
        ).sum(),
    ).row(0, named=True)
    shaped = rows.height
    return [
        ValueScore(Entity.person_name, "name_lists_full", counts["full"], shaped, 0.9),
        ValueScore(Entity.first_name, "name_lists_first", counts["first"], shaped, 0.9),
        ValueScore(Entity.last_name, "name_lists_last", counts["last"], shaped, 0.9),
    ]


NAME_TOKEN = r"\p{Lu}[\p{L}'\u2019\-]*\p{Ll}"
"""A capitalised name word: "Quennell", "McKay", "O'Brien", "Jean-Luc"."""
PARTICLES = "van|von|de|da|del|della|di|du|la|le|dos|das|der|den|ten|ter|bin|ibn|al|y"
_NAME_NEXT = rf"(?:,? (?:(?:{PARTICLES}) )*(?:\p{{Lu}}\.|{NAME_TOKEN}))"
NAME_SHAPE = (
    rf"^(?:{NAME_TOKEN}{_NAME_NEXT}{{1,3}}|(?:\p{{Lu}}\. ){{1,2}}{NAME_TOKEN}{_NAME_NEXT}{{0,2}})$"
)
"""Two to four capitalised words (initials and particles allowed, a name word after leading
initials): "Tamsin Quennell", "Quennell, Tamsin", "Anna van der Berg", "J. R. Quennell"."""
SHAPE_MIN_SHARE = 0.6
"""A column is person names by shape when at least this share of its values has the shape
and a rare word (and they rarely repeat, ``SHAPE_MIN_DISTINCT``)."""
SHAPE_MIN_DISTINCT = 0.5
SHAPE_STOP_ZIPF = 5.5
"""A value with a word this common ("The Beatles", "Alice In Chains") is a title, not a name."""


def _score_name_shape(frame: pl.DataFrame, non_null: int) -> ValueScore:
    """Person names nobody listed, by the shape of the values: two to four capitalised words,
    one of them rare (``frequency.COMMON_ZIPF``: an identifying word), every common one a
    listed given name or surname, in a column whose values rarely repeat. Names of things
    ("Hudryn Kettle", "Chef Anton's Cajun Seasoning", "Led Zeppelin", "UNITED KINGDOM",
    "Customer#000000001") fail on a common word that is no one's name, on case or on digits.
    ``matched`` counts only when the column as a whole has the shape (``SHAPE_MIN_SHARE``,
    ``SHAPE_MIN_DISTINCT``); ``shaped`` counts the values."""
    import polars as pl

    from sandboxer.redact.detect import frequency

    if frame.height == 0 or non_null == 0:
        return ValueScore(Entity.person_name, "name_shape", 0, 0, 0.85)
    rows = frame.filter(pl.col("v").str.contains(NAME_SHAPE)).select("v").with_row_index("i")
    if rows.height == 0:
        return ValueScore(Entity.person_name, "name_shape", 0, 0, 0.85)
    words = rows.select("i", w=pl.col("v").str.extract_all(r"\p{L}[\p{L}'\u2019\-]*")).explode("w")
    folded = words.select(frequency.fold_expr(pl.col("w"))).to_series()
    firsts, lasts = _name_lists()
    words = words.with_columns(
        z=frequency.zipf(folded), long=pl.col("w").str.len_chars() >= 3, w=folded
    ).with_columns(listed=pl.col("w").is_in(firsts) | pl.col("w").is_in(lasts))
    z, long, listed = pl.col("z"), pl.col("long"), pl.col("listed")
    per_value = words.group_by("i").agg(
        rare=((z < frequency.COMMON_ZIPF) & long).any(),
        # A common word that is no one's name ("Kettle", "Records") makes a thing's name.
        common=((z >= SHAPE_STOP_ZIPF) | ((z >= frequency.COMMON_ZIPF) & long & ~listed)).any(),
    )
    hits = per_value.filter(pl.col("rare") & ~pl.col("common")).get_column("i")
    matched = rows.filter(pl.col("i").is_in(hits.implode())).get_column("v")
    distinct = matched.n_unique() / max(matched.len(), 1)
    whole = matched.len() >= SHAPE_MIN_SHARE * non_null and distinct >= SHAPE_MIN_DISTINCT
    return ValueScore(
        Entity.person_name, "name_shape", matched.len() if whole else 0, rows.height, 0.85
    )


def name_tokens(values: pl.Series) -> pl.Series:
    """The distinct folded words (3+ letters) of ``values``: what a column of names shares
    with another column of names."""
    import polars as pl

    from sandboxer.redact.detect import frequency

    while isinstance(values.dtype, pl.List | pl.Array):  # a list of names is names
        values = values.explode() if isinstance(values.dtype, pl.List) else values.arr.explode()
    if not (values.dtype == pl.String or values.dtype == pl.Categorical):
        return pl.Series("w", [], dtype=pl.String)
    words = string_values(values).str.extract_all(r"\p{L}[\p{L}'\u2019\-]*").explode()
    words = words.drop_nulls()
    words = words.filter(words.str.len_chars() >= 3)
    return pl.select(frequency.fold_expr(pl.lit(words))).to_series().unique().rename("w")


def score_shared_names(values: pl.Series, known: pl.Series) -> ValueScore:
    """Values with the shape of a name (``NAME_SHAPE``) that share a word with ``known``
    (``name_tokens`` of the columns already found to hold names, of any table)."""
    import polars as pl

    from sandboxer.redact.detect import frequency

    values = string_values(values)
    shaped = values.filter(values.str.contains(NAME_SHAPE))
    if shaped.len() == 0 or known.len() == 0:
        return ValueScore(Entity.person_name, "shares_name_words", 0, shaped.len(), 0.9)
    words = (
        pl.DataFrame({"v": shaped})
        .with_row_index("i")
        .select("i", w=pl.col("v").str.extract_all(r"\p{L}[\p{L}'\u2019\-]*"))
        .explode("w")
        .with_columns(w=frequency.fold_expr(pl.col("w")))
    )
    hit = words.filter(pl.col("w").is_in(known.implode())).get_column("i").n_unique()
    return ValueScore(Entity.person_name, "shares_name_words", hit, shaped.len(), 0.9)


def _alternation(words: frozenset[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@functools.cache
def address_patterns() -> tuple[str, str, str]:
    """(number first: "12 Main St", type first: "rue de la Paix 5", glued: "Hauptstraße 5")."""
    suffixes = _alternation(wordlists.street_suffix_words())
    prefixes = _alternation(wordlists.street_prefix_words())
    glued = _alternation(frozenset(wordlists.fold(w) for w in wordlists.STREET_GLUED_SUFFIXES))
    # Flat, floor and door details after the number: "Apt. 4", "Piso 6", "Piano 8", "Bus 2".
    units = (
        "apt|apartment|suite|ste|unit|flat|floor|no|piso|puerta|planta|piano|scala|interno|int"
        "|etage|stock|bus|bte|boite|app|appartement|bloco|apto|andar|sala|lok|m"
    )
    tail = rf"(?:\s*[,#/].*|\s+(?:{units})\.?\s.*)?\s*$"
    number_first = rf"^\d{{1,6}}[a-z]?,?\s+(?:[\p{{L}}'.\-]+\s+){{0,4}}(?:{suffixes})\.?{tail}"
    type_first = (
        rf"^(?:\d{{1,6}}[a-z]?,?\s+)?(?:{prefixes})\.?\s+[\p{{L}}'.\- ]{{2,60}}"
        rf"(?:,?\s*(?:n[o°º]\.?\s*)?\d{{1,5}}[a-z]?)?{tail}"
    )
    glued_suffix = (
        rf"^[\p{{L}}'.\- ]{{0,60}}(?:{glued})\.?\s*\d{{1,5}}\s?[a-z]?(?:[\-/]\d{{1,4}})?{tail}"
    )
    return number_first, type_first, glued_suffix


def _score_addresses(frame: pl.DataFrame) -> list[ValueScore]:
    """Street lines, on the folded values (``folded``)."""
    import polars as pl

    v = pl.col("folded")
    number_first, type_first, glued = address_patterns()
    strong = v.str.contains(number_first) | v.str.contains(type_first) | v.str.contains(glued)
    # "Robotnicza 9", "Władysława Łokietka 22": only worth confirming a column named street.
    weak = v.str.contains(r"^\p{L}[\p{L}'.\- ]{2,60}\s\d{1,5}[a-z]?$")
    counts = (
        frame.select(strong=strong, weak=weak)
        .select(strong=pl.col("strong").sum(), shaped=(pl.col("strong") | pl.col("weak")).sum())
        .row(0, named=True)
    )
    return [ValueScore(Entity.address, "street_pattern", counts["strong"], counts["shaped"], 0.9)]


@functools.cache
def _company_pattern() -> str:
    suffixes = _alternation(frozenset(wordlists.COMPANY_SUFFIXES))
    return rf"^\p{{L}}[\p{{L}}'&.,\- ]*\s(?:{suffixes})\.?$"


def _score_companies(frame: pl.DataFrame) -> ValueScore:
    """Company names by legal-form suffix, on the folded values (``folded``)."""
    import polars as pl

    n = int(frame.select(pl.col("folded").str.contains(_company_pattern()).sum()).item())
    return ValueScore(Entity.company, "company_suffix", n, n, 0.8)


def _score_birth_strings(values: pl.Series) -> ValueScore:
    import polars as pl

    v = pl.col("v")
    parsed = pl.coalesce(
        *(
            v.str.to_date(fmt, strict=False)
            for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d")
        )
    )
    dated = v.str.contains(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")
    in_range = parsed.is_between(dt.date(MIN_BIRTH_YEAR, 1, 1), _years_ago(ADULT_YEARS))
    counts = (
        pl.DataFrame({"v": values})
        .select(hits=(dated & in_range).sum(), shaped=(dated & parsed.is_not_null()).sum())
        .row(0, named=True)
    )
    return ValueScore(Entity.birth_date, "birth_date_range", counts["hits"], counts["shaped"], 0.5)
