"""Synthesis benchmark: TPC-H-shaped data at SF from a profile of TPC-H at SF / 10.

The issue's goals (issue 6, Performance): at least 1 M rows/s for numeric, date and categorical
columns on one core, and synthesis of SF1 within 2x the time polars takes to write the same
data to Parquet; report rows/s and the fidelity score.

- Preparation (not timed, one worker each): ``sandboxer.profile.profile_frames`` of the eight
  TPC-H tables at SF / 10 (the generator's only input, with the TPC-H keys) and at SF (the
  reference that fidelity is measured against), written to the scratch directory as JSON.
- ``generate-sf<SF>``: tool = ``sandboxer.synthesize.generate`` of all eight tables at
  ``scale=10`` from the SF / 10 profile, every batch consumed and dropped (as the build's
  writer streams them; keeping 3 GB of batches would time page faults, not synthesis);
  imports and the fakes' word lists are loaded before the clock. Baseline = polars
  ``write_parquet`` of the real SF tables, read into memory before the clock (the "time
  polars takes to write the same data"). Default threads on both sides (the generator itself
  is single-threaded). After the clock, on the first run only, the data is generated again
  (same seed, same data) and kept for the checks: the synthetic data's
  profile, ``fidelity(reference SF profile, synthetic profile)``, zero FK orphans and unique
  primary keys (anti-joins in polars), and ``synthetic_privacy`` of ``customer`` and
  ``orders`` against the real SF rows (exact copies must be 0).
- ``columns-1core-sf<SF>``: ``lineitem``'s numeric, date and categorical columns alone
  (``POLARS_MAX_THREADS=1``, ``pyarrow.set_cpu_count(1)``), generated for every row of the SF
  table; the row is a rate: ``MISS <1M/s`` when the slowest column is under 1 M rows/s.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Result
from tpch import FOREIGN_KEYS, PRIMARY_KEYS, TABLES, ensure_parquet, warm_page_cache

NAME = "synth_tpch"
SEED = 6
PROFILE_DIVISOR = 10
MAX_TIME_RATIO = 2.0
MIN_ROWS_PER_S = 1_000_000.0
PRIVACY_TABLES = ("customer", "orders")


def _meta() -> dict[str, Any]:
    return {
        t: {
            "primary_key": PRIMARY_KEYS[t],
            "foreign_keys": [
                {"columns": c, "ref_table": r, "ref_columns": rc}
                for tt, c, r, rc in FOREIGN_KEYS
                if tt == t
            ],
        }
        for t in TABLES
    }


# -- workers -------------------------------------------------------------------------------
def profile(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The profile of a TPC-H directory, written as JSON (the clock times the profiling)."""
    import polars as pl

    from sandboxer.profile import profile_frames

    frames = {t: pl.scan_parquet(Path(args["data"]) / f"{t}.parquet") for t in TABLES}
    with clock:
        prof = profile_frames(frames, _meta())
    Path(args["out"]).write_text(json.dumps(prof, default=str))
    return {"tables": len(prof["tables"])}


