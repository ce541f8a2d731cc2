"""Fidelity benchmark: what measuring fidelity adds to a snapshot build, with and without the
cached source profile.

``build_snapshot`` measures fidelity by default (``fidelity.enabled``): it profiles the source
(a deterministic sample of the large tables, FK fan-out over whole tables) and the snapshot,
and records the score in the manifest. The source's profile is kept in the store
(``<store>/cache/profiles/``, ``fidelity.cache``) and reused while the source is unchanged.
The issue gives no goal for this overhead: the rows record the ratios and fail only on an
error or a failed check.

The build is that of ``subset_tpch`` (1 % of TPC-H customers with their full FK closure, the
same config and seed) from the Parquet files and from PostgreSQL (a throwaway cluster loaded
as ``subset_tpch`` loads it, not timed):

- Baseline: the build with ``fidelity: {enabled: false}`` into a fresh store.
- ``cold``: the build with fidelity on (default settings) into a fresh store, so the cache is
  empty and the source is profiled.
- ``warm``: the same build into the store of that cold run, whose cache holds the source's
  profile. The cold run published the same snapshot id (the id hashes data and config), so the
  worker removes it (``store.remove``) before the clock: the timed build extracts, writes,
  checks and publishes everything again, and only the source's profile comes from the cache.

``time x`` and ``mem x`` of the ``cold`` and ``warm`` rows are against the baseline of the
same repetition (one baseline run serves both rows); in each repetition warm follows cold, and
the baseline goes first in even repetitions and last in odd ones. Outside the timing, each run
is checked: the manifest's ``fidelity.reference.cached`` is False for cold and True for warm,
the baseline has no ``fidelity``, all three sides wrote the same rows, and cold and warm
published the same snapshot id. Info gives the fidelity score, the seconds of the fidelity
measurement inside the build (``fidelity_s``) and of its source half (``source_profile_s``:
profiling, or reading the cache), both from wrapping the build's functions.

Every side imports its libraries (polars, DuckDB, pyarrow, ``sandboxer.profile``) before the
clock starts. ``--quick`` runs each side once (the cases are already the smallest).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Measurement, Result
from tpch import customer_subset, ensure_parquet, start_postgres, virtual_keys, warm_page_cache

NAME = "fidelity_tpch"
PERCENT = 1.0
SOURCES = ("parquet", "postgres")
SIDES = ("cold", "warm")


# -- the measured side (run in fresh worker processes) -------------------------------------
def build(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Build the snapshot with fidelity on or off; with ``remove``, first remove that
    snapshot from the store (the store's profile cache stays)."""
    # What build_snapshot imports lazily is imported before the clock, on every side.
    import duckdb  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import sandboxer.build.builder as build_module
    import sandboxer.build.fidelity as fidelity_module
    import sandboxer.profile.cache as profile_cache
    from sandboxer.config.models import Dataset
    from sandboxer.console import NoopConsole
    from sandboxer.snapshot.store import LocalStore
    from sandboxer.sources import create_source

    config = customer_subset(
        args["source"], args["percent"], args.get("keys"), fidelity=args["fidelity"]
    )
    dataset = Dataset.model_validate(config)
    store = LocalStore(Path(args["store"]))
    if args.get("remove"):
        store.remove(args["remove"])
    if store.list():
        raise RuntimeError(f"the store {store.root} is not empty before the timed build")
    cache = store.cache_dir("profiles")
    cached_profiles = len(list(cache.glob("*.json"))) if cache and cache.is_dir() else 0
    seconds = {"fidelity": 0.0, "source_profile": 0.0}
    fidelity_module.measure_fidelity = _timed(fidelity_module.measure_fidelity, seconds, "fidelity")
    profile_cache.cached_source_profile = _timed(
        profile_cache.cached_source_profile, seconds, "source_profile"
    )
    source = create_source(dataset.source)  # imports the source module (and its driver)
    with clock:
        info = build_module.build_snapshot(NAME, dataset, store, NoopConsole(), source=source)
    tables = info.manifest.tables
    fidelity = info.manifest.fidelity
    return {
        "id": info.id,
        "rows": {meta.name: meta.rows for meta in tables.values()},
        "build_seconds": info.manifest.build_seconds,
        "cached_profiles_before": cached_profiles,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "fidelity": None
        if fidelity is None
        else {"score": fidelity["score"], **fidelity["reference"]},
    }


