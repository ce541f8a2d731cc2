"""PII detection: column names, values, free-text spans, JSON leaves, and the scrub expression."""

from __future__ import annotations

import json
import time

import polars as pl
import pytest
from faker import Faker

from sandboxer.redact.detect import (
    Finding,
    detect_column,
    detect_frame,
    find_spans,
    json_leaf_findings,
    scrub_expr,
)
from sandboxer.redact.detect.names import match_name, tokenize
from sandboxer.redact.entities import Entity

N = 300  # sampled values per generated column


def fake(locale: str = "en_US", seed: int = 7) -> Faker:
    f = Faker(locale)
    f.seed_instance(seed)
    return f


def column(make: object, n: int = N) -> pl.Series:
    assert callable(make)
    return pl.Series([str(make()) for _ in range(n)])


def entities(findings: list[Finding]) -> list[Entity]:
    return [f.entity for f in findings]


def top(name: str, values: pl.Series, **kwargs: object) -> Finding | None:
    found = detect_column(name, values, **kwargs)  # type: ignore[arg-type]
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# By name
# --------------------------------------------------------------------------------------------


def test_tokenize_splits_case_separators_and_accents() -> None:
    assert tokenize("customerEmailAddress") == ["customer", "email", "address"]
    assert tokenize("E-Mail") == ["e", "mail"]
    assert tokenize("Straße") == ["strasse"]
    assert tokenize("prénom client") == ["prenom", "client"]
    assert tokenize("address2") == ["address", "2"]
    assert tokenize("IPAddress") == ["ip", "address"]


@pytest.mark.parametrize(
    ("name", "kind", "entity"),
    [
        ("email", "string", Entity.email),
        ("E-Mail", "string", Entity.email),
        ("correo", "string", Entity.email),
        ("courriel", "string", Entity.email),
        ("customerEmail", "string", Entity.email),
        ("email_address", "string", Entity.email),
        ("phone", "string", Entity.phone),
        ("telefono", "string", Entity.phone),
        ("Handy", "string", Entity.phone),
        ("mobile_number", "string", Entity.phone),
        ("phone_num", "integer", Entity.phone),
        ("first_name", "string", Entity.first_name),
        ("firstName", "string", Entity.first_name),
        ("Vorname", "string", Entity.first_name),
        ("prénom", "string", Entity.first_name),
        ("nombre", "string", Entity.first_name),
        ("surname", "string", Entity.last_name),
        ("Nachname", "string", Entity.last_name),
        ("apellido", "string", Entity.last_name),
        ("nom", "string", Entity.last_name),
        ("customer_name", "string", Entity.person_name),
        ("full_name", "string", Entity.person_name),
        ("address_line_1", "string", Entity.address),
        ("street", "string", Entity.street),
        ("Strasse", "string", Entity.street),
        ("rue", "string", Entity.street),
        ("calle", "string", Entity.street),
        ("city", "string", Entity.city),
        ("ville", "string", Entity.city),
        ("zip_code", "string", Entity.postcode),
        ("zipCode", "integer", Entity.postcode),
        ("PLZ", "string", Entity.postcode),
        ("dob", "temporal", Entity.birth_date),
        ("date_of_birth", "temporal", Entity.birth_date),
        ("Geburtsdatum", "temporal", Entity.birth_date),
        ("birth_date", "string", Entity.birth_date),
        ("ssn", "string", Entity.national_id),
        ("national_id", "string", Entity.national_id),
        ("passport_number", "string", Entity.national_id),
        ("steuer_id", "string", Entity.national_id),
        ("DNI", "string", Entity.national_id),
        ("iban", "string", Entity.iban),
        ("routing_number", "string", Entity.account_number),
        ("card_number", "string", Entity.credit_card),
        ("cc", "string", Entity.credit_card),
        ("ip", "string", Entity.ip_address),
        ("ip_address", "string", Entity.ip_address),
        ("remote_addr", "string", Entity.ip_address),
        ("username", "string", Entity.username),
        ("login", "string", Entity.username),
        ("password_hash", "string", Entity.secret),
        ("api_key", "string", Entity.secret),
        ("lat", "float", Entity.geo),
        ("longitude", "float", Entity.geo),
        ("employer", "string", Entity.company),
        ("c_phone", "string", Entity.phone),  # TPC-H style table prefix
    ],
)
def test_name_rules_find_pii_names(name: str, kind: str, entity: Entity) -> None:
    match = match_name(name, kind)
    assert match is not None, name
    assert match.entity is entity


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("description", "string"),  # contains "ip" as a substring only
        ("shipping_method", "string"),  # contains "ip"
        ("shipping", "string"),
        ("zipper_size", "string"),
        ("shipping_address_id", "integer"),  # a foreign key, not an address
        ("email_verified", "string"),
        ("is_email_verified", "boolean"),
        ("email_sent_at", "temporal"),
        ("num_phones", "integer"),
        ("created_at", "temporal"),
        ("ordered_at", "temporal"),
        ("last_login", "temporal"),
        ("status", "string"),
        ("product_name", "string"),
        ("long_description", "string"),
        ("gift_card", "string"),
        ("card_type", "string"),
        ("ContactTitle", "string"),  # Northwind: "Sales Representative", not a person
        ("customer_role", "string"),
        ("sku", "string"),
        ("country_code", "string"),
        ("c7", "string"),
        ("ref_code", "string"),
    ],
)
def test_name_rules_ignore_lookalikes(name: str, kind: str) -> None:
    assert match_name(name, kind) is None


