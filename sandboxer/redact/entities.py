"""The kinds of personal data sandboxer knows, and the strategy each gets by default."""

from __future__ import annotations

from enum import StrEnum


class Entity(StrEnum):
    email = "email"
    phone = "phone"
    person_name = "person_name"
    first_name = "first_name"
    last_name = "last_name"
    address = "address"
    """A street address line (or a whole postal address)."""
    street = "street"
    city = "city"
    postcode = "postcode"
    birth_date = "birth_date"
    national_id = "national_id"
    """SSN-like national identifiers, passports, tax ids."""
    iban = "iban"
    account_number = "account_number"
    credit_card = "credit_card"
    ip_address = "ip_address"
    username = "username"
    secret = "secret"
    """Passwords, tokens, API keys: never useful in a test dataset."""
    geo = "geo"
    """Latitude/longitude."""
    company = "company"
    free_text = "free_text"
    """Text that may contain PII spans: scrubbed, not replaced wholesale."""
    json = "json"
    """A JSON document with PII leaves."""


DEFAULT_STRATEGY: dict[Entity, str] = {
    Entity.email: "fake",
    Entity.phone: "fake",
    Entity.person_name: "fake",
    Entity.first_name: "fake",
    Entity.last_name: "fake",
    Entity.address: "fake",
    Entity.street: "fake",
    Entity.city: "fake",
    Entity.postcode: "format",
    Entity.birth_date: "date_shift",
    Entity.national_id: "format",
    Entity.iban: "fake",
    Entity.account_number: "format",
    Entity.credit_card: "fake",
    Entity.ip_address: "hash",
    Entity.username: "hash",
    Entity.secret: "null",
    Entity.geo: "noise",
    Entity.company: "fake",
    Entity.free_text: "scrub_text",
    Entity.json: "json",
}
