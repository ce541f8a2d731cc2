"""FF1 (NIST SP 800-38G) and the format-preserving bijections built on it (redact/fpe.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from sandboxer.redact import fpe
from sandboxer.redact.fpe import FF1, MIN_DOMAIN, VECTOR_MAX, ff1_scalar

KEY = b"test-key-0123456789abcdef"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

K128 = "2B7E151628AED2A6ABF7158809CF4F3C"
K192 = K128 + "EF4359D8D580AA4F"
K256 = K192 + "7F036D6F04FC6A94"
TWEAK_10 = "39383736353433323130"
TWEAK_11 = "3737373770717273373737"
PT_10, PT_36 = "0123456789", "0123456789abcdefghi"

# The nine samples of NIST's "FF1samples.pdf" (Examples of FF1 with AES-128, -192 and -256).
NIST_FF1_SAMPLES = [
    (1, K128, "", 10, PT_10, "2433477484"),
    (2, K128, TWEAK_10, 10, PT_10, "6124200773"),
    (3, K128, TWEAK_11, 36, PT_36, "a9tv40mll9kdu509eum"),
    (4, K192, "", 10, PT_10, "2830668132"),
    (5, K192, TWEAK_10, 10, PT_10, "2496655549"),
    (6, K192, TWEAK_11, 36, PT_36, "xbj3kv35jrawxv32ysr"),
    (7, K256, "", 10, PT_10, "6657667009"),
    (8, K256, TWEAK_10, 10, PT_10, "1001623463"),
    (9, K256, TWEAK_11, 36, PT_36, "xs8a0azh2avyalyzuwd"),
]


def numerals(text: str) -> list[int]:
    return [ALPHABET.index(c) for c in text]


def text_of(values: object) -> str:
    return "".join(ALPHABET[int(v)] for v in values)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sample", "key", "tweak", "radix", "plain", "cipher"),
    NIST_FF1_SAMPLES,
    ids=[f"sample{s[0]}" for s in NIST_FF1_SAMPLES],
)
def test_nist_ff1_samples(
    sample: int, key: str, tweak: str, radix: int, plain: str, cipher: str
) -> None:
    k, t = bytes.fromhex(key), bytes.fromhex(tweak)
    # The readable reference, one value at a time.
    assert text_of(ff1_scalar(k, t, radix, numerals(plain))) == cipher
    assert text_of(ff1_scalar(k, t, radix, numerals(cipher), decrypt=True)) == plain
    # The vectorised cipher: the sample among other values, with the tweak shared or per value.
    ff1 = FF1(k, radix)
    rng = np.random.default_rng(sample)
    batch = rng.integers(0, radix, (5, len(plain))).astype(np.uint8)
    batch[3] = numerals(plain)
    assert text_of(ff1.encrypt(batch, t)[3]) == cipher
    per_value = np.tile(np.frombuffer(t, np.uint8), (5, 1))
    out = ff1.encrypt(batch, per_value)
    assert text_of(out[3]) == cipher
    assert (ff1.decrypt(out, per_value) == batch).all()


@pytest.mark.parametrize("radix", [2, 10, 26, 36, 1000, 65536])
def test_vectorised_ff1_matches_the_reference(radix: int) -> None:
    # Lengths and tweaks that take every path: one chunk and several, NUM(B) of up to 8 bytes
    # and longer, a MAC output S of 8, 12, 16 and more bytes (extra AES blocks), Q of one block
    # and several, shared and per-value tweaks.
    rng = np.random.default_rng(radix)
    ff1 = FF1(KEY[:16] + KEY[:16], radix)
    lengths = [n for n in (2, 3, 5, 6, 7, 9, 12, 17, 19, 20, 33, 40, 64) if radix**n >= MIN_DOMAIN]
    for n in lengths:
        for t in (0, 8, 13, 21):
            x = rng.integers(0, radix, (4, n)).astype(np.uint32)
            tweaks = rng.integers(0, 256, (4, t)).astype(np.uint8)
            out = ff1.encrypt(x, tweaks)
            for r in range(4):
                expected = ff1_scalar(ff1.aes_key, tweaks[r].tobytes(), radix, x[r].tolist())
                assert out[r].tolist() == expected, (n, t)
            assert (ff1.decrypt(out, tweaks) == x).all()


def test_ff1_refuses_domains_below_its_minimum() -> None:
    # SP 800-38G Rev. 1: radix**minlen >= 1,000,000.
    with pytest.raises(ValueError, match="1,000,000"):
        FF1(bytes(32), 10).encrypt(np.zeros((1, 5), np.uint8))
    with pytest.raises(ValueError, match="1,000,000"):
        ff1_scalar(bytes(32), b"", 26, [0, 0, 0, 0])
    assert FF1(bytes(32), 10).encrypt(np.zeros((1, 6), np.uint8)).shape == (1, 6)
    with pytest.raises(ValueError, match="radix"):
        FF1(bytes(32), 1)


def test_every_six_digit_string_maps_to_a_distinct_one() -> None:
    # The smallest FF1 domain for digits: the whole of it, as text.
    values = pl.Series("c", [f"{i:06d}" for i in range(10**6)])
    out = fpe.format_strings(values, KEY, "t")
    assert out.n_unique() == 10**6
    assert out.str.contains(r"^\d{6}$").all()
    assert (out != values).mean() > 0.99


@pytest.mark.parametrize(("template", "size"), [("{:05d}", 10**5), ("x{:03d}-", 10**3)])
def test_short_digit_runs_use_the_keyed_table_and_stay_one_to_one(template: str, size: int) -> None:
    values = pl.Series("c", [template.format(i) for i in range(size)])
    out = fpe.format_strings(values, KEY, "t")
    assert out.n_unique() == size
    # Keyed: another key is another permutation.
    assert (fpe.format_strings(values, KEY + b"2", "t") != out).mean() > 0.9


def test_short_letter_runs_are_one_to_one() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    values = pl.Series("c", [a + b + c.upper() for a in letters for b in letters for c in letters])
    out = fpe.format_strings(values, KEY, "t")
    assert out.n_unique() == 26**3
    assert out.str.contains(r"^[a-z]{2}[A-Z]$").all()


def test_digits_and_letters_depend_on_each_other() -> None:
    # Both classes are long enough for FF1; each one's tweak digests the other.
    base = "ABCDE-123456-fghij"
    other_letter = "ABCDE-123456-fghik"
    other_digit = "ABCDE-123457-fghij"
    a, b, c = fpe.format_strings(pl.Series("c", [base, other_letter, other_digit]), KEY, "t")
    assert a[6:12] != b[6:12]  # a letter changed: the digits changed too
    assert a[:5] != c[:5] and a[13:] != c[13:]  # a digit changed: the letters changed too


def test_the_pattern_is_part_of_the_tweak() -> None:
    a, b = fpe.format_strings(pl.Series("c", ["030 1234567", "030-1234567"]), KEY, "t")
    assert a.replace(" ", "") != b.replace("-", "")


def test_key_and_domain_separate_outputs() -> None:
    values = pl.Series("c", [f"+49 30 {i:07d}" for i in range(1000)])
    out = fpe.format_strings(values, KEY, "format/phone")
    assert (fpe.format_strings(values, KEY, "fake/phone") != out).mean() > 0.99
    assert (
        fpe.format_strings(values, b"another-key-0123456789", "format/phone") != out
    ).mean() > 0.99
    assert fpe.subkey(KEY, "ff1", "a") != fpe.subkey(KEY, "table", "a")


def test_a_value_maps_alike_whatever_else_its_block_holds() -> None:
    # A block of one pattern takes the matrix path, a mixed block the general one: same outputs.
    phones = [f"+49 30 {i:07d}" for i in range(3000)]
    ids = [f"AB-{i:06d}-x{i % 7}Z" for i in range(3000)]
    alone = fpe.format_strings(pl.Series("c", phones), KEY, "t").to_list()
    alone += fpe.format_strings(pl.Series("c", ids), KEY, "t").to_list()
    mixed = fpe.format_strings(pl.Series("c", [*phones, *ids, "x"]), KEY, "t").to_list()
    assert mixed[:-1] == alone


def test_long_strings_take_the_scalar_path_with_the_same_cipher() -> None:
    rng = np.random.default_rng(3)
    n = VECTOR_MAX + 17  # beyond the vectorised path whatever the group
    x = rng.integers(0, 10, (3, n)).astype(np.uint8)
    tweaks = rng.integers(0, 256, (3, 8)).astype(np.uint8)
    aes_key = fpe.subkey(KEY, "ff1", "str/t")
    scalar = fpe._crypt_class(x, 10, tweaks, aes_key, KEY, "t")
    assert (scalar == FF1(aes_key, 10).encrypt(x, tweaks)).all()
    # A group too small for a vectorised call to pay takes the scalar path too: same outputs.
    short = x[:2, :12]
    assert (
        fpe._crypt_class(short, 10, tweaks[:2], aes_key, KEY, "t")
        == FF1(aes_key, 10).encrypt(short, tweaks[:2])
    ).all()
    long_values = pl.Series("c", ["1" * 200, "1" * 199 + "2"])
    a, b = fpe.format_strings(long_values, KEY, "t")
    assert a[:20] != b[:20] and len(a) == 200


def test_integers_stay_in_their_interval_one_to_one() -> None:
    # [0, 1.2M) covers tables (below 2**20 values) and FF1 on bits with cycle-walking
    # ([10**6, 10**7) has 9M values: 24 bits).
    values = np.arange(-1_200_000, 1_200_000, dtype=np.int64)
    out = fpe.permute_int(values, KEY, "t")
    assert len(np.unique(out)) == len(values)
    assert ((out < 0) == (values < 0)).all() and out[values == 0][0] == 0
    bounds, _ = fpe._intervals()
    mag_in, mag_out = np.abs(values).astype(np.uint64), np.abs(out).astype(np.uint64)
    interval = np.searchsorted(bounds, mag_in, side="right")
    assert (interval == np.searchsorted(bounds, mag_out, side="right")).all()
    assert (out != values).mean() > 0.99


def test_integer_types_and_limits() -> None:
    small = np.array([1, 127, -128, 1000, 2**31 - 1, -(2**31)], dtype=np.int64)
    as32 = fpe.permute_int(small.astype(np.int32), KEY, "t")
    assert as32.dtype == np.int32
    assert (as32.astype(np.int64) == fpe.permute_int(small, KEY, "t")).all()
    # The minimums are one-value intervals (they map to themselves); every output fits the type.
    big = np.array([2**63 - 1, -(2**63), 10**18 + 5, -(10**18) - 5], dtype=np.int64)
    out = fpe.permute_int(big, KEY, "t")
    assert out[1] == -(2**63) and as32[5] == -(2**31)
    assert all(10**18 <= abs(int(v)) < 2**63 for v in (out[0], out[2], out[3]))
    assert out[3] < 0 and len(set(out.tolist())) == 4
    u64 = np.array([2**64 - 1, 10**19 + 7], dtype=np.uint64)
    assert all(int(v) >= 10**19 for v in fpe.permute_int(u64, KEY, "t"))
