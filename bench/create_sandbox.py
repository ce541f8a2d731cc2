"""Create benchmark: ``sandboxer create`` (image cached) vs a bare ``docker run`` plus the load.

The issue's goal: create adds **at most 2 s** to docker's own start plus the data load, for
TPC-H SF1 1 % and the example shop dataset. The goal is absolute, so the ``goal`` column is
``ok`` when the overhead (median tool wall - median baseline wall) is at most 2 s; the ratio
is shown too.

Cases: {python-duckdb template (DuckDB engine), postgres template (PostgreSQL service)} x
{TPC-H 1 % of customers with their FK closure (Parquet source, virtual keys, as
``subset_tpch``), the shop dataset of ``examples/shop/sandboxer.yaml`` from a shop of
``SHOP_CUSTOMERS`` customers generated with ``examples/shop/generate.py``}, redaction off.

- Setup (not timed): a throwaway project (its own ``sandboxer.yaml`` and store in the scratch
  directory) with datasets ``tpch`` and ``shop``; one snapshot of each; per case one warm-up
  create + destroy (builds the images if their tags are missing, warms the page cache) and
  one warm-up baseline run, both discarded.
- Tool: what a user runs, ``sandboxer --config ... --json create NAME --backend docker
  --template T --dataset SNAPSHOT_ID`` in a subprocess, until it exits (ready: loaded,
  verified, hooks run). Includes the CLI's interpreter start and imports, template and
  snapshot resolution, image lookup (cached), networks, volumes, secrets, service health,
  the hardened workspace, the load with its checks, hooks and the state file. ``destroy``
  runs afterwards, outside the timing.
- Baseline, DuckDB: ``docker run -d`` of the same cached workspace image with the snapshot
  bind-mounted read-only, the loader file mounted and a volume at ``/data``, then ``docker
  exec`` of the same loader command (``duckdb_loader_command``), until the loader exits.
- Baseline, PostgreSQL: ``docker run -d`` of the same cached service image (password file
  mounted, a volume for the cluster, the port published on 127.0.0.1) until it accepts a
  connection (polled every 50 ms from the host), then the same ``load_postgres`` from the
  host (load, constraints, ANALYZE, row counts and checksums: the load itself is what
  ``load_postgres`` benchmarks against plain COPY). Its libraries are imported before the
  clock; the tool's CLI imports them inside its timing (a user pays for that).
- Containers of both sides are removed after each run, outside the timing.

Peak memory: the tool is a child process (the CLI), so a side's peak is the larger of the
worker's VmHWM and its children's ``ru_maxrss`` (the worker is small when it starts them).
The info column shows the overhead, the tool's own step timings (from its state file; ``cli``
is wall minus the backend's total: interpreter, imports, config, snapshot resolution), the
baseline's start/load split, and the 1-minute load average before the runs.

Images are built from ``$SANDBOXER_BASE_IMAGE`` (default ``python:3.12-slim``) with
``$SANDBOXER_CA_BUNDLE``; on a machine without a registry set both, e.g.
``SANDBOXER_BASE_IMAGE=sandboxer-base:bookworm
SANDBOXER_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Measurement, Result
from tpch import REPO, ensure_parquet, virtual_keys, warm_page_cache

NAME = "create_sandbox"
MAX_OVERHEAD_S = 2.0
SHOP_CUSTOMERS = 20_000
SEED = 1
TPCH_PERCENT = 1.0
BENCH_LABEL = "sandboxer-bench.case"
"""Label on the baseline's containers (not sandboxer's own prefix: `gc` never sees them)."""

# (engine, template)
TEMPLATES = {"duckdb": "python-duckdb", "postgres": "postgres"}
DATASETS = ("tpch-1%", "shop")


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "sandboxer"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sandboxer.cli.main"]


def _children_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _tail(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return " | ".join(lines[-3:])[:400] or "no output"


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def _rows(load: dict[str, Any]) -> int:
    return sum(int(t.get("rows") or 0) for t in (load.get("tables") or {}).values())


# -- the measured sides (run in fresh worker processes) ------------------------------------
def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """``sandboxer create`` through the CLI, as a user runs it."""
    cmd = [*_cli(), "--config", args["config"], "--json", "create", args["name"],
           "--backend", "docker", "--template", args["template"],
           "--dataset", args["snapshot"]]  # fmt: skip
    with clock:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"create failed (exit {proc.returncode}): {_tail(proc.stderr)}")
    result = _last_json(proc.stdout)
    if result is None or result.get("state") != "ready":
        raise RuntimeError(f"create printed no ready result: {_tail(proc.stdout)}")
    load = result.get("load") or {}
    if not load.get("ok"):
        raise RuntimeError("the load did not verify")

    sys.path.insert(0, str(REPO))
    from sandboxer.sandbox.state import StateStore, project_id

    state = StateStore(Path(args["store"])).read(project_id(Path(args["project"])), args["name"])
    timings = dict((state or {}).get("timings") or {})
    if "total" in timings and clock.seconds is not None:
        timings["cli"] = round(clock.seconds - timings["total"], 3)
    return {
        "rows": _rows(load),
        "timings": timings,
        "images": ((state or {}).get("resources") or {}).get("images", {}),
        "load_steps": load.get("steps") or {},
        "child_peak_mib": _children_peak_mib(),
    }


def baseline_duckdb(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """``docker run -d`` of the workspace image, then ``docker exec`` of the same loader."""
    sys.path.insert(0, str(REPO))
    from sandboxer.sandbox.engines.duckdb import LOADER_MOUNT, LOADER_PATH, duckdb_loader_command

    run = ["docker", "run", "-d", "--name", args["container"], "--label", f"{BENCH_LABEL}=1",
           "-v", f"{args['snapshot_path']}:/snapshot:ro",
           "-v", f"{LOADER_PATH.resolve()}:{LOADER_MOUNT}:ro",
           "-v", "/data", args["image"], "sleep", "infinity"]  # fmt: skip
    load = ["docker", "exec", args["container"],
            *duckdb_loader_command("/snapshot", "/data/sandbox.duckdb")]  # fmt: skip
    with clock:
        started = time.perf_counter()
        proc = subprocess.run(run, capture_output=True, text=True, check=False)
        ready = time.perf_counter()
        if proc.returncode == 0:
            proc = subprocess.run(load, capture_output=True, text=True, check=False)
        done = time.perf_counter()
    if proc.returncode != 0:
        raise RuntimeError(f"{proc.args[1]} failed (exit {proc.returncode}): {_tail(proc.stderr)}")
    report = _last_json(proc.stdout)
    if report is None or not report.get("ok"):
        raise RuntimeError(f"the loader reported no success: {_tail(proc.stdout)}")
    return {
        "rows": _rows(report),
        "start_s": round(ready - started, 3),
        "load_s": round(done - ready, 3),
        "child_peak_mib": _children_peak_mib(),
    }


def baseline_postgres(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """``docker run -d`` of the service image until it accepts connections, then the load."""
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import duckdb  # noqa: F401
    import psycopg
    import pyarrow  # noqa: F401

    sys.path.insert(0, str(REPO))
    from sandboxer.sandbox.engines.postgres import load_postgres
    from sandboxer.snapshot.store import LocalStore

    snapshot = LocalStore(Path(args["store"])).resolve(args["snapshot"])
    port = args["port"]
    run = ["docker", "run", "-d", "--name", args["container"], "--label", f"{BENCH_LABEL}=1",
           "-v", f"{args['secret']}:/run/secrets/postgres_password:ro",
           "-v", "/var/lib/postgresql", "-p", f"127.0.0.1:{port}:5432",
           args["image"]]  # fmt: skip
    url = f"postgresql://sandbox:{args['password']}@127.0.0.1:{port}/sandbox"
    deadline = time.monotonic() + 90
    with clock:
        started = time.perf_counter()
        proc = subprocess.run(run, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"docker run failed: {_tail(proc.stderr)}")
        while True:
            try:
                psycopg.connect(url, connect_timeout=5).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "the PostgreSQL container never accepted a connection"
                    ) from None
                time.sleep(0.05)
        ready = time.perf_counter()
        report = load_postgres(snapshot, url)
        done = time.perf_counter()
    if not report.ok:
        raise RuntimeError("the load did not verify")
    return {
        "rows": sum(t["rows"] for t in report.tables.values()),
        "start_s": round(ready - started, 3),
        "load_s": round(done - ready, 3),
        "load_steps": report.steps,
        "child_peak_mib": _children_peak_mib(),
    }


# -- results -------------------------------------------------------------------------------
@dataclass
class OverheadResult(Result):
    """A result whose goal is an absolute overhead in seconds over the baseline."""

    max_overhead_s: float | None = None

    @property
    def overhead_s(self) -> float | None:
        if self.wall is None or self.baseline_wall is None:
            return None
        return self.wall - self.baseline_wall

    @property
    def verdict(self) -> str:
        if self.errors or self.wall is None:
            return "FAILED"
        if self.max_overhead_s is not None and (
            self.overhead_s is None or self.overhead_s > self.max_overhead_s
        ):
            return f"MISS overhead>{self.max_overhead_s:g}s"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["overhead_s"] = self.overhead_s
        out["goal"]["max_overhead_s"] = self.max_overhead_s
        return out


# -- setup (not timed) ---------------------------------------------------------------------
def write_project(project: Path, sf: float) -> Path:
    """A throwaway project: ``sandboxer.yaml`` with datasets ``tpch`` and ``shop``."""
    import yaml

    sys.path.insert(0, str(REPO))
    from examples.shop.generate import generate_shop, write_duckdb

    project.mkdir(parents=True, exist_ok=True)
    data = ensure_parquet(sf)
    warm_page_cache(data)
    db = write_duckdb(generate_shop(customers=SHOP_CUSTOMERS, seed=7), project / "prod.duckdb")
    example = yaml.safe_load((REPO / "examples" / "shop" / "sandboxer.yaml").read_text())
    shop = example["datasets"]["shop"]
    config = {
        "version": 1,
        "name": "bench-create",
        "store": {"path": "store"},
        "datasets": {
            "tpch": {
                "source": str(data),
                "seed": SEED,
                "keys": virtual_keys(),
                "subset": {"roots": [{"table": "customer", "percent": TPCH_PERCENT}]},
                "redact": {"mode": "off"},
            },
            "shop": {
                "source": f"duckdb:///{db}",
                "seed": shop["seed"],
                "subset": shop["subset"],
                "redact": {"mode": "off"},
            },
        },
    }
    path = project / "sandboxer.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build_snapshots(config: Path, datasets: list[str]) -> dict[str, Any]:
    from sandboxer.context import Context

    context = Context(config)
    out = {}
    for case in datasets:
        info = context.build("tpch" if case.startswith("tpch") else "shop")
        out[case] = info
    return out


def _docker_ok() -> str | None:
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"docker CLI: {e}"
    return None if proc.returncode == 0 else f"no Docker engine: {_tail(proc.stderr)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, capture_output=True, check=False, timeout=120)


# -- the driver ----------------------------------------------------------------------------
def case_name(engine: str, dataset: str) -> str:
    return f"{NAME}/{engine}-{dataset}"


def run(bench: Bench) -> list[Result]:
    cases = [(e, d) for e in TEMPLATES for d in DATASETS if bench.selected(case_name(e, d))]
    if not cases:
        return []
    error = _docker_ok()
    if error is not None:
        results = []
        for e, d in cases:
            r = OverheadResult(case_name(e, d), max_overhead_s=MAX_OVERHEAD_S)
            r.errors.append(error)
            results.append(r)
        return results
    sys.path.insert(0, str(REPO))
    print("building the project and snapshots (not timed) ...", file=sys.stderr)
    project = bench.scratch / "project"
    config = write_project(project, bench.sf)
    snapshots = build_snapshots(config, sorted({d for _, d in cases}))
    secret = bench.scratch / "pg_password"
    password = secrets.token_urlsafe(18)
    secret.write_text(password)
    secret.chmod(0o444)  # read by the container's `postgres` user through the bind mount
    env = {
        "config": str(config),
        "project": str(project),
        "store": str(project / "store"),
        "secret": str(secret),
        "password": password,
    }
    results: list[Result] = []
    for engine, dataset in cases:
        results.append(run_case(bench, engine, dataset, snapshots[dataset], env))
    return results


class _Case:
    """Names of one case's runs, and their cleanup."""

    def __init__(self, bench: Bench, engine: str, dataset: str, env: dict[str, Any]) -> None:
        self.bench, self.engine, self.env = bench, engine, env
        self.slug = f"{engine}-{dataset.replace('%', '').replace('.', '-')}"
        self.n = 0

    def tool(self, template: str, snapshot: Any) -> Measurement:
        self.n += 1
        name = f"bench-{self.slug}-{self.n}"
        try:
            return self.bench.measure(f"{NAME}:tool", {**self.env, "name": name,
                                      "template": template, "snapshot": snapshot.id})  # fmt: skip
        finally:
            _quiet([*_cli(), "--config", self.env["config"], "destroy", name])

    def baseline(self, image: str, snapshot: Any) -> Measurement:
        self.n += 1
        container = f"sandboxer-bench-{os.getpid()}-{self.slug}-{self.n}"
        args = {**self.env, "container": container, "image": image, "snapshot": snapshot.id,
                "snapshot_path": str(snapshot.path.resolve())}  # fmt: skip
        side = "baseline_duckdb"
        if self.engine == "postgres":
            side = "baseline_postgres"
            args["port"] = _free_port()
        try:
            return self.bench.measure(f"{NAME}:{side}", args)
        finally:
            _quiet(["docker", "rm", "-f", "-v", container])