def test_bare_name_is_ambiguous_unless_people_table() -> None:
    plain = match_name("name", "string")
    people = match_name("name", "string", context="customers")
    assert plain is not None and people is not None
    assert plain.confidence < 0.6 <= people.confidence


def test_name_alone_is_reported_without_values() -> None:
    found = detect_column("email", pl.Series([None, None], dtype=pl.String))
    assert entities(found) == [Entity.email]
    assert found[0].source == "name"


# --------------------------------------------------------------------------------------------
# By value (misleading names: c7, ref_code)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "method", "entity"),
    [
        ("en_US", "email", Entity.email),
        ("de_DE", "email", Entity.email),
        ("en_US", "credit_card_number", Entity.credit_card),
        ("de_DE", "iban", Entity.iban),
        ("fr_FR", "iban", Entity.iban),
        ("en_GB", "iban", Entity.iban),
        ("en_US", "ssn", Entity.national_id),
        ("es_ES", "ssn", Entity.national_id),  # DNI with check letter
        ("it_IT", "ssn", Entity.national_id),  # codice fiscale
        ("pt_BR", "ssn", Entity.national_id),  # CPF check digits
        ("en_US", "ipv4", Entity.ip_address),
        ("en_US", "ipv6", Entity.ip_address),
        ("en_US", "phone_number", Entity.phone),
        ("fr_FR", "phone_number", Entity.phone),
        ("es_ES", "phone_number", Entity.phone),
        ("en_US", "name", Entity.person_name),
        ("fr_FR", "name", Entity.person_name),
        ("es_ES", "name", Entity.person_name),
        ("en_US", "first_name", Entity.first_name),
        ("de_DE", "first_name", Entity.first_name),
        ("it_IT", "last_name", Entity.last_name),
        ("nl_NL", "last_name", Entity.last_name),
        ("en_US", "street_address", Entity.address),
        ("de_DE", "street_address", Entity.address),
        ("fr_FR", "street_address", Entity.address),
        ("es_ES", "street_address", Entity.address),
        ("it_IT", "street_address", Entity.address),
    ],
)
def test_values_found_under_meaningless_names(locale: str, method: str, entity: Entity) -> None:
    values = column(getattr(fake(locale), method))
    finding = top("c7", values)
    assert finding is not None, (locale, method)
    assert finding.entity is entity
    assert finding.source == "value"
    assert finding.evidence["non_null"] == N


