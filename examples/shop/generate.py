"""Generate the example "production" database: a small e-commerce shop full of fake PII.

The demo and the tests subset, redact and snapshot this database, so it is built to exercise
what real ones contain: a self-reference (``customers.referred_by``), two FK paths between the
same pair of tables (``orders`` -> ``addresses`` directly and through ``customers``), a composite
primary key (``order_items``), an FK to a UNIQUE non-PK key (``order_items.product_sku``), PII
in plain columns, inside free text (``customers.notes``) and inside JSON
(``customers.preferences``), Luhn-valid card numbers and checksum-valid IBANs.

The data is a pure function of ``(customers, seed)`` (and of the installed Faker, which supplies
the name/city/street vocabularies): every random column comes from a counter-based generator
(SplitMix64 evaluated as polars expressions), so there is no per-row Python and no Faker call per
row. Usage::

    python examples/shop/generate.py --out examples/shop/prod.duckdb [--customers N] [--seed S]
    python examples/shop/generate.py --postgres postgresql://user@host:5432/db
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import io
import os
import re
import string
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

# --------------------------------------------------------------------------------------------
# Schema: the single description that both backends' DDL and the Arrow schemas come from.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # spelled so that DuckDB and PostgreSQL both accept it
    arrow_type: pa.DataType
    nullable: bool = False


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, c.nullable) for c in self.columns])


def _col(name: str, sql_type: str, nullable: bool = False) -> Column:
    arrow = {
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "TEXT": pa.string(),
        "CHAR(2)": pa.string(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
        "NUMERIC(10,2)": pa.decimal128(10, 2),
        "NUMERIC(12,2)": pa.decimal128(12, 2),
    }[sql_type]
    return Column(name, sql_type, arrow, nullable)


def _fk(columns: str, ref_table: str, ref_columns: str) -> ForeignKey:
    return ForeignKey(tuple(columns.split(",")), ref_table, tuple(ref_columns.split(",")))


# In dependency order: every table's FKs point at itself or at tables listed before it.
SCHEMA: tuple[TableSpec, ...] = (
    TableSpec(
        "countries",
        (_col("code", "CHAR(2)"), _col("name", "TEXT")),
        primary_key=("code",),
        unique=(("name",),),
    ),
    TableSpec(
        "customers",
        (
            _col("id", "BIGINT"),
            _col("first_name", "TEXT"),
            _col("last_name", "TEXT"),
            _col("email", "TEXT"),
            _col("phone", "TEXT", nullable=True),
            _col("birth_date", "DATE", nullable=True),
            _col("national_id", "TEXT", nullable=True),
            _col("created_at", "TIMESTAMP"),
            _col("country_code", "CHAR(2)"),
            _col("referred_by", "BIGINT", nullable=True),
            _col("notes", "TEXT", nullable=True),
            _col("preferences", "TEXT", nullable=True),
        ),
        primary_key=("id",),
        unique=(("email",),),
        foreign_keys=(
            _fk("country_code", "countries", "code"),
            _fk("referred_by", "customers", "id"),
        ),
    ),
    TableSpec(
        "addresses",
        (
            _col("id", "BIGINT"),
            _col("customer_id", "BIGINT"),
            _col("street", "TEXT"),
            _col("city", "TEXT"),
            _col("postcode", "TEXT", nullable=True),
            _col("country_code", "CHAR(2)"),
            _col("kind", "TEXT"),
        ),
        primary_key=("id",),
        foreign_keys=(
            _fk("customer_id", "customers", "id"),
            _fk("country_code", "countries", "code"),
        ),
    ),
    TableSpec(
        "products",
        (
            _col("id", "BIGINT"),
            _col("sku", "TEXT"),
            _col("name", "TEXT"),
            _col("category", "TEXT", nullable=True),
            _col("price", "NUMERIC(10,2)"),
        ),
        primary_key=("id",),
        unique=(("sku",),),
    ),
    TableSpec(
        "orders",
        (
            _col("id", "BIGINT"),
            _col("customer_id", "BIGINT"),
            _col("shipping_address_id", "BIGINT", nullable=True),
            _col("status", "TEXT"),
            _col("ordered_at", "TIMESTAMP"),
            _col("total", "NUMERIC(12,2)"),
        ),
        primary_key=("id",),
        foreign_keys=(
            _fk("customer_id", "customers", "id"),
            _fk("shipping_address_id", "addresses", "id"),
        ),
    ),
    TableSpec(
        "order_items",
        (
            _col("order_id", "BIGINT"),
            _col("line_no", "INTEGER"),
            _col("product_id", "BIGINT"),
            _col("product_sku", "TEXT"),
            _col("quantity", "INTEGER"),
            _col("unit_price", "NUMERIC(10,2)"),
        ),
        primary_key=("order_id", "line_no"),
        foreign_keys=(
            _fk("order_id", "orders", "id"),
            _fk("product_id", "products", "id"),
            _fk("product_sku", "products", "sku"),
        ),
    ),
    TableSpec(
        "payments",
        (
            _col("id", "BIGINT"),
            _col("order_id", "BIGINT"),
            _col("method", "TEXT"),
            _col("card_number", "TEXT", nullable=True),
            _col("iban", "TEXT", nullable=True),
            _col("amount", "NUMERIC(12,2)"),
            _col("paid_at", "TIMESTAMP"),
        ),
        primary_key=("id",),
        foreign_keys=(_fk("order_id", "orders", "id"),),
    ),
)
SPECS = {spec.name: spec for spec in SCHEMA}

# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    locale: str  # Faker locale whose names, cities and streets this country's rows use
    calling_code: str
    postcode: str  # pattern: '#' digit, '?' upper-case letter, anything else literal
    iban_bban: str | None  # BBAN pattern (same notation) when the country uses IBANs
    weight: float  # share of customers


COUNTRIES: tuple[Country, ...] = (
    Country("US", "United States", "en_US", "1", "#####", None, 30),
    Country("GB", "United Kingdom", "en_GB", "44", "?#? #??", "????" + "#" * 14, 12),
    Country("DE", "Germany", "de_DE", "49", "#####", "#" * 18, 11),
    Country("FR", "France", "fr_FR", "33", "#####", "#" * 23, 9),
    Country("ES", "Spain", "es_ES", "34", "#####", "#" * 20, 5),
    Country("IT", "Italy", "it_IT", "39", "#####", "?" + "#" * 22, 5),
    Country("NL", "Netherlands", "nl_NL", "31", "#### ??", "????" + "#" * 10, 5),
    Country("CA", "Canada", "en_US", "1", "?#? #?#", None, 5),
    Country("BE", "Belgium", "fr_FR", "32", "####", "#" * 12, 3),
    Country("AU", "Australia", "en_GB", "61", "####", None, 3),
    Country("IE", "Ireland", "en_GB", "353", "?## ?#??", "????" + "#" * 14, 2),
    Country("SE", "Sweden", "sv_SE", "46", "### ##", "#" * 20, 2),
    Country("PL", "Poland", "pl_PL", "48", "##-###", "#" * 24, 2),
    Country("PT", "Portugal", "pt_PT", "351", "####-###", "#" * 21, 1.5),
    Country("AT", "Austria", "de_DE", "43", "####", "#" * 16, 1.5),
    Country("CH", "Switzerland", "de_DE", "41", "####", "#" * 17, 1),
    Country("DK", "Denmark", "sv_SE", "45", "####", "#" * 14, 1),
    Country("NO", "Norway", "sv_SE", "47", "####", "#" * 11, 1),
    Country("MX", "Mexico", "es_ES", "52", "#####", None, 1),
    Country("BR", "Brazil", "pt_PT", "55", "#####-###", None, 1),
)
LOCALES = tuple(dict.fromkeys(c.locale for c in COUNTRIES))
# Locales that write "Hauptstraße 12" rather than "12 Main Street".
NUMBER_AFTER_STREET = {"de_DE", "es_ES", "it_IT", "nl_NL", "sv_SE", "pl_PL", "pt_PT"}
LANGUAGE = {loc: loc.split("_")[0] for loc in LOCALES}

EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me",
    "gmx.de", "web.de", "orange.fr", "libero.it", "example.com", "mail.example.org",
)  # fmt: skip

CATEGORIES: tuple[tuple[str, tuple[str, ...], int, int], ...] = (
    # name, nouns, min price, max price (whole currency units)
    ("Electronics", ("Headphones", "Charger", "Speaker", "Keyboard", "Mouse", "Webcam"), 15, 400),
    ("Home", ("Lamp", "Cushion", "Blanket", "Vase", "Wall Clock", "Mirror"), 10, 150),
    ("Kitchen", ("Kettle", "Frying Pan", "Knife Set", "Blender", "Mug", "Cutting Board"), 5, 200),
    ("Books", ("Novel", "Cookbook", "Atlas", "Biography", "Notebook"), 5, 40),
    ("Sports", ("Yoga Mat", "Dumbbell", "Water Bottle", "Running Shoes", "Backpack"), 10, 180),
    ("Toys", ("Puzzle", "Board Game", "Building Set", "Plush Bear", "Kite"), 6, 90),
    ("Beauty", ("Face Cream", "Shampoo", "Perfume", "Lip Balm"), 4, 120),
    ("Garden", ("Garden Hose", "Planter", "Seed Mix", "Pruner"), 5, 80),
)
ADJECTIVES = (
    "Classic", "Smart", "Eco", "Deluxe", "Compact", "Premium", "Essential", "Pro", "Mini",
    "Ultra", "Vintage", "Wireless", "Nordic", "Urban", "Travel", "Family",
)  # fmt: skip
COLOURS = ("Black", "White", "Grey", "Navy", "Red", "Green", "Oak", "Sand", "Teal", "Rose")

PHONE_STYLES = (
    "+{cc} {a} {b} {c}",
    "+{cc}-{a}-{b}-{c}",
    "+{cc}{a}{b}{c}",
    "00{cc} {a} {b}{c}",
    "+{cc} ({a}) {b}-{c}",
)
# Free text that sometimes repeats the customer's own email or phone. ``None``: no note.
# A template naming the phone must be followed by one that does not (see fill_in).
NOTES = (
    None,
    "Prefers contact by email: {email}",
    "Called from {phone} about a late delivery.",
    "Called about a late delivery.",
    "Resend invoices to {email} or call {phone} after 5pm.",
    "Resend invoices to {email}.",
    "Asked why {email} gets two newsletters.",
    "VIP: handle returns personally.",
    "Delivery instructions: leave parcels with the neighbour.",
    "Complained about packaging waste.",
)
NOTE_WEIGHTS = (50, 8, 7, 2, 6, 2, 5, 6, 7, 7)
# JSON documents, some with PII in nested leaves.
PREFERENCES = (
    None,
    '{{"newsletter": {newsletter}, "language": "{language}"}}',
    '{{"newsletter": {newsletter}, "language": "{language}", '
    '"contact": {{"channel": "sms", "phone": "{phone}", "verified": true}}}}',
    '{{"newsletter": {newsletter}, "language": "{language}", '
    '"contact": {{"channel": "email", "email": "{email}"}}}}',
    '{{"newsletter": {newsletter}, "language": "{language}", '
    '"marketing": {{"sms": false, "email": true}}, '
    '"gift_recipients": [{{"name": "{first_name}", "email": "{email}"}}]}}',
)
PREFERENCE_WEIGHTS = (20, 40, 12, 20, 8)
ORDER_STATUSES = ("delivered", "shipped", "paid", "pending", "cancelled", "refunded")
ORDER_STATUS_WEIGHTS = (55, 10, 8, 7, 12, 8)
PAID_STATUSES = ("delivered", "shipped", "paid", "refunded")
PAYMENT_METHODS = ("card", "sepa_debit", "paypal", "gift_card")
PAYMENT_METHOD_WEIGHTS = (62, 14, 14, 10)

EPOCH_START = dt.datetime(2019, 1, 1)
EPOCH_END = dt.datetime(2025, 6, 30, 23, 59, 59)
UNIX = dt.datetime(1970, 1, 1)


@functools.cache
def _vocabulary(locale: str) -> dict[str, list[str]]:
    """A few hundred first names, last names, cities and street names for one locale.

    Faker is seeded with a constant: the vocabularies do not depend on the data seed, so they
    are built once per process and the data seed only decides which words each row picks.
    """
    from faker import Faker

    fake = Faker(locale)
    fake.seed_instance(20240607)
    for provider in fake.get_providers():
        # Some locales (it_IT) build their city list from a set, whose order follows
        # PYTHONHASHSEED; a seeded Faker would then draw different cities in every process.
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)

    def words(make: object, k: int) -> list[str]:
        assert callable(make)
        return list(dict.fromkeys(str(make()) for _ in range(k)))

    return {
        "first_name": words(fake.first_name, 300),
        "last_name": words(fake.last_name, 300),
        "city": words(fake.city, 200),
        "street": words(fake.street_name, 200),
    }


# --------------------------------------------------------------------------------------------
# Random numbers: SplitMix64 over a row counter, evaluated by polars.
# --------------------------------------------------------------------------------------------

_U64 = pl.UInt64
_GOLDEN = 0x9E3779B97F4A7C15


class Rng:
    """Counter-based random streams: row ``i`` of a stream is the ``i``-th output of SplitMix64
    started from a key derived from ``(seed, stream name)``.

    Each column draws from its own named stream, so adding a column or changing one column's
    distribution never shifts the values of the others, and results do not depend on evaluation
    order or threading.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _key(self, stream: str) -> int:
        digest = hashlib.blake2b(f"{self.seed}/{stream}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little")

    def bits(self, stream: str, n: int) -> pl.Series:
        """``n`` uniformly distributed unsigned 64-bit integers."""
        golden = pl.lit(_GOLDEN, dtype=_U64)
        start = pl.lit(self._key(stream), dtype=_U64)
        # u64 arithmetic in polars wraps, which is exactly what SplitMix64 needs.
        z = start + (pl.int_range(n, dtype=_U64) + 1) * golden
        z = (z ^ (z // (1 << 30))) * pl.lit(0xBF58476D1CE4E5B9, dtype=_U64)
        z = (z ^ (z // (1 << 27))) * pl.lit(0x94D049BB133111EB, dtype=_U64)
        z = z ^ (z // (1 << 31))
        return pl.select(z.alias(stream)).to_series()

    def uniform(self, stream: str, n: int) -> pl.Series:
        """``n`` floats in [0, 1)."""
        return (self.bits(stream, n) // (1 << 11)).cast(pl.Float64) * 2.0**-53

    def below(self, stream: str, n: int, high: int | pl.Series) -> pl.Series:
        """Integers in [0, high); ``high`` (at least 1) may differ per row."""
        # Modulo rather than floor(u * high): exact bounds, and a bias below 2**-32 for the
        # ranges used here (all far below 2**32).
        bound = high.cast(pl.UInt64) if isinstance(high, pl.Series) else high
        return (self.bits(stream, n) % bound).cast(pl.Int64)

    def weighted(self, stream: str, n: int, weights: Sequence[float]) -> pl.Series:
        """Indexes into ``weights``, drawn with those relative weights."""
        total = float(sum(weights))
        cumulative, acc = [], 0.0
        for w in weights[:-1]:
            acc += w / total
            cumulative.append(acc)
        edges = pl.Series(cumulative, dtype=pl.Float64)
        return edges.search_sorted(self.uniform(stream, n), side="right").cast(pl.Int64)

    def choice(
        self,
        stream: str,
        n: int,
        values: Sequence[object],
        weights: Sequence[float] | None = None,
    ) -> pl.Series:
        """Values drawn from ``values``, uniformly or with ``weights``."""
        idx = self.weighted(stream, n, weights) if weights else self.below(stream, n, len(values))
        return pl.Series(stream, list(values)).gather(idx)

    def fill(self, stream: str, patterns: pl.Series) -> pl.Series:
        """Fill per-row patterns: '#' becomes a random digit, '?' a random upper-case letter."""
        n = len(patterns)
        width = patterns.str.len_chars().max() or 0
        assert isinstance(width, int)
        letters = pl.Series([chr(ord("A") + i) for i in range(26)])
        frame = pl.DataFrame({"p": patterns})
        parts = []
        for j in range(width):
            u = self.bits(f"{stream}/{j}", n)
            frame = frame.with_columns(
                (u % 10).cast(pl.String).alias(f"d{j}"),
                letters.gather((u // 10 % 26).cast(pl.Int64)).alias(f"l{j}"),
            )
            char = pl.col("p").str.slice(j, 1)
            parts.append(
                pl.when(char == "#")
                .then(pl.col(f"d{j}"))
                .when(char == "?")
                .then(pl.col(f"l{j}"))
                .otherwise(char)
            )
        return frame.select(pl.concat_str(parts).alias(stream)).to_series()


def _pick_in_group(
    rng: Rng, stream: str, groups: pl.Series, vocab: dict[str, Sequence[str]]
) -> pl.Series:
    """One word per row, drawn uniformly from ``vocab`` of that row's group."""
    words: list[str] = []
    offsets, sizes = {}, {}
    for group, group_words in vocab.items():
        offsets[group], sizes[group] = len(words), len(group_words)
        words.extend(group_words)
    offset = groups.replace_strict(offsets, return_dtype=pl.Int64)
    size = groups.replace_strict(sizes, return_dtype=pl.Int64)
    return pl.Series(stream, words).gather(offset + rng.below(stream, len(groups), size))


def _pick_words(rng: Rng, stream: str, locales: pl.Series, kind: str) -> pl.Series:
    """One word of vocabulary ``kind`` per row, from each row's own locale."""
    return _pick_in_group(rng, stream, locales, {loc: _vocabulary(loc)[kind] for loc in LOCALES})


def _template(template: str, **values: pl.Expr) -> pl.Expr:
    """``str.format``-style template as a polars string expression (null if a value is null)."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(values[name].cast(pl.String))
    return pl.concat_str(parts) if parts else pl.lit("")


def _one_of(index: pl.Expr, options: Sequence[pl.Expr | None]) -> pl.Expr:
    """Row-wise ``options[index]``; a ``None`` option gives NULL."""
    result = pl.lit(None, dtype=pl.String)
    for i in reversed(range(len(options))):
        option = options[i]
        if option is not None:
            result = pl.when(index == i).then(option).otherwise(result)
    return result


def _epoch_seconds(moment: dt.datetime) -> int:
    return int((moment - UNIX).total_seconds())


def _timestamp(seconds: pl.Expr) -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").cast(pl.Datetime("us"))


def _money(cents: pl.Expr, precision: int) -> pl.Expr:
    """Integer cents to an exact NUMERIC(precision, 2)."""
    return (cents.cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(precision, 2))


def _explode_counts(frame: pl.DataFrame, counts: pl.Series, index: str) -> pl.DataFrame:
    """Repeat each row ``counts[i]`` times, numbering the copies 0.. in column ``index``."""
    return (
        frame.with_columns(counts.alias("_n"))
        .filter(pl.col("_n") > 0)
        .with_columns(pl.int_ranges(0, "_n").alias(index))
        .explode(index)
        .drop("_n")
        .with_columns(pl.col(index).cast(pl.Int64))
    )


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _countries() -> pl.DataFrame:
    return pl.DataFrame({"code": [c.code for c in COUNTRIES], "name": [c.name for c in COUNTRIES]})


def _customers(rng: Rng, n: int) -> pl.DataFrame:
    by_code = {c.code: c for c in COUNTRIES}
    country = rng.choice(
        "customer/country", n, [c.code for c in COUNTRIES], [c.weight for c in COUNTRIES]
    )
    locale = country.replace_strict({k: c.locale for k, c in by_code.items()})
    first = _pick_words(rng, "customer/first", locale, "first_name")
    last = _pick_words(rng, "customer/last", locale, "last_name")

    # Sign-up times sorted so that ids grow with time, as they do in a real serial column.
    span = _epoch_seconds(EPOCH_END) - _epoch_seconds(EPOCH_START)
    created = (rng.below("customer/created", n, span) + _epoch_seconds(EPOCH_START)).sort()

    df = pl.DataFrame(
        {
            "id": pl.int_range(1, n + 1, eager=True, dtype=pl.Int64),
            "first_name": first,
            "last_name": last,
            "country_code": country,
            "_locale": locale,
            "_created": created,
            "_calling": country.replace_strict({k: c.calling_code for k, c in by_code.items()}),
            "_u_phone_null": rng.uniform("customer/phone_null", n),
            "_phone_style": rng.below("customer/phone_style", n, 5),
            "_national": (rng.below("customer/phone_lead", n, 8) + 2).cast(pl.String)
            + (rng.bits("customer/phone_digits", n) % 1_000_000_000).cast(pl.String).str.zfill(9),
            "_email_style": rng.below("customer/email_style", n, 4),
            "_domain": rng.choice("customer/domain", n, EMAIL_DOMAINS),
            "_age_days": rng.below("customer/age", n, 60 * 365) + 18 * 365 + 5,
            "_u_birth_null": rng.uniform("customer/birth_null", n),
            "_ssn_area": rng.below("customer/ssn_area", n, 898) + 1,
            "_ssn_group": rng.below("customer/ssn_group", n, 99) + 1,
            "_ssn_serial": rng.below("customer/ssn_serial", n, 9999) + 1,
            "_u_ssn_null": rng.uniform("customer/ssn_null", n),
            "_u_ref": rng.uniform("customer/referred", n),
            "_ref_pick": rng.uniform("customer/referrer", n),
            "_note": rng.weighted("customer/note", n, NOTE_WEIGHTS),
            "_pref": rng.weighted("customer/pref", n, PREFERENCE_WEIGHTS),
            "_newsletter": rng.uniform("customer/newsletter", n) < 0.4,
        }
    )

    nat = pl.col("_national")
    phone = _one_of(
        pl.col("_phone_style"),
        [
            _template(style, cc=pl.col("_calling"), a=nat.str.slice(0, 3),
                      b=nat.str.slice(3, 3), c=nat.str.slice(6))
            for style in PHONE_STYLES
        ],
    )  # fmt: skip
    phone = pl.when(pl.col("_u_phone_null") < 0.05).then(None).otherwise(phone)

    def ascii_word(col: str) -> pl.Expr:
        return pl.col(col).str.to_lowercase().str.normalize("NFKD").str.replace_all("[^a-z0-9]", "")

    # The id suffix makes every address unique: names hold no digits, so the trailing digits
    # of the local part are exactly the id, whatever the style and domain.
    first_a, last_a, ident = ascii_word("first_name"), ascii_word("last_name"), pl.col("id")
    local = (
        pl.when(pl.col("_email_style") == 0)
        .then(pl.concat_str(first_a, pl.lit("."), last_a, ident.cast(pl.String)))
        .when(pl.col("_email_style") == 1)
        .then(pl.concat_str(first_a.str.slice(0, 1), last_a, ident.cast(pl.String)))
        .when(pl.col("_email_style") == 2)
        .then(pl.concat_str(last_a, pl.lit("_"), first_a, ident.cast(pl.String)))
        .otherwise(pl.concat_str(first_a, ident.cast(pl.String)))
    )
    email = pl.concat_str(local, pl.lit("@"), pl.col("_domain"))

    area = pl.col("_ssn_area")
    national_id = (
        pl.when(pl.col("_u_ssn_null") < 0.08)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(
            pl.concat_str(
                # 666 is never issued: shift the areas above it by one.
                pl.when(area >= 666).then(area + 1).otherwise(area).cast(pl.String).str.zfill(3),
                pl.lit("-"),
                pl.col("_ssn_group").cast(pl.String).str.zfill(2),
                pl.lit("-"),
                pl.col("_ssn_serial").cast(pl.String).str.zfill(4),
            )
        )
    )

    # Referrers are earlier customers only: acyclic in time, but still a self-reference.
    referred_by = (
        pl.when((pl.col("_u_ref") < 0.30) & (pl.col("id") > 1))
        .then((pl.col("_ref_pick") * (pl.col("id") - 1)).floor().cast(pl.Int64) + 1)
        .otherwise(pl.lit(None, dtype=pl.Int64))
    )

    df = df.with_columns(phone.alias("phone"), email.alias("email"))
    values = {
        "email": pl.col("email"),
        "phone": pl.col("phone"),
        "first_name": pl.col("first_name"),
        "newsletter": pl.when(pl.col("_newsletter"))
        .then(pl.lit("true"))
        .otherwise(pl.lit("false")),
        "language": pl.col("_locale").replace_strict(LANGUAGE),
    }

    def fill_in(templates: Sequence[str | None], pick: str) -> pl.Expr:
        # A template naming a missing value (customers without a phone) falls back to the
        # template after it, which never names more than it does.
        options = [None if t is None else _template(t, **values) for t in templates]
        filled = [
            opt if opt is None or nxt is None else pl.coalesce(opt, nxt)
            for opt, nxt in zip(options, [*options[1:], None], strict=True)
        ]
        return _one_of(pl.col(pick), filled)

    notes = fill_in(NOTES, "_note")
    preferences = fill_in(PREFERENCES, "_pref")

    created_at = _timestamp(pl.col("_created"))
    birth_days = pl.col("_created") // 86400 - pl.col("_age_days")
    return df.select(
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        pl.when(pl.col("_u_birth_null") < 0.04)
        .then(None)
        .otherwise(birth_days.cast(pl.Int32).cast(pl.Date))
        .alias("birth_date"),
        national_id.alias("national_id"),
        created_at.alias("created_at"),
        "country_code",
        referred_by.alias("referred_by"),
        notes.alias("notes"),
        preferences.alias("preferences"),
        # Kept for the generation of dependent tables; dropped before the tables are returned.
        "_locale",
        "_created",
    )


def _addresses(rng: Rng, customers: pl.DataFrame) -> pl.DataFrame:
    counts = rng.weighted("address/count", customers.height, (60, 30, 10)) + 1
    base = customers.select(
        pl.col("id").alias("customer_id"), pl.col("country_code").alias("_home")
    )
    df = _explode_counts(base, counts, "_k")
    n = df.height
    codes = [c.code for c in COUNTRIES]
    abroad = rng.choice("address/abroad_country", n, codes, [c.weight for c in COUNTRIES])
    df = df.with_columns(
        pl.when(rng.uniform("address/abroad", n) < 0.08)
        .then(abroad)
        .otherwise(pl.col("_home"))
        .alias("country_code")
    )
    by_code = {c.code: c for c in COUNTRIES}
    locale = df["country_code"].replace_strict({k: c.locale for k, c in by_code.items()})
    street = _pick_words(rng, "address/street", locale, "street")
    city = _pick_words(rng, "address/city", locale, "city")
    number = (rng.below("address/number", n, 180) + 1).cast(pl.String)
    patterns = df["country_code"].replace_strict({k: c.postcode for k, c in by_code.items()})
    postcode = rng.fill("address/postcode", patterns)
    df = df.with_columns(
        pl.int_range(1, n + 1, dtype=pl.Int64).alias("id"),
        pl.when(locale.is_in(sorted(NUMBER_AFTER_STREET)))
        .then(pl.concat_str(street, pl.lit(" "), number))
        .otherwise(pl.concat_str(number, pl.lit(" "), street))
        .alias("street"),
        city.alias("city"),
        pl.when(rng.uniform("address/postcode_null", n) < 0.02)
        .then(None)
        .otherwise(postcode)
        .alias("postcode"),
        pl.when(pl.col("_k") == 0)
        .then(pl.lit("billing"))
        .otherwise(pl.lit("shipping"))
        .alias("kind"),
    )
    return df.select("id", "customer_id", "street", "city", "postcode", "country_code", "kind")


def _products(rng: Rng, n: int) -> pl.DataFrame:
    category = rng.choice("product/category", n, [c[0] for c in CATEGORIES])
    low = category.replace_strict({c[0]: c[2] for c in CATEGORIES}, return_dtype=pl.Int64)
    high = category.replace_strict({c[0]: c[3] for c in CATEGORIES}, return_dtype=pl.Int64)
    # Most products are cheap: u ** 2 leans to the low end of the category's range.
    whole = low + (rng.uniform("product/price", n) ** 2 * (high - low)).floor().cast(pl.Int64)
    df = pl.DataFrame(
        {
            "id": pl.int_range(1, n + 1, eager=True, dtype=pl.Int64),
            "_cat": category,
            "_adj": rng.choice("product/adjective", n, ADJECTIVES),
            "_colour": rng.choice("product/colour", n, COLOURS),
            "_noun": _pick_in_group(
                rng, "product/noun", category, {c[0]: c[1] for c in CATEGORIES}
            ),
            "_cents": whole * 100 + 99,
            "_u_cat_null": rng.uniform("product/category_null", n),
        }
    )
    # A multiplicative scramble of the id: unique for up to 100,003 products, not the id itself.
    sku_number = (pl.col("id") * 7919 % 100_003).cast(pl.String).str.zfill(6)
    return df.select(
        "id",
        pl.concat_str(
            pl.col("_cat").str.slice(0, 3).str.to_uppercase(), pl.lit("-"), sku_number
        ).alias("sku"),
        pl.concat_str(
            pl.col("_adj"),
            pl.lit(" "),
            pl.col("_noun"),
            pl.lit(" ("),
            pl.col("_colour"),
            pl.lit(")"),
        ).alias("name"),
        pl.when(pl.col("_u_cat_null") < 0.03)
        .then(None)
        .otherwise(pl.col("_cat"))
        .alias("category"),
        _money(pl.col("_cents"), 10).alias("price"),
        "_cents",
    )


def _orders(rng: Rng, customers: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    per_customer = addresses.group_by("customer_id").agg(
        pl.col("id").min().alias("_first_addr"), pl.len().alias("_n_addr")
    )
    base = customers.select(pl.col("id").alias("customer_id"), "_created").join(
        per_customer, on="customer_id", how="left"
    )
    base = base.sort("customer_id")
    counts = rng.weighted("order/count", base.height, (18, 24, 18, 13, 10, 7, 5, 3, 2))
    df = _explode_counts(base, counts, "_k")
    n = df.height
    end = _epoch_seconds(EPOCH_END)
    # Orders cluster towards the recent end of each customer's lifetime: u ** 0.6 leans to 1.
    u_time = rng.uniform("order/time", n) ** 0.6
    df = df.with_columns(
        (pl.col("_created") + (u_time * (end - pl.col("_created"))).floor().cast(pl.Int64)).alias(
            "_ordered"
        ),
        (pl.col("_first_addr") + rng.below("order/address", n, df["_n_addr"])).alias("_addr"),
        rng.choice("order/status", n, ORDER_STATUSES, ORDER_STATUS_WEIGHTS).alias("status"),
        rng.uniform("order/address_null", n).alias("_u_addr_null"),
    )
    # Ids follow time, as a serial column's would.
    df = df.sort("_ordered", "customer_id", "_k").with_columns(
        pl.int_range(1, n + 1, dtype=pl.Int64).alias("id")
    )
    return df.select(
        "id",
        "customer_id",
        # Digital goods and click-and-collect orders have no shipping address.
        pl.when(pl.col("_u_addr_null") < 0.04)
        .then(None)
        .otherwise(pl.col("_addr"))
        .alias("shipping_address_id"),
        "status",
        _timestamp(pl.col("_ordered")).alias("ordered_at"),
        "_ordered",
    )


def _order_items(rng: Rng, orders: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    counts = rng.weighted("item/count", orders.height, (45, 25, 15, 10, 5)) + 1
    df = _explode_counts(orders.select(pl.col("id").alias("order_id")), counts, "_k")
    n = df.height
    # Popular products have low ids: u ** 2 leans to 0.
    pick = (rng.uniform("item/product", n) ** 2 * products.height).floor().cast(pl.Int64)
    df = df.with_columns(
        (pl.col("_k") + 1).cast(pl.Int32).alias("line_no"),
        (pick + 1).alias("product_id"),
        (rng.weighted("item/quantity", n, (60, 25, 10, 3, 2)) + 1).cast(pl.Int32).alias("quantity"),
        rng.uniform("item/discount", n).alias("_u_discount"),
    )
    df = df.join(
        products.select(
            pl.col("id").alias("product_id"), pl.col("sku").alias("product_sku"), "_cents"
        ),
        on="product_id",
        how="left",
    ).sort("order_id", "line_no")
    cents = (
        pl.when(pl.col("_u_discount") < 0.15)
        .then((pl.col("_cents") * 9 + 5) // 10)  # 10 % off, rounded to the cent
        .otherwise(pl.col("_cents"))
    )
    return df.select(
        "order_id",
        "line_no",
        "product_id",
        "product_sku",
        "quantity",
        _money(cents, 10).alias("unit_price"),
        (cents * pl.col("quantity")).alias("_line_cents"),
    )


def _iban(rng: Rng, stream: str, countries: pl.Series) -> pl.Series:
    """Checksum-valid IBANs (ISO 13616 mod 97) for countries that have a BBAN pattern."""
    bban_pattern = {c.code: c.iban_bban for c in COUNTRIES if c.iban_bban}
    bban = rng.fill(stream, countries.replace_strict(bban_pattern))
    # Check digits: move "CC00" behind the BBAN, letters become 10..35, then 98 - (n mod 97).
    letters = [chr(ord("A") + i) for i in range(26)]
    digits = [str(10 + i) for i in range(26)]
    rearranged = (
        pl.concat_str(pl.lit(bban), pl.lit(countries), pl.lit("00"))
        .str.replace_many(letters, digits)
        .str.zfill(36)
    )
    remainder = pl.lit(0, dtype=pl.Int64)
    for start in range(0, 36, 9):  # 97 * 10**9 still fits in an Int64
        chunk = rearranged.str.slice(start, 9).cast(pl.Int64)
        remainder = (remainder * 1_000_000_000 + chunk) % 97
    check = (98 - remainder).cast(pl.String).str.zfill(2)
    return pl.select(
        pl.concat_str(pl.lit(countries), check, pl.lit(bban)).alias(stream)
    ).to_series()


def _card_numbers(rng: Rng, stream: str, n: int) -> pl.Series:
    """Luhn-valid 16-digit Visa (4...) and Mastercard (51-55...) numbers."""
    visa = rng.uniform(f"{stream}/brand", n) < 0.6
    digits = [
        pl.when(visa).then(4).otherwise(5).alias("d0"),
        pl.when(visa)
        .then(rng.below(f"{stream}/1", n, 10))
        .otherwise(rng.below(f"{stream}/1", n, 5) + 1)
        .alias("d1"),
    ] + [rng.below(f"{stream}/{i}", n, 10).alias(f"d{i}") for i in range(2, 15)]
    frame = pl.select(*digits)
    # Luhn from the right: the check digit is position 1, so the 15 payload digits at even
    # 0-based indexes (positions 16, 14, ..., 2 from the right) are doubled.
    terms = []
    for i in range(15):
        d = pl.col(f"d{i}")
        terms.append(pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2) if i % 2 == 0 else d)
    check = (10 - pl.sum_horizontal(terms) % 10) % 10
    return frame.select(
        pl.concat_str(
            [*(pl.col(f"d{i}").cast(pl.String) for i in range(15)), check.cast(pl.String)]
        ).alias(stream)
    ).to_series()


def _payments(rng: Rng, orders: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    paid = (
        orders.filter(pl.col("status").is_in(PAID_STATUSES))
        .join(customers.select(pl.col("id").alias("customer_id"), "country_code"), on="customer_id")
        .sort("id")
    )
    # About 6 % of orders are paid in two parts (a gift card plus another method).
    parts = (rng.uniform("payment/split", paid.height) < 0.06).cast(pl.Int64) + 1
    df = _explode_counts(paid, parts, "_part").with_columns(pl.len().over("id").alias("_parts"))
    n = df.height
    sepa_countries = [c.code for c in COUNTRIES if c.iban_bban]
    drawn = rng.choice("payment/method", n, PAYMENT_METHODS, PAYMENT_METHOD_WEIGHTS)
    method = (
        pl.when((pl.col("_parts") == 2) & (pl.col("_part") == 0))
        .then(pl.lit("gift_card"))
        .when((drawn == "sepa_debit") & ~pl.col("country_code").is_in(sepa_countries))
        .then(pl.lit("card"))  # SEPA debit only exists where IBANs do
        .otherwise(drawn)
    )
    df = df.with_columns(
        method.alias("method"),
        pl.int_range(n).alias("_row"),
        rng.uniform("payment/tokenised", n).alias("_u_token"),
    )
    # Numbers are drawn only for the rows that keep one; tokenised cards keep none.
    cards = df.filter((pl.col("method") == "card") & (pl.col("_u_token") >= 0.05)).select("_row")
    cards = cards.with_columns(
        _card_numbers(rng, "payment/card", cards.height).alias("card_number")
    )
    sepa = df.filter(pl.col("method") == "sepa_debit").select("_row", "country_code")
    sepa = sepa.with_columns(_iban(rng, "payment/iban", sepa["country_code"]).alias("iban"))
    delay = (rng.uniform("payment/delay", n) ** 3 * 3 * 86400).floor().cast(pl.Int64) + 30
    df = (
        df.join(cards, on="_row", how="left")
        .join(sepa.drop("country_code"), on="_row", how="left")
        .with_columns((pl.col("_ordered") + delay + pl.col("_part") * 60).alias("_paid"))
    )
    # The gift card covers half, rounded down to the cent; the other part pays the rest.
    half = pl.col("_total_cents") // 2
    cents = (
        pl.when(pl.col("_parts") == 1)
        .then(pl.col("_total_cents"))
        .when(pl.col("_part") == 0)
        .then(half)
        .otherwise(pl.col("_total_cents") - half)
    )
    return df.sort("id", "_part").select(
        pl.int_range(1, n + 1, dtype=pl.Int64).alias("id"),
        pl.col("id").alias("order_id"),
        "method",
        "card_number",
        "iban",
        _money(cents, 12).alias("amount"),
        _timestamp(pl.col("_paid")).alias("paid_at"),
    )


def generate_shop(
    customers: int = 2000, seed: int = 7, products: int | None = None
) -> dict[str, pa.Table]:
    """Generate the shop's tables as Arrow tables, keyed by table name in dependency order.

    Deterministic: the same ``(customers, seed, products)`` give identical tables. ``products``
    defaults to a tenth of ``customers``, between 50 and 1,000. Raises ``RuntimeError`` if a key
    or foreign key does not hold (a bug in the generator, never expected).
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if products is None:
        products = max(50, min(1000, customers // 10))
    if not 1 <= products <= 100_000:
        raise ValueError("products must be between 1 and 100,000")
    rng = Rng(seed)

    countries = _countries()
    cust = _customers(rng, customers)
    addresses = _addresses(rng, cust)
    prods = _products(rng, products)
    orders = _orders(rng, cust, addresses)
    items = _order_items(rng, orders, prods)
    totals = items.group_by("order_id").agg(pl.col("_line_cents").sum().alias("_total_cents"))
    orders = orders.join(totals, left_on="id", right_on="order_id", how="left").sort("id")
    orders = orders.with_columns(pl.col("_total_cents").fill_null(0))
    payments = _payments(rng, orders, cust)
    orders = orders.with_columns(_money(pl.col("_total_cents"), 12).alias("total"))

    frames = {
        "countries": countries,
        "customers": cust,
        "addresses": addresses,
        "products": prods,
        "orders": orders,
        "order_items": items,
        "payments": payments,
    }
    tables = {}
    for spec in SCHEMA:
        frame = frames[spec.name].select([c.name for c in spec.columns])
        tables[spec.name] = frame.to_arrow().cast(spec.arrow_schema)
    check_integrity(tables)
    return tables


def check_integrity(tables: dict[str, pa.Table]) -> None:
    """Raise ``RuntimeError`` unless every PK/UNIQUE key is unique and every FK has a parent."""
    frames = {name: pl.from_arrow(table) for name, table in tables.items()}
    problems = []
    for spec in SCHEMA:
        frame = frames[spec.name]
        assert isinstance(frame, pl.DataFrame)
        for key in (spec.primary_key, *spec.unique):
            dupes = frame.select(key).drop_nulls().is_duplicated().sum()
            if dupes:
                problems.append(f"{spec.name}({', '.join(key)}): {dupes} duplicate rows")
        for fk in spec.foreign_keys:
            parent = frames[fk.ref_table]
            assert isinstance(parent, pl.DataFrame)
            orphans = (
                frame.select(fk.columns)
                .drop_nulls()
                .join(
                    parent.select(fk.ref_columns),
                    left_on=fk.columns,
                    right_on=fk.ref_columns,
                    how="anti",
                )
                .height
            )
            if orphans:
                problems.append(
                    f"{spec.name}({', '.join(fk.columns)}) -> {fk.ref_table}: {orphans} orphans"
                )
    if problems:
        raise RuntimeError("shop data breaks its own constraints: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _q(name: str) -> str:
    """Quote one of this module's own (constant, snake_case) identifiers."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def _names(columns: Sequence[str]) -> str:
    return ", ".join(_q(c) for c in columns)


def _column_defs(spec: TableSpec) -> list[str]:
    return [f"{_q(c.name)} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in spec.columns]


def _constraint_defs(spec: TableSpec) -> list[tuple[str, str]]:
    """(PostgreSQL-style name, definition) for the keys, then the foreign keys of ``spec``."""
    out = [(f"{spec.name}_pkey", f"PRIMARY KEY ({_names(spec.primary_key)})")]
    out += [(f"{spec.name}_{'_'.join(k)}_key", f"UNIQUE ({_names(k)})") for k in spec.unique]
    out += [
        (
            f"{spec.name}_{'_'.join(fk.columns)}_fkey",
            f"FOREIGN KEY ({_names(fk.columns)}) "
            f"REFERENCES {_q(fk.ref_table)} ({_names(fk.ref_columns)})",
        )
        for fk in spec.foreign_keys
    ]
    return out


def _referral_generations(customers: pa.Table) -> list[pa.Table]:
    """Split customers so that each part's referrers are all in earlier parts.

    DuckDB checks a self-referencing FK against the rows present before the statement, and
    cannot update a key column that other rows reference, so the rows go in by referral depth.
    """
    frame = pl.from_arrow(customers)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_row_index("_row")
    depth = frame.select("id", pl.lit(0, dtype=pl.Int64).alias("_depth"))
    refs = frame.select("id", "referred_by")
    while True:
        step = refs.join(
            depth.rename({"id": "referred_by", "_depth": "_parent"}), on="referred_by", how="left"
        ).select("id", (pl.col("_parent") + 1).fill_null(0).alias("_depth"))
        if step.sort("id").equals(depth.sort("id")):
            break
        depth = step
    frame = frame.join(depth, on="id").sort("_row")
    deepest = frame["_depth"].max() or 0
    assert isinstance(deepest, int)
    return [
        frame.filter(pl.col("_depth") == d).drop("_row", "_depth").to_arrow().cast(customers.schema)
        for d in range(deepest + 1)
    ]


def write_duckdb(tables: dict[str, pa.Table], path: str | os.PathLike[str]) -> Path:
    """Write ``tables`` to a new DuckDB file at ``path`` with all constraints declared.

    The file is built under a temporary name next to ``path`` and renamed into place, so an
    interrupted run never leaves a half-written database at ``path``.
    """
    import duckdb

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    leftovers = (tmp, tmp.with_name(tmp.name + ".wal"))
    for p in leftovers:
        p.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for spec in SCHEMA:
                defs = _column_defs(spec) + [d for _, d in _constraint_defs(spec)]
                con.execute(f"CREATE TABLE {_q(spec.name)} ({', '.join(defs)})")
            for spec in SCHEMA:
                table = tables[spec.name]
                parts = _referral_generations(table) if spec.name == "customers" else [table]
                for part in parts:
                    con.register("_shop_src", part)
                    con.execute(
                        f"INSERT INTO {_q(spec.name)} ({_names(part.column_names)}) "
                        f"SELECT {_names(part.column_names)} FROM _shop_src"
                    )
                    con.unregister("_shop_src")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for p in leftovers:
            p.unlink(missing_ok=True)
    return target


def load_postgres(tables: dict[str, pa.Table], url: str) -> None:
    """Load ``tables`` into the PostgreSQL database at ``url``, replacing any earlier shop tables.

    Tables are created bare, filled with ``COPY ... FROM STDIN (FORMAT csv)`` and only then given
    their keys and foreign keys (building indexes once is much faster than maintaining them row
    by row). Everything runs in one transaction: a failed load leaves the database as it was.
    """
    import psycopg
    import pyarrow.csv as pacsv

    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        for spec in reversed(SCHEMA):
            cur.execute(f"DROP TABLE IF EXISTS {_q(spec.name)} CASCADE")
        for spec in SCHEMA:
            cur.execute(f"CREATE TABLE {_q(spec.name)} ({', '.join(_column_defs(spec))})")
        for spec in SCHEMA:
            table = tables[spec.name]
            buf = io.BytesIO()
            # Arrow quotes every string and leaves NULL unquoted-empty: exactly what
            # PostgreSQL's CSV format reads as '' versus NULL.
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            copy_sql = (
                f"COPY {_q(spec.name)} ({_names(table.column_names)}) FROM STDIN (FORMAT csv)"
            )
            with cur.copy(copy_sql) as copy:
                view = buf.getbuffer()
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
                del view
        for kinds in (("PRIMARY", "UNIQUE"), ("FOREIGN",)):
            for spec in SCHEMA:
                for name, definition in _constraint_defs(spec):
                    if definition.startswith(kinds):
                        cur.execute(
                            f"ALTER TABLE {_q(spec.name)} ADD CONSTRAINT {_q(name)} {definition}"
                        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE " + ", ".join(_q(spec.name) for spec in SCHEMA))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        help="DuckDB file to write (default: prod.duckdb "
        "next to this script, unless --postgres is given)",
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL", help="also/instead load into PostgreSQL")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    out = args.out
    if out is None and args.postgres is None:
        out = Path(__file__).resolve().parent / "prod.duckdb"

    started = time.perf_counter()
    tables = generate_shop(customers=args.customers, seed=args.seed)
    generated = time.perf_counter()
    for name, table in tables.items():
        print(f"{name:<12} {table.num_rows:>10,} rows")
    print(f"generated in {generated - started:.2f}s (customers={args.customers}, seed={args.seed})")
    if out is not None:
        write_duckdb(tables, out)
        print(f"wrote {out} in {time.perf_counter() - generated:.2f}s")
    if args.postgres:
        loading = time.perf_counter()
        load_postgres(tables, args.postgres)
        # The URL may carry a password: say where only in terms the user already knows.
        print(f"loaded into PostgreSQL in {time.perf_counter() - loading:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