def synthesize(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Generate every table at ``scale`` from the small profile; check it after the clock."""
    import duckdb  # noqa: F401
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute

    from sandboxer.redact.fake_vocab import vocab
    from sandboxer.synthesize import generate

    vocab("en_US")  # the fakes' word lists, loaded once per process (as the other benches do)
    small = json.loads(Path(args["profile"]).read_text())
    rows: dict[str, int] = {}
    with clock:
        # Streamed and dropped batch by batch, as the build's writer consumes them.
        for name, batches in generate(small, None, scale=args["scale"], seed=SEED).items():
            rows[name] = sum(b.num_rows for b in batches)
    out: dict[str, Any] = {"rows": rows, "total_rows": sum(rows.values())}
    if not args["check"]:
        return out
    # The same seed gives the same data: generated again, kept, and checked.
    streams = generate(small, None, scale=args["scale"], seed=SEED)
    tables = {name: pa.Table.from_batches(list(batches)) for name, batches in streams.items()}
    assert {k: t.num_rows for k, t in tables.items()} == rows
    from sandboxer.profile import fidelity, profile_frames, synthetic_privacy

    frames = {name: pl.from_arrow(t) for name, t in tables.items()}
    out["integrity"] = integrity(frames)  # type: ignore[arg-type]
    reference = json.loads(Path(args["reference"]).read_text())
    pii = [
        (t, c)
        for t, entry in reference["tables"].items()
        for c, col in entry["columns"].items()
        if col.get("pii")
    ]
    lazy = {name: f.lazy() for name, f in frames.items()}  # type: ignore[union-attr]
    started = time.perf_counter()
    synthetic_profile = profile_frames(lazy, _meta(), pii_columns=pii, detect=False)
    fid = fidelity(reference, synthetic_profile)
    out["fidelity"] = {
        "score": fid["score"],
        "columns_score": fid["columns_score"],
        "foreign_keys_score": fid["foreign_keys_score"],
        "worst": fid["worst"][:5],
        "tables": {k: v["score"] for k, v in fid["tables"].items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    privacy = {}
    for t in PRIVACY_TABLES:
        real = pl.scan_parquet(Path(args["data"]) / f"{t}.parquet")
        columns = list(frames[t].columns)  # type: ignore[union-attr]
        report = synthetic_privacy(real, lazy[t], columns, seed=SEED)
        privacy[t] = {
            "exact_matches": report["exact_matches"],
            "dcr_median": (report.get("dcr") or {}).get("median"),
            "baseline_median": (report.get("baseline") or {}).get("median"),
        }
    out["privacy"] = privacy
    return out


def integrity(frames: dict[str, Any]) -> dict[str, int]:
    """Duplicate primary keys and FK orphans, counted with polars (anti-joins)."""
    import polars as pl

    dups = sum(int(frames[t].select(PRIMARY_KEYS[t]).is_duplicated().sum()) for t in TABLES)
    orphans = 0
    for t, c, r, rc in FOREIGN_KEYS:
        parent = frames[r].select(pl.col(a).alias(b) for a, b in zip(rc, c, strict=True))
        orphans += frames[t].select(c).drop_nulls().join(parent, on=c, how="anti").height
    return {"pk_duplicates": dups, "fk_orphans": orphans}


def write(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Baseline: polars writes the real tables (read before the clock) to Parquet."""
    import polars as pl

    frames = {t: pl.read_parquet(Path(args["data"]) / f"{t}.parquet") for t in TABLES}
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    with clock:
        for t, frame in frames.items():
            frame.write_parquet(out / f"{t}.parquet")
    return {"total_rows": sum(f.height for f in frames.values())}


def columns(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """lineitem's numeric, date and categorical columns on one core, one at a time."""
    if "polars" in sys.modules:
        raise RuntimeError("polars was imported before POLARS_MAX_THREADS could be set")
    os.environ["POLARS_MAX_THREADS"] = "1"
    import polars as pl
    import pyarrow as pa

    from sandboxer.synthesize.keys import rng_for
    from sandboxer.synthesize.spec import STRING, read_specs
    from sandboxer.synthesize.values import ColumnGenerator, ValueContext

    pa.set_cpu_count(1)
    small = json.loads(Path(args["profile"]).read_text())
    spec = read_specs(small, None)["lineitem"]
    rows = int(args["rows"])
    batch = 1 << 19
    picked = [
        c for c in spec.columns
        if c.name not in {x for f in spec.foreign_keys for x in f.columns} | set(spec.primary_key)
        and (c.kind != STRING or c.categories is not None)
    ]  # fmt: skip
    ctx = ValueContext("lineitem", SEED)
    gens = {c.name: ColumnGenerator(c, ctx, rows, spec.rows) for c in picked}
    for name, g in gens.items():  # warm-up (imports, first allocations)
        g.batch(0, 1000, rng_for(SEED, "lineitem", name, 0))
    seconds: dict[str, float] = {}
    with clock:
        for name, g in gens.items():
            started = time.perf_counter()
            for b, start in enumerate(range(0, rows, batch)):
                g.batch(start, min(batch, rows - start), rng_for(SEED, "lineitem", name, b))
            seconds[name] = time.perf_counter() - started
    return {
        "rows": rows,
        "columns": {
            n: {"kind": gens[n].spec.kind, "rows_per_s": rows / s} for n, s in seconds.items()
        },
        "polars_threads": pl.thread_pool_size(),
        "arrow_threads": pa.cpu_count(),
    }


# -- driver --------------------------------------------------------------------------------
class RateResult(Result):
    """A rate row: ``MISS <1M/s`` when the slowest column is below the goal."""

    min_rate: float | None = None

    @property
    def verdict(self) -> str:
        base = super().verdict
        if base == "FAILED" or self.min_rate is None:
            return base
        if self.min_rate < MIN_ROWS_PER_S:
            return f"{base},<1M/s" if base.startswith("MISS") else "MISS <1M/s"
        return base


def _rate(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def run(bench: Bench) -> list[Result]:
    gen_name = f"{NAME}/generate-sf{bench.sf:g}"
    col_name = f"{NAME}/columns-1core-sf{bench.sf:g}"
    if not (bench.selected(gen_name) or bench.selected(col_name)):
        return []
    small_sf = bench.sf / PROFILE_DIVISOR
    data = ensure_parquet(bench.sf)
    small_data = ensure_parquet(small_sf)
    warm_page_cache(data)
    small_profile = bench.scratch / "profile-small.json"
    reference = bench.scratch / "profile-reference.json"
    print(f"{NAME}: profiling TPC-H SF{small_sf:g} and SF{bench.sf:g} ...", file=sys.stderr)
    profiling: dict[str, float | None] = {}
    for path, directory in ((small_profile, small_data), (reference, data)):
        m = bench.measure(f"{NAME}:profile", {"data": str(directory), "out": str(path)})
        if not m.ok:
            failed = Result(gen_name)
            failed.errors.append(f"profile: {m.error}")
            return [failed]
        profiling[path.stem] = m.seconds
    results: list[Result] = []
    if bench.selected(gen_name):
        results.append(run_generate(bench, gen_name, data, small_profile, reference, profiling))
    if bench.selected(col_name):
        results.append(run_columns(bench, col_name, data, small_profile))
    return results


def run_generate(
    bench: Bench, name: str, data: Path, small: Path, reference: Path,
    profiling: dict[str, float | None],
) -> Result:  # fmt: skip
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = Result(name, max_time_ratio=MAX_TIME_RATIO)
    args = {"profile": str(small), "reference": str(reference), "data": str(data),
            "scale": float(PROFILE_DIVISOR)}  # fmt: skip
    for i in range(bench.repeat):
        order = ("tool", "base") if i % 2 == 0 else ("base", "tool")
        for side in order:
            if side == "tool":
                m = bench.measure(f"{NAME}:synthesize", {**args, "check": i == 0})
                result.tool_runs.append(m)
            else:
                out = bench.scratch / f"write-{i}"
                m = bench.measure(f"{NAME}:write", {"data": str(data), "out": str(out)})
                result.baseline_runs.append(m)
            if not m.ok:
                result.errors.append(f"{side}: {m.error}")
        if result.errors:
            break
    ok = [r for r in result.tool_runs if r.ok]
    if ok:
        first = ok[0].info
        total = first["total_rows"]
        result.info["rows"] = total
        result.info["rows/s"] = _rate(total / result.wall) if result.wall else "-"
        fid = first.get("fidelity") or {}
        result.info["fidelity"] = fid.get("score")
        integ = first.get("integrity") or {}
        result.info["pk_dups"] = integ.get("pk_duplicates")
        result.info["orphans"] = integ.get("fk_orphans")
        copies = sum(p["exact_matches"] for p in (first.get("privacy") or {}).values())
        result.info["real_copies"] = copies
        if integ.get("pk_duplicates") or integ.get("fk_orphans"):
            result.errors.append(f"integrity: {integ}")
        if copies:
            result.errors.append(f"{copies} synthetic rows equal a real row")
        result.details.update(
            rows=first["rows"], fidelity=fid, integrity=integ, privacy=first.get("privacy"),
            profiling_seconds=profiling,
        )  # fmt: skip
    return result


def run_columns(bench: Bench, name: str, data: Path, small: Path) -> Result:
    import pyarrow.parquet as pq

    print(f"{name} ({bench.repeat} run(s)) ...", file=sys.stderr)
    result = RateResult(name)
    rows = pq.read_metadata(data / "lineitem.parquet").num_rows
    for _ in range(bench.repeat):
        m = bench.measure(f"{NAME}:columns", {"profile": str(small), "rows": rows})
        result.tool_runs.append(m)
        if not m.ok:
            result.errors.append(f"tool: {m.error}")
            break
    ok = [r for r in result.tool_runs if r.ok]
    if ok:
        # Per column, the median rate over runs; the slowest column decides.
        per = {
            c: sorted(r.info["columns"][c]["rows_per_s"] for r in ok)[len(ok) // 2]
            for c in ok[0].info["columns"]
        }
        slowest = min(per, key=lambda c: per[c])
        result.min_rate = per[slowest]
        result.info["columns"] = len(per)
        result.info["rows"] = rows
        result.info["slowest"] = f"{slowest} {_rate(per[slowest])}/s"
        result.info["median"] = _rate(sorted(per.values())[len(per) // 2]) + "/s"
        if any(r.info["polars_threads"] != 1 or r.info["arrow_threads"] != 1 for r in ok):
            result.errors.append("not on one thread")
        result.details["rows_per_s"] = per
        result.details["goal_min_rows_per_s"] = MIN_ROWS_PER_S
    return result
