"""How close a dataset comes to production: distances between two profiles, and privacy of
synthetic rows against the real ones.

``fidelity`` needs only the two profiles (never the data): KS distances come from the quantile
sketches, total variation from the category frequencies, fan-out from the children-per-parent
counts. Definitions are in docs/profile.md.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

FORMAT = "sandboxer.fidelity/1"
NUMERIC = frozenset({"integer", "float", "decimal"})
TEMPORAL = frozenset({"date", "datetime"})


# -- distances -------------------------------------------------------------------------------
def ks_from_quantiles(a: Sequence[float], b: Sequence[float]) -> float:
    """Kolmogorov-Smirnov distance between two distributions given by evenly spaced quantiles
    (``q[i]`` at p = i / (len(q) - 1), nearest rank).

    Each quantile list defines a piecewise-linear CDF that jumps where quantiles repeat (atoms
    of a discrete distribution). The supremum of the difference of two such CDFs lies at a
    breakpoint, approached from the left or the right, so evaluating both one-sided limits of
    both CDFs at every breakpoint gives it exactly.
    """
    if not a or not b:
        return 0.0 if not a and not b else 1.0
    ca, cb = _cdf(a), _cdf(b)
    points = sorted(set(ca[0]) | set(cb[0]))
    worst = 0.0
    for x in points:
        worst = max(
            worst,
            abs(_eval(ca, x, right=True) - _eval(cb, x, right=True)),
            abs(_eval(ca, x, right=False) - _eval(cb, x, right=False)),
        )
    return round(min(1.0, worst), 6)


def _cdf(q: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
    """Distinct breakpoints with the CDF's left limit and value at each."""
    n = len(q)
    probs = [i / (n - 1) for i in range(n)] if n > 1 else [1.0]
    xs: list[float] = []
    left: list[float] = []
    right: list[float] = []
    for x, p in zip(q, probs, strict=True):
        if xs and x == xs[-1]:
            right[-1] = p
        else:
            xs.append(x)
            left.append(p)
            right.append(p)
    # A sole point (a constant column) is one atom of mass 1.
    if len(xs) == 1:
        left, right = [0.0], [1.0]
    else:
        left[0] = 0.0
    return xs, left, right


