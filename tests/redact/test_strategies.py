"""Redaction strategies: keyed consistency, uniqueness, format preservation, dictionary attack."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
import time

import polars as pl
import pytest

from sandboxer.errors import ConfigError, SandboxerError
from sandboxer.redact import prf
from sandboxer.redact.entities import Entity
from sandboxer.redact.fake_vocab import vocab
from sandboxer.redact.strategies import STRATEGIES, RedactionContext, apply

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def ctx(entity: Entity | None = None, key: bytes = KEY, **kw: object) -> RedactionContext:
    return RedactionContext(key=key, entity=entity, table="shop.customers", column="c", **kw)  # type: ignore[arg-type]


def make_emails(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    return [f"user{i}.{rnd.randrange(10**6)}@corp{i % 31}.example" for i in range(n)]


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
    return total % 10 == 0


def with_luhn(body: str) -> str:
    return next(body + str(c) for c in range(10) if luhn_ok(body + str(c)))


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def make_iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def pattern(value: str) -> str:
    return "".join("9" if c.isdigit() else "A" if c.isupper() else "a" if c.islower() else c
                   for c in value)  # fmt: skip


CASES = [
    ("hash", Entity.email, make_emails(2000)),
    ("fake", Entity.email, make_emails(2000)),
    ("fake", Entity.phone, [f"+49 30 {i:07d}" for i in range(2000)]),
    ("fake", Entity.credit_card, [with_luhn(f"4{i:014d}") for i in range(2000)]),
    (
        "format",
        Entity.national_id,
        [f"{100 + i % 800:03d}-{i % 97:02d}-{i:04d}" for i in range(2000)],
    ),
]


# --- determinism and keys ----------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "entity", "values"), CASES)
def test_deterministic_and_key_dependent(strategy: str, entity: Entity, values: list[str]) -> None:
    series = pl.Series("c", values)
    first = apply(strategy, series, ctx(entity))
    assert first.equals(apply(strategy, series, ctx(entity)))
    other = apply(strategy, series, ctx(entity, key=OTHER_KEY))
    # Every pseudonym changes with the key (these generators carry >= 30 bits per value).
    assert (first == other).sum() == 0
    assert (first == series).sum() == 0


def test_low_entropy_fakes_change_with_the_key_except_by_chance() -> None:
    series = pl.Series("c", [f"City {i}" for i in range(5000)])
    a = apply("fake", series, ctx(Entity.city))
    b = apply("fake", series, ctx(Entity.city, key=OTHER_KEY))
    # A city is one pick from ~1400 names: about 1/1400 coincide; unique=True adds 48 bits.
    assert (a == b).mean() < 5 / len(vocab("en_US").cities)  # type: ignore[operator]
    u = apply("fake", series, ctx(Entity.city, unique=True))
    assert (u == apply("fake", series, ctx(Entity.city, key=OTHER_KEY, unique=True))).sum() == 0


def test_deterministic_across_processes() -> None:
    script = """
import json, sys, polars as pl
from sandboxer.redact.strategies import RedactionContext, apply
from sandboxer.redact.entities import Entity
key = bytes(range(32))
out = {}
for strategy, entity, values in json.loads(sys.stdin.read()):
    c = RedactionContext(key=key, entity=Entity(entity) if entity else None)
    out[strategy + str(entity)] = apply(strategy, pl.Series("c", values), c).to_list()