def test_ssn_in_ref_code_and_planted_canaries() -> None:
    ssns = column(fake().ssn)
    finding = top("ref_code", ssns)
    assert finding is not None and finding.entity is Entity.national_id
    assert finding.evidence["value_rule"] == "national_id_format"


def test_international_phones_formats() -> None:
    formats = (
        "+44 20 7946 {:04d}",
        "+49-30-1234-{:04d}",
        "+3312345{:04d}",
        "0033 1 23 45 {:04d}",
        "+1 (212) 555-{:04d}",
        "001-212-555-{:04d}",
    )
    phones = pl.Series([fmt.format(i) for i in range(20) for fmt in formats])
    finding = top("c3", phones)
    assert finding is not None and finding.entity is Entity.phone


def test_cards_stored_as_integers() -> None:
    f = fake()
    cards = pl.Series([int(f.credit_card_number(card_type="visa16")) for _ in range(N)])
    finding = top("c2", cards)
    assert finding is not None and finding.entity is Entity.credit_card


def test_name_and_values_combine() -> None:
    f = fake()
    emails = column(f.email)
    named = top("email", emails)
    unnamed = top("c1", emails)
    assert named is not None and unnamed is not None
    assert named.confidence >= unnamed.confidence
    assert named.evidence["name_rule"] == "email"
    assert named.evidence["matched"] == N


def test_bare_name_column_confirmed_by_person_names() -> None:
    people = column(fake().name)
    finding = top("name", people)
    assert finding is not None and finding.entity is Entity.person_name
    products = pl.Series([f"Classic {w} ({c})" for w in ("Mouse", "Lamp") for c in "ABC"] * 20)
    assert detect_column("name", products) == []


def test_multilingual_named_columns_with_values() -> None:
    frame = pl.DataFrame(
        {
            "Vorname": column(fake("de_DE").first_name),
            "apellido": column(fake("es_ES").last_name),
            "prénom": column(fake("fr_FR").first_name),
            "correo": column(fake("es_ES").email),
            "Straße": column(fake("de_DE").street_address),
        }
    )
    found = detect_frame(frame)
    assert found["Vorname"][0].entity is Entity.first_name
    assert found["apellido"][0].entity is Entity.last_name
    assert found["prénom"][0].entity is Entity.first_name
    assert found["correo"][0].entity is Entity.email
    assert found["Straße"][0].entity is Entity.street
    assert all(fs[0].confidence > 0.9 for fs in found.values())


def test_birth_dates_need_a_name() -> None:
    f = fake()
    births = pl.Series([f.date_of_birth(minimum_age=18, maximum_age=90) for _ in range(N)])
    assert entities(detect_column("dob", births)) == [Entity.birth_date]
    # Old dates alone are only a hint (could be a founding date): below the default threshold.
    assert detect_column("c4", births) == []
    assert entities(detect_column("c4", births, threshold=0.4)) == [Entity.birth_date]
    # Recent timestamps are never birth dates, even when low thresholds are asked for.
    orders = pl.Series([f.date_time_between("-3y", "now") for _ in range(N)])
    assert detect_column("ordered_at", orders, threshold=0.1) == []


