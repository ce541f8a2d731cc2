"""What every benchmark shares: measuring one case in a fresh process, results, the table.

A measured case is a function ``fn(args: dict, clock: Clock) -> dict`` in a benchmark module.
It runs in a subprocess of its own (``run.py --worker module:fn ARGS.json``), does its imports
and setup, and wraps only the measured work in ``with clock:``. The child reports wall time of
that block and the peak RSS of the whole child process.

Peak memory is ``VmHWM`` of the child's own address space: the high-water mark since ``exec``,
so interpreter and imports are included (they are part of what a user's process needs).
``getrusage().ru_maxrss`` is not used: Linux carries the parent's peak over across
fork/vfork + exec, so a big parent would inflate every child.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT_PREFIX = "BENCH-RESULT "
MIB = 1024.0


def _status_kib(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{name} missing from /proc/self/status")


class Clock:
    """Times the ``with`` block in a worker; notes the RSS the block started from."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self.rss_before_kib: int | None = None
        self._started = 0.0

    def __enter__(self) -> Clock:
        self.rss_before_kib = _status_kib("VmRSS")
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


@dataclass
class Measurement:
    """One run of one side (tool or baseline) of a case."""

    seconds: float | None = None
    peak_mib: float | None = None
    rss_before_mib: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    load_before: float | None = None
    """1-minute load average when the run started: other work on the machine skews it."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Result:
    """One row of the results table: a tool measured against its baseline."""

    name: str
    tool_runs: list[Measurement] = field(default_factory=list)
    baseline_runs: list[Measurement] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    """Short facts shown in the table (rows, checks)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Everything else, JSON only."""
    errors: list[str] = field(default_factory=list)
    max_time_ratio: float | None = None
    max_peak_mib: float | None = None

    @staticmethod
    def _median(runs: list[Measurement]) -> float | None:
        values = [r.seconds for r in runs if r.ok and r.seconds is not None]
        return statistics.median(values) if values else None

    @staticmethod
    def _peak(runs: list[Measurement]) -> float | None:
        values = [r.peak_mib for r in runs if r.ok and r.peak_mib is not None]
        return max(values) if values else None

    @property
    def wall(self) -> float | None:
        return self._median(self.tool_runs)

    @property
    def peak_mib(self) -> float | None:
        return self._peak(self.tool_runs)

    @property
    def baseline_wall(self) -> float | None:
        return self._median(self.baseline_runs)

    @property
    def baseline_peak_mib(self) -> float | None:
        return self._peak(self.baseline_runs)

    @property
    def time_ratio(self) -> float | None:
        if self.wall is None or not self.baseline_wall:
            return None
        return self.wall / self.baseline_wall

    @property
    def memory_ratio(self) -> float | None:
        if self.peak_mib is None or not self.baseline_peak_mib:
            return None
        return self.peak_mib / self.baseline_peak_mib

    @property
    def verdict(self) -> str:
        if self.errors or self.wall is None:
            return "FAILED"
        misses = []
        if self.max_time_ratio is not None and (
            self.time_ratio is None or self.time_ratio > self.max_time_ratio
        ):
            misses.append(f"time>{self.max_time_ratio:g}x")
        if self.max_peak_mib is not None and (self.peak_mib or 0) > self.max_peak_mib:
            misses.append(f"mem>{self.max_peak_mib:g}MB")
        return "MISS " + ",".join(misses) if misses else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": self.wall,
            "peak_mib": self.peak_mib,
            "baseline_wall_s": self.baseline_wall,
            "baseline_peak_mib": self.baseline_peak_mib,
            "time_ratio": self.time_ratio,
            "memory_ratio": self.memory_ratio,
            "goal": {"max_time_ratio": self.max_time_ratio, "max_peak_mib": self.max_peak_mib},
            "verdict": self.verdict,
            "info": self.info,
            "errors": self.errors,
            "tool_runs": [asdict(r) for r in self.tool_runs],
            "baseline_runs": [asdict(r) for r in self.baseline_runs],
            "details": self.details,
        }


@dataclass
class Bench:
    """What run.py hands a benchmark: options, a scratch directory, and ``measure``."""

    sf: float
    quick: bool
    repeat: int
    only: str | None
    scratch: Path
    timeout: float = 1800.0

    def selected(self, case: str) -> bool:
        """Whether ``--only`` keeps this case (a benchmark name or a part of a case name)."""
        if self.only is None:
            return True
        return self.only == case.split("/")[0] or self.only in case

    def measure(self, target: str, args: dict[str, Any]) -> Measurement:
        """Run ``module:function`` with ``args`` in a fresh interpreter; never raises."""
        load = round(os.getloadavg()[0], 2)
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=self.scratch, delete=False) as f:
            json.dump(args, f)
        try:
            proc = subprocess.run(
                [sys.executable, str(HERE / "run.py"), "--worker", target, f.name],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired:
            return Measurement(error=f"timed out after {self.timeout:g} s", load_before=load)
        finally:
            os.unlink(f.name)
        lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
        if proc.returncode != 0 or not lines:
            tail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            return Measurement(
                error=f"{target}: {tail[0]}"[:500],
                info={"stderr": proc.stderr[-4000:]},
                load_before=load,
            )
        reported = json.loads(lines[-1][len(RESULT_PREFIX) :])
        reported["load_before"] = load
        return Measurement(**reported)


def worker_main(target: str, args_file: str) -> None:
    """Child side of ``Bench.measure``: run the function, print one result line."""
    module_name, function_name = target.split(":")
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(REPO))
    function = getattr(importlib.import_module(module_name), function_name)
    args = json.loads(Path(args_file).read_text())
    clock = Clock()
    info = function(args, clock)
    if clock.seconds is None:
        raise RuntimeError(f"{target} never entered its clock")
    result = Measurement(
        seconds=clock.seconds,
        peak_mib=_status_kib("VmHWM") / MIB,
        rss_before_mib=(clock.rss_before_kib or 0) / MIB,
        info=info,
    )
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render_table(results: list[Result]) -> str:
    """The results as one aligned text table (Markdown-compatible)."""
    header = ["case", "wall s", "peak MB", "base wall s", "base peak MB", "time x", "mem x",
              "goal", "info"]  # fmt: skip
    rows = [header]
    for r in results:
        info = ", ".join(f"{k}={v}" for k, v in r.info.items())
        if r.errors:
            info = "; ".join(r.errors) + ("; " + info if info else "")
        rows.append([
            r.name,
            _fmt(r.wall, ".2f"),
            _fmt(r.peak_mib, ".0f"),
            _fmt(r.baseline_wall, ".2f"),
            _fmt(r.baseline_peak_mib, ".0f"),
            _fmt(r.time_ratio, ".2f"),
            _fmt(r.memory_ratio, ".2f"),
            r.verdict,
            info,
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    numeric = {1, 2, 3, 4, 5, 6}
    out = []
    for n, row in enumerate(rows):
        cells = [
            row[i].rjust(widths[i]) if i in numeric else row[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        out.append("| " + " | ".join([*cells, row[-1]]) + " |")
        if n == 0:
            out.append(
                "|"
                + "|".join(
                    "-" * (w + 1) + (":" if i in numeric else "-") for i, w in enumerate(widths)
                )
                + "|---|"
            )
    return "\n".join(out)
