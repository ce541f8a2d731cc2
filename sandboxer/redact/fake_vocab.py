"""Locale vocabularies for `fake`: built once per locale from Faker, then only indexed.

Faker is slow per call (about 5 k rows/s) and must never run per value; here it runs a few thousand
times per locale, once per process, with a fixed seed. Every list is deduplicated and sorted, so a
vocabulary depends only on the Faker version's data, not on generation order. Fakes are picked by
``keyed_u64 % len(list)``: upgrading Faker can change the lists, and so the fakes (not `hash` or
`format`); pin Faker where snapshots built at different times must join on faked columns.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_SEED = 20240601
_GENERATED = 1500  # Faker calls per generated list (streets, cities, companies, postcodes)

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
"""RFC 2606 reserved domains: a fake address can never reach a real mailbox."""

NUMBER_FIRST_LANGUAGES = frozenset({"en", "fr", "ja", "zh", "ko", "th", "hi", "he", "ar"})
"""Languages whose street lines put the house number first (``12 rue ...``, ``12 Main St``)."""


@dataclass(frozen=True)
class Vocab:
    locale: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    first_ascii: tuple[str, ...]
    """First names folded to ``[a-z]`` for emails and usernames (its own list, not aligned)."""
    last_ascii: tuple[str, ...]
    streets: tuple[str, ...]
    """Street names without a house number."""
    cities: tuple[str, ...]
    companies: tuple[str, ...]
    number_first: bool


def ascii_fold(text: str) -> str:
    """``José Müller-Lüdenscheidt`` -> ``josemullerludenscheidt`` (letters only, lowercase)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).lower()


def available_locales() -> list[str]:
    from faker.config import AVAILABLE_LOCALES

    return sorted(AVAILABLE_LOCALES)


def _names(raw: Any) -> list[str]:
    # Faker keeps names as tuples, or as OrderedDicts of name -> weight.
    return [str(n) for n in (raw.keys() if isinstance(raw, dict) else raw)]


def _unique_sorted(items: list[str]) -> tuple[str, ...]:
    return tuple(sorted({i.strip() for i in items if i and i.strip()}))


@lru_cache(maxsize=16)
def vocab(locale: str = "en_US") -> Vocab:
    """The vocabulary of ``locale`` (e.g. ``en_US``, ``de_DE``), built once per process and
    cached on disk per Faker version."""
    from sandboxer.redact.cache import cached_json

    if locale not in available_locales():
        from sandboxer.errors import ConfigError, did_you_mean

        raise ConfigError(
            f"Unknown fake locale `{locale}`",
            hint=did_you_mean(locale, available_locales()) or "Use a Faker locale like en_US.",
        )
    data = cached_json(f"vocab-{locale}", lambda: _build_vocab(locale).__dict__)
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Vocab(**fields)


def _build_vocab(locale: str) -> Vocab:
    from faker import Faker

    if locale not in available_locales():
        from sandboxer.errors import ConfigError, did_you_mean

        raise ConfigError(
            f"Unknown fake locale `{locale}`",
            hint=did_you_mean(locale, available_locales()) or "Use a Faker locale like en_US.",
        )
    fake = Faker(locale)
    fake.seed_instance(_SEED)
    provider = fake.factories[0]
    person = next(p for p in provider.providers if hasattr(p, "first_names"))
    first = _unique_sorted(_names(person.first_names))
    last = _unique_sorted(_names(person.last_names))
    first_ascii = _unique_sorted([ascii_fold(n) for n in first])
    last_ascii = _unique_sorted([ascii_fold(n) for n in last])
    if len(first_ascii) < 20 or len(last_ascii) < 20:
        # Non-Latin scripts (ja_JP ...): addresses still need ASCII local parts.
        fallback = vocab("en_US")
        first_ascii, last_ascii = fallback.first_ascii, fallback.last_ascii
    return Vocab(
        locale=locale,
        first_names=first,
        last_names=last,
        first_ascii=first_ascii,
        last_ascii=last_ascii,
        streets=_unique_sorted([fake.street_name() for _ in range(_GENERATED)]),
        cities=_unique_sorted([fake.city() for _ in range(_GENERATED)]),
        companies=_unique_sorted([fake.company() for _ in range(_GENERATED)]),
        number_first=locale.split("_")[0] in NUMBER_FIRST_LANGUAGES,
    )