def test_true_negatives() -> None:
    f = fake()
    frame = pl.DataFrame(
        {
            "status": pl.Series(["delivered", "shipped", "paid", "pending", "cancelled"] * 60),
            "status_code": pl.Series(["A1", "B2", "C3"] * 100),
            "amount": pl.Series([round(f.pyfloat(2, 2, positive=True), 2) for _ in range(N)]),
            "amount_text": pl.Series([f"{f.pyfloat(3, 2, positive=True):.2f}" for _ in range(N)]),
            "product": pl.Series(
                [f"{f.color_name()} {f.word().title()} Lamp" for _ in range(N)], dtype=pl.String
            ),
            "description": pl.Series([f.sentence(nb_words=12) for _ in range(N)]),
            "shipping_method": pl.Series(["standard", "express", "pickup"] * 100),
            "uuid": pl.Series([f.uuid4() for _ in range(N)]),
            "sku": pl.Series(
                [f"{f.lexify('???').upper()}-{f.numerify('######')}" for _ in range(N)]
            ),
            "ordered_at": pl.Series([f.date_time_between("-5y", "now") for _ in range(N)]),
            "quantity": pl.Series([f.random_int(1, 9) for _ in range(N)]),
            "order_id": pl.Series(range(10_000, 10_000 + N)),
            "is_active": pl.Series([True, False] * 150),
            "country": pl.Series([f.country() for _ in range(N)]),
            "version": pl.Series([f"{f.random_int(1, 9)}.{f.random_int(0, 20)}" for _ in range(N)]),
        }
    )
    found = detect_frame(frame)
    assert {c: fs for c, fs in found.items() if fs} == {}


def test_low_cardinality_values_are_not_pii_by_value() -> None:
    # Three email-looking constants repeated: a lookup value (e.g. a support address).
    constants = pl.Series(["support@example.com", "sales@example.com", "info@example.com"] * 50)
    assert detect_column("c1", constants) == []


def test_list_columns_are_scanned_element_wise() -> None:
    f = fake()
    lists = pl.Series([[f.email(), f.email()] for _ in range(50)])
    finding = top("c5", lists)
    assert finding is not None and finding.entity is Entity.email
    assert finding.evidence["element_of"] == "list"


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


def test_free_text_spans_counted_per_entity() -> None:
    f = fake()
    notes = [f.sentence(nb_words=10) for _ in range(200)]
    for i in range(0, 200, 10):
        notes[i] = f"Please call {f.email()} tomorrow, {notes[i]}"
    for i in range(5, 200, 20):
        notes[i] = f"Called from +44 20 7946 {i:04d} about order {i}."
    finding = top("notes", pl.Series(notes))
    assert finding is not None
    assert finding.entity is Entity.free_text
    assert finding.source == "text"
    assert finding.suggested_strategy == "scrub_text"
    assert finding.evidence["email"] == 20
    assert finding.evidence["phone"] == 10
    assert finding.evidence["rows_with_spans"] == 30


def test_short_wordy_text_is_scanned_too() -> None:
    f = fake()
    comments = [
        f"Follow up with {f.email()}" if i % 4 == 0 else "Standard shipping" for i in range(200)
    ]
    finding = top("comment", pl.Series(comments))
    assert finding is not None and finding.entity is Entity.free_text
    assert finding.evidence["email"] == 50


def test_free_text_without_pii_is_not_reported() -> None:
    f = fake()
    assert detect_column("comment", pl.Series([f.paragraph() for _ in range(200)])) == []


def test_free_text_min_fraction_is_configurable() -> None:
    f = fake()
    notes = [f.sentence(nb_words=10) for _ in range(400)]
    notes[0] = f"mail me at {f.email()}"  # 0.25 % of rows
    assert detect_column("notes", pl.Series(notes)) == []
    lowered = detect_column("notes", pl.Series(notes), text_min_fraction=0.001)
    assert entities(lowered) == [Entity.free_text]


def test_find_spans_counts_each_entity_per_row() -> None:
    texts = pl.Series(
        [
            "mail a@b.io and c.d@e.org, call +49 30 1234 5678",
            "card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00",
            "ssn 123-45-6789 from 10.0.0.12 and 2001:db8::7",
            "Dear Anna Schmidt, Mr. Bean says hi",
            "order 4111111111111112 (not Luhn), version 2.0, at 2024-01-15 10:30",
            None,
        ]
    )
    spans = find_spans(texts)
    assert spans.height == texts.len()
    rows = spans.to_dicts()
    assert rows[0]["email"] == 2 and rows[0]["phone"] == 1
    assert rows[1]["credit_card"] == 1 and rows[1]["iban"] == 1
    assert rows[2]["national_id"] == 1 and rows[2]["ip_address"] == 2
    assert rows[3]["person_name"] == 2
    assert sum(rows[4].values()) == 0
    assert sum(rows[5].values()) == 0