def _timed(fn: Any, seconds: dict[str, float], part: str) -> Any:
    def timed(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            seconds[part] += time.perf_counter() - started

    return timed


# -- the driver ----------------------------------------------------------------------------
def run(bench: Bench) -> list[Result]:
    sources = [s for s in SOURCES if any(bench.selected(case_name(s, side)) for side in SIDES)]
    if not sources:
        return []
    data = ensure_parquet(bench.sf)
    warm_page_cache(data)
    results: list[Result] = []
    pg = None
    pg_url = None
    pg_details: dict[str, Any] = {}
    try:
        if "postgres" in sources:
            pg, pg_url, pg_details = start_postgres(bench, data)
        for source in sources:
            sides = [side for side in SIDES if bench.selected(case_name(source, side))]
            if source == "postgres" and pg_url is None:
                for side in sides:
                    result = Result(case_name(source, side))
                    result.errors.append(f"no PostgreSQL server: {pg_details.get('error')}")
                    results.append(result)
                continue
            url = pg_url if source == "postgres" else str(data)
            found = run_source(bench, source, str(url), sides)
            for result in found:
                if source == "postgres":
                    result.details["postgres_load"] = pg_details
                print(progress_line(result), file=sys.stderr)
            results.extend(found)
    finally:
        if pg is not None:
            pg.stop()
    return results


def case_name(source: str, side: str) -> str:
    return f"{NAME}/{source}-{PERCENT:g}%-{side}"


def progress_line(r: Result) -> str:
    ratio = f"{r.time_ratio:.2f}x" if r.time_ratio else "-"
    mem = f"{r.memory_ratio:.2f}x" if r.memory_ratio else "-"
    return (
        f"  {r.name}: {r.wall or 0:.2f} s vs {r.baseline_wall or 0:.2f} s ({ratio}), "
        f"peak {r.peak_mib or 0:.0f} MB vs {r.baseline_peak_mib or 0:.0f} MB ({mem}), "
        f"score {r.info.get('score', '-')}, {r.verdict}"
    )


def run_source(bench: Bench, source: str, url: str, sides: list[str]) -> list[Result]:
    """The selected rows (cold, warm) of one source; a warm row needs a cold build first,
    which is then measured but not reported when only warm is selected."""
    names = ", ".join(case_name(source, side) for side in sides)
    print(f"{names} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    results = {side: Result(case_name(source, side)) for side in sides}
    work = bench.scratch / source
    base: dict[str, Any] = {"source": url, "percent": PERCENT}
    if source == "parquet":
        base["keys"] = virtual_keys()
    runs: dict[str, list[Measurement]] = {"baseline": [], "cold": [], "warm": []}
    errors: list[str] = []

    def measure(side: str, args: dict[str, Any]) -> Measurement:
        m = bench.measure(f"{NAME}:build", {**base, **args})
        runs[side].append(m)
        if not m.ok:
            errors.append(f"{side}: {m.error}")
        return m

    for i in range(bench.repeat):
        # One fresh store for the baseline, one for cold, reused by warm (cache filled).
        plain, store = work / f"baseline-{i}", work / f"fidelity-{i}"
        order = ("baseline", "cold", "warm") if i % 2 == 0 else ("cold", "warm", "baseline")
        done: dict[str, Measurement] = {}
        for side in order:
            if side == "baseline":
                done[side] = measure(side, {"fidelity": False, "store": str(plain)})
            elif side == "cold":
                done[side] = measure(side, {"fidelity": True, "store": str(store)})
            elif "warm" in sides and done["cold"].ok:
                done[side] = measure(side, {"fidelity": True, "store": str(store),
                                            "remove": done["cold"].info["id"]})  # fmt: skip
        shutil.rmtree(plain, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
        for side, result in results.items():
            result.baseline_runs.append(done["baseline"])
            if side in done:
                result.tool_runs.append(done[side])
        if errors:
            break
    shutil.rmtree(work, ignore_errors=True)

    errors += check_runs(runs)
    for side, result in results.items():
        result.errors = list(errors)
        summarize(result, runs[side], runs["baseline"])
    return list(results.values())


def check_runs(runs: dict[str, list[Measurement]]) -> list[str]:
    """Errors of the checks made outside the timing (see the module docstring)."""
    errors = []
    ok = {side: [r for r in ms if r.ok] for side, ms in runs.items()}
    for r in ok["baseline"]:
        if r.info["fidelity"] is not None:
            errors.append("baseline: the manifest has fidelity although it was disabled")
    for side, want in (("cold", False), ("warm", True)):
        for r in ok[side]:
            fid = r.info["fidelity"]
            if fid is None:
                errors.append(f"{side}: the manifest has no fidelity")
            elif fid["cached"] is not want:
                errors.append(f"{side}: fidelity.reference.cached is {fid['cached']}, not {want}")
    for r in ok["cold"]:
        if r.info["cached_profiles_before"]:
            errors.append("cold: the store's profile cache was not empty")
    for r in ok["warm"]:
        if not r.info["cached_profiles_before"]:
            errors.append("warm: the store's profile cache was empty")
    rows = [r.info["rows"] for ms in ok.values() for r in ms]
    if any(x != rows[0] for x in rows):
        errors.append("the sides wrote different rows")
    ids = {r.info["id"] for side in SIDES for r in ok[side]}
    if len(ids) > 1:
        errors.append(f"cold and warm published different snapshot ids: {sorted(ids)}")
    return errors


def summarize(result: Result, tool: list[Measurement], baseline: list[Measurement]) -> None:
    ok = [r for r in tool if r.ok]
    base_ok = [r for r in baseline if r.ok]
    if ok and ok[0].info["fidelity"] is not None:
        scores = sorted({r.info["fidelity"]["score"] for r in ok})
        result.info["score"] = round(scores[0], 3)
        if len(scores) > 1:
            result.errors.append(f"the fidelity score changed between runs: {scores}")
        result.info["cached"] = "yes" if all(r.info["fidelity"]["cached"] for r in ok) else "no"
        result.info["fidelity_s"] = _median([r.info["seconds"]["fidelity"] for r in ok])
        result.info["source_profile_s"] = _median([r.info["seconds"]["source_profile"] for r in ok])
        result.details["fidelity"] = ok[0].info["fidelity"]
        result.details["seconds_runs"] = [r.info["seconds"] for r in ok]
    if ok:
        result.info["rows"] = sum(ok[0].info["rows"].values())
        result.details["rows"] = ok[0].info["rows"]
        result.details["snapshot_ids"] = sorted({r.info["id"] for r in ok})
    if base_ok:
        result.details["baseline_snapshot_ids"] = sorted({r.info["id"] for r in base_ok})
    if result.wall and result.baseline_wall:
        result.info["added"] = f"{(result.wall / result.baseline_wall - 1):.0%}"
    result.details["tool_rss_before_mib"] = [r.rss_before_mib for r in tool]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)
