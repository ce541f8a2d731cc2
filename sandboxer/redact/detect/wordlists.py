"""Word lists for detection, read once per process from Faker's locale data.

Faker's person and address providers carry the name and street vocabularies as class
attributes, so nothing is generated at random: the lists are the same in every process.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata

NAME_LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pt_PT", "sv_SE",
    "pl_PL",
)  # fmt: skip

_NAME_WORD = re.compile(r"^[^\W\d_]{2,}(?:[-'][^\W\d_]+)*$")

# Street types written before the name ("rue de la Paix", "Calle Mayor 5").
STREET_PREFIXES = (
    "rue", "avenue", "av", "ave", "avda", "boulevard", "bd", "bld", "chemin", "impasse", "allée",
    "allee", "place", "quai", "route", "cours", "calle", "c/", "avenida", "paseo", "plaza",
    "camino", "pasaje", "ronda", "carretera", "rambla", "glorieta", "callejón", "vial", "acceso",
    "cuesta", "travesía", "via", "viale", "piazza", "piazzale", "corso", "vicolo", "largo",
    "strada", "borgo", "contrada", "rotonda", "rua", "r", "travessa", "praça", "alameda",
    "estrada", "rodovia", "ulica", "ul", "aleja", "al", "plac", "os", "osiedle",
)  # fmt: skip
# Street types written after the name, as a word ("Main Street") or glued ("Hauptstraße").
STREET_SUFFIX_WORDS = (
    "st", "str", "street", "ave", "av", "avenue", "rd", "road", "blvd", "boulevard", "ln", "lane",
    "dr", "drive", "ct", "court", "pl", "place", "sq", "square", "ter", "terrace", "hwy",
    "highway", "pkwy", "parkway", "cir", "circle", "trl", "trail", "way", "cres", "crescent",
    "close", "gardens", "grove", "mews", "row", "walk", "hill", "straße", "strasse", "weg",
    "allee", "gasse", "platz", "ring", "damm", "ufer", "chaussee",
)  # fmt: skip
STREET_GLUED_SUFFIXES = (
    "straße", "strasse", "str.", "weg", "allee", "gasse", "platz", "ring", "damm", "ufer",
    "chaussee", "steig", "pfad", "markt", "straat", "laan", "gracht", "plein", "kade", "singel",
    "dijk", "dreef", "hof", "pad", "baan", "steeg", "gatan", "vägen", "stigen", "gränd", "torget",
    "vej", "gade", "veien", "gata",
)  # fmt: skip

COMPANY_SUFFIXES = (
    "inc", "llc", "ltd", "limited", "plc", "corp", "corporation", "co", "company", "gmbh", "ag",
    "kg", "ohg", "ug", "se", "sa", "s.a.", "sas", "sarl", "s.a.r.l.", "spa", "s.p.a.", "srl",
    "s.r.l.", "sl", "s.l.", "bv", "b.v.", "nv", "n.v.", "ab", "as", "a/s", "oy", "ltda", "lda",
    "group", "holding", "holdings", "e.v.", "kgaa", "llp", "lp", "pty", "and sons", "& co",
)  # fmt: skip


def fold(word: str) -> str:
    """Lower case without accents: how names are compared."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _provider_words(locale: str, kind: str, attributes: tuple[str, ...]) -> set[str]:
    try:
        provider = importlib.import_module(f"faker.providers.{kind}.{locale}").Provider
    except ImportError:  # pragma: no cover - a Faker without this locale
        return set()
    words: set[str] = set()
    for attribute in attributes:
        values = getattr(provider, attribute, None) or ()
        words.update(str(v) for v in values)
    return words


@functools.cache
def first_names() -> frozenset[str]:
    """Folded first names of every locale in ``NAME_LOCALES``."""
    attributes = ("first_names", "first_names_male", "first_names_female")
    return _names(attributes)


@functools.cache
def last_names() -> frozenset[str]:
    """Folded last names of every locale in ``NAME_LOCALES``."""
    attributes = ("last_names", "last_names_male", "last_names_female")
    return _names(attributes)


def _names(attributes: tuple[str, ...]) -> frozenset[str]:
    from sandboxer.redact.cache import cached_json

    # Instantiating Faker for every locale is most of detection's start-up: cached on disk.
    return frozenset(
        cached_json(f"names-{attributes[0]}", lambda: sorted(_build_names(attributes)))
    )


def _build_names(attributes: tuple[str, ...]) -> frozenset[str]:
    words: set[str] = set()
    for locale in NAME_LOCALES:
        for word in _provider_words(locale, "person", attributes):
            for part in word.split():
                if _NAME_WORD.match(part):
                    words.add(fold(part))
    return frozenset(words)


@functools.cache
def street_suffix_words() -> frozenset[str]:
    words = {fold(w) for w in STREET_SUFFIX_WORDS}
    for locale in ("en_US", "en_GB"):
        words.update(fold(w) for w in _provider_words(locale, "address", ("street_suffixes",)))
    return frozenset(words)


@functools.cache
def street_prefix_words() -> frozenset[str]:
    words = {fold(w) for w in STREET_PREFIXES}
    for locale in ("fr_FR", "es_ES", "pt_BR", "pt_PT", "pl_PL", "it_IT"):
        for attribute in ("street_prefixes", "street_suffixes"):
            for w in _provider_words(locale, "address", (attribute,)):
                if w != "Street":
                    words.add(fold(w).rstrip("."))
    return frozenset(words)