def test_rows_without_spans_do_not_change_how_others_are_read() -> None:
    # The rules run only on rows where some pattern matches: a batch must read like its rows.
    texts = pl.Series(
        [
            "furiously regular deposits",
            "mail a@b.io, card 4111 1111 1111 1111",
            None,
            "order 4111111111111112 (not Luhn)",
            "",
            "Dear Anna Schmidt, call +49 30 1234 5678",
            "\x00 nul and \x01 marker bytes",
        ]
    )
    batch = find_spans(texts)
    scrubbed = pl.DataFrame({"t": texts}).select(scrub_expr("t", extra_literals=["regular"]))["t"]
    for i in range(texts.len()):
        one = texts.slice(i, 1)
        assert batch.row(i) == find_spans(one).row(0)
        alone = pl.DataFrame({"t": one}).select(scrub_expr("t", extra_literals=["regular"]))
        assert scrubbed[i] == alone["t"][0]
    assert scrubbed[0] == "furiously [REDACTED] deposits"
    assert scrubbed[1] == "mail [EMAIL], card [CARD]"


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def _documents(n: int = 120) -> pl.Series:
    f = fake()
    docs = []
    for i in range(n):
        doc: dict[str, object] = {"newsletter": i % 2 == 0, "language": "en", "score": i}
        if i % 2:
            doc["contact"] = {
                "channel": "email",
                "email": f.email(),
                "phone": f"+44 20 7946 {i:04d}",
            }
        if i % 3 == 0:
            doc["gift_recipients"] = [{"name": f.name(), "email": f.email()} for _ in range(2)]
        doc["phones"] = [f"+33 1 23 45 {i % 100:02d} {j:02d}" for j in range(2)]
        doc["deep"] = {"a": {"b": [{"c": {"ip": f.ipv4()}}]}}
        docs.append(json.dumps(doc))
    return pl.Series("preferences", docs)


def test_json_leaves_reported_by_path() -> None:
    leaves = json_leaf_findings(_documents())
    by_path = {f.json_paths[0]: f.entity for f in leaves}
    assert by_path == {
        "$.contact.email": Entity.email,
        "$.contact.phone": Entity.phone,
        "$.gift_recipients[*].name": Entity.person_name,
        "$.gift_recipients[*].email": Entity.email,
        "$.phones[*]": Entity.phone,
        "$.deep.a.b[*].c.ip": Entity.ip_address,
    }
    assert all(f.source == "json" and f.column == "preferences" for f in leaves)
    assert {f.suggested_strategy for f in leaves} == {"fake", "hash"}


def test_json_column_finding_lists_paths() -> None:
    finding = top("preferences", _documents())
    assert finding is not None
    assert finding.entity is Entity.json
    assert finding.suggested_strategy == "json"
    assert finding.evidence["$.contact.email"] == "email"
    assert finding.evidence["$.phones[*]"] == "phone"
    assert "$.contact.phone" in finding.json_paths
    assert "$.language" not in finding.json_paths


def test_json_map_keys_never_become_paths() -> None:
    f = fake()
    docs = pl.Series(
        "c9",
        [json.dumps({f.email(): {"visits": i}, "1234567": {"note": f.email()}}) for i in range(40)],
    )
    leaves = json_leaf_findings(docs)
    assert [f.json_paths for f in leaves] == [("$.*.note",)]
    assert "@" not in repr(leaves)


