"""Redaction benchmark: strategy throughput on one core, and what redaction adds to a build.

The issue's goals (issue 3, Performance): keyed ``hash``/``fake``/``format`` at 1 M values/s or
more on one core; redaction adds at most 50 % to a snapshot build of TPC-H SF1 1 %; the per-row
Faker baseline reported beside it.

- ``throughput/<strategy>-<what>-sf<N>``: one strategy over one whole column, one core
  (``POLARS_MAX_THREADS=1`` before polars is imported, DuckDB ``threads=1`` through
  ``sandboxer.redact.prf.THREADS``). TPC-H ``customer`` at SF and 10 x SF (the 10 x SF
  customer table alone is generated with ``tpchgen-cli --tables customer`` when the full data
  set is not cached), and ``orders.o_comment`` (``scrub_text``) at SF. The column is read and
  the strategy warmed up on 1,000 values (vocabularies, phone metadata, DuckDB) before the
  clock. The goal is a rate, not a ratio: such a row says ``MISS <1M/s`` below 1 M values/s.
- Baseline of the ``fake`` rows: per-row Faker (``Faker().name()``, ``.address()``,
  ``.phone_number()`` in a Python loop) on 20,000 values. Unkeyed, so it is a lower bound on the
  cost of a Faker-based pseudonymiser (a consistent one must also seed per value). The counts
  differ, so in these rows ``time x`` is per value: (tool s / tool values) / (Faker s / Faker
  values); ``x_faker`` in info is the inverse (how many times more values per second). ``mem x``
  is left out (different sizes of work). ``hash``/``format``/``scrub_text`` have no baseline.
- ``build/parquet-1%``: ``build_snapshot`` of 1 % of customers with the full FK closure from the
  Parquet files, with a ``RedactStage`` (mode ``auto``, explicit rules for ``c_name``,
  ``c_address``, ``c_phone`` as ``fake`` and ``o_comment`` as ``scrub_text``, so detection
  samples every table as it does for a user), against the same build with ``redact.mode: off``
  and no stage; the two alternate. Default threads on both sides; fidelity off on both. The
  stage's time is split by wrapping its methods: detection (``start``: sampling, detectors,
  policy), strategies (``_redact`` per batch), gate (``check_output``). Outside the timing:
  both sides wrote the same rows, every value of the four columns changed, and the gate
  passed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Result
from tpch import ensure_parquet, virtual_keys, warm_page_cache

NAME = "redact_tpch"
SEED = 1
KEY_ENV = "SANDBOXER_BENCH_REDACTION_KEY"
KEY_TEXT = "bench-key-0123456789"
MIN_VALUES_PER_S = 1_000_000.0
MAX_BUILD_TIME_RATIO = 1.5
BUILD_PERCENT = 1.0
FAKER_VALUES = 20_000
WARMUP_VALUES = 1_000

# case -> (table, column, strategy, entity, params, Faker method or None, goal applies)
STRATEGY_CASES: dict[str, tuple[str, str, str, str | None, dict[str, Any], str | None, bool]] = {
    "fake-person_name": ("customer", "c_name", "fake", "person_name", {}, "name", True),
    "fake-address": ("customer", "c_address", "fake", "address", {}, "address", True),
    "fake-phone": ("customer", "c_phone", "fake", "phone", {}, "phone_number", True),
    "hash-hex-name": ("customer", "c_name", "hash", None, {"output": "hex"}, None, True),
    "format-phone": ("customer", "c_phone", "format", None, {}, None, True),
    "scrub_text-o_comment": ("orders", "o_comment", "scrub_text", None, {}, None, False),
}

REDACT_COLUMNS: dict[str, dict[str, Any]] = {
    "customer": {
        "c_name": {"strategy": "fake", "entity": "person_name"},
        "c_address": {"strategy": "fake", "entity": "address"},
        "c_phone": {"strategy": "fake", "entity": "phone"},
    },
    "orders": {"o_comment": "scrub_text"},
}


# -- the measured sides (run in fresh worker processes) ------------------------------------
def strategy(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """One strategy over one whole column, on one core."""
    if "polars" in sys.modules:
        raise RuntimeError("polars was imported before POLARS_MAX_THREADS could be set")
    os.environ["POLARS_MAX_THREADS"] = "1"
    import polars as pl

    import sandboxer.redact.prf as keyed
    from sandboxer.redact.entities import Entity
    from sandboxer.redact.secret_key import load_key
    from sandboxer.redact.strategies import RedactionContext, apply

    keyed.THREADS = 1
    key = load_key(env=KEY_ENV, file=None, base=Path("."), environ={KEY_ENV: KEY_TEXT})
    entity = Entity(args["entity"]) if args["entity"] else None
    ctx = RedactionContext(key=key.secret, entity=entity, unique=False,
                           table=args["table"], column=args["column"])  # fmt: skip
    series = pl.read_parquet(args["file"], columns=[args["column"]])[args["column"]]
    series = series.cast(pl.String)  # tpchgen writes string_view; polars reads it as String
    apply(args["strategy"], series.head(WARMUP_VALUES), ctx, args["params"])
    with clock:
        out = apply(args["strategy"], series, ctx, args["params"])
    changed = int(((series != out).fill_null(False)).sum())
    return {
        "values": len(series),
        "out_values": len(out),
        "changed": changed,
        "distinct_in": series.n_unique(),
        "distinct_out": out.n_unique(),
        "polars_threads": pl.thread_pool_size(),
    }


def faker(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Per-row Faker: one Python call per value."""
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(SEED)
    method = getattr(fake, args["method"])
    method()
    n = int(args["n"])
    with clock:
        out = [method() for _ in range(n)]
    return {"values": len(out), "distinct_out": len(set(out))}


