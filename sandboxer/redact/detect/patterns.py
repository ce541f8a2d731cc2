"""Regular expressions and vectorised checksums shared by value, text and JSON detection.

Patterns are Rust-regex syntax (what polars runs). Span patterns (unanchored, for free text) are
written so that a greedy match cannot swallow the next word: a card number followed by a quantity
must not become a Luhn-invalid 18-digit candidate and slip through unscrubbed. Checksums are
polars expressions over one string column (digit arithmetic on fixed slices), so they run inside
``list.eval`` on candidate spans as well as on a sampled column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

EMAIL_SPAN = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,24}\b"
EMAIL_VALUE = r"^[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,24}$"

# IBAN lengths by country (ISO 13616 registry). A span must have exactly its country's length,
# so trailing words in upper case are never taken into the candidate.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def _iban_span() -> str:
    by_length: dict[int, list[str]] = {}
    for country, length in IBAN_LENGTHS.items():
        by_length.setdefault(length, []).append(country)
    branches = [
        rf"(?:{'|'.join(sorted(cs))})\d{{2}}(?: ?[A-Z0-9]){{{n - 4}}}"
        for n, cs in sorted(by_length.items(), reverse=True)
    ]
    return r"\b(?:" + "|".join(branches) + r")\b"


IBAN_SPAN = _iban_span()
IBAN_VALUE = r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$"  # after removing spaces and upper-casing

# Card numbers start with 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6).
# Three shapes only: contiguous, 4-4-4-4, Amex 4-6-5 (a free "digit or separator" run would
# absorb a following number and fail Luhn).
CARD_SPAN = (
    r"\b[2-6]\d{12,18}\b"
    r"|\b[2-6]\d{3}[ \-]\d{4}[ \-]\d{4}[ \-]\d{4}\b"
    r"|\b3\d{3}[ \-]\d{6}[ \-]\d{4,5}\b"
)
CARD_VALUE = r"^[2-6]\d{3}(?:[ \-]?\d{2,6}){2,4}$"
CARD_VALUE_MIN_DIGITS = 12
"""Maestro numbers can have 12 digits; in free text, 12-digit runs are too often order ids."""

# US SSN/ITIN: never area 000 or 666, group 00 or serial 0000.
SSN_SPAN = (
    r"\b(?:00[1-9]|0[1-9]\d|[1-57-9]\d{2}|6[0-57-9]\d|66[0-57-9])"
    r"-(?:0[1-9]|[1-9]\d)-(?:000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})\b"
)
NATIONAL_ID_SPANS: dict[str, str] = {
    "us_ssn": SSN_SPAN,
    "uk_nino": r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
    "es_dni": r"\b\d{8}-?[TRWAGMYFPDXBNJZSQVHLCKE]\b",
    "es_nie": r"\b[XYZ]-?\d{7}-?[TRWAGMYFPDXBNJZSQVHLCKE]\b",
    "it_codice_fiscale": r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b",
    "br_cpf": r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b",
    "fr_nir": r"\b[12] ?\d{2} ?(?:0[1-9]|1[0-2]) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b",
}
NATIONAL_ID_SPAN = "|".join(f"(?:{p})" for p in NATIONAL_ID_SPANS.values())

# Phones: international (+ or 00 prefix), North American (555) 123-4567 / 555-123-4567, and
# national numbers with a trunk 0 and separators. Candidates are kept when they hold 9-15 digits
# (a date like 01-12-2024 has 8).
PHONE_SPAN = (
    r"(?:\+|\b00)[1-9]\d{0,3}[ .\-/]?(?:\(\d{1,5}\)[ .\-/]?)?\d{1,6}(?:[ .\-/]?\d{1,6}){0,5}\b"
    r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}\b"
    r"|\b\d{3}[.\- ]\d{3}[.\- ]\d{4}\b"
    r"|\b0\d{1,4}[ /\-]\d{2,8}(?:[ \-]\d{2,6}){0,3}\b"
)
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 9, 15

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_SPAN = rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b"
_H = r"[0-9A-Fa-f]{1,4}"
# Longest forms first: the regex engine takes the first alternative that matches.
IPV6_SPAN = (
    rf"(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,6}}:{_H}(?::{_H}){{0,5}}"
    rf"|::(?:{_H}:){{0,6}}{_H}\b"
    rf"|\b(?:{_H}:){{1,7}}:"
)
IP_SPAN = rf"{IPV4_SPAN}|{IPV6_SPAN}"

SECRET_SPANS: dict[str, str] = {
    "jwt": r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    "aws_access_key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "stripe_key": r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b",
    "slack_token": r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}\b",
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "password_hash": (
        r"\$2[aby]?\$\d{2}\$[./A-Za-z0-9]{53}"
        r"|\$argon2(?:id|i|d)\$[^\s]{20,}"
        r"|\bpbkdf2_sha\d+\$\d+\$[^\s$]+\$[^\s]+"
    ),
}
SECRET_SPAN = "|".join(f"(?:{p})" for p in SECRET_SPANS.values())

TITLE_NAME_SPAN = (
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Sig|Sig\.ra)\.? "
    r"\p{Lu}[\p{Ll}'\-]+(?: \p{Lu}[\p{Ll}'\-]+)?"
)


def digits(expr: pl.Expr) -> pl.Expr:
    """Only the ASCII digits of a string."""
    return expr.str.replace_all(r"[^0-9]+", "")


def luhn_valid(expr: pl.Expr, *, min_digits: int = 13) -> pl.Expr:
    """True when the digits of ``expr`` (``min_digits``-19 of them) pass the Luhn check.

    Left-padding with zeros does not change a Luhn sum, so every candidate is padded to 19
    digits and position ``i`` from the left always has the same weight: 19 fixed slices, no
    per-row Python.
    """
    import polars as pl

    d = digits(expr)
    padded = d.str.zfill(19)
    total: pl.Expr = pl.lit(0, dtype=pl.Int32)
    for i in range(19):
        digit = padded.str.slice(i, 1).cast(pl.Int32, strict=False).fill_null(0)
        if (18 - i) % 2 == 1:  # every second digit from the right is doubled
            digit = digit * 2 - pl.when(digit >= 5).then(9).otherwise(0)
        total = total + digit
    n = d.str.len_chars()
    return (n >= min_digits) & (n <= 19) & (total % 10 == 0)


def iban_valid(expr: pl.Expr) -> pl.Expr:
    """True when ``expr`` (spaces allowed) is an IBAN with a valid mod-97 check.

    The country code and check digits move to the end, letters become 10..35, and the
    (up to 68-digit) number is reduced mod 97 nine digits at a time after left-padding to 72.
    """
    import polars as pl

    s = expr.str.replace_all(" ", "", literal=True).str.to_uppercase()
    shape = s.str.contains(IBAN_VALUE)
    rearranged = pl.concat_str([s.str.slice(4), s.str.slice(0, 4)])
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    numeric = rearranged.str.replace_many(letters, [str(10 + i) for i in range(26)])
    padded = numeric.str.zfill(72)
    rem: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for k in range(8):
        chunk = padded.str.slice(9 * k, 9).cast(pl.Int64, strict=False).fill_null(-1)
        rem = (rem * 1_000_000_000 + chunk) % 97
    return shape & (rem == 1)


def digit_count_between(expr: pl.Expr, low: int, high: int) -> pl.Expr:
    n = digits(expr).str.len_chars()
    return (n >= low) & (n <= high)