def test_struct_columns_are_walked_like_json() -> None:
    f = fake()
    frame = pl.DataFrame({"c": [{"who": {"email": f.email()}, "n": i} for i in range(40)]})
    finding = top("c", frame["c"])
    assert finding is not None and finding.entity is Entity.json
    assert finding.json_paths == ("$.who.email",)


# --------------------------------------------------------------------------------------------
# Evidence never carries a value
# --------------------------------------------------------------------------------------------


def test_findings_never_contain_sampled_values() -> None:
    f = fake()
    notes = [f"Call {f.phone_number()} or mail {f.email()} re {f.name()}" for _ in range(N)]
    frame = pl.DataFrame(
        {
            "email": column(f.email),
            "c1": column(f.email),
            "phone": column(f.phone_number),
            "name": column(f.name),
            "ssn": column(f.ssn),
            "card": column(f.credit_card_number),
            "iban": column(f.iban),
            "ip": column(f.ipv4),
            "street": column(f.street_address),
            "notes": pl.Series(notes),
            "prefs": _documents(N),
        }
    )
    found = detect_frame(frame)
    assert all(found.values())
    text = repr(found)
    for col in frame.columns:
        for value in frame[col].to_list():
            assert str(value) not in text, col
    for leaf in json_leaf_findings(frame["prefs"]):
        for value in frame["prefs"].to_list():
            for leaf_value in _leaf_strings(json.loads(value)):
                assert leaf_value not in repr(leaf) or leaf_value in {"en", "email"}


def _leaf_strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _leaf_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _leaf_strings(v)]
    return [str(node)] if isinstance(node, str) and len(str(node)) >= 4 else []


# --------------------------------------------------------------------------------------------
# Scrubbing
# --------------------------------------------------------------------------------------------

TEMPLATE = (
    "Ticket {i}: customer wrote from {email}, phone {phone}; paid with card {card} "
    "(IBAN {iban}), SSN {ssn}, logged in from {ip}. Refund 12.50 EUR on 2024-03-01."
)


def _planted(n: int) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    f = fake()
    rows = []
    for i in range(n):
        rows.append(
            {
                "i": str(i),
                "email": f.email(),
                "phone": f"+1 (212) 555-{i % 10_000:04d}",
                "card": f.credit_card_number(card_type="visa16"),
                "iban": f.iban(),
                "ssn": f.ssn(),
                "ip": f.ipv4() if i % 2 else f.ipv6(),
            }
        )
    texts = [TEMPLATE.format(**row) for row in rows]
    return pl.DataFrame({"note": texts}), rows


def test_scrub_removes_every_planted_value_and_keeps_the_rest() -> None:
    frame, rows = _planted(300)
    out = frame.select(scrub_expr("note"))["note"].to_list()
    for text, row in zip(out, rows, strict=True):
        for key in ("email", "phone", "card", "iban", "ssn", "ip"):
            assert row[key] not in text, (key, text)
        expected = TEMPLATE.format(
            i=row["i"],
            email="[EMAIL]",
            phone="[PHONE]",
            card="[CARD]",
            iban="[IBAN]",
            ssn="[NATIONAL_ID]",
            ip="[IP]",
        )
        assert text == expected
    assert find_spans(pl.Series(out)).sum().row(0) == (0,) * 8


def test_scrub_keeps_ordinary_numbers_and_nulls() -> None:
    frame = pl.DataFrame(
        {
            "t": [
                "Order 4111111111111112 shipped 2024-01-15 10:30, total 1,234.56",
                "Version 2.0 rolled out to 35 stores",
                None,
                "",
            ]
        }
    )
    assert frame.select(scrub_expr("t")).to_series().to_list() == frame["t"].to_list()


