"""Person names in free text: recall of planted invented names, and the cost on text without
people (``scrub_text``, ``sandboxer/redact/detect/persons.py``).

    .venv/bin/python bench/free_text_names.py [--n 3000] [--sf 0.1]   (or bench/run.py --only)

- **recall**: invented names (random syllables with a fixed seed, none in any Faker locale's
  name lists) planted in notes of several shapes: "First Last" pairs, honorifics, relatives,
  sign-offs, "Last, First", sentence starts, possessives. A third of the people also appear in
  a column of the dataset (``names=``, the cross-table originals), the rest nowhere. A planted
  name counts as found when none of its words is left in the scrubbed note (case-folded, whole
  words). The floor is ``RECALL_FLOOR``.
- **changed**: the share of words a keyed scrub changes in real text without people: TPC-H's
  comment columns (tpchgen-cli) and product descriptions (the descriptions of the Debian
  packages installed on this machine, and the summaries of the installed Python packages).
  Reported, not tuned.
- **throughput**: rows/s of the keyed scrub over TPC-H ``orders.o_comment``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    from harness import Bench, Clock, Result

HERE = Path(__file__).resolve().parent
NAME = "free_text_names"
RECALL_FLOOR = 0.99
KEY = b"free-text-names-benchmark-key-01"
SEED = 20240611

ONSETS = ("b br d dr f g gr h j k kr l m n p r s st t tr v w z th sh ch qu y").split()
VOWELS = ("a e i o u ae ei ou y").split()
CODAS = ("", "", "", "n", "r", "l", "s", "th", "k", "m", "x", "nd", "rt", "ck")
TITLES = ("Mr", "Mrs", "Ms", "Dr", "Mr.", "Mrs.", "Dr.")

# {f}: given name, {l}: surname, {f2}: another given name, {t}: an honorific.
SHAPES = (
    "Spoke with {f} {l} about the late invoice, she will call back tomorrow.",
    "{t} {l} called to change the delivery address for order 4471.",
    "Customer mentioned her daughter {f} will pick up the parcel on Friday.",
    "{f} {l} wants the refund sent to the original card.",
    "Refund approved by {f}; see the ticket history for details.",
    "Billing contact: {l}, {f} (accounts payable).",
    "Please call back after 5pm about the damaged item. Thanks, {f}",
    "The parcel was left with the neighbour, {f} {l}, at noon.",
    "{f} said the order never arrived and asked for a replacement.",
    "Escalated to {f} {f2} {l} in the returns team.",
    "Met with the {l} family regarding the warranty claim.",
    "Her husband {f} {l} will sign for the delivery.",
    "Left a voicemail for {t} {f} {l}, no answer yet.",
    "Customer asked that {f}'s account be merged with the old one.",
    "Follow-up: {l} confirmed the new shipping window by phone.",
    "Handed the case to {f} for a second review.",
)


def invented_names(n: int, seed: int = SEED) -> list[str]:
    """``n`` distinct invented words, capitalised, in no Faker locale's name lists."""
    from sandboxer.redact.detect import wordlists

    rng = random.Random(seed)
    listed = wordlists.first_names() | wordlists.last_names()
    out: dict[str, None] = {}
    while len(out) < n:
        syllables = rng.choice((2, 2, 3))
        word = "".join(
            rng.choice(ONSETS) + rng.choice(VOWELS) + (rng.choice(CODAS) if i == syllables - 1
                                                       else "")
            for i in range(syllables)
        ).capitalize()  # fmt: skip
        if len(word) >= 4 and wordlists.fold(word) not in listed:
            out[word] = None
    return list(out)


def planted(n: int, seed: int = SEED) -> tuple[list[str], list[list[str]], list[str]]:
    """``n`` notes, the planted name words of each, and the dataset's name column (a third of
    the people: their "First Last" values)."""
    rng = random.Random(seed + 1)
    words = invented_names(3 * n, seed)
    notes: list[str] = []
    planted_words: list[list[str]] = []
    column: list[str] = []
    for i in range(n):
        f, f2, last = words[3 * i], words[3 * i + 1], words[3 * i + 2]
        shape = SHAPES[i % len(SHAPES)]
        notes.append(shape.format(f=f, f2=f2, l=last, t=rng.choice(TITLES)))
        slots = ((f, "{f}"), (f2, "{f2}"), (last, "{l}"))
        planted_words.append([w for w, k in slots if k in shape])
        if i % 3 == 0:
            column.append(f"{f} {last}")
    return notes, planted_words, column


def scrub(texts: list[str] | pl.Series, names: list[str] | None = None) -> pl.Series:
    import polars as pl

    from sandboxer.redact.detect import scrub_series

    return scrub_series(pl.Series("t", texts, dtype=pl.String), names=names or (), key=KEY)


def measure_recall(n: int = 3000) -> dict[str, Any]:
    """Planted names found by a keyed scrub (see the module docstring)."""
    notes, planted_words, column = planted(n)
    out = scrub(notes, names=column).to_list()
    from sandboxer.redact.detect import wordlists

    found = 0
    missed_shapes: dict[int, int] = {}
    for i, (text, names) in enumerate(zip(out, planted_words, strict=True)):
        left = {wordlists.fold(w) for w in re.findall(r"\w+", text or "")}
        if any(wordlists.fold(w) in left for w in names):
            missed_shapes[i % len(SHAPES)] = missed_shapes.get(i % len(SHAPES), 0) + 1
        else:
            found += 1
    return {
        "planted": n,
        "found": found,
        "recall": round(found / n, 4),
        "missed_by_shape": {SHAPES[k]: v for k, v in sorted(missed_shapes.items())},
    }