def _with_children(m: Measurement) -> Measurement:
    child = m.info.get("child_peak_mib") if m.ok else None
    if child and (m.peak_mib is None or child > m.peak_mib):
        m.peak_mib = child
    return m


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def run_case(bench: Bench, engine: str, dataset: str, snapshot: Any, env: dict[str, Any]) -> Result:
    name = case_name(engine, dataset)
    template = TEMPLATES[engine]
    print(f"{name} (warm-up, then {bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = OverheadResult(name, max_overhead_s=MAX_OVERHEAD_S)
    c = _Case(bench, engine, dataset, env)

    warm = c.tool(template, snapshot)  # builds the images if needed; not counted
    if not warm.ok:
        result.errors.append(f"tool warm-up: {warm.error}")
        result.details["warmup_stderr"] = warm.info.get("stderr")
        return result
    images = warm.info["images"]
    image = images["workspace"] if engine == "duckdb" else images["postgres"]
    warm_base = c.baseline(image, snapshot)
    if not warm_base.ok:
        result.errors.append(f"baseline warm-up: {warm_base.error}")
        result.details["warmup_stderr"] = warm_base.info.get("stderr")
        return result
    result.details["warmup"] = {"tool_s": warm.seconds, "baseline_s": warm_base.seconds}

    rows = warm.info["rows"]
    for _ in range(bench.repeat):
        for side, runs in (("tool", result.tool_runs), ("baseline", result.baseline_runs)):
            m = c.tool(template, snapshot) if side == "tool" else c.baseline(image, snapshot)
            runs.append(_with_children(m))
            if not m.ok:
                result.errors.append(f"{side}: {m.error}")
                break
            if m.info["rows"] != rows:
                result.errors.append(f"{side} loaded {m.info['rows']} rows, expected {rows}")
        if result.errors:
            break

    tool_ok = [r for r in result.tool_runs if r.ok]
    base_ok = [r for r in result.baseline_runs if r.ok]
    if result.overhead_s is not None:
        result.info["overhead"] = f"{result.overhead_s:+.2f}s"
    result.info["rows"] = rows
    if tool_ok:
        steps = ("cli", "images", "network", "services", "workspace", "load", "hooks")
        med = {s: _median([r.info["timings"].get(s, 0.0) for r in tool_ok]) for s in steps}
        result.info["tool"] = " ".join(f"{s}={v}" for s, v in med.items() if v is not None)
    if base_ok:
        result.info["base"] = (
            f"start={_median([r.info['start_s'] for r in base_ok])} "
            f"load={_median([r.info['load_s'] for r in base_ok])}"
        )
    loads = [r.load_before for r in result.tool_runs + result.baseline_runs if r.load_before]
    if loads:
        result.info["loadavg"] = f"{min(loads):.1f}-{max(loads):.1f}"
    result.details.update(
        snapshot=snapshot.id,
        template=template,
        image=image,
        tool_timings=[r.info.get("timings") for r in tool_ok],
        tool_load_steps=[r.info.get("load_steps") for r in tool_ok],
        baseline_split=[
            {k: r.info.get(k) for k in ("start_s", "load_s", "load_steps")} for r in base_ok
        ],
        paired_overhead_s=[
            round(t.seconds - b.seconds, 3)
            for t, b in zip(result.tool_runs, result.baseline_runs, strict=False)
            if t.ok and b.ok and t.seconds and b.seconds
        ],
    )
    over = f"{result.overhead_s:+.2f} s" if result.overhead_s is not None else "-"
    print(f"  {name}: {result.wall or 0:.2f} s vs {result.baseline_wall or 0:.2f} s "
          f"(overhead {over}), {result.verdict}", file=sys.stderr)  # fmt: skip
    return result