def test_scrub_replaces_names_and_extra_literals() -> None:
    frame = pl.DataFrame({"t": ["Dear Anna Schmidt, your code is XK-4471-QZ. Ana wrote back."]})
    out = frame.select(scrub_expr("t", extra_literals=["xk-4471-qz", "Ana", None]))  # type: ignore[list-item]
    # "Ana" is shorter than four characters: literals that short would eat ordinary words; it
    # is still a name ("Ana wrote"), so recognition replaces it.
    assert out.item() == "Dear [NAME], your code is [REDACTED]. [NAME] wrote back."


def test_scrub_works_in_lazy_and_streaming_queries() -> None:
    frame, rows = _planted(50)
    lazy = frame.lazy().with_columns(scrub_expr("note")).collect(engine="streaming")
    assert all(row["email"] not in t for row, t in zip(rows, lazy["note"], strict=True))


def test_scrub_throughput() -> None:
    frame, _ = _planted(1000)
    filler = pl.Series(
        [
            "Customer asked about the delivery of order 12345 and wants a refund before Friday.",
            "Parcel left our warehouse at 10:30 today and arrives in two days, tracking attached.",
            "Card declined twice; customer will retry tomorrow with another card, please wait.",
        ]
    )
    texts = pl.concat([frame["note"], filler.sample(99_000, with_replacement=True, seed=1)])
    big = pl.DataFrame({"t": texts})
    big.head(100).select(scrub_expr("t"))  # compile the regexes once
    start = time.perf_counter()
    out = big.select(scrub_expr("t"))
    elapsed = time.perf_counter() - start
    chars = round(big.select(pl.col("t").str.len_chars().mean()).item())
    print(
        f"\nscrub_expr: {big.height:,} rows of ~{chars} chars in {elapsed:.3f}s "
        f"= {big.height / elapsed:,.0f} rows/s"
    )
    start = time.perf_counter()
    find_spans(big["t"])
    elapsed = time.perf_counter() - start
    print(f"find_spans: {big.height:,} rows in {elapsed:.3f}s = {big.height / elapsed:,.0f} rows/s")
    assert out.height == big.height


def test_suggested_strategies() -> None:
    assert Finding("c", Entity.email, 1.0, "value", {}).suggested_strategy == "fake"
    assert Finding("c", Entity.birth_date, 1.0, "name", {}).suggested_strategy == "date_shift"
    assert Finding("c", Entity.json, 1.0, "json", {}).suggested_strategy == "json"
    assert Finding("c", Entity.free_text, 1.0, "text", {}).suggested_strategy == "scrub_text"


# --------------------------------------------------------------------------------------------
# The example shop database: every planted kind found, nothing else
# --------------------------------------------------------------------------------------------


def test_shop_database_detection() -> None:
    from examples.shop.generate import generate_shop

    tables = {name: pl.DataFrame(t) for name, t in generate_shop(customers=600, seed=5).items()}
    found: dict[tuple[str, str], Entity] = {}
    for name, table in tables.items():
        for col, findings in detect_frame(table, table=name).items():
            if findings:
                found[(name, col)] = findings[0].entity
    assert found == {
        ("customers", "first_name"): Entity.first_name,
        ("customers", "last_name"): Entity.last_name,
        ("customers", "email"): Entity.email,
        ("customers", "phone"): Entity.phone,
        ("customers", "birth_date"): Entity.birth_date,
        ("customers", "national_id"): Entity.national_id,
        ("customers", "notes"): Entity.free_text,
        ("customers", "preferences"): Entity.json,
        ("addresses", "street"): Entity.street,
        ("addresses", "city"): Entity.city,
        ("addresses", "postcode"): Entity.postcode,
        ("payments", "card_number"): Entity.credit_card,
        ("payments", "iban"): Entity.iban,
    }
    # Renamed to c0, c1, ...: the validated kinds are still found by value.
    customers = tables["customers"]
    renamed = customers.rename({c: f"c{i}" for i, c in enumerate(customers.columns)})
    by_value = {
        customers.columns[int(c[1:])]: fs[0].entity for c, fs in detect_frame(renamed).items() if fs
    }
    assert by_value == {
        "first_name": Entity.first_name,
        "last_name": Entity.last_name,
        "email": Entity.email,
        "phone": Entity.phone,
        "national_id": Entity.national_id,
        "notes": Entity.free_text,
        "preferences": Entity.json,
    }