def changed_words(texts: pl.Series) -> dict[str, Any]:
    """Words a keyed scrub changes in ``texts`` (no dataset names), and how many there are."""
    import polars as pl

    from sandboxer.redact.detect.persons import WORD

    texts = texts.drop_nulls()
    out = scrub(texts)
    before = texts.str.extract_all(WORD)
    after = out.str.extract_all(WORD)
    frame = pl.DataFrame({"b": before, "a": after}).with_columns(
        n=pl.col("b").list.len(), same_len=pl.col("b").list.len() == pl.col("a").list.len()
    )
    aligned = frame.filter(pl.col("same_len")).select(pl.col("b").explode(), pl.col("a").explode())
    changed = int((aligned["a"] != aligned["b"]).sum())
    # Rows whose word count changed (a fake of two words, an identifier token): every word of
    # the original that is gone counts as changed.
    other = frame.filter(~pl.col("same_len"))
    for b, a in zip(other["b"].to_list(), other["a"].to_list(), strict=True):
        changed += len(set(b) - set(a))
    words = int(frame["n"].sum())
    return {
        "rows": texts.len(),
        "words": words,
        "changed": changed,
        "share": round(changed / max(words, 1), 5),
        "rows_changed": int((out != texts).sum()),
    }


def tpch_comments(sf: float, per_table: int = 20_000) -> pl.Series:
    """Up to ``per_table`` comments of every TPC-H table with a comment column."""
    import polars as pl

    sys.path.insert(0, str(HERE))
    from tpch import ensure_parquet

    directory = ensure_parquet(sf)
    parts = []
    for table, column in (("orders", "o_comment"), ("lineitem", "l_comment"),
                          ("customer", "c_comment"), ("part", "p_comment"),
                          ("partsupp", "ps_comment"), ("supplier", "s_comment"),
                          ("nation", "n_comment"), ("region", "r_comment")):  # fmt: skip
        frame = pl.scan_parquet(directory / f"{table}.parquet").select(column).head(per_table)
        parts.append(frame.collect().to_series().rename("t"))
    return pl.concat(parts)


def product_descriptions() -> pl.Series:
    """Descriptions of the installed Debian packages and summaries of the installed Python
    packages: real product text, present on every machine this runs on."""
    from importlib.metadata import distributions

    import polars as pl

    texts: list[str] = []
    status = Path("/var/lib/dpkg/status")
    if status.exists():
        for block in status.read_text(errors="replace").split("\n\n"):
            match = re.search(r"^Description: (.*(?:\n .*)*)", block, re.M)
            if match:
                lines = [ln.strip() for ln in match.group(1).split("\n")]
                texts.append(" ".join(ln for ln in lines if ln != "."))
    for dist in distributions():
        summary = dist.metadata.get("Summary")
        if summary and summary != "UNKNOWN":
            texts.append(summary)
    return pl.Series("t", sorted(set(texts)), dtype=pl.String)


# --- workers (run in a fresh process by bench/run.py) --------------------------------------


def recall_case(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    with clock:
        return measure_recall(args["n"])


def changed_case(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    texts = tpch_comments(args["sf"]) if args["corpus"] == "tpch" else product_descriptions()
    with clock:
        return changed_words(texts)


def throughput_case(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    import polars as pl

    sys.path.insert(0, str(HERE))
    from tpch import ensure_parquet

    texts = pl.read_parquet(ensure_parquet(args["sf"]) / "orders.parquet", columns=["o_comment"])
    series = texts.to_series()
    scrub(series.head(1000))  # compile the regexes, read the word tables
    with clock:
        scrub(series)
    return {"rows": series.len(), "rows_per_s": round(series.len() / (clock.seconds or 1))}


def run(bench: Bench) -> list[Result]:
    from harness import Result

    n = 600 if bench.quick else 3000
    sf = min(bench.sf, 0.1)
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (f"{NAME}/recall", "recall_case", {"n": n}),
        (f"{NAME}/changed-tpch", "changed_case", {"corpus": "tpch", "sf": sf}),
        (f"{NAME}/changed-products", "changed_case", {"corpus": "products"}),
        (f"{NAME}/throughput-o_comment", "throughput_case", {"sf": sf}),
    ]
    results = []
    for name, function, args in cases:
        if not bench.selected(name):
            continue
        print(f"{name} ...", file=sys.stderr)
        result = Result(name)
        m = bench.measure(f"{NAME}:{function}", args)
        result.tool_runs.append(m)
        if not m.ok:
            result.errors.append(str(m.error))
        else:
            info = dict(m.info)
            result.details = info
            result.info = {k: v for k, v in info.items() if not isinstance(v, dict)}
            if function == "recall_case" and info["recall"] < RECALL_FLOOR:
                result.errors.append(f"recall {info['recall']} < {RECALL_FLOOR}")
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="planted notes")
    parser.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    started = time.perf_counter()
    recall = measure_recall(args.n)
    print(f"recall: {recall['found']}/{recall['planted']} = {recall['recall']:.2%}")
    for shape, missed in recall["missed_by_shape"].items():
        print(f"  missed {missed}: {shape}")
    for corpus, texts in (("tpch", tpch_comments(args.sf)), ("products", product_descriptions())):
        c = changed_words(texts)
        print(
            f"changed words, {corpus}: {c['changed']}/{c['words']} = {c['share']:.3%} "
            f"({c['rows_changed']}/{c['rows']} rows)"
        )
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0 if recall["recall"] >= RECALL_FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