class _Timed:
    """Wraps a RedactStage's methods to split its time into detection, strategies and gate."""

    def __init__(self, stage: Any) -> None:
        self.seconds = {"detect": 0.0, "strategies": 0.0, "gate": 0.0}
        for method, part in (("start", "detect"), ("_redact", "strategies"),
                             ("check_output", "gate")):  # fmt: skip
            setattr(stage, method, self._wrap(getattr(stage, method), part))

    def _wrap(self, fn: Any, part: str) -> Any:
        def timed(*a: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.seconds[part] += time.perf_counter() - started

        return timed


def build(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Build the snapshot, with the redaction stage or with ``redact.mode: off`` and none."""
    import duckdb  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from sandboxer.build.builder import build_snapshot
    from sandboxer.config.models import Dataset
    from sandboxer.console import NoopConsole
    from sandboxer.redact.secret_key import load_key
    from sandboxer.redact.stage import RedactStage
    from sandboxer.snapshot.store import LocalStore
    from sandboxer.sources import create_source

    redact = args["redact"]
    config: dict[str, Any] = {
        "source": args["source"],
        "seed": SEED,
        "keys": args["keys"],
        "subset": {"roots": [{"table": "customer", "percent": args["percent"]}]},
        "redact": {"mode": "auto", "key_env": KEY_ENV, "columns": REDACT_COLUMNS}
        if redact
        else {"mode": "off"},
        # Off on both sides: this measures what redaction adds (fidelity_tpch measures fidelity).
        "fidelity": {"enabled": False},
    }
    dataset = Dataset.model_validate(config)
    source = create_source(dataset.source)
    stages: list[Any] = []
    timed = None
    if redact:
        # Imported before the clock like the rest: the detectors and strategies load lazily.
        import sandboxer.redact.detect
        import sandboxer.redact.gate
        import sandboxer.redact.scan
        import sandboxer.redact.strategies  # noqa: F401

        key = load_key(env=KEY_ENV, file=None, base=Path("."), environ={KEY_ENV: KEY_TEXT})
        stage = RedactStage(dataset.redact, key, Path("."))
        timed = _Timed(stage)
        stages.append(stage)
    with clock:
        info = build_snapshot(NAME, dataset, LocalStore(Path(args["store"])), NoopConsole(),
                              stages=stages, source=source)  # fmt: skip
    tables = info.manifest.tables
    out: dict[str, Any] = {
        "id": info.id,
        "path": str(info.path),
        "rows": {meta.name: meta.rows for meta in tables.values()},
        "build_seconds": info.manifest.build_seconds,
    }
    if redact:
        report = info.manifest.stages["redaction"]
        gate = report.get("gate") or {}
        out["redaction"] = {
            "seconds": report["seconds"],
            "split": {k: round(v, 3) for k, v in timed.seconds.items()},  # type: ignore[union-attr]
            "values": report["values"],
            "columns": {
                f"{t}.{c}": {k: s.get(k) for k in ("strategy", "rows", "changed", "nulls_in")}
                for t, cols in report["columns"].items()
                for c, s in cols.items()
            },
            "kept_detected": report.get("kept_detected"),
            "gate_ok": gate.get("ok"),
            "gate_keys": sorted(gate),
        }
    return out


# -- data ----------------------------------------------------------------------------------
def customer_file(sf: float) -> Path:
    """``customer.parquet`` at ``sf``: from the full cached data set, else generated alone."""
    return ensure_parquet(sf, ("customer",)) / "customer.parquet"


# -- results -------------------------------------------------------------------------------
@dataclass
class ThroughputResult(Result):
    """A throughput row: the goal is values/s; ``time x`` compares seconds per value."""

    values: int = 0
    baseline_values: int = 0
    min_values_per_s: float | None = None

    @property
    def values_per_s(self) -> float | None:
        return self.values / self.wall if self.wall and self.values else None

    @property
    def time_ratio(self) -> float | None:
        if not (self.wall and self.baseline_wall and self.values and self.baseline_values):
            return None
        return (self.wall / self.values) / (self.baseline_wall / self.baseline_values)

    @property
    def memory_ratio(self) -> float | None:
        return None  # different amounts of work: not comparable

    @property
    def verdict(self) -> str:
        base = super().verdict
        if base == "FAILED" or self.min_values_per_s is None:
            return base
        if (self.values_per_s or 0) < self.min_values_per_s:
            miss = f"<{self.min_values_per_s / 1e6:g}M/s"
            return f"{base},{miss}" if base.startswith("MISS") else f"MISS {miss}"
        return base


def _rate(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


# -- the driver ----------------------------------------------------------------------------
def run(bench: Bench) -> list[Result]:
    sfs = [bench.sf] if bench.quick else [bench.sf, 10 * bench.sf]
    cases = [
        (name, sf)
        for sf in sfs
        for name, spec in STRATEGY_CASES.items()
        # orders (scrub_text) only at the base SF: 1.5 M rows at SF1 already
        if (spec[0] == "customer" or sf == bench.sf) and bench.selected(throughput_name(name, sf))
    ]
    build_case = build_name()
    results: list[Result] = []
    if not cases and not bench.selected(build_case):
        return []
    data = ensure_parquet(bench.sf)
    warm_page_cache(data)
    faker_cache: dict[str, list[Any]] = {}
    for name, sf in cases:
        table = STRATEGY_CASES[name][0]
        file = data / f"{table}.parquet" if sf == bench.sf else customer_file(sf)
        result = run_throughput(bench, name, sf, file, faker_cache)
        results.append(result)
        print(progress_line(result), file=sys.stderr)
    if bench.selected(build_case):
        result = run_build(bench, data)
        results.append(result)
        print(progress_line(result), file=sys.stderr)
    return results


def throughput_name(case: str, sf: float) -> str:
    return f"{NAME}/throughput-{case}-sf{sf:g}"


def build_name() -> str:
    return f"{NAME}/build-parquet-{BUILD_PERCENT:g}%"


def progress_line(r: Result) -> str:
    if isinstance(r, ThroughputResult):
        extra = f"{_rate(r.values_per_s)} values/s"
        if r.baseline_wall:
            extra += f" vs Faker {_rate(r.baseline_values / r.baseline_wall)}/s"
        return f"  {r.name}: {r.wall or 0:.3f} s, {extra}, {r.verdict}"
    ratio = f"{r.time_ratio:.2f}x" if r.time_ratio else "-"
    return f"  {r.name}: {r.wall or 0:.2f} s vs {r.baseline_wall or 0:.2f} s ({ratio}), " + (
        f"peak {r.peak_mib or 0:.0f} MB, {r.verdict}"
    )


def run_throughput(
    bench: Bench, case: str, sf: float, file: Path, faker_cache: dict[str, list[Any]]
) -> Result:
    table, column, strat, entity, params, method, goal = STRATEGY_CASES[case]
    name = throughput_name(case, sf)
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = ThroughputResult(name, min_values_per_s=MIN_VALUES_PER_S if goal else None)
    args = {"file": str(file), "table": table, "column": column, "strategy": strat,
            "entity": entity, "params": params}  # fmt: skip
    for _ in range(bench.repeat):
        m = bench.measure(f"{NAME}:strategy", args)
        result.tool_runs.append(m)
        if not m.ok:
            result.errors.append(f"tool: {m.error}")
            break
        if method is not None:
            b = bench.measure(f"{NAME}:faker", {"method": method, "n": FAKER_VALUES})
            result.baseline_runs.append(b)
            if not b.ok:
                result.errors.append(f"baseline: {b.error}")
                break
    ok = [r for r in result.tool_runs if r.ok]
    if ok:
        first = ok[0].info
        result.values = first["values"]
        if first["out_values"] != first["values"]:
            result.errors.append(f"{first['out_values']} values out for {first['values']} in")
        if any(r.info["polars_threads"] != 1 for r in ok):
            result.errors.append("polars did not run on one thread")
        result.info["values"] = result.values
        result.info["values/s"] = _rate(result.values_per_s)
        result.info["changed"] = f"{first['changed'] / max(first['values'], 1):.0%}"
        result.details["distinct_in"] = first["distinct_in"]
        result.details["distinct_out"] = first["distinct_out"]
        result.details["values_per_s"] = result.values_per_s
    base_ok = [r for r in result.baseline_runs if r.ok]
    if base_ok:
        result.baseline_values = base_ok[0].info["values"]
        faker_rate = result.baseline_values / result.baseline_wall  # type: ignore[operator]
        result.info["faker/s"] = _rate(faker_rate)
        if result.values_per_s:
            result.info["x_faker"] = f"{result.values_per_s / faker_rate:.0f}"
        result.details["faker_values_per_s"] = faker_rate
    result.details["goal_min_values_per_s"] = result.min_values_per_s
    result.details["threads"] = {"polars": 1, "duckdb": 1}
    return result


def run_build(bench: Bench, data: Path) -> Result:
    name = build_name()
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = Result(name, max_time_ratio=MAX_BUILD_TIME_RATIO)
    work = bench.scratch / "build"
    base = {"source": str(data), "percent": BUILD_PERCENT, "keys": virtual_keys()}
    rows: dict[str, dict[str, int]] = {}
    for i in range(bench.repeat):
        # Alternate which side goes first, so neither always runs on a warmer machine.
        order = (True, False) if i % 2 == 0 else (False, True)
        for redact in order:
            store = work / f"{'on' if redact else 'off'}-{i}"
            m = bench.measure(f"{NAME}:build", {**base, "redact": redact, "store": str(store)})
            (result.tool_runs if redact else result.baseline_runs).append(m)
            if m.ok:
                rows.setdefault("on" if redact else "off", m.info["rows"])
            else:
                result.errors.append(f"{'tool' if redact else 'baseline'}: {m.error}")
            shutil.rmtree(store, ignore_errors=True)
        if result.errors:
            break
    if "on" in rows and "off" in rows and rows["on"] != rows["off"]:
        result.errors.append(f"rows differ with redaction on/off: {rows['on']} vs {rows['off']}")
    ok = [r for r in result.tool_runs if r.ok]
    if ok:
        red = ok[0].info["redaction"]
        for column, s in red["columns"].items():
            if column.rsplit(".", 1)[-1] in ("c_name", "c_address", "c_phone") and (
                s["changed"] != s["rows"]
            ):
                result.errors.append(f"{column}: {s['changed']} of {s['rows']} values changed")
        if red["gate_ok"] is False:
            result.errors.append("the leak gate failed")

        def med(part: str) -> float:
            return round(statistics.median(r.info["redaction"]["split"][part] for r in ok), 3)

        result.info["rows"] = sum(ok[0].info["rows"].values())
        result.info["redacted_values"] = red["values"]
        result.info["stage_s"] = round(statistics.median(r.info["redaction"]["seconds"]
                                                         for r in ok), 3)  # fmt: skip
        result.info["detect_s"] = med("detect")
        result.info["strategies_s"] = med("strategies")
        result.info["gate_s"] = med("gate")
        result.details["redaction"] = red
        result.details["redaction_split_runs"] = [r.info["redaction"]["split"] for r in ok]
        if result.baseline_wall and result.wall:
            result.info["added"] = f"{(result.wall / result.baseline_wall - 1):.0%}"
    result.details["rows"] = rows.get("on")
    shutil.rmtree(work, ignore_errors=True)
    return result