# --------------------------------------------------------------------------------------------
# Person-name columns that no name list holds (issue 11, item 3)
# --------------------------------------------------------------------------------------------

INVENTED_FIRST = ["Zavputh", "Qaexfeth", "Laexziam", "Tamsin", "Drovika", "Belvora", "Skaeth"]
INVENTED_LAST = ["Quennell", "Douna", "Tralkevqyv", "Grothvu", "Marrowby", "Vantis", "Ostrava"]


def _invented_people(n: int) -> list[str]:
    return [
        f"{INVENTED_FIRST[i % 7]} {INVENTED_LAST[(i * 3 + i // 7) % 7]}{'' if i < 49 else i}"
        for i in range(n)
    ]


def test_invented_full_names_found_by_shape_under_any_column_name() -> None:
    names = [n.rstrip("0123456789") for n in _invented_people(49)]
    names += [f"{f} {x}" for f in ("Ulvrenne", "Kostaven") for x in INVENTED_LAST]
    finding = top("c7", pl.Series(names))
    assert finding is not None and finding.entity is Entity.person_name
    assert finding.evidence["value_rule"] == "name_shape"


def test_names_of_things_are_not_people() -> None:
    brands = ["Hudryn", "Pythkunvim", "Saevanik", "Bruvsiav", "Trouji", "Drima"]
    nouns = ["Kettle", "Lamp", "Backpack", "Headphones", "Blender", "Tent", "Chair"]
    frame = pl.DataFrame(
        {
            "product_name": [f"{brands[i % 6]} {nouns[(i * 5) % 7]}" for i in range(84)],
            "artist": (["Led Zeppelin", "The Beatles", "Alice In Chains", "Aerosmith"] * 21),
            "album": (["For Those About To Rock We Salute You", "Balls to the Wall"] * 42),
            "s_name": [f"Supplier#{i:09d}" for i in range(84)],
            "c_name": [f"Customer#{i:09d}" for i in range(84)],
            "n_name": (["UNITED KINGDOM", "ALGERIA", "JORDAN", "INDIA", "KENYA", "CHINA"] * 14),
        }
    )
    assert {c: f for c, f in detect_frame(frame).items() if f} == {}
    regions = pl.DataFrame({"r_name": ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]})
    assert detect_frame(regions, table="region") == {"r_name": []}
    languages = pl.DataFrame({"name": ["English", "French", "German", "Spanish", "Dutch"]})
    assert detect_frame(languages, table="language") == {"name": []}


def test_words_shared_with_a_name_column_of_another_table() -> None:
    from sandboxer.redact.detect import detect_tables

    people = pl.DataFrame(
        {
            "first_name": [INVENTED_FIRST[i % 7] for i in range(60)],
            "last_name": [INVENTED_LAST[(i * 3) % 7] for i in range(60)],
        }
    )
    # Half the values are desks, not people: too few for the shape alone.
    assigned = [
        f"{INVENTED_LAST[i % 7]}, {INVENTED_FIRST[(i * 2) % 7]}" if i % 2 else f"Desk {i}"
        for i in range(60)
    ]
    tickets = pl.DataFrame({"assigned": assigned, "status": ["open", "closed"] * 30})
    alone = detect_frame(tickets, table="tickets")
    assert alone["assigned"] == []
    found = detect_tables({"people": people, "tickets": tickets})
    finding = found["tickets"]["assigned"][0]
    assert finding.entity is Entity.person_name
    assert finding.evidence["value_rule"] == "shares_name_words"
    assert found["tickets"]["status"] == []