print(json.dumps(out))
"""
    cases = [(s, e.value, v[:200]) for s, e, v in CASES] + [("hash", None, list(range(200)))]
    proc = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(cases), capture_output=True, text=True,
        check=True, env={**os.environ, "PYTHONHASHSEED": "123"},
    )  # fmt: skip
    remote = json.loads(proc.stdout)
    for strategy, entity, values in cases:
        local = apply(strategy, pl.Series("c", values), ctx(Entity(entity) if entity else None))
        assert remote[strategy + str(entity)] == local.to_list()


def test_entity_separates_domains() -> None:
    series = pl.Series("c", ["anna"] * 3)
    assert (
        apply("hash", series, ctx(Entity.email))[0]
        != apply("hash", series, ctx(Entity.username))[0]
    )


def test_short_key_is_refused() -> None:
    with pytest.raises(SandboxerError, match="at least 16 bytes"):
        RedactionContext(key=b"short", entity=None)


# Pseudonyms are forever: snapshots built before a change must keep joining with snapshots built
# after it. These outputs were recorded for KEY; a faster implementation must reproduce them.
PINNED: list[tuple[str, Entity | None, dict[str, object], list[object], list[object]]] = [
    ("hash", Entity.email, {}, ["anna@example.com", "Jörg Müller", "", None, "x"],
     ["f5d489ed699f1983", "d8259f02ba84c650", "", None, "3993916a40b8d7ef"]),
    ("hash", Entity.email, {"output": "int"}, ["anna@example.com", "Jörg Müller", "", None, "x"],
     [8856967443563646145, 7787514860199371560, 9069278270850260111, None, 2074409783638387703]),
    ("hash", None, {}, [1, -5, None, 2**40, 127], [9, -2, None, 2683257997985, 106]),
    ("fake", Entity.person_name, {}, ["Anna Schmidt", "12 Main St", "Bob"],
     ["Betty Weeks", "Jerome Hobbs", "Javier Valdez"]),
    ("fake", Entity.address, {}, ["Anna Schmidt", "12 Main St", "Bob"],
     ["134 Weiss Greens", "92 Duarte Vista", "61 Caldwell Route"]),
    ("fake", Entity.email, {}, ["Anna Schmidt", "12 Main St", "Bob"],
     ["patricia.huerta.2a44f1465ec3@example.net", "darrell.kaiser.61e1ea1cbcf1@example.com",
      "melvin.rangel.f5e082158bbc@example.com"]),
    ("fake", Entity.username, {}, ["Anna Schmidt", "12 Main St", "Bob"],
     ["alucero0818b0ed8465", "strevinoab4cca156ec2", "cklein3aa5c67a785a"]),
    ("fake", Entity.phone, {},
     ["+49 30 1234567", "(555) 123-4567", "0044 20 7946 0958", "030/123456-78", None, ""],
     ["+49 45 1626727", "(313) 610-0047", "0044 87 1813 1079", "066/182025-67", None, ""]),
    ("format", None, {}, ["+49 30 1234567", "25-989-741-2988"],
     ["+48 30 7747221", "70-476-001-0234"]),
    ("fake", Entity.credit_card, {}, ["4111 1111 1111 1111", "378282246310005"],
     ["4338 5546 4181 6013", "371406699753893"]),
    ("fake", Entity.iban, {}, ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
     ["DE04 4169 7366 0433 1051 03", "GB63OMEN81897683887318"]),
    ("format", Entity.national_id, {},
     ["AB-123-cd", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", "Straße 12b", "123-45-6789"],
     ["YE-373-cb", "ekmpdetmhorttxvtqpdlpfwwbt9816995233KBNHALJPNE", "Amlhßf 81s", "772-38-4788"]),
    # Short digit/letter runs (the keyed table below FF1's minimum) and a long mixed value.
    ("format", Entity.national_id, {},
     ["AB12", "1234", "ab1C", "zz-zz", "X1y2Z3a4B5c6D7e8F9g0H1i2"],
     ["DO81", "9093", "kn9L", "gg-or", "H1i9D3a2N7u6Z7s5I6b4B2q3"]),
    ("date_shift", None, {}, [dt.date(1990, 5, 17)], [dt.date(1990, 6, 10)]),
]  # fmt: skip


@pytest.mark.parametrize(("strategy", "entity", "params", "values", "expected"), PINNED)
def test_pseudonyms_never_change(
    strategy: str,
    entity: Entity | None,
    params: dict[str, object],
    values: list[object],
    expected: list[object],
) -> None:
    assert apply(strategy, pl.Series("c", values), ctx(entity), params).to_list() == expected


def test_repeated_values_are_hashed_like_distinct_ones() -> None:
    # Long enough for the hash-each-distinct-value-once path, whose join must keep row order.
    distinct = ["ACTIVE", "closed", None, ""]
    out = apply("hash", pl.Series("c", distinct * 10_000), ctx(Entity.credit_card))
    assert out.head(4).to_list() == ["17fff3fa517f867a", "af2239bc54fc0d9b", None, ""]
    assert (
        out.to_list()
        == apply("hash", pl.Series("c", distinct), ctx(Entity.credit_card)).to_list() * 10_000
    )
    words = prf.keyed_frame(pl.Series("c", distinct * 10_000), KEY, "fake/x", words=3, hex_chars=12)
    alone = prf.keyed_frame(pl.Series("c", distinct), KEY, "fake/x", words=3, hex_chars=12)
    assert words.equals(pl.concat([alone] * 10_000))


def test_keyed_words_never_change() -> None:
    values = pl.Series("c", ["anna@example.com", "Jörg Müller", "", None, "x"])
    words = prf.keyed_frame(values, KEY, "fake/x", words=3, hex_chars=12)
    assert words.rows() == [
        (2814183092118824502, 1474792956652813186, 12101782957077815485, "8ae8abfb34fd"),
        (5582135641160142128, 3357198398608315162, 3555314443180606222, "c2f835217182"),
        (9053698416483555928, 18059840585306551921, 16396900540586584129, "74fef8c15c7f"),
        (None, None, None, None),
        (7455691960993980931, 7844654079285124001, 2692457117769832489, "b99652c4d1c5"),
    ]
    assert prf.keyed_hex(values, KEY, "fake/x", 64)[0] == (
        "270dfc9cb2a72636147784615a89fb82a7f22b7b417fe0bd8ae8abfb34fdc836"
    )


# --- joins and uniqueness -----------------------------------------------------------------------


def test_int_primary_and_foreign_keys_map_alike_across_types() -> None:
    pk = pl.Series("id", [*range(1, 5001), 2**31 - 1, 10**9], dtype=pl.Int32)
    fk = pl.Series("customer_id", [random.Random(3).randrange(1, 5001) for _ in range(20000)],
                   dtype=pl.Int64)  # fmt: skip
    new_pk = apply("hash", pk, ctx(unique=True))
    new_fk = apply("hash", fk, ctx())
    assert new_pk.dtype == pl.Int32 and new_fk.dtype == pl.Int64
    mapping = dict(zip(pk.to_list(), new_pk.to_list(), strict=True))
    assert new_fk.to_list() == [mapping[v] for v in fk.to_list()]
    assert (new_pk > 0).all()  # positive ids stay positive (and in range)


def test_email_keys_join_whatever_the_unique_flag() -> None:
    emails = make_emails(3000)
    orders = pl.Series("c", [emails[i % 1000] for i in range(5000)])
    users = apply("fake", pl.Series("c", emails), ctx(Entity.email, unique=True))
    mapping = dict(zip(emails, users.to_list(), strict=True))
    assert apply("fake", orders, ctx(Entity.email)).to_list() == [mapping[e] for e in orders]


def test_one_million_integer_keys_stay_unique() -> None:
    ids = pl.Series("id", range(1, 1_000_001), dtype=pl.Int64)
    out = apply("hash", ids, ctx(unique=True))
    assert out.n_unique() == 1_000_000
    assert ((out >= 1) & (out <= 9_999_999)).all()  # decimal digit count kept
    rnd = random.Random(5)
    big = pl.Series("id", [rnd.randrange(-(2**63), 2**63) for _ in range(100_000)], pl.Int64)
    assert apply("hash", big, ctx(unique=True)).n_unique() == big.n_unique()


def test_unique_emails_national_ids_and_cards() -> None:
    n = 200_000
    emails = pl.Series("c", make_emails(n))
    assert apply("fake", emails, ctx(Entity.email, unique=True)).n_unique() == n
    ids = pl.Series(
        "c", [f"{i // 10000:03d}-{(i // 100) % 100:02d}-{i % 10000:04d}" for i in range(n)]
    )
    assert apply("format", ids, ctx(Entity.national_id, unique=True)).n_unique() == n
    assert apply("fake", ids, ctx(Entity.national_id, unique=True)).n_unique() == n
    cards = pl.Series("c", [with_luhn(f"5{i:014d}") for i in range(n)])
    assert apply("fake", cards, ctx(Entity.credit_card, unique=True)).n_unique() == n


def test_unique_failure_is_reported_without_values() -> None:
    # 32-bit hex on 300k values: about ten birthday collisions, which a key column cannot take.
    values = pl.Series("c", [f"value-{i}" for i in range(300_000)])
    with pytest.raises(SandboxerError, match=r"`shop.customers.c`.*distinct values became") as info:
        apply("hash", values, ctx(unique=True), {"output": "hex", "length": 8})
    assert "value-" not in str(info.value)


def test_vocabulary_fakes_with_unique_add_entropy() -> None:
    names = pl.Series("c", [f"Person {i}" for i in range(50_000)])
    assert apply("fake", names, ctx(Entity.person_name)).n_unique() < 50_000
    assert apply("fake", names, ctx(Entity.person_name, unique=True)).n_unique() == 50_000


# --- format preservation and validity ----------------------------------------------------------


def test_format_preserves_pattern() -> None:
    values = ["123-45-6789", "AB 12 cd/9", "x", "Zürich 8001", "+1 (555) 010-0199",
              "A" * 30 + "-" + "7" * 25, ""]  # fmt: skip
    out = apply("format", pl.Series("c", [*values, None]), ctx(Entity.national_id)).to_list()
    assert out[-1] is None
    for before, after in zip(values, out, strict=False):
        assert after is not None and pattern(after) == pattern(before)
        assert len(after) == len(before)
    assert out[1] != values[1] and out[5] != values[5]


def test_format_of_long_values_diffuses() -> None:
    # FF1 encrypts the whole numeral string (one Feistel network, not windows): a change at the
    # end must change the start too. 40 digits is also the multi-limb path (over 2 chunks a half).
    a, b = "1" * 40, "1" * 39 + "2"
    out = apply("format", pl.Series("c", [a, b]), ctx()).to_list()
    assert out[0][:10] != out[1][:10]


def test_fake_cards_and_ibans_are_valid() -> None:
    cards = [with_luhn(f"4{i:014d}") for i in range(1000)] + ["5500 0055 5555 5559"]
    out = apply("fake", pl.Series("c", cards), ctx(Entity.credit_card)).to_list()
    assert all(luhn_ok(c) for c in out)
    assert all(o[0] == c[0] and pattern(o) == pattern(c) for o, c in zip(out, cards, strict=True))
    ibans = [make_iban("DE", f"{i:018d}") for i in range(1000)] + ["GB82WEST12345698765432"]
    assert all(iban_ok(i) for i in ibans)
    out = apply("fake", pl.Series("c", ibans), ctx(Entity.iban)).to_list()
    assert all(iban_ok(i) for i in out)
    assert all(o[:2] == i[:2] and o != i for o, i in zip(out, ibans, strict=True))


def test_fake_phones_keep_country_code_and_layout() -> None:
    phones = ["+49 30 1234567", "+1 (555) 010-0199", "0044 20 7946 0958", "030 1234567"]
    out = apply("fake", pl.Series("c", phones), ctx(Entity.phone)).to_list()
    assert [o[:3] for o in out[:2]] == ["+49", "+1 "] and out[2][:4] == "0044"
    assert out[3][0] == "0"
    assert all(pattern(o) == pattern(p) and o != p for o, p in zip(out, phones, strict=True))


def test_fake_locales() -> None:
    out = apply("fake", pl.Series("c", ["Anna Meyer"]), ctx(Entity.person_name, locale="de_DE"))
    first, last = out[0].split(" ")
    assert first in vocab("de_DE").first_names and last in vocab("de_DE").last_names
    with pytest.raises(ConfigError, match="Unknown fake locale"):
        apply("fake", pl.Series("c", ["x"]), ctx(Entity.city, locale="de_XX"))


# --- dictionary attack, nulls ------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "entity", "values"), CASES)
def test_no_unkeyed_digest_in_outputs(strategy: str, entity: Entity, values: list[str]) -> None:
    out = apply(strategy, pl.Series("c", values), ctx(entity)).to_list()
    algos = ("md5", "sha1", "sha256")
    digests = {getattr(hashlib, a)(v.encode()).hexdigest() for v in values for a in algos}
    for o in out:
        assert o not in digests
        assert not any(o in d or d in o for d in digests if len(o) >= 8)


def test_nulls_and_empty_strings_are_kept() -> None:
    s = pl.Series("c", ["a@b.example", None, ""])
    for name, entity, params in [("hash", Entity.email, None), ("fake", Entity.email, None),
                                 ("format", Entity.postcode, None), ("mask", None, None),
                                 ("expr", None, {"sql": "upper(value)"})]:  # fmt: skip
        out = apply(name, s, ctx(entity), params)
        assert out[1] is None and out[2] == "", name
    ints = pl.Series("c", [5, None, 7])
    assert apply("hash", ints, ctx())[1] is None
    dates = pl.Series("c", [dt.date(2000, 1, 1), None])
    assert apply("date_shift", dates, ctx())[1] is None


# --- other strategies --------------------------------------------------------------------------


def test_mask() -> None:
    out = apply("mask", pl.Series("c", ["4111-1111-1111-1234", "Müller", "ab"]), ctx())
    assert out.to_list() == ["****-****-****-1234", "**ller", "ab"]
    out = apply("mask", pl.Series("c", ["Anna Meyer"]), ctx(), {"keep_first": 1, "keep_last": 0})
    assert out.to_list() == ["A*** *****"]


def test_date_shift_bounds_and_groups() -> None:
    n = 5000
    base = [dt.date(2000, 1, 1) + dt.timedelta(days=i % 365) for i in range(n)]
    groups = pl.Series("customer_id", [i % 50 for i in range(n)])
    dates = pl.Series("c", base)
    out = apply("date_shift", dates, ctx(Entity.birth_date), {"days": 10, "by": groups})
    delta = (out - dates).dt.total_days()
    assert delta.abs().max() <= 10 and (delta != 0).all()  # type: ignore[operator]
    per_group = pl.DataFrame({"g": groups, "d": delta}).group_by("g").agg(pl.col("d").n_unique())
    assert (per_group["d"] == 1).all()
    assert pl.DataFrame({"g": groups, "d": delta})["d"].n_unique() > 5
    stamps = pl.Series("c", [dt.datetime(2020, 5, 1, 12, 30)])
    moved = apply("date_shift", stamps, ctx())
    assert moved.dtype == stamps.dtype and moved[0].time() == dt.time(12, 30)


def test_generalize_and_noise() -> None:
    dates = pl.Series("c", [dt.date(1984, 7, 14)])
    assert apply("generalize", dates, ctx())[0] == dt.date(1984, 1, 1)
    assert apply("generalize", dates, ctx(), {"to": "month"})[0] == dt.date(1984, 7, 1)
    assert apply("generalize", pl.Series("c", ["90210"]), ctx(), {"prefix": 3})[0] == "902"
    assert apply("generalize", pl.Series("c", [17, 25]), ctx(), {"width": 10}).to_list() == [10, 20]
    values = pl.Series("c", [float(i) for i in range(1, 1001)])
    noisy = apply("noise", values, ctx(), {"relative": 0.05})
    assert ((noisy / values - 1).abs() <= 0.05).all()
    assert noisy.equals(apply("noise", values, ctx(), {"relative": 0.05}))
    assert (noisy != values).all()


def test_expr_hook() -> None:
    out = apply(
        "expr", pl.Series("c", ["anna", None]), ctx(), {"sql": "upper(left(value, 1)) || '***'"}
    )
    assert out.to_list() == ["A***", None]
    for sql, words in [
        ("(SELECT secret FROM users)", "scalar expression"),
        ("value || other_column", "only reference `value`"),
        ("t.value", "only reference `value`"),
        ("1; DROP TABLE users", "scalar expression"),
        ("value ||", "not a SQL expression"),
    ]:
        with pytest.raises(ConfigError, match=words) as info:
            apply("expr", pl.Series("c", ["x"]), ctx(), {"sql": sql})
        assert "shop.customers.c" in str(info.value)


def test_expr_errors_do_not_quote_values() -> None:
    with pytest.raises(SandboxerError) as info:
        apply("expr", pl.Series("c", ["secret-value-123"]), ctx(), {"sql": "value::INTEGER"})
    assert "secret-value-123" not in str(info.value)


def test_json_paths() -> None:
    docs = pl.Series("c", [
        json.dumps({"contact": {"email": "anna@x.example", "n": 5},
                    "items": [{"email": "bob@y.example"}, {"email": "eve@z.example"}]}),
        None,
        "{}",
    ])  # fmt: skip
    params = {"paths": {"$.contact.email": {"strategy": "fake", "entity": "email"},
                        "$.items[*].email": {"strategy": "fake", "entity": "email"}}}  # fmt: skip
    out = apply("json", docs, ctx(), params).to_list()
    doc = json.loads(out[0])
    assert out[1] is None and out[2] == "{}" and doc["contact"]["n"] == 5
    column = apply("fake", pl.Series("c", ["anna@x.example", "bob@y.example"]), ctx(Entity.email))
    assert doc["contact"]["email"] == column[0] and doc["items"][0]["email"] == column[1]
    assert "anna@x.example" not in out[0] and "eve@z.example" not in out[0]
    nulled = json.loads(apply("json", docs, ctx(), {"paths": {"$.contact.email": "null"}})[0])
    assert nulled["contact"]["email"] is None
    with pytest.raises(SandboxerError, match="not strings"):
        apply("json", docs, ctx(), {"paths": {"$.items": "hash"}})  # an array, not a leaf
    with pytest.raises(SandboxerError, match="not valid JSON"):
        apply("json", pl.Series("c", ["{oops"]), ctx(), {"paths": {"$.a": "null"}})
    with pytest.raises(ConfigError, match="leaf strategy `fak`"):
        apply("json", docs, ctx(), {"paths": {"$.a": "fak"}})


def test_scrub_text_uses_the_detectors() -> None:
    notes = pl.Series("c", ["write to anna@x.example about Meyerhof", None])
    out = apply("scrub_text", notes, ctx(extra_literals=("Meyerhof",))).to_list()
    assert out[1] is None and "anna@x.example" not in out[0] and "Meyerhof" not in out[0]


def test_params_are_validated_with_the_column_named() -> None:
    s = pl.Series("c", ["x"])
    with pytest.raises(ConfigError, match=r"'keep_lst'.*shop.customers.c") as info:
        apply("mask", s, ctx(), {"keep_lst": 2})
    assert "keep_last" in str(info.value)  # did you mean
    with pytest.raises(ConfigError, match=r"'keep_last'.*`mask`.*shop.customers.c"):
        apply("mask", s, ctx(), {"keep_last": -1})
    with pytest.raises(ConfigError, match="'output'"):
        apply("hash", s, ctx(), {"output": "base64"})
    with pytest.raises(ConfigError, match="Did you mean `hash`"):
        apply("hsh", s, ctx())
    with pytest.raises(SandboxerError, match="no generator for entity `birth_date`"):
        apply("fake", s, ctx(Entity.birth_date))
    with pytest.raises(SandboxerError, match="drop"):
        apply("drop", s, ctx())
    assert STRATEGIES["drop"].drops_column


# --- throughput ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_print_single_core_throughput(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates for `make bench`-style reading (-s); not a timed assertion."""
    monkeypatch.setattr(prf, "THREADS", 1)
    n = 1_000_000
    script_threads = os.environ.get("POLARS_MAX_THREADS")
    emails = pl.Series("c", make_emails(n))
    ids = [f"{i % 900 + 100}-{i % 97:02d}-{i % 9999:04d}" for i in range(n)]
    cases = [
        ("hash hex (email)", "hash", emails, Entity.email),
        ("hash int (Int64 key)", "hash", pl.Series("c", range(1, n + 1)), None),
        ("fake email", "fake", emails, Entity.email),
        ("fake person_name", "fake", pl.Series("c", ids), Entity.person_name),
        ("fake phone", "fake", pl.Series("c", [f"+49 30 {i:07d}" for i in range(n)]), Entity.phone),
        ("format national_id", "format", pl.Series("c", ids), Entity.national_id),
    ]  # fmt: skip
    print(f"\nPOLARS_MAX_THREADS={script_threads}, DuckDB threads=1, {n} values")
    for label, strategy, series, entity in cases:
        started = time.perf_counter()
        apply(strategy, series, ctx(entity))
        rate = n / (time.perf_counter() - started)
        print(f"  {label:24s} {rate / 1e6:5.2f} M values/s")
