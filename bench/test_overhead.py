"""Test benchmark: ``sandboxer test`` end to end vs running the same steps directly.

The issue (issue 5, Performance) asks for "the overhead of `sandboxer test` over running the
same steps directly", with no numeric goal: the ``goal`` column says ``report``, and the info
column shows the absolute overhead (median tool wall - median baseline wall) and where the
tool's time goes.

- Setup (not timed): a throwaway copy of the shop example (its ``pipeline/`` directory and the
  ``pipeline:`` block of ``examples/shop/sandboxer.yaml``) in the scratch directory, with its
  own store and a git repository (as ``tests/test_cli_pipeline.py`` sets one up); a shop of
  ``SHOP_CUSTOMERS`` customers written with ``examples.shop.generate``; the ``shop`` dataset
  (10 % of customers, redaction ``auto`` with a fixed key in ``$SANDBOXER_REDACTION_KEY``);
  one snapshot, a baseline captured from it (working tree, process backend), and a scratch
  DuckDB file of the same snapshot loaded with ``load_duckdb_local``. Per backend one warm-up
  run of each side, discarded (the first docker run builds the template's image if its tag is
  missing).
- Tool: what CI runs, ``sandboxer --config ... --json test --backend B`` in a subprocess, until
  it exits 0 (passed: run, data tests, compare against the baseline, reports; the sandbox is
  destroyed before it exits). B is ``docker`` (the ``python-duckdb`` template, image cached)
  or ``process``.
- Baseline, "the same steps directly" on the host: a copy of the scratch DuckDB file (copied
  before the clock, so every run starts from the loaded snapshot); the transpiled statements
  from ``plan_steps(pipeline, project, engine="duckdb")`` (planned before the clock: a user
  running directly would already hold DuckDB SQL) executed in order on one DuckDB connection;
  the Python step run as ``python3 features.py`` with ``$SANDBOXER_DUCKDB`` set (its own
  working directory); the two table outputs written to Parquet with DuckDB's ``COPY``; then a
  plain polars comparison with the baseline's Parquet files: read both, full join on the key,
  for each of the three outputs. No data tests and no reports: those are part of what the
  tool adds.
- Peak memory: the larger of the worker's VmHWM and its children's ``ru_maxrss`` (the CLI, or
  the Python step). With ``docker`` the steps run in the container, whose memory is not
  counted.

Breakdown of the tool's time: after the measured runs, as many runs of the same command
through ``INSTRUMENTED_CLI`` (the CLI with the flow's functions wrapped in timers that print
``BENCH-EVENT`` lines; not in the table): interpreter start-up, CLI imports and config,
dataset resolution, sandbox create, plan (transpile), the steps (exec in the sandbox), export,
the rest of the run (staging, status, git, manifest), destroy, data tests, compare, reports
(terminal and files), and exit (result printed, interpreter shut down). Medians.

Images are built from ``$SANDBOXER_BASE_IMAGE`` (default ``python:3.12-slim``) with
``$SANDBOXER_CA_BUNDLE``; on a machine without a registry set both, e.g.
``SANDBOXER_BASE_IMAGE=sandboxer-base:bookworm
SANDBOXER_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from create_sandbox import OverheadResult, _children_peak_mib, _cli, _docker_ok, _last_json, _tail
from harness import Bench, Clock, Measurement, Result
from tpch import REPO

NAME = "test_overhead"
SHOP_CUSTOMERS = 20_000
SHOP_SEED = 42
"""Not 7 (the generator's default): at 20 k customers, seed 7 trips the redaction leak gate
(``customers.preferences``: 1 row holds an original value as a substring)."""
KEY = "bench-test-overhead-key-0123456789"
BACKENDS = ("docker", "process")
PHASES = (
    "python",
    "cli",
    "resolve",
    "create",
    "plan",
    "steps",
    "export",
    "run_other",
    "destroy",
    "tests",
    "compare",
    "reports",
    "exit",
)
"""The breakdown shown in the info column (``_phases``); ``status`` and ``git`` only in JSON."""


class ReportResult(OverheadResult):
    """No goal in the issue: the verdict is ``report`` unless the case failed."""

    @property
    def verdict(self) -> str:
        if self.errors or self.wall is None:
            return "FAILED"
        return "report"


def _env() -> dict[str, str]:
    return {**os.environ, "SANDBOXER_REDACTION_KEY": KEY}


# -- the measured sides (run in fresh worker processes) ------------------------------------
INSTRUMENTED_CLI = r"""
import sys, time
T_MAIN = time.perf_counter()
import sandboxer.compare.reports as reports
import sandboxer.pipeline.flow as flow
import sandboxer.pipeline.runner as runner
import sandboxer.pipeline.datatests as tests
import sandboxer.sandbox.manager as sandboxes

def emit(label, t0, t1):
    sys.stderr.write(f"BENCH-EVENT {label} {t0:.6f} {t1:.6f}\n")
    sys.stderr.flush()

def wrap(owner, attr, label):
    inner = getattr(owner, attr)
    def timed(*a, **k):
        t0 = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            emit(label, t0, time.perf_counter())
    setattr(owner, attr, timed)

for attr in ("snapshot", "create", "destroy", "status"):
    wrap(sandboxes.Sandboxes, attr, attr)
for attr in ("plan_steps", "git_state", "_run_step", "export_outputs", "run_pipeline"):
    wrap(runner, attr, attr)
wrap(tests, "run_data_tests", "data_tests")
wrap(flow.Flow, "compare", "compare")
wrap(reports, "render_terminal", "render_terminal")
wrap(reports, "write_reports", "write_reports")
emit("main", T_MAIN, time.perf_counter())
from sandboxer.cli.main import cli
sys.argv[0] = "sandboxer"
sys.exit(cli())
"""
"""``python -c`` program: the CLI with its phases timed (``BENCH-EVENT label start end`` lines
on stderr, ``time.perf_counter`` values: CLOCK_MONOTONIC, comparable across processes)."""
EVENT = "BENCH-EVENT "


def _phases(events: list[tuple[str, float, float]], started: float, ended: float) -> dict:
    """Seconds per phase of one instrumented ``sandboxer test``."""

    def total(label: str) -> float:
        return sum(t1 - t0 for name, t0, t1 in events if name == label)

    def first(label: str) -> tuple[float, float] | None:
        return next(((t0, t1) for name, t0, t1 in events if name == label), None)

    main = first("main")
    resolve = first("snapshot")
    reports = first("write_reports")
    out: dict[str, float] = {}
    if main is not None:
        out["python"] = main[0] - started  # interpreter start-up until the program's first line
        if resolve is not None:
            out["cli"] = resolve[0] - main[0]  # imports, click, config, project
    out["resolve"] = total("snapshot")
    out["create"] = total("create")
    out["plan"] = total("plan_steps")
    out["steps"] = total("_run_step")
    out["export"] = total("export_outputs")
    out["run_other"] = total("run_pipeline") - sum(out[k] for k in ("plan", "steps", "export"))
    out["status"] = total("status")  # docker inspect etc.; partly inside run_other
    out["git"] = total("git_state")  # inside run_other
    out["destroy"] = total("destroy")
    out["tests"] = total("data_tests")
    out["compare"] = total("compare")
    out["reports"] = total("render_terminal") + total("write_reports")
    if reports is not None:
        out["exit"] = ended - reports[1]  # results printed, interpreter shut down
    out["total"] = ended - started
    return {k: round(v, 3) for k, v in out.items()}


def _cli_test(args: dict[str, Any], clock: Clock, instrumented: bool) -> dict[str, Any]:
    prefix = [sys.executable, "-c", INSTRUMENTED_CLI] if instrumented else _cli()
    cmd = [*prefix, "--config", args["config"], "--json", "test", "--backend", args["backend"]]
    lines: list[str] = []
    events: list[tuple[str, float, float]] = []
    out: list[str] = []
    with clock:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_env())  # fmt: skip
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        for line in proc.stderr:  # type: ignore[union-attr]
            if line.startswith(EVENT):
                label, t0, t1 = line[len(EVENT) :].split()
                events.append((label, float(t0), float(t1)))
            else:
                lines.append(line.rstrip("\n"))
        code = proc.wait()
        reader.join()
        ended = time.perf_counter()
    stdout = "".join(out)
    if code != 0:
        raise RuntimeError(f"test failed (exit {code}): {_tail(chr(10).join(lines))}")
    outcome = _last_json(stdout)
    if outcome is None or not outcome.get("passed"):
        raise RuntimeError(f"test printed no passing result: {_tail(stdout)}")
    run = outcome.get("run") or {}
    return {
        "rows": {n: o.get("rows") for n, o in (run.get("outputs") or {}).items()},
        "run_seconds": run.get("seconds"),
        "steps": {s["name"]: s.get("seconds") for s in run.get("steps") or []},
        "tests": len(outcome.get("tests") or []),
        "phases": _phases(events, started, ended) if instrumented else None,
        "stderr": lines,
        "child_peak_mib": _children_peak_mib(),
    }


def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """``sandboxer test`` through the CLI, as CI runs it."""
    return _cli_test(args, clock, instrumented=False)


def tool_instrumented(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The same, with its phases timed (``INSTRUMENTED_CLI``); for the breakdown only."""
    return _cli_test(args, clock, instrumented=True)


def baseline(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """The same steps directly on the host, then a plain polars comparison with the baseline."""
    import duckdb
    import polars as pl

    sys.path.insert(0, str(REPO))

    from sandboxer.config.pipeline import PythonStep
    from sandboxer.pipeline.plan import plan_steps

    project = Path(args["project"])
    pipeline = _pipeline(Path(args["config"]))
    plan = plan_steps(pipeline, project, engine="duckdb")
    db = Path(args["db"])
    work = Path(args["work"])
    shutil.rmtree(work, ignore_errors=True)
    (work / "outputs").mkdir(parents=True)
    shutil.copyfile(args["db_source"], db)
    base_dir = Path(args["baseline_outputs"])
    env = {**os.environ, "SANDBOXER_DUCKDB": str(db), "PYTHONUNBUFFERED": "1"}
    timings: dict[str, float] = {}
    with clock:
        mark = time.perf_counter()
        con = duckdb.connect(str(db))
        for planned in plan:
            if planned.kind == "sql":
                for f in planned.sql_files:
                    for s in f.statements:
                        con.execute(s.sql)
            else:
                step = planned.step
                if not isinstance(step, PythonStep):
                    raise RuntimeError(f"step kind {step.kind} is not part of this baseline")
                con.close()  # the Python step opens the file itself (read-only)
                subprocess.run([sys.executable, str(project / step.script), *step.args],
                               cwd=work, env=env, check=True, capture_output=True)  # fmt: skip
                con = duckdb.connect(str(db))
            timings[planned.name] = round(time.perf_counter() - mark, 3)
            mark = time.perf_counter()
        for name, out in pipeline.outputs.items():
            if out.table is not None:
                con.execute(f"COPY {out.table} TO '{work / 'outputs' / name}.parquet' "
                            "(FORMAT parquet)")  # fmt: skip
        con.close()
        timings["export"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        joined: dict[str, tuple[int, int, int]] = {}
        for name, out in pipeline.outputs.items():
            current = work / (out.file if out.file else f"outputs/{name}.parquet")
            a = pl.read_parquet(base_dir / f"{name}.parquet")
            b = pl.read_parquet(current)
            j = a.join(b, on=list(out.key), how="full", coalesce=True)
            joined[name] = (j.height, a.height, b.height)
        timings["compare"] = round(time.perf_counter() - mark, 3)
    for name, (height, n_base, n_current) in joined.items():
        if not height == n_base == n_current:
            raise RuntimeError(
                f"{name}: baseline {n_base} rows, current {n_current}, joined {height}"
            )
    return {
        "rows": {n: counts[2] for n, counts in joined.items()},
        "steps": timings,
        "child_peak_mib": _children_peak_mib(),
    }


def _pipeline(config: Path) -> Any:
    from sandboxer.context import Context

    return Context(config).project.pipeline


# -- setup (not timed) ---------------------------------------------------------------------
def write_project(project: Path) -> Path:
    """A copy of the shop example's pipeline and config with its own store, in a git repo."""
    import yaml

    sys.path.insert(0, str(REPO))
    from examples.shop.generate import generate_shop, write_duckdb

    shutil.copytree(REPO / "examples/shop/pipeline", project / "pipeline",
                    ignore=shutil.ignore_patterns("out", "__pycache__"))  # fmt: skip
    write_duckdb(generate_shop(customers=SHOP_CUSTOMERS, seed=SHOP_SEED), project / "prod.duckdb")
    config = yaml.safe_load((REPO / "examples/shop/sandboxer.yaml").read_text())
    config["name"] = "bench-test"
    config["store"] = {"path": ".sandboxer"}
    config["datasets"] = {"shop": config["datasets"]["shop"]}
    config["datasets"]["shop"]["source"] = "duckdb:///prod.duckdb"
    config["datasets"]["shop"]["redact"]["key_env"] = "SANDBOXER_REDACTION_KEY"
    config["sandbox"] = {"dataset": "shop", "template": "python-duckdb"}
    path = project / "sandboxer.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    (project / ".gitignore").write_text(".sandboxer/\n.sandboxer-run/\npipeline/out/\n*.duckdb\n")
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    return path


def prepare(config: Path, scratch: Path) -> dict[str, Any]:
    """Snapshot, baseline and the scratch DuckDB file of the snapshot."""
    from sandboxer.context import Context
    from sandboxer.sandbox.engines.duckdb import load_duckdb_local

    os.environ["SANDBOXER_REDACTION_KEY"] = KEY
    context = Context(config)
    snapshot = context.build("shop")
    base = context.flow.capture_baseline(dataset=snapshot.id, backend="process")
    db = scratch / "snapshot.duckdb"
    report = load_duckdb_local(snapshot, db)
    if not report.ok:
        raise RuntimeError("the scratch DuckDB load did not verify")
    return {"snapshot": snapshot, "baseline": base, "db": db}


# -- the driver ----------------------------------------------------------------------------
def case_name(backend: str) -> str:
    return f"{NAME}/shop-{backend}"


def _with_children(m: Measurement) -> Measurement:
    child = m.info.get("child_peak_mib") if m.ok else None
    if child and (m.peak_mib is None or child > m.peak_mib):
        m.peak_mib = child
    return m


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def run(bench: Bench) -> list[Result]:
    backends = [b for b in BACKENDS if bench.selected(case_name(b))]
    if not backends:
        return []
    sys.path.insert(0, str(REPO))
    print("building the shop project, snapshot and baseline (not timed) ...", file=sys.stderr)
    project = bench.scratch / "shop"
    config = write_project(project)
    prepared = prepare(config, bench.scratch)
    env = {
        "config": str(config),
        "project": str(project),
        "db_source": str(prepared["db"]),
        "db": str(bench.scratch / "direct.duckdb"),
        "work": str(bench.scratch / "direct"),
        "baseline_outputs": str(prepared["baseline"].outputs_dir),
    }
    results: list[Result] = []
    for backend in backends:
        result = ReportResult(case_name(backend))
        if backend == "docker" and (error := _docker_ok()) is not None:
            result.errors.append(error)
        else:
            run_case(bench, backend, env, prepared, result)
        results.append(result)
    return results


def run_case(
    bench: Bench, backend: str, env: dict[str, Any], prepared: dict[str, Any], result: Result
) -> None:
    name = result.name
    print(f"{name} (warm-up, then {bench.repeat} run(s) per side) ...", file=sys.stderr)

    def side(which: str) -> Measurement:
        target = f"{NAME}:{which}"
        return _with_children(bench.measure(target, {**env, "backend": backend}))

    warm, warm_base = side("tool"), side("baseline")
    for label, m in (("tool", warm), ("baseline", warm_base)):
        if not m.ok:
            result.errors.append(f"{label} warm-up: {m.error}")
            result.details["warmup_stderr"] = m.info.get("stderr")
            return
    result.details["warmup"] = {"tool_s": warm.seconds, "baseline_s": warm_base.seconds}
    rows = warm.info["rows"]
    for _ in range(bench.repeat):
        for label, runs in (("tool", result.tool_runs), ("baseline", result.baseline_runs)):
            m = side(label)
            runs.append(m)
            if not m.ok:
                result.errors.append(f"{label}: {m.error}")
                break
            if m.info["rows"] != rows:
                result.errors.append(f"{label} rows {m.info['rows']}, expected {rows}")
        if result.errors:
            break

    # The breakdown: as many instrumented runs, after the measured ones (not in the table).
    phases = []
    if not result.errors:
        for _ in range(bench.repeat):
            m = side("tool_instrumented")
            if not m.ok:
                result.errors.append(f"instrumented tool: {m.error}")
                break
            phases.append(m.info["phases"])

    tool_ok = [r for r in result.tool_runs if r.ok]
    base_ok = [r for r in result.baseline_runs if r.ok]
    over = result.overhead_s  # type: ignore[attr-defined]
    if over is not None:
        result.info["overhead"] = f"{over:+.2f}s"
    result.info["rows"] = sum(rows.values())
    if phases:
        med = {k: _median([p.get(k) for p in phases]) for k in PHASES}
        result.info["tool"] = " ".join(f"{k}={v}" for k, v in med.items() if v is not None)
    if base_ok:
        keys = [*base_ok[0].info["steps"]]
        med = {k: _median([r.info["steps"].get(k) for r in base_ok]) for k in keys}
        result.info["base"] = " ".join(f"{k}={v}" for k, v in med.items() if v is not None)
    loads = [r.load_before for r in result.tool_runs + result.baseline_runs if r.load_before]
    if loads:
        result.info["loadavg"] = f"{min(loads):.1f}-{max(loads):.1f}"
    result.details.update(
        snapshot=prepared["snapshot"].id,
        baseline=prepared["baseline"].id,
        tool_phases=phases,
        tool_steps=[r.info.get("steps") for r in tool_ok],
        tool_stderr=[r.info.get("stderr") for r in tool_ok[:1]],
        baseline_steps=[r.info.get("steps") for r in base_ok],
        paired_overhead_s=[
            round(t.seconds - b.seconds, 3)
            for t, b in zip(result.tool_runs, result.baseline_runs, strict=False)
            if t.ok and b.ok and t.seconds and b.seconds
        ],
    )
    shown = f"{over:+.2f} s" if over is not None else "-"
    print(f"  {name}: {result.wall or 0:.2f} s vs {result.baseline_wall or 0:.2f} s "
          f"(overhead {shown}), {result.verdict}", file=sys.stderr)  # fmt: skip
