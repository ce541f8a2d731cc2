"""Detection by column name: a multilingual dictionary matched on tokens, never substrings.

``customerEmail``, ``customer-email`` and ``Customer Email`` all tokenize to
``["customer", "email"]``; ``description`` is one token and is not ``ip``. Multi-word phrases
(``first name``, ``ip address``, ``date of birth``) are matched before single words, so
``email_address`` is an email, not an address. Words that turn a PII name into metadata about it
(``email_verified``, ``phone_count``, ``shipping_address_id``) cancel the match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandboxer.redact.detect.wordlists import fold
from sandboxer.redact.entities import Entity

# Which physical types a named entity can live in. A boolean ``has_email`` or a datetime
# ``email_sent_at`` is never an email.
STRING, INTEGER, FLOAT, TEMPORAL = "string", "integer", "float", "temporal"
_TEXT = frozenset({STRING})
_TEXT_OR_INT = frozenset({STRING, INTEGER})
_NUMERIC = frozenset({STRING, INTEGER, FLOAT})
_DATES = frozenset({STRING, INTEGER, TEMPORAL})


@dataclass(frozen=True)
class NameRule:
    phrase: tuple[str, ...]
    entity: Entity | None  # None: a known non-PII phrase that consumes its tokens
    confidence: float
    kinds: frozenset[str] = _TEXT


@dataclass(frozen=True)
class NameMatch:
    entity: Entity
    confidence: float
    rule: str  # the matched phrase, e.g. "first name"


def _rules(
    entity: Entity | None, confidence: float, phrases: str, kinds: frozenset[str] = _TEXT
) -> list[NameRule]:
    return [
        NameRule(tuple(p.split()), entity, confidence, kinds)
        for p in (p.strip() for p in phrases.split(","))
        if p
    ]


E = Entity
_R = _rules
RULES: list[NameRule] = [
    # Phrases that look like PII words but are not (they consume their tokens).
    *_R(None, 0, "mac address, web address, shipping method, delivery method, file name"),
    *_R(None, 0, "filename, host name, hostname, domain name, table name, column name"),
    *_R(None, 0, "product name, category name, brand name, event name, country name"),
    *_R(None, 0, "ip country, email domain, gift card, name space, namespace, user agent"),
    *_R(None, 0, "mail server, phone code, long description, long text, display order"),
    *_R(None, 0, "last login, first login"),
    # email
    *_R(E.email, 0.95, "email, e mail, email address, emailaddress, mail address, correo"),
    *_R(E.email, 0.95, "courriel, mailadresse, epost, e post, emailadresse, email addr"),
    *_R(E.email, 0.8, "mail"),
    # phone
    *_R(E.phone, 0.95, "phone, phone number, phonenumber, telephone, telefono", _TEXT_OR_INT),
    *_R(E.phone, 0.95, "telefone, telefon, telefonnummer, tel, mobile number", _TEXT_OR_INT),
    *_R(E.phone, 0.9, "mobile, cell, cellphone, cell phone, handy, movil, celular", _TEXT_OR_INT),
    *_R(E.phone, 0.9, "cellulare, msisdn, gsm, fax", _TEXT_OR_INT),
    *_R(E.phone, 0.75, "portable, whatsapp, mobil, tlf", _TEXT_OR_INT),
    # names
    *_R(E.first_name, 0.95, "first name, firstname, given name, givenname, forename, fname"),
    *_R(E.first_name, 0.9, "vorname, prenom, nombre, nome, voornaam, fornavn, fornamn, imie"),
    *_R(E.first_name, 0.8, "middle name, middlename"),
    *_R(E.last_name, 0.95, "last name, lastname, surname, family name, familyname, lname"),
    *_R(E.last_name, 0.9, "nachname, apellido, apellidos, cognome, achternaam, sobrenome"),
    *_R(E.last_name, 0.9, "maiden name, efternamn, etternavn, nazwisko, familienname"),
    *_R(E.last_name, 0.75, "nom, nom de famille"),
    *_R(E.person_name, 0.95, "full name, fullname, person name, legal name, birth name"),
    *_R(E.person_name, 0.9, "customer name, client name, contact name, user full name"),
    *_R(E.person_name, 0.9, "employee name, patient name, member name, holder name"),
    *_R(E.person_name, 0.9, "cardholder, card holder, account holder, cardholder name"),
    *_R(E.person_name, 0.85, "recipient name, sender name, owner name, guest name"),
    *_R(E.person_name, 0.85, "passenger name, buyer name, billing name, shipping name"),
    *_R(E.person_name, 0.85, "student name, driver name, author name, spouse name"),
    *_R(E.person_name, 0.85, "recipient, addressee, beneficiary, nombre completo"),
    *_R(E.person_name, 0.7, "display name, displayname, contact, signatory, account name"),
    # "name" alone is ambiguous (products, countries): a weak hint that values must confirm.
    *_R(E.person_name, 0.45, "name, naam, navn, namn"),
    # address
    *_R(E.address, 0.9, "address, address line, addressline, street address, adresse"),
    *_R(E.address, 0.9, "direccion, indirizzo, endereco, adres, anschrift, domicilio"),
    *_R(E.address, 0.85, "addr, addr line, house number, hausnummer, huisnummer"),
    *_R(E.address, 0.85, "mailing address, home address, postal address"),
    *_R(E.street, 0.9, "street, strasse, rue, calle, rua, straat, gatan, ulica"),
    *_R(E.street, 0.9, "street name, streetname, street line"),
    *_R(E.city, 0.85, "city, town, ville, ciudad, citta, cidade, stadt, wohnort, woonplaats"),
    *_R(E.city, 0.75, "ort, locality, municipality, plaats, poblacion, localidad, comune"),
    *_R(E.postcode, 0.9, "zip, zipcode, zip code, postcode, post code, postal code", _TEXT_OR_INT),
    *_R(E.postcode, 0.85, "postal, plz, postleitzahl, cep, postnummer, code postal", _TEXT_OR_INT),
    *_R(E.postcode, 0.65, "cp, cap", _TEXT_OR_INT),
    # birth date
    *_R(E.birth_date, 0.95, "birth, dob, birthday, birthdate, date of birth", _DATES),
    *_R(E.birth_date, 0.95, "geburtsdatum, geburtstag, naissance, nacimiento, nascita", _DATES),
    *_R(E.birth_date, 0.95, "nascimento, geboortedatum, fodelsedatum, fodselsdato", _DATES),
    *_R(E.birth_date, 0.85, "born, born on", _DATES),
    # national ids
    *_R(E.national_id, 0.95, "ssn, social security, social security number", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "national id, nationalid, national insurance, nino", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "passport, passport number, tax id, taxid, tax number", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "steuer id, steuerid, steuernummer, personalausweis", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "nif, dni, nie, cpf, nir, insee, codice fiscale, bsn", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "personnummer, pesel, ausweis, driver license", _TEXT_OR_INT),
    *_R(E.national_id, 0.9, "drivers license, driving licence, driver licence", _TEXT_OR_INT),
    *_R(E.national_id, 0.85, "nin, id number, id card, identity number, tin", _TEXT_OR_INT),
    *_R(E.national_id, 0.6, "sin", _TEXT_OR_INT),
    # bank
    *_R(E.iban, 0.95, "iban, iban number"),
    *_R(E.account_number, 0.85, "bank account, account number, accountnumber", _TEXT_OR_INT),
    *_R(E.account_number, 0.85, "bic, swift, routing, routing number, sort code", _TEXT_OR_INT),
    *_R(E.account_number, 0.85, "kontonummer, konto, rib, bban", _TEXT_OR_INT),
    *_R(E.account_number, 0.6, "account", _TEXT_OR_INT),
    *_R(E.credit_card, 0.95, "credit card, creditcard, card number, cardnumber", _TEXT_OR_INT),
    *_R(E.credit_card, 0.9, "ccnum, cc number, cc, pan, debit card, card no", _TEXT_OR_INT),
    *_R(E.credit_card, 0.9, "kreditkarte, tarjeta, carte bancaire", _TEXT_OR_INT),
    *_R(E.credit_card, 0.75, "card", _TEXT_OR_INT),
    # network and accounts
    *_R(E.ip_address, 0.95, "ip, ip address, ipaddress, ipaddr, ipv4, ipv6", _TEXT_OR_INT),
    *_R(E.ip_address, 0.9, "remote addr, remote address, remote ip, client ip", _TEXT_OR_INT),
    *_R(E.ip_address, 0.9, "source ip, forwarded for", _TEXT_OR_INT),
    *_R(E.username, 0.9, "username, user name, login, login name, screen name, nickname"),
    *_R(E.username, 0.85, "user login, handle, benutzername, usuario"),
    *_R(E.secret, 0.95, "password, passwd, pwd, secret, token, api key, apikey, passphrase"),
    *_R(E.secret, 0.95, "private key, access key, secret key, client secret, auth token"),
    *_R(E.secret, 0.95, "passwort, contrasena, mot de passe, motdepasse, senha, otp secret"),
    *_R(E.secret, 0.8, "salt, credentials, credential"),
    *_R(E.secret, 0.7, "pin"),
    # geo: short forms only on numbers (a string "long_text" is not a longitude)
    *_R(E.geo, 0.9, "lat, lng, lon, long", frozenset({INTEGER, FLOAT})),
    *_R(E.geo, 0.9, "latitude, longitude, geo, geolocation, latlng, latlon", _NUMERIC),
    *_R(E.geo, 0.85, "coordinates, coords, coordinate, geopoint", _NUMERIC),
    # company
    *_R(E.company, 0.8, "company, employer, company name, firma, entreprise, empresa"),
    *_R(E.company, 0.7, "organization, organisation, organization name, employer name"),
]
# Longest phrase first, so "ip address" wins over "address" and "first name" over "name".
RULES.sort(key=lambda r: -len(r.phrase))

# Tokens that turn a PII word into metadata about it.
NEGATORS = frozenset(
    """id ids uuid guid fk pk idx ref key count cnt type kind status verified confirmed
    enabled valid validated flag format length len provider template consent optin opt sent
    bounced attempts attempt is has preference preferences pref channel policy version app os
    device platform browser country region expires expiry expiration balance brand scope
    bits mask prefix suffix hint label visible visibility required changed updated created
    last4 first6 bin issuer network level quality source method domain title role position
    department""".split()
)
# Leading words that make the column a number of things: num_phones, n_emails, total_cards.
LEADING_NEGATORS = frozenset("num n nb number total max min avg sum".split())
# A datetime suffix on anything but a birth date is an event time, not the value itself.
TIME_TOKENS = frozenset({"at", "on", "date", "time", "ts", "timestamp", "datetime", "when"})
# "name" alone counts as a person's name when the table or parent key is about people.
PEOPLE_WORDS = frozenset(
    """customer client user person people employee member contact patient staff student guest
    passenger author owner driver recipient holder buyer seller subscriber applicant candidate
    lead kunde cliente usuario utilisateur mitarbeiter profile""".split()
)
_PLAIN_NAME_RULES = frozenset({"name", "naam", "navn", "namn"})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^0-9a-z]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


def tokenize(name: str) -> list[str]:
    """Split a column name on ``_``, ``-``, spaces, dots, camelCase and letter/digit edges.

    Accents are dropped and case folded: ``Straße`` -> ``strasse``, ``prénom`` -> ``prenom``.
    """
    spaced = _CAMEL.sub(" ", name)
    return [t for t in _SPLIT.split(fold(spaced)) if t]


def singular(token: str) -> str:
    """``emails`` -> ``email``, ``addresses`` -> ``address``; ``status`` is left alone."""
    if token.endswith("sses"):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")) and len(token) > 3:
        return token[:-1]
    return token


def is_people_word(tokens: list[str]) -> bool:
    return any(t in PEOPLE_WORDS or singular(t) in PEOPLE_WORDS for t in tokens)


def match_name(name: str, kind: str, *, context: str | None = None) -> NameMatch | None:
    """The PII entity a column (or JSON key) name announces, or None.

    ``kind`` is one of ``string``, ``integer``, ``float``, ``temporal`` (other kinds never
    match). ``context`` is the table name or the parent JSON key: it makes ``name`` a person's.
    """
    tokens = tokenize(name)
    # A one-letter table prefix (TPC-H's c_name, o_comment) says nothing; "e" is e-mail's.
    if len(tokens) > 1 and len(tokens[0]) == 1 and tokens[0] != "e" and not tokens[1].isdigit():
        tokens = tokens[1:]
    if not tokens:
        return None
    forms = [(t, singular(t)) for t in tokens]
    used = [False] * len(tokens)
    best: NameMatch | None = None
    best_start = 0
    for rule in RULES:
        n = len(rule.phrase)
        for start in range(len(tokens) - n + 1):
            if any(used[start : start + n]):
                continue
            if not all(w in forms[start + i] for i, w in enumerate(rule.phrase)):
                continue
            for i in range(start, start + n):
                used[i] = True
            if rule.entity is None or kind not in rule.kinds:
                continue
            if best is None or rule.confidence > best.confidence:
                best = NameMatch(rule.entity, rule.confidence, " ".join(rule.phrase))
                best_start = start
    if best is None:
        return None
    rest = [t for i, t in enumerate(tokens) if not used[i]]
    if any(t in NEGATORS for t in rest) or tokens[0] in LEADING_NEGATORS:
        return None
    if best.entity is not Entity.birth_date and any(t in TIME_TOKENS for t in rest):
        return None
    if best.entity is Entity.person_name and best.rule in _PLAIN_NAME_RULES:
        before = tokens[:best_start]
        if is_people_word(before):  # kunde_name, staff_name, profile_name ...
            return NameMatch(Entity.person_name, 0.85, f"{' '.join(before)} name")
        if before:  # item_name, shop_name: some other thing's name
            return None
        if is_people_word(tokenize(context or "")):
            return NameMatch(Entity.person_name, 0.6, "name in people table")
    return best