def _eval(cdf: tuple[list[float], list[float], list[float]], x: float, *, right: bool) -> float:
    xs, left, value = cdf
    if x < xs[0] or (x == xs[0] and not right):
        return 0.0
    if x > xs[-1]:
        return 1.0
    i = bisect.bisect_left(xs, x)
    if i < len(xs) and xs[i] == x:
        return value[i] if right else left[i]
    # Strictly between breakpoints i-1 and i: linear from the value at i-1 to the left limit
    # at i.
    x0, x1 = xs[i - 1], xs[i]
    y0, y1 = value[i - 1], left[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def ks_from_counts(
    a: tuple[Sequence[float], Sequence[int]], b: tuple[Sequence[float], Sequence[int]]
) -> float:
    """KS distance between two discrete distributions given as ``(values, counts)``."""
    ta, tb = sum(a[1]), sum(b[1])
    if not ta or not tb:
        return 0.0 if not ta and not tb else 1.0
    ma = dict(zip(a[0], a[1], strict=True))
    mb = dict(zip(b[0], b[1], strict=True))
    fa = fb = 0.0
    worst = 0.0
    for x in sorted(set(ma) | set(mb)):
        fa += ma.get(x, 0) / ta
        fb += mb.get(x, 0) / tb
        worst = max(worst, abs(fa - fb))
    return round(min(1.0, worst), 6)


def total_variation(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Total variation between two category lists (``values``, ``frequencies``, ``other``).

    A value listed on one side only counts as part of the other side's ``other`` mass, so this
    is exact when both sides list the same values and close otherwise.
    """
    pa = _shares(a)
    pb = _shares(b)
    keys = set(pa) | set(pb)
    diff = sum(abs(pa.get(k, 0.0) - pb.get(k, 0.0)) for k in keys if k != _OTHER)
    diff += abs(pa[_OTHER] - pb[_OTHER])
    return round(min(1.0, diff / 2), 6)


_OTHER = ("other",)


def _shares(categories: Mapping[str, Any]) -> dict[Any, float]:
    shares: dict[Any, float] = {
        _key(v): float(f)
        for v, f in zip(categories["values"], categories["frequencies"], strict=True)
    }
    shares[_OTHER] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def _key(v: Any) -> Any:
    # 1 and 1.0 and True are one dict key in Python; a category's type is part of its value.
    return (type(v).__name__ if isinstance(v, bool) else "v", v)


def _numbers(kind: str, values: Iterable[Any]) -> list[float]:
    """Quantile values as numbers: dates and datetimes as seconds since 1970 (UTC)."""
    if kind not in TEMPORAL:
        return [float(v) for v in values]
    out = []
    for v in values:
        moment = dt.datetime.fromisoformat(v)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        out.append(moment.timestamp())
    return out


# -- profiles --------------------------------------------------------------------------------
def fidelity(
    reference: Mapping[str, Any],
    candidate: Mapping[str, Any],
    *,
    worst: int = 10,
    tables: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Compare ``candidate`` (a snapshot's profile) with ``reference`` (the source's).

    Per column: a distribution distance (``ks`` for numbers and dates, ``tv`` for listed
    categories, ``ks_length`` on string lengths otherwise), the null-rate and distinct-ratio
    deltas, and a score ``1 - max(distance, |null-rate delta|, 1 if a unique column lost its
    uniqueness)``. The distinct-ratio delta is reported, not scored: distinct / rows depends on
    the number of rows, so every smaller sample of the same distribution would be penalised.
    Per foreign key: KS between the children-per-parent distributions, score ``1 - ks``. The
    overall score is the mean of every column and foreign-key score of the tables both profiles
    hold (or of ``tables``); tables and columns missing from the candidate are listed, not
    scored: a subset may exclude a table or a redaction drop a column on purpose.
    """
    for name, p in (("reference", reference), ("candidate", candidate)):
        if p.get("format") != "sandboxer.profile/1":
            raise SandboxerError(
                f"The {name} profile has format {p.get('format')!r}, not sandboxer.profile/1",
                hint="Write profiles with `sandboxer data profile`.",
            )
    ref_tables = reference["tables"]
    cand_tables = candidate["tables"]
    wanted = set(tables) if tables is not None else set(ref_tables)
    compared = sorted(wanted & set(ref_tables) & set(cand_tables))
    out_tables: dict[str, Any] = {}
    scores: list[float] = []
    fk_scores: list[float] = []
    ranked: list[dict[str, Any]] = []
    missing_columns: list[str] = []
    for key in compared:
        ref, cand = ref_tables[key], cand_tables[key]
        columns: dict[str, Any] = {}
        for name, rc in ref["columns"].items():
            cc = cand["columns"].get(name)
            if cc is None:
                missing_columns.append(f"{key}.{name}")
                continue
            entry = compare_column(rc, cc)
            columns[name] = entry
            scores.append(entry["score"])
            ranked.append({"table": key, "column": name, **entry})
        fks = []
        cand_fks = {_fk_id(fk): fk for fk in cand.get("foreign_keys") or []}
        for fk in ref.get("foreign_keys") or []:
            other = cand_fks.get(_fk_id(fk))
            if other is None or not fk.get("children_per_parent"):
                continue
            entry = compare_fanout(fk["children_per_parent"], other.get("children_per_parent"))
            entry = {
                "columns": fk["columns"],
                "ref_table": fk["ref_table"],
                "ref_columns": fk["ref_columns"],
                **entry,
            }
            fks.append(entry)
            fk_scores.append(entry["score"])
        table_scores = [c["score"] for c in columns.values()] + [f["score"] for f in fks]
        out_tables[key] = {
            "rows": {"reference": ref["rows"], "candidate": cand["rows"]},
            "rows_ratio": round(cand["rows"] / ref["rows"], 6) if ref["rows"] else None,
            "score": _mean(table_scores),
            "columns": columns,
            "foreign_keys": fks,
        }
    ranked.sort(key=lambda e: (e["score"], e["table"], e["column"]))
    every = scores + fk_scores
    return {
        "format": FORMAT,
        "score": _mean(every),
        "columns_score": _mean(scores),
        "foreign_keys_score": _mean(fk_scores) if fk_scores else None,
        "compared": {
            "tables": len(compared),
            "columns": len(scores),
            "foreign_keys": len(fk_scores),
        },
        "worst": [
            {
                k: e[k]
                for k in (
                    "table",
                    "column",
                    "score",
                    "metric",
                    "distance",
                    "null_rate_delta",
                    "distinct_ratio_delta",
                    "unique_lost",
                )
            }
            for e in ranked[:worst]
            if e["score"] < 1.0
        ],
        "missing_tables": sorted(wanted & set(ref_tables) - set(cand_tables)),
        "extra_tables": sorted(set(cand_tables) - set(ref_tables)),
        "missing_columns": missing_columns,
        "tables": out_tables,
    }


def compare_column(ref: Mapping[str, Any], cand: Mapping[str, Any]) -> dict[str, Any]:
    """Distance, deltas and score of one column (see ``fidelity``)."""
    metric: str | None = None
    distance: float | None = None
    rk, ck = ref["type"], cand["type"]
    same_family = (
        rk == ck or (rk in NUMERIC and ck in NUMERIC) or (rk in TEMPORAL and ck in TEMPORAL)
    )
    if not same_family:
        metric, distance = "type_changed", 1.0
    elif ref.get("categories") is not None and cand.get("categories") is not None:
        metric, distance = "tv", total_variation(ref["categories"], cand["categories"])
    elif ref.get("quantiles") and cand.get("quantiles"):
        metric = "ks"
        distance = ks_from_quantiles(
            _numbers(rk, ref["quantiles"]), _numbers(ck, cand["quantiles"])
        )
    elif (ref.get("length") or {}).get("quantiles") and (cand.get("length") or {}).get("quantiles"):
        metric = "ks_length"
        distance = ks_from_quantiles(ref["length"]["quantiles"], cand["length"]["quantiles"])
    null_delta = round(cand["null_rate"] - ref["null_rate"], 6)
    distinct_delta = None
    if ref.get("distinct_ratio") is not None and cand.get("distinct_ratio") is not None:
        distinct_delta = round(cand["distinct_ratio"] - ref["distinct_ratio"], 6)
    # An all-null column has no values to repeat: it has not lost uniqueness.
    unique_lost = (
        bool(ref.get("unique")) and cand.get("unique") is False and cand["null_rate"] < 1.0
    )
    penalty = max(distance or 0.0, abs(null_delta), 1.0 if unique_lost else 0.0)
    return {
        "metric": metric,
        "distance": distance,
        "null_rate_delta": null_delta,
        "distinct_ratio_delta": distinct_delta,
        "unique_lost": unique_lost,
        "score": round(1.0 - min(1.0, penalty), 6),
    }


def compare_fanout(ref: Mapping[str, Any], cand: Mapping[str, Any] | None) -> dict[str, Any]:
    """KS between two children-per-parent distributions, with their means and childless
    shares; exact when both list their counts, from the quantiles otherwise."""
    if not cand:
        return {"metric": None, "distance": 1.0, "score": 0.0}
    rc, cc = ref.get("counts"), cand.get("counts")
    if rc and cc:
        metric = "ks_counts"
        distance = ks_from_counts((rc["children"], rc["parents"]), (cc["children"], cc["parents"]))
    else:
        metric = "ks"
        distance = ks_from_quantiles(ref.get("quantiles") or [], cand.get("quantiles") or [])
    return {
        "metric": metric,
        "distance": distance,
        "mean": {"reference": ref.get("mean"), "candidate": cand.get("mean")},
        "childless_share": {
            "reference": _share(ref.get("childless"), ref.get("parents")),
            "candidate": _share(cand.get("childless"), cand.get("parents")),
        },
        "score": round(1.0 - distance, 6),
    }


def _fk_id(fk: Mapping[str, Any]) -> tuple[Any, ...]:
    return (tuple(fk["columns"]), fk["ref_table"], tuple(fk.get("ref_columns") or ()))


def _share(a: int | None, b: int | None) -> float | None:
    return round(a / b, 6) if a is not None and b else None


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 6) if values else 1.0


# -- synthetic rows --------------------------------------------------------------------------
def synthetic_privacy(
    real: pl.LazyFrame,
    synthetic: pl.LazyFrame,
    columns: Sequence[str],
    *,
    sample_rows: int = 2000,
    reference_rows: int = 20000,
    seed: int = 0,
) -> dict[str, Any]:
    """How close synthetic rows come to real ones, on ``columns``.

    ``exact_matches``: synthetic rows equal to some real row on every column (nulls equal
    nulls), over all rows, by a hash semi-join; it must be 0. Distance to closest record
    (DCR): for a sample of ``sample_rows`` synthetic rows, the distance to the nearest of
    ``reference_rows`` sampled real rows, where a row distance is the mean over columns of
    ``|a - b| / (max - min)`` (numbers, dates, booleans; range of the real sample, capped at 1)
    or 0/1 mismatch (anything else); a null matches only a null. ``baseline`` is the same
    statistic for real rows held out of the reference sample: synthetic rows much closer to
    real ones than real rows are to each other suggest copying.
    """
    import polars as pl

    if not columns:
        raise SandboxerError("synthetic_privacy needs at least one column to compare")
    columns = list(columns)
    real_cols = real.select(columns)
    real_schema = real_cols.collect_schema()
    syn_cols = synthetic.select(pl.col(c).cast(real_schema[c], strict=False) for c in columns)
    syn_rows = syn_cols.select(pl.len()).collect().item()
    matches = (
        syn_cols.join(real_cols.unique(), on=columns, how="semi", nulls_equal=True)
        .select(pl.len())
        .collect()
        .item()
    )
    real_frame = real_cols.collect()
    syn_frame = _take(syn_cols.collect(), sample_rows, seed)
    shuffled = _take(real_frame, real_frame.height, seed + 1)
    reference = shuffled.head(reference_rows)
    holdout = shuffled.slice(reference_rows, sample_rows)
    dcr = _dcr(reference, syn_frame, real_schema)
    baseline = _dcr(reference, holdout, real_schema) if holdout.height else None
    return {
        "columns": columns,
        "rows": syn_rows,
        "exact_matches": int(matches),
        "exact_match_share": round(matches / syn_rows, 6) if syn_rows else 0.0,
        "ok": matches == 0,
        "dcr": _dcr_stats(dcr, reference.height),
        "baseline": _dcr_stats(baseline, reference.height) if baseline is not None else None,
    }


def _take(frame: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """``n`` rows in a seeded random order (deterministic)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(frame.height)[:n]
    return frame[order]


def _dcr(
    reference: pl.DataFrame, rows: pl.DataFrame, schema: Mapping[str, pl.DataType]
) -> np.ndarray:
    """For each row of ``rows``, the distance to its nearest row of ``reference``."""
    import numpy as np
    import polars as pl

    if reference.height == 0 or rows.height == 0:
        return np.zeros(0)
    encoded: list[tuple[np.ndarray, np.ndarray, bool]] = []
    for name, dtype in schema.items():
        both = pl.concat([reference.get_column(name), rows.get_column(name)])
        numeric = dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean
        if numeric:
            values = both.to_physical().cast(pl.Float64)
        else:
            from sandboxer.redact.dtypes import as_text

            # as_text: lists, structs, maps and bytes have a text form too (cast has none).
            values = as_text(both).rank("dense").cast(pl.Float64)
        array = values.fill_nan(None).to_numpy().astype(np.float64)
        head = array[: reference.height]
        if numeric and not np.isnan(head).all():
            span = float(np.nanmax(head) - np.nanmin(head))
            array = array / (span or 1.0)
        encoded.append((array[: reference.height], array[reference.height :], numeric))
    k = len(encoded)
    best = np.empty(rows.height)
    chunk = max(1, 2_000_000 // max(1, reference.height))
    for start in range(0, rows.height, chunk):
        stop = min(rows.height, start + chunk)
        total = np.zeros((stop - start, reference.height))
        for ref_values, row_values, numeric in encoded:
            a = row_values[start:stop, None]
            b = ref_values[None, :]
            na, nb = np.isnan(a), np.isnan(b)
            with np.errstate(invalid="ignore"):
                d = np.minimum(np.abs(a - b), 1.0) if numeric else (a != b).astype(np.float64)
            d = np.where(na | nb, (na != nb).astype(np.float64), d)
            total += d
        best[start:stop] = total.min(axis=1) / k
    return best


def _dcr_stats(values: np.ndarray, reference_rows: int) -> dict[str, Any]:
    import numpy as np

    if values.size == 0:
        return {"sampled": 0, "reference_rows": reference_rows}
    return {
        "sampled": int(values.size),
        "reference_rows": reference_rows,
        "min": _round(values.min()),
        "p05": _round(np.quantile(values, 0.05)),
        "median": _round(np.median(values)),
        "mean": _round(values.mean()),
        "zero_share": _round((values == 0).mean()),
    }


def _round(v: Any) -> float:
    f = float(v)
    return round(f, 6) if math.isfinite(f) else 0.0
